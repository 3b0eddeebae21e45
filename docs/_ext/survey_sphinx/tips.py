"""Hover previews (sphinx-tippy): a glossary term's preview shows all its names and its definition.

sphinx-tippy previews a ``<dt>`` by copying it and the ``<dd>`` right after it. The
book's glossary gives every entry two terms, the Chinese name and the English one, so the
Chinese ``<dt>`` is followed by the English ``<dt>`` and its preview would be the bare
Chinese word. After sphinx-tippy has collected the glossary page (``html-page-context``,
priority 450), this replaces each term's preview with the whole entry: every ``<dt>`` of
it, then the definition. The per-page scripts are written at ``build-finished`` from these
collected previews, so every page that links a term gets the full entry.
"""

from __future__ import annotations

from bs4 import BeautifulSoup
from sphinx_tippy import get_tippy_data

GLOSSARY_PAGE = "glossary"


def _entries(body: BeautifulSoup):
    """(ids of the entry's terms, the entry's HTML) for each glossary entry."""
    for link in body.select("a.headerlink"):
        link.decompose()
    for dl in body.select("dl.glossary"):
        terms = []
        for child in dl.find_all(["dt", "dd"], recursive=False):
            if child.name == "dt":
                terms.append(child)
                continue
            names = " / ".join(t.get_text("", strip=True) for t in terms)
            html = f'<p class="glossary-tip-names"><strong>{names}</strong></p>'
            html += "".join(str(p) for p in child.find_all("p", recursive=False))
            yield [str(t["id"]) for t in terms if t.get("id")], html
            terms = []


def glossary_previews(app, pagename, templatename, context, doctree) -> None:
    """``html-page-context`` after sphinx-tippy: whole entries as the glossary's previews."""
    if pagename != GLOSSARY_PAGE or not doctree or app.builder.format != "html":
        return
    page = get_tippy_data(app)["pages"].get(pagename)
    if page is None:
        return
    for ids, html in _entries(BeautifulSoup(context["body"], "html.parser")):
        for term_id in ids:
            page["id_to_html"][term_id] = html
