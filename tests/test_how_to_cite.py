"""How to cite the book: CITATION.cff is the source; the BibTeX entry and the
GB/T 7714—2025 line on the front page and in the README say the same."""

from __future__ import annotations

import re
import sys
from pathlib import Path

import pytest
from pybtex.backends.plaintext import Backend
from pybtex.database import parse_string

from pybtex_gbt7714 import GBT7714Style

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "docs" / "_ext"))

from survey_sphinx.scholar import authors, read_citation  # noqa: E402

PAGES = {"README.md": ROOT / "README.md", "docs/index.md": ROOT / "docs" / "index.md"}
GBT_LINE = re.compile(r"^按 GB/T 7714—2025 著录为：(.+)$", re.M)


def _section(path: Path) -> str:
    text = path.read_text(encoding="utf-8")
    return text[text.index("## 如何引用") :]


def how_to_cite(path: Path) -> tuple:
    """(the BibTeX entry, the GB/T 7714—2025 line) of a page's 如何引用 section."""
    section = _section(path)
    blocks = re.findall(r"```bibtex\n(.*?)```", section, re.S)
    lines = GBT_LINE.findall(section)
    assert len(blocks) == 1 and len(lines) == 1, f"{path}: one BibTeX block, one GB/T line"
    entries = parse_string(blocks[0], "bibtex").entries
    assert len(entries) == 1, f"{path}: one BibTeX entry"
    return next(iter(entries.values())), lines[0].strip()


@pytest.fixture(scope="module")
def cff() -> dict:
    return read_citation(ROOT / "CITATION.cff")


def disagreements(entry, cff: dict) -> list[str]:
    """What a BibTeX entry says differently from CITATION.cff (empty when they agree)."""
    pairs = {
        "title": (entry.fields.get("title"), cff["title"]),
        "author": ([str(p).strip("{}") for p in entry.persons.get("author", [])], authors(cff)),
        "year": (entry.fields.get("year"), str(cff["date-released"])[:4]),
        "version": (entry.fields.get("version"), str(cff["version"])),
        "url": (entry.fields.get("url", ""), cff.get("url", "")),
    }
    return [name for name, (ours, theirs) in pairs.items() if ours != theirs]


@pytest.mark.parametrize("page", list(PAGES))
def test_bibtex_says_what_citation_cff_says(cff, page):
    entry, _ = how_to_cite(PAGES[page])
    assert disagreements(entry, cff) == []


@pytest.mark.parametrize("page", list(PAGES))
def test_gbt7714_line_is_the_bibtex_entry_in_the_2025_style(page):
    entry, line = how_to_cite(PAGES[page])
    formatted = next(iter(GBT7714Style().format_entries([entry])))
    assert formatted.text.render(Backend()) == line


def test_readme_and_front_page_give_the_same_entry():
    (a, line_a), (b, line_b) = (how_to_cite(p) for p in PAGES.values())
    assert (a.type, dict(a.fields), [str(p) for p in a.persons["author"]]) == (
        b.type,
        dict(b.fields),
        [str(p) for p in b.persons["author"]],
    )
    assert line_a == line_b


def test_a_disagreement_is_caught(cff, tmp_path):
    """The comparison can fail: a page whose BibTeX gives another version."""
    page = tmp_path / "page.md"
    page.write_text(
        _section(PAGES["docs/index.md"]).replace(
            f"version = {{{cff['version']}}}", "version = {9.9}"
        ),
        encoding="utf-8",
    )
    entry, _ = how_to_cite(page)
    assert disagreements(entry, cff) == ["version"]
