"""Scholar metadata: ``<meta name="citation_…">`` on every chapter page.

Google Scholar's inclusion guidelines and Zotero's "Embedded Metadata" translator read
the Highwire Press tags; a chapter page gets::

    citation_title              the chapter's title
    citation_author             one tag per author of the book
    citation_publication_date   the release date, YYYY/MM/DD
    citation_language           the site's language (zh-CN)
    citation_book_title         the book (the Sphinx ``project``)
    citation_public_url         the page's address (only when ``html_baseurl`` is set)

Authors and date come from ``CITATION.cff`` (``survey_citation_file``), the one place
that says how to cite the book; ``survey_scholar_pages`` (glob patterns of page names,
default the numbered chapters ``survey/[0-9]*``) says which pages are chapters.
"""

from __future__ import annotations

import html
from fnmatch import fnmatch
from pathlib import Path

__all__ = ["authors", "read_citation", "chapter_tags", "add_chapter_tags"]


def read_citation(path: str | Path) -> dict:
    """The parsed ``CITATION.cff`` (YAML) at ``path``."""
    import yaml

    text = Path(path).read_text(encoding="utf-8")
    cff = yaml.safe_load(text)
    if not isinstance(cff, dict) or not cff.get("authors"):
        raise ValueError(f"{path}: expected a CITATION.cff mapping with authors")
    return cff


def authors(cff: dict) -> list[str]:
    """Each author as a string: an entity's ``name``, or ``family, given``."""
    out = []
    for person in cff["authors"]:
        if person.get("name"):
            out.append(str(person["name"]))
        else:
            given = person.get("given-names", "")
            out.append(", ".join(x for x in (person.get("family-names", ""), given) if x))
    return out


def chapter_tags(cff: dict, title: str, book: str, language: str, url: str = "") -> str:
    """The ``<meta>`` tags of one chapter, as HTML."""
    pairs = [("citation_title", title)]
    pairs += [("citation_author", name) for name in authors(cff)]
    released = str(cff.get("date-released", ""))
    if released:
        pairs.append(("citation_publication_date", released.replace("-", "/")))
    pairs += [("citation_language", language.replace("_", "-")), ("citation_book_title", book)]
    if url:
        pairs.append(("citation_public_url", url))
    return "".join(
        f'\n    <meta name="{name}" content="{html.escape(value, quote=True)}" />'
        for name, value in pairs
    )


def add_chapter_tags(app, pagename, templatename, context, doctree) -> None:
    """``html-page-context``: append the tags to a chapter page's ``metatags``."""
    if doctree is None or not any(fnmatch(pagename, p) for p in app.config.survey_scholar_pages):
        return
    cff = read_citation(Path(app.confdir, app.config.survey_citation_file))
    title = app.env.titles[pagename].astext()
    base = app.config.html_baseurl
    url = base.rstrip("/") + "/" + app.builder.get_target_uri(pagename) if base else ""
    context["metatags"] = context.get("metatags", "") + chapter_tags(
        cff, title, app.config.project, app.config.language or "", url
    )
