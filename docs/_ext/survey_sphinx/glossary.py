"""Link each glossary term, at its first use on a survey page, to its glossary entry.

The chapters name a term in Chinese with its English name at first use; this extension
makes that first occurrence a link to the term's entry in ``glossary.md`` (a ``std:term``
cross-reference, as the ``{term}`` role makes), so a writer does not have to. Only the
first occurrence per page is linked; text in titles, code, math, links and citations is
left alone; where terms overlap the longest wins (``自编码器`` is not read as ``编码器``).
"""

from __future__ import annotations

from docutils import nodes
from sphinx import addnodes

from .search import GLOSSARY, glossary_terms

SKIP_PARENTS = (
    nodes.title,
    nodes.literal,
    nodes.literal_block,
    nodes.math,
    nodes.math_block,
    nodes.reference,
    nodes.raw,
    nodes.target,
    nodes.rubric,
    nodes.citation,
    nodes.citation_reference,
    nodes.caption,
    nodes.term,
    addnodes.pending_xref,
    addnodes.desc_signature,
    nodes.FixedTextElement,
)
PAGES_PREFIX = "survey/"


def _terms() -> list[str]:
    terms = glossary_terms(GLOSSARY)
    return sorted(set(terms), key=len, reverse=True)


def _matches(text: str, terms: list[str]) -> list[tuple[int, str]]:
    """Non-overlapping occurrences, left to right, the longest term first at a position."""
    found = []
    for term in terms:
        start = text.find(term)
        while start != -1:
            found.append((start, term))
            start = text.find(term, start + 1)
    found.sort(key=lambda m: (m[0], -len(m[1])))
    chosen, end = [], -1
    for start, term in found:
        if start >= end:
            chosen.append((start, term))
            end = start + len(term)
    return chosen


def _skip(node: nodes.Node) -> bool:
    parent = node.parent
    while parent is not None:
        if isinstance(parent, SKIP_PARENTS):
            return True
        if isinstance(parent, nodes.Element) and "bibtex-download" in parent["classes"]:
            return True
        parent = parent.parent
    return False


def _xref(term: str) -> addnodes.pending_xref:
    ref = addnodes.pending_xref(
        "",
        refdomain="std",
        reftype="term",
        reftarget=term,
        refexplicit=False,
        refwarn=True,
        classes=["glossary-first-use"],
    )
    ref += nodes.inline(term, term, classes=["xref", "std", "std-term"])
    return ref


def link_first_uses(doctree: nodes.document, terms: list[str]) -> list[str]:
    """Turn the first occurrence of each term into a glossary link; returns those linked."""
    linked: list[str] = []
    for text in list(doctree.findall(nodes.Text)):
        if text.parent is None or _skip(text):
            continue
        value = str(text)
        new: list[tuple[int, str]] = []
        for start, term in _matches(value, terms):
            if term not in linked and term not in (t for _, t in new):
                new.append((start, term))
        if not new:
            continue
        parts: list[nodes.Node] = []
        pos = 0
        for start, term in new:
            if start > pos:
                parts.append(nodes.Text(value[pos:start]))
            parts.append(_xref(term))
            linked.append(term)
            pos = start + len(term)
        if pos < len(value):
            parts.append(nodes.Text(value[pos:]))
        text.parent.replace(text, parts)
    return linked


def link_glossary_terms(app, doctree) -> None:
    if app.env.docname.startswith(PAGES_PREFIX):
        link_first_uses(doctree, _terms())
