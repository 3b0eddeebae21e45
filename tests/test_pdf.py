"""Tests over the book's PDF (``make pdf``; the ``built_pdf`` fixture in tests/conftest.py).

The PDF is opened with poppler's tools, as a reader's viewer would: its text
(``pdftotext``) carries every chapter and appendix title and a GB/T 7714 reference, its
fonts (``pdffonts``) include the embedded Noto CJK faces, and the LaTeX log reports no
character that a font lacked. The site's front page links to it.
"""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

import pytest
from bs4 import BeautifulSoup

ROOT = Path(__file__).resolve().parents[1]
DOCS = ROOT / "docs"
CHAPTERS = sorted((DOCS / "survey").glob("[0-9][0-9]-*.md"))
APPENDICES = [DOCS / "glossary.md", DOCS / "references.md"]  # results.md: generated

pytestmark = [pytest.mark.site, pytest.mark.pdf]


def h1(page: Path) -> str:
    """The page's title: its first ``# `` heading."""
    match = re.search(r"^# (.+)$", page.read_text(encoding="utf-8"), re.MULTILINE)
    assert match, f"{page} has no H1"
    return match.group(1).strip()


def poppler(tool: str, *args: str) -> str:
    if shutil.which(tool) is None:
        pytest.fail(f"{tool} not found: tools/setup-system.sh installs poppler-utils")
    return subprocess.run(
        [tool, *args], capture_output=True, text=True, check=True, timeout=120
    ).stdout


@pytest.fixture(scope="module")
def text(built_pdf) -> str:
    """The PDF's text with all white space removed (pdftotext spaces out justified CJK)."""
    return re.sub(r"\s+", "", poppler("pdftotext", "-enc", "UTF-8", str(built_pdf), "-"))


@pytest.fixture(scope="module")
def latex_log(built_pdf) -> str:
    log = built_pdf.parent.parent / "latex" / "survey-models.log"
    if not log.exists():
        pytest.skip(f"no LaTeX log next to the site ({log})")
    return log.read_text(encoding="utf-8", errors="replace")


@pytest.mark.parametrize("page", CHAPTERS + APPENDICES, ids=lambda p: p.stem)
def test_every_chapter_and_appendix_title_is_in_the_pdf(text, page):
    title = re.sub(r"\s+", "", h1(page))
    assert text.count(title) >= 2, f"{title!r}: expected in the contents and as a heading"


def test_the_results_page_is_in_the_pdf(text, built_pdf):
    results = DOCS / "results.md"  # written by this build (survey_sphinx.results)
    assert results.exists() or (built_pdf.parent / "results.html").exists()
    assert "实验结果总览" in text
    assert re.search(r"共\d+个示例，\d+项测量", text), "the results page's summary line"


def test_bibliography_is_in_gbt7714_form(text):
    # the seed's own reference, as GB/T 7714 writes a journal article ([J], volume(issue): pages)
    assert "自编码神经网络理论及应用综述[J].计算机学报,2019,42(1):203-230." in text


def test_cjk_fonts_are_embedded(built_pdf):
    rows = poppler("pdffonts", str(built_pdf)).splitlines()[2:]
    assert rows, "the PDF lists no fonts"
    not_embedded = [row for row in rows if row.split()[-5] != "yes"]
    assert not not_embedded, f"fonts not embedded: {not_embedded}"
    # A Noto CJK .ttc shares one CFF table (named "...CJKjp") among its faces; that the
    # SC face is the one used is set by conf.py's font names (Noto Serif/Sans CJK SC).
    names = " ".join(row.split()[0] for row in rows)
    assert "NotoSerifCJK" in names, names
    assert "NotoSansCJK" in names, names


def test_no_missing_glyphs_or_unresolved_references(latex_log):
    missing = sorted(set(re.findall(r"Missing character: There is no .*", latex_log)))
    assert not missing, missing[:20]
    # LaTeX's closing summary (its per-reference warnings wrap across log lines)
    assert "There were undefined references" not in latex_log


def test_page_count(built_pdf, capsys):
    info = poppler("pdfinfo", str(built_pdf))
    pages = int(re.search(r"^Pages:\s+(\d+)", info, re.MULTILINE).group(1))
    with capsys.disabled():
        print(f"\n{built_pdf.name}: {pages} pages")
    # every chapter opens on a new page, and each has several sections
    assert pages > 4 * len(CHAPTERS), pages


def test_front_page_links_the_pdf(built_pdf):
    index = built_pdf.parent / "index.html"
    html = BeautifulSoup(index.read_text(encoding="utf-8"), "html.parser")
    links = [a["href"] for a in html.select("a.survey-pdf-download")]
    assert links == [built_pdf.name], links
    target = index.parent / links[0]
    assert target.read_bytes()[:5] == b"%PDF-", f"{target} is not a PDF"
