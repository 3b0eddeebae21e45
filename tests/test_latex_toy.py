"""The PDF's LaTeX source on a toy book (survey_sphinx.latex): seconds, no TeX needed.

Two chapters, each with its own reference list (as the book's chapters have), and a page
outside the book that a chapter refers to with ``{ref}`` and ``{doc}``. Sphinx's LaTeX
builder alone would move both lists to the end and print the outside page's bare label.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

EXT = Path(__file__).resolve().parents[1] / "docs" / "_ext"

pytestmark = pytest.mark.build

CONF = f"""
import sys
sys.path.insert(0, {str(EXT)!r})
project = "toy"
extensions = ["myst_parser", "sphinxcontrib.bibtex", "survey_sphinx.latex"]
exclude_patterns = ["_build"]
bibtex_bibfiles = ["refs.bib"]
suppress_warnings = ["bibtex.duplicate_citation"]
latex_documents = [("index", "toy.tex", "Toy", "me", "manual", True)]
"""

BIB = """
@book{alpha2001, author = {Ann Alpha}, title = {Alpha Book}, publisher = {P}, year = {2001}}
@book{beta2002, author = {Bob Beta}, title = {Beta Book}, publisher = {P}, year = {2002}}
"""

PAGES = {
    "index.md": "# Toy\n\n```{toctree}\none\ntwo\n```\n",
    "one.md": (
        "# One\n\nAs {cite:p}`alpha2001` shows; see {ref}`outside-label` and {doc}`outside`.\n\n"
        "## Refs one\n\n```{bibliography}\n:filter: docname in docnames\n```\n"
    ),
    "two.md": (
        "# Two\n\nBoth {cite:p}`alpha2001` and {cite:p}`beta2002`.\n\n"
        "## Refs two\n\n```{bibliography}\n:filter: docname in docnames\n```\n"
    ),
    "outside.md": "---\norphan: true\n---\n\n(outside-label)=\n# Outside Title\n\nText.\n",
}


@pytest.fixture(scope="module")
def tex(tmp_path_factory) -> str:
    src = tmp_path_factory.mktemp("latex_toy")
    (src / "conf.py").write_text(CONF, encoding="utf-8")
    (src / "refs.bib").write_text(BIB, encoding="utf-8")
    for name, text in PAGES.items():
        (src / name).write_text(text, encoding="utf-8")
    out = src / "_build" / "latex"
    result = subprocess.run(
        [sys.executable, "-m", "sphinx", "-W", "--keep-going", "-q", "-b", "latex", src, out],
        capture_output=True,
        text=True,
    )
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    return (out / "toy.tex").read_text(encoding="utf-8")


def test_each_reference_list_stays_in_its_chapter(tex):
    lists = tex.split(r"\begin{sphinxthebibliography}")[1:]
    assert len(lists) == 2, "one list per chapter, none gathered at the end"
    one, two = (block.split(r"\end{sphinxthebibliography}")[0] for block in lists)
    assert "Alpha Book" in one and "Beta Book" not in one
    assert "Alpha Book" in two and "Beta Book" in two
    # the first list closes before the second chapter opens
    assert tex.index(r"\end{sphinxthebibliography}") < tex.index(r"\chapter{Two}")


def test_a_reference_outside_the_book_shows_the_page_title(tex):
    chapter_one = tex[tex.index(r"\chapter{One}") : tex.index(r"\chapter{Two}")]
    assert chapter_one.count("Outside Title") == 2, "the {ref} and the {doc} both read as the title"
    assert "outside-label" not in chapter_one and "outside}" not in chapter_one
