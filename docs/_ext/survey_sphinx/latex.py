"""The PDF (LaTeX builder): the book's pages as the site shows them, in one document.

Two things differ from the site, and two post-transforms (LaTeX only) fix them:

- Sphinx gathers every citation of the book into one bibliography at its end
  (``sphinx.builders.latex.transforms.BibliographyTransform``, priority 750). Each
  chapter of this book ends with its own reference list and the references page lists
  everything, so gathering would print each work several times, far from its chapter.
  :class:`MarkBibliographies` (before) notes where each list stood and
  :class:`RestoreBibliographies` (after) puts each list back there, in Sphinx's own
  ``thebibliography`` node; ``docs/conf.py``'s preamble makes that environment open no
  chapter of its own (the list sits under its page's 参考文献 heading).
- The PDF holds the chapters, the results page, the glossary and the references, not the
  example pages or the API reference. The LaTeX builder writes a reference to one of
  those as its text, unlinked; for a ``{ref}`` or ``{doc}`` without text of its own that
  text would be the bare label, so :class:`TitlesOutsideBook` puts the page's title
  there first.
"""

from __future__ import annotations

from docutils import nodes
from sphinx import addnodes
from sphinx.builders.latex.nodes import thebibliography
from sphinx.transforms.post_transforms import SphinxPostTransform
from sphinx.util import docname_join

__all__ = ["MarkBibliographies", "RestoreBibliographies", "TitlesOutsideBook"]


class _bibliography_place(nodes.General, nodes.Element):
    """Where a reference list stood (``ids``: its citations); never written out."""


def _key(citation: nodes.citation) -> tuple[str, str]:
    # ids are unique within a page only; two chapters may both have an "id5"
    return citation["docname"], citation["ids"][0]


class MarkBibliographies(SphinxPostTransform):
    default_priority = 740  # before Sphinx gathers the citations (750)
    formats = ("latex",)

    def run(self, **kwargs) -> None:
        place, last = None, None
        for citation in list(self.document.findall(nodes.citation)):
            if place is None or citation.previous_sibling() is not last:
                place = _bibliography_place(citations=[])
                citation.parent.insert(citation.parent.index(citation), place)
            place["citations"].append(_key(citation))
            last = citation


class RestoreBibliographies(SphinxPostTransform):
    default_priority = 760  # after Sphinx gathered them at the end
    formats = ("latex",)

    def run(self, **kwargs) -> None:
        gathered = {}
        for tail in list(self.document.findall(thebibliography)):
            gathered.update((_key(c), c) for c in tail.children)
            tail.parent.remove(tail)
        for place in list(self.document.findall(_bibliography_place)):
            in_place = thebibliography()
            in_place.extend(gathered.pop(k) for k in place["citations"] if k in gathered)
            if len(in_place):
                place.replace_self(in_place)
            else:
                place.parent.remove(place)
        if gathered:  # a citation outside any list we saw: leave it where Sphinx put it
            self.document += thebibliography("", *gathered.values())


class TitlesOutsideBook(SphinxPostTransform):
    """A ``{ref}`` or ``{doc}`` without its own text, to a page outside the book, shows
    that page's title. (The LaTeX builder cannot link there: it keeps the role's content,
    which for these is the bare label, e.g. ``sphx_glr_auto_examples_..._py``.)"""

    default_priority = 9  # just before Sphinx resolves references (10)
    formats = ("latex",)

    def run(self, **kwargs) -> None:
        in_book = self.app.builder.docnames
        labels = self.env.get_domain("std").labels
        for xref in list(self.document.findall(addnodes.pending_xref)):
            if xref.get("refdomain") != "std" or xref.get("refexplicit"):
                continue
            target = xref.get("reftarget", "")
            if xref.get("reftype") == "ref" and target in labels:
                docname, _, title = labels[target]
            elif xref.get("reftype") == "doc":
                docname = docname_join(xref.get("refdoc", ""), target)
                title = self.env.titles[docname].astext() if docname in self.env.titles else ""
            else:
                continue
            if title and docname not in in_book:
                xref.replace_self(nodes.inline(title, title))


def setup(app) -> None:
    for transform in (MarkBibliographies, RestoreBibliographies, TitlesOutsideBook):
        app.add_post_transform(transform)
