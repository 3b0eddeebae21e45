"""Tests over the built HTML site: pages exist, figures are embedded, citations resolve.

The ``built_site`` fixture (tests/conftest.py) builds the whole site once, running every
example with warnings as errors; these tests then read the HTML it produced.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from bs4 import BeautifulSoup

ROOT = Path(__file__).resolve().parents[1]
CHAPTERS = sorted(p.stem for p in (ROOT / "docs" / "survey").glob("[0-9][0-9]-*.md"))
GALLERY = sorted((ROOT / "gallery").glob("*/plot_*.py"))

pytestmark = pytest.mark.site


def soup(path: Path) -> BeautifulSoup:
    return BeautifulSoup(path.read_text(encoding="utf-8"), "html.parser")


def test_all_seven_themes_and_the_introduction_have_pages(built_site):
    themes = {c.split("-")[0] for c in CHAPTERS}
    assert themes == {"00", "01", "02", "03", "04", "05", "06", "07"}
    for chapter in CHAPTERS:
        page = built_site / "survey" / f"{chapter}.html"
        assert page.exists(), page
        title = soup(page).find("h1").get_text()
        assert re.search(r"[\u4e00-\u9fff]", title) or "Transformer" in title, title


def test_front_page_and_bibliography_exist(built_site):
    index = soup(built_site / "index.html").get_text()
    assert "如何阅读本书" in index
    refs = soup(built_site / "references.html")
    entries = refs.select("div.citation")
    bib = (ROOT / "references.bib").read_text(encoding="utf-8")
    n_bib = len(re.findall(r"^@\w+\s*\{", bib, flags=re.MULTILINE))
    assert len(entries) == n_bib
    assert "自编码神经网络理论及应用综述" in refs.get_text()


@pytest.mark.parametrize("script", GALLERY, ids=lambda p: p.stem)
def test_every_example_page_shows_its_output_and_figure(built_site, script):
    page = built_site / "auto_examples" / script.parent.name / f"{script.stem}.html"
    assert page.exists(), page
    html = soup(page)
    images = [img["src"] for img in html.select("img.sphx-glr-single-img, img.sphx-glr-multi-img")]
    assert images, f"{page.name} embeds no figure"
    for src in images:
        assert (page.parent / src).exists(), src
    output = " ".join(pre.get_text() for pre in html.select("div.sphx-glr-script-out pre"))
    assert "[测量]" in output, f"{page.name} prints no measured number through report()"


def test_autoencoder_chapter_embeds_figure_1_and_links_its_example(built_site):
    page = built_site / "survey" / "02-autoencoders.html"
    html = soup(page)
    srcs = [img["src"] for img in html.find_all("img")]
    assert any("sphx_glr_plot_autoencoder_structures_001" in s for s in srcs)
    for s in srcs:
        assert (page.parent / s).exists(), s
    hrefs = [a.get("href", "") for a in html.find_all("a")]
    assert any("plot_autoencoder_structures.html" in h for h in hrefs)
    assert "传统自编码器网络结构图" in html.get_text()


@pytest.mark.parametrize("chapter", CHAPTERS)
def test_citations_resolve_to_the_list_on_the_same_page(built_site, chapter):
    html = soup(built_site / "survey" / f"{chapter}.html")
    ids = {tag["id"] for tag in html.select("div.citation[id]")}
    cites = html.select("span.bibtex-citation a.reference")
    for a in cites:
        href = a["href"]
        assert href.startswith("#") and href[1:] in ids, (chapter, href, a.get_text())
    text = html.get_text()
    assert "??" not in text
    # note-taking markup from the source document must not leak into the site
    assert not re.search(r"!\[\[|\[\[[^\]]*\]\]|==[^=\s][^=]*==", text)


@pytest.mark.parametrize("chapter", CHAPTERS)
def test_no_stray_gaps_from_line_breaks_inside_chinese(built_site, chapter):
    html = soup(built_site / "survey" / f"{chapter}.html")
    for p in html.select("article p, article li"):
        text = p.get_text()
        # Chinese takes no space (or line break) between two Chinese characters.
        gap = re.search(r"[\u4e00-\u9fff，。；：、）][ \n]+[\u4e00-\u9fff（，。]", text)
        assert gap is None, (chapter, text[max(0, gap.start() - 10): gap.end() + 10])
        # emphasis markers that did not parse show up as literal asterisks
        if "$" not in text and "\\(" not in text:
            assert "**" not in text, (chapter, text[:80])
