"""Citations in a real Sphinx build of a toy project: the edition is chosen by one conf
value (``bibtex_default_style``), and chapter pages carry Google Scholar's meta tags."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from bs4 import BeautifulSoup

ROOT = Path(__file__).resolve().parents[1]
EXT = ROOT / "docs" / "_ext"

pytestmark = pytest.mark.build  # runs sphinx-build twice (seconds each)

CONF = f"""
import os, sys
sys.path.insert(0, {str(EXT)!r})
from survey_sphinx import scholar
project = "玩具书"
language = "zh_CN"
extensions = ["myst_parser", "sphinxcontrib.bibtex"]
html_theme = "sphinx_book_theme"
bibtex_bibfiles = ["refs.bib"]
bibtex_default_style = os.environ.get("TOY_STYLE", "gbt7714")
bibtex_reference_style = "label"
survey_citation_file = "CITATION.cff"
def setup(app):
    # the wiring of survey_sphinx/__init__.py, without the rest of the book's extension
    app.add_config_value("survey_citation_file", "", "html")
    app.add_config_value("survey_scholar_pages", ["survey/[0-9]*"], "html")
    app.connect("html-page-context", scholar.add_chapter_tags)
"""
CFF = """cff-version: 1.2.0
message: cite it
title: "玩具书"
authors:
  - name: "玩具 作者"
  - family-names: "Hinton"
    given-names: "Geoffrey E."
version: "1.0"
date-released: "2026-07-01"
"""
BIB = r"""@article{hinton2006reducing,
  author = {Hinton, Geoffrey E. and Salakhutdinov, Ruslan R.},
  title = {Reducing the Dimensionality of Data with Neural Networks},
  journal = {Science}, year = {2006}, volume = {313}, number = {5786}, pages = {504--507}
}
"""
PAGES = {
    "index.md": "# 玩具书\n\n```{toctree}\nsurvey/01-first\nsurvey/index\n```\n",
    "survey/01-first.md": "# 第一章 “自编码器” & 其他\n\n见 {cite:p}`hinton2006reducing`。\n\n"
    "```{bibliography}\n```\n",
    "survey/index.md": "# 综述\n\n不是一章。\n",
}


@pytest.fixture(scope="module")
def toy(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("citations")
    (root / "survey").mkdir()
    for name, text in {**PAGES, "conf.py": CONF, "CITATION.cff": CFF, "refs.bib": BIB}.items():
        (root / name).write_text(text, encoding="utf-8")
    return root


def build(root: Path, style: str) -> Path:
    out = root / "_build" / style
    result = subprocess.run(
        [sys.executable, "-m", "sphinx", "-W", "--keep-going", "-q", "-b", "html", str(root), str(out)],
        capture_output=True, text=True, timeout=300, env={**os.environ, "TOY_STYLE": style},
    )  # fmt: skip
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    return out


@pytest.fixture(scope="module")
def site_2025(toy) -> Path:
    return build(toy, "gbt7714")


def _reference(out: Path) -> str:
    soup = BeautifulSoup((out / "survey" / "01-first.html").read_text("utf-8"), "html.parser")
    return " ".join(soup.select_one("div.citation").get_text(" ").split())


def test_the_default_style_is_the_2025_edition(site_2025):
    assert "Hinton G E, Salakhutdinov R R. Reducing the dimensionality" in _reference(site_2025)


def test_one_conf_value_selects_the_2015_edition(toy):
    assert "HINTON G E, SALAKHUTDINOV R R. Reducing the dimensionality" in _reference(
        build(toy, "gbt7714-2015")
    )


def _meta(out: Path, page: str) -> list[tuple[str, str]]:
    soup = BeautifulSoup((out / page).read_text("utf-8"), "html.parser")
    return [
        (m["name"], m["content"])
        for m in soup.head.find_all("meta")
        if m.get("name", "").startswith("citation_")
    ]


def test_a_chapter_page_carries_scholar_meta_tags(site_2025):
    assert _meta(site_2025, "survey/01-first.html") == [
        ("citation_title", "第一章 “自编码器” & 其他"),
        ("citation_author", "玩具 作者"),
        ("citation_author", "Hinton, Geoffrey E."),
        ("citation_publication_date", "2026/07/01"),
        ("citation_language", "zh-CN"),
        ("citation_book_title", "玩具书"),
    ]


def test_pages_that_are_not_chapters_carry_none(site_2025):
    assert _meta(site_2025, "index.html") == []
    assert _meta(site_2025, "survey/index.html") == []
