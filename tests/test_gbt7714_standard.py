"""The styles against the examples printed in GB/T 7714 itself, each a known answer.

tests/gbt7714_examples.toml holds, per example, a BibTeX entry, the edition, where the
standard prints it and the reference it prints (its header names the transcriptions
used). Every example is formatted by its edition's style and compared character for
character; the test ids say the edition and the running count (``2025-07of65-7.7[3]``).
"""

from __future__ import annotations

import tomllib
from collections import Counter
from pathlib import Path

import pytest
from pybtex.backends.html import Backend as HtmlBackend
from pybtex.backends.plaintext import Backend as TextBackend
from pybtex.database import parse_string

from pybtex_gbt7714 import GBT7714Style, GBT7714Style2015, use_bib_order

DATA = Path(__file__).with_name("gbt7714_examples.toml")
EXAMPLES = tomllib.loads(DATA.read_text(encoding="utf-8"))["example"]
STYLES = {2015: GBT7714Style2015, 2025: GBT7714Style}
COUNTS = Counter(example["edition"] for example in EXAMPLES)


def _ids() -> list[str]:
    seen: Counter = Counter()
    out = []
    for example in EXAMPLES:
        year = example["edition"]
        seen[year] += 1
        where = example["where"].replace(" ", "")
        out.append(f"{year}-{seen[year]:02d}of{COUNTS[year]}-{where}")
    return out


def _formatted(example):
    use_bib_order(None)
    entries = parse_string(example["bib"], "bibtex").entries
    assert len(entries) == 1, f"{example['where']}: one entry per example"
    return next(iter(STYLES[example["edition"]]().format_entries(entries.values())))


@pytest.mark.parametrize("example", EXAMPLES, ids=_ids())
def test_the_standard_prints_what_the_style_writes(example):
    assert _formatted(example).text.render(TextBackend()) == example["expected"]


def test_both_editions_have_examples_of_every_kind_the_style_writes():
    # the data file covers both editions, and every entry type the site relies on
    assert COUNTS[2015] >= 30 and COUNTS[2025] >= 50, COUNTS
    kinds = {
        year: {
            parse_string(e["bib"], "bibtex").entries["x"].type
            for e in EXAMPLES
            if e["edition"] == year
        }
        for year in STYLES
    }
    common = {"article", "book", "incollection", "inproceedings", "proceedings", "phdthesis",
              "techreport", "standard", "patent", "archive", "online"}  # fmt: skip
    assert common <= kinds[2015] and common <= kinds[2025], kinds
    assert {"dataset", "preprint"} <= kinds[2025]


def test_online_examples_link_their_url_and_doi_in_html():
    example = next(e for e in EXAMPLES if e["edition"] == 2025 and e["where"] == "7.8 [1]")
    html = _formatted(example).text.render(HtmlBackend())
    assert '<a href="https://rs.yiigle.com/cmaid/37528">' in html
    assert '<a href="https://doi.org/10.3760/cma.j.issn.0253-3766.2010.10.001">' in html


def test_the_same_work_in_two_editions_shows_the_dropped_access_date():
    # 赵学功《当代美国外交》: 2015 A.1 [11] prints the access date, 2025 B.1 [14] does not
    pair = [e for e in EXAMPLES if "当代美国外交" in e["bib"]]
    assert sorted(e["edition"] for e in pair) == [2015, 2025]
    by_year = {e["edition"]: e["expected"] for e in pair}
    assert "2001[2014-06-11]." in by_year[2015] and "[2014-06-11]" not in by_year[2025]
