"""references.bib: every entry has what the GB/T 7714 style prints, and the citations in
the docs and the entries in the bib file match one to one."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from pybtex.database import parse_file

from pybtex_gbt7714 import GBT7714Style, GBT7714Style2015, use_bib_order

ROOT = Path(__file__).resolve().parents[1]
BIB = ROOT / "references.bib"
KEY_PATTERN = re.compile(r"^[a-z]+\d{4}[a-z0-9]*$")
DOI = re.compile(r"^10\.\d{4,9}/\S+$")
ARXIV_ID = re.compile(r"^\d{4}\.\d{4,5}(v\d+)?$")
PAGES = re.compile(r"^\d+(--\d+)?$")
# {cite:p}`a,b`, {cite:t}`a`, :cite:p:`a` (MyST and reST roles)
CITE = re.compile(r"(?:\{cite(?::[a-z]+)?\}|:cite(?::[a-z]+)?:)`([^`]+)`")

# fields each entry type needs so that the style prints a complete reference
REQUIRED = {
    "article": ("author", "title", "journal", "year"),
    "inproceedings": ("author", "title", "booktitle", "year"),
    "incollection": ("author", "title", "booktitle", "editor", "publisher", "year", "pages"),
    "book": ("author", "title", "publisher", "year"),
    "phdthesis": ("author", "title", "school", "year"),
    "mastersthesis": ("author", "title", "school", "year"),
    "techreport": ("author", "title", "institution", "year"),
    "misc": ("author", "title", "year"),
}


@pytest.fixture(scope="module")
def bib():
    return parse_file(str(BIB), "bibtex")  # raises on a duplicate key


def _has(entry, name: str) -> bool:
    if name in ("author", "editor"):
        return bool(entry.persons.get(name))
    return bool(entry.fields.get(name, "").strip())


def _is_preprint(entry) -> bool:
    return _has(entry, "eprint") and "arxiv" in entry.fields.get("journal", "arxiv").lower()


def missing_fields(entry) -> list[str]:
    """Fields the style needs that the entry lacks (empty list when complete)."""
    kind = entry.type.lower()
    if kind not in REQUIRED:
        return [f"entry type @{kind} (the style formats {sorted(REQUIRED)})"]
    missing = [f for f in REQUIRED[kind] if not _has(entry, f)]
    # how a reader finds the article: a DOI, an arXiv id, or (for journals without DOIs,
    # e.g. JMLR) the article's URL
    identifier = _has(entry, "doi") or _has(entry, "eprint") or _has(entry, "url")
    if kind == "article" and not _is_preprint(entry) and not _has(entry, "eprint"):
        # a journal without volume and pages (e.g. TMLR) is cited through its arXiv id
        missing += [f for f in ("volume", "pages") if not _has(entry, f)]
        if not identifier:
            missing.append("doi, eprint or url")
    if kind == "inproceedings" and not (_has(entry, "pages") or _has(entry, "eprint")):
        missing.append("pages or eprint")
    if kind == "misc" and not (
        _has(entry, "eprint")
        or _has(entry, "number")
        or (_has(entry, "url") and _has(entry, "urldate"))
    ):
        missing.append("eprint, number, or url with urldate")  # an [EB/OL] needs them
    if _has(entry, "eprint") and entry.fields.get("archivePrefix", "").lower() != "arxiv":
        missing.append("archivePrefix = {arXiv}")
    return missing


def malformed_fields(entry) -> list[str]:
    bad = []
    f = entry.fields
    if not re.fullmatch(r"\d{4}", f.get("year", "").strip()):
        bad.append(f"year={f.get('year')!r}")
    if "doi" in f and not DOI.match(f["doi"].strip()):
        bad.append(f"doi={f['doi']!r}")
    if "eprint" in f and not ARXIV_ID.match(f["eprint"].strip()):
        bad.append(f"eprint={f['eprint']!r}")
    if "pages" in f and not PAGES.match(f["pages"].strip()):
        bad.append(f"pages={f['pages']!r} (write 12--34)")
    if "urldate" in f and not re.fullmatch(r"\d{4}-\d{2}-\d{2}", f["urldate"].strip()):
        bad.append(f"urldate={f['urldate']!r}")
    return bad


def test_bib_parses_and_is_not_empty(bib):
    assert len(bib.entries) >= 10


def test_every_entry_has_the_fields_the_style_needs(bib):
    problems = {key: missing_fields(e) for key, e in bib.entries.items() if missing_fields(e)}
    assert not problems, f"entries missing fields: {problems}"


def test_fields_are_well_formed(bib):
    problems = {key: malformed_fields(e) for key, e in bib.entries.items() if malformed_fields(e)}
    assert not problems, problems


def test_keys_follow_firstauthor_year_word(bib):
    bad = [key for key in bib.entries if not KEY_PATTERN.match(key)]
    assert not bad, f"keys not of the form firstauthorYEARword: {bad}"


def test_missing_field_is_caught():
    """The check above can fail: a journal article without volume and identifier."""
    from pybtex.database import parse_string

    entry = parse_string(
        "@article{x2020y, author={A, B}, title={T}, journal={J}, year={2020}, pages={1--2}}",
        "bibtex",
    ).entries["x2020y"]
    assert missing_fields(entry) == ["volume", "doi, eprint or url"]


@pytest.mark.parametrize(
    "style, marks",
    [(GBT7714Style, "J|C|M|D|R|R/OL|EB/OL|PP/OL"), (GBT7714Style2015, "J|C|M|D|R|R/OL|EB/OL")],
    ids=["2025", "2015"],
)
def test_every_entry_formats_in_gbt7714(bib, style, marks):
    from pybtex.backends.plaintext import Backend

    use_bib_order(BIB)
    try:
        formatted = list(style().format_entries(bib.entries.values()))
    finally:
        use_bib_order(None)
    assert [f.label for f in formatted] == [str(i) for i in range(1, len(bib.entries) + 1)]
    backend = Backend()  # made once: render_as() would look it up among entry points
    for f in formatted:
        text = f.text.render(backend)
        assert re.search(rf"\[({marks})\]", text), text
        assert text.endswith(".") and ".." not in text, text
        assert "{" not in text and "\\" not in text, f"LaTeX left in: {text}"


def cited_keys() -> dict[str, set[str]]:
    """Every key cited in docs/ (MyST and reST) and gallery/ (example docstrings)."""
    cited: dict[str, set[str]] = {}
    sources = [
        *(ROOT / "docs").rglob("*.md"),
        *(ROOT / "docs").rglob("*.rst"),
        *(ROOT / "gallery").rglob("*.py"),
    ]
    for path in sources:
        rel = path.relative_to(ROOT)
        if rel.parts[:2] in {("docs", "_build"), ("docs", "auto_examples")}:
            continue
        for match in CITE.finditer(path.read_text(encoding="utf-8")):
            for key in match.group(1).split(","):
                cited.setdefault(key.strip(), set()).add(str(rel))
    return cited


def test_every_cited_key_is_in_the_bib(bib):
    keys = set(bib.entries)
    unknown = {k: sorted(v) for k, v in cited_keys().items() if k not in keys}
    assert not unknown, f"cited but not in references.bib: {unknown}"


def test_every_bib_entry_is_cited_somewhere(bib):
    uncited = sorted(set(bib.entries) - set(cited_keys()))
    assert not uncited, f"in references.bib but cited nowhere: {uncited}"


# -- citing the codebook itself ---------------------------------------------------------


def test_citation_cff_has_required_keys_and_matches_package():
    import tomllib

    import yaml

    cff = yaml.safe_load((ROOT / "CITATION.cff").read_text(encoding="utf-8"))
    for key in ("cff-version", "message", "title", "authors", "version", "type"):
        assert cff.get(key), f"CITATION.cff lacks {key}"
    assert re.fullmatch(r"1\.2\.\d", str(cff["cff-version"]))
    assert all("name" in a or "family-names" in a for a in cff["authors"])
    project = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    assert str(cff["version"]) == project["version"]
    assert cff["license"] == project["license"]["text"]
