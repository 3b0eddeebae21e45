"""GB/T 7714-2015 numeric reference style for pybtex (and so for sphinxcontrib-bibtex).

The survey's seed cites its sources the way Chinese journals do, following the national
standard GB/T 7714-2015 《信息与文献　参考文献著录规则》::

    [1] 袁非牛, 章琳, 史劲亭, 等. 自编码神经网络理论及应用综述[J]. 计算机学报, 2019, 42(1): 203-230.

This module writes every list of the site in that form. The rules it follows:

* Type marks after the title: ``[J]`` journal article, ``[C]`` conference paper, ``[M]``
  book (``[M]//`` for a chapter of an edited book), ``[D]`` thesis, ``[R]`` report,
  ``[EB/OL]`` online resource (an arXiv preprint or a web page); ``/OL`` is added to a
  report that is cited at a URL with an access date, and ``[Z]`` marks anything else.
* Authors: at most three, then ``等`` for a Chinese work or ``et al`` for any other.
  Latin names are written family name first in capitals, then the initials of the given
  names without full stops (``HINTON G E``); Chinese names and organisations as written.
* English titles in sentence case; words in braces, acronyms (``GAN``) and words with
  inner capitals (``ImageNet``) keep their case, and so does the word after a colon.
* ``pages = {203--230}`` is printed ``203-230``; an arXiv identifier is printed
  ``arXiv: 1312.6114`` and linked to its abstract page; a DOI (or, for a paper without
  one, its URL) links the title.

Registered with pybtex through entry points (see ``pyproject.toml``)::

    pybtex.style.formatting: gbt7714 -> GBT7714Style
    pybtex.style.labels:     gbt7714 -> BibOrderLabelStyle
    pybtex.style.sorting:    gbt7714 -> BibOrderSortingStyle

so ``bibtex_default_style = "gbt7714"`` selects it in Sphinx. Labels and order come from
:func:`use_bib_order`: once a ``.bib`` file is named, every work is numbered by its
position in that file on every page (one number, one work, site-wide); before that, the
entries are numbered 1, 2, ... in the order they are given.
"""

from __future__ import annotations

import re
from pathlib import Path

from pybtex.backends.plaintext import Backend as _PlainTextBackend
from pybtex.richtext import HRef, Protected, String, Text
from pybtex.style.formatting import BaseStyle
from pybtex.style.labels import BaseLabelStyle
from pybtex.style.sorting import BaseSortingStyle

__all__ = [
    "GBT7714Style",
    "BibOrderLabelStyle",
    "BibOrderSortingStyle",
    "use_bib_order",
    "bib_order",
    "is_chinese",
    "format_person",
    "sentence_case",
]

_CJK = re.compile(r"[\u3400-\u9fff\uf900-\ufaff\u3000-\u303f\uff00-\uffef]")
_ENTRY_KEY = re.compile(r"^\s*@(\w+)\s*\{\s*([^,\s]+)\s*,", re.MULTILINE)
# one backend, made once: render_as("text") looks the backend up among entry points on
# every call, which is slow
_TEXT_BACKEND = _PlainTextBackend()
_CHINESE_LANGUAGES = {"chinese", "zh", "zh-cn", "zh_cn", "zh-hans", "中文"}

# --------------------------------------------------------------------------------------
# numbering: one number per work, site-wide
# --------------------------------------------------------------------------------------

_ORDER: dict[str, int] = {}


def bib_order(path: str | Path) -> dict[str, int]:
    """Map each citation key (lower case) of a ``.bib`` file to its 1-based position.

    ``@comment``, ``@string`` and ``@preamble`` blocks are not entries and get no number.
    """
    text = Path(path).read_text(encoding="utf-8")
    keys = [
        key
        for kind, key in _ENTRY_KEY.findall(text)
        if kind.lower() not in {"comment", "string", "preamble"}
    ]
    return {key.lower(): i for i, key in enumerate(keys, start=1)}


def use_bib_order(path: str | Path | None) -> None:
    """Number and sort every later bibliography by position in the bib file ``path``.

    ``None`` switches back to numbering entries in the order they are given.
    """
    _ORDER.clear()
    if path is not None:
        _ORDER.update(bib_order(path))


def _position(entry) -> int | None:
    return _ORDER.get(entry.key.lower())


class BibOrderLabelStyle(BaseLabelStyle):
    """Label ``n``: the entry's position in the bib file named by :func:`use_bib_order`
    (or its position in the list when no file is named, or the key is not in it)."""

    def format_labels(self, sorted_entries):
        for i, entry in enumerate(sorted_entries, start=1):
            position = _position(entry)
            yield str(position if position is not None else i)


class BibOrderSortingStyle(BaseSortingStyle):
    """Sort by position in the bib file (entries not in it keep their order, last)."""

    def sorting_key(self, entry):
        position = _position(entry)
        return (0, position) if position is not None else (1, 0)

    def sort(self, entries):
        # sorted() is stable, so entries without a position keep their given order
        return sorted(entries, key=self.sorting_key)


# --------------------------------------------------------------------------------------
# names and titles
# --------------------------------------------------------------------------------------


def _plain(latex: str) -> str:
    """LaTeX field text (``Herv{\\'e}``, ``{\\L}ukasz``, ``{OpenAI}``) as plain Unicode."""
    return Text.from_latex(latex).render(_TEXT_BACKEND)


def is_chinese(entry) -> bool:
    """A Chinese work: ``language = {chinese}`` or Chinese characters in title/authors."""
    language = entry.fields.get("language", "").strip().lower()
    if language in _CHINESE_LANGUAGES:
        return True
    if _CJK.search(entry.fields.get("title", "")):
        return True
    return any(_CJK.search(str(p)) for p in entry.persons.get("author", []))


def format_person(person) -> str:
    """One name as GB/T 7714 writes it.

    ``Hinton, Geoffrey E.`` -> ``HINTON G E``; ``Zhu, Jun-Yan`` -> ``ZHU J Y``;
    ``袁非牛`` -> ``袁非牛``; ``{OpenAI}`` (an organisation, in braces) -> ``OpenAI``.
    """
    given = person.first_names + person.middle_names
    family_tokens = person.prelast_names + person.last_names
    family = " ".join(_plain(t) for t in family_tokens)
    if not given:
        single = len(family_tokens) == 1
        braced = single and family_tokens[0].startswith("{") and family_tokens[0].endswith("}")
        if braced or _CJK.search(family):
            return family  # an organisation or a Chinese name: as written
        return family.upper()
    if _CJK.search(family):
        # a Chinese name split as family/given in the bib file: written together
        return family + "".join(_plain(t) for t in given)
    initials = []
    for token in given:
        for part in re.split(r"[-\s.]+", _plain(token)):
            letters = [c for c in part if c.isalpha()]
            if letters:
                initials.append(letters[0].upper())
    lineage = " ".join(_plain(t) for t in person.lineage_names)
    name = family.upper() + (" " + " ".join(initials) if initials else "")
    return name + (" " + lineage if lineage else "")


def _names(persons, chinese: bool) -> str:
    names = [format_person(p) for p in persons]
    if len(names) > 3:
        names = names[:3] + ["等" if chinese else "et al"]
    return ", ".join(names)


_WORD = re.compile(r"[^\W\d_][\w'’]*", re.UNICODE)


def _keeps_case(word: str) -> bool:
    """Acronyms (``GAN``, ``VAE``) and words with inner capitals (``ImageNet``)."""
    return any(c.isupper() for c in word[1:])


class _Case:
    def __init__(self) -> None:
        self.first = True  # next word starts the title or follows a colon

    def words(self, text: str) -> str:
        out, last = [], 0
        for m in _WORD.finditer(text):
            between = text[last : m.start()]
            out.append(between)
            if ":" in between or "?" in between or "!" in between:
                self.first = True
            word = m.group()
            if self.first:
                word = word[0].upper() + word[1:]
            elif not _keeps_case(word):
                word = word.lower()
            out.append(word)
            self.first = False
            last = m.end()
        tail = text[last:]
        if ":" in tail:
            self.first = True
        out.append(tail)
        return "".join(out)


def _sentence(node, state: _Case):
    if isinstance(node, Protected):
        if node.parts:
            state.first = False
        return node
    if isinstance(node, String):
        return String(state.words(node.value))
    parts = [_sentence(part, state) for part in node.parts]
    return node._create_similar(parts)


def sentence_case(latex: str) -> Text:
    """English title in sentence case (braced parts, acronyms and the word after a colon
    keep their case); a Chinese title is returned unchanged."""
    text = Text.from_latex(latex)
    if _CJK.search(latex):
        return text
    return _sentence(text, _Case())


# --------------------------------------------------------------------------------------
# the style
# --------------------------------------------------------------------------------------


def _pages(value: str) -> str:
    return re.sub(r"\s*-+\s*", "-", value.strip())


def _arxiv_id(entry) -> str | None:
    fields = entry.fields
    prefix = fields.get("archivePrefix", fields.get("eprinttype", "")).lower()
    eprint = fields.get("eprint", "").strip()
    if eprint and (prefix == "arxiv" or not prefix):
        return eprint
    return None


def _is_preprint(entry) -> bool:
    journal = entry.fields.get("journal", "")
    return _arxiv_id(entry) is not None and (not journal or "arxiv" in journal.lower())


class GBT7714Style(BaseStyle):
    """pybtex formatting style for GB/T 7714-2015 numeric reference lists."""

    default_name_style = "plain"
    default_label_style = "gbt7714"
    default_sorting_style = "gbt7714"

    # -- pieces -------------------------------------------------------------------------
    def _field(self, entry, name: str) -> str:
        return _plain(entry.fields[name]).strip() if entry.fields.get(name) else ""

    def _authors(self, entry, role: str = "author") -> str:
        persons = entry.persons.get(role, [])
        return _names(persons, is_chinese(entry)) if persons else ""

    def _head(self, entry, mark: str) -> Text:
        """``AUTHORS. Title[MARK]`` (title linked to its DOI when there is one)."""
        parts: list = []
        authors = self._authors(entry)
        if authors:
            parts.append(authors if authors.endswith(".") else authors + ".")
            parts.append(" ")
        title = sentence_case(entry.fields.get("title", ""))
        number = self._field(entry, "number") if entry.type == "techreport" else ""
        if number:
            title = Text(title, ": ", number)
        doi = entry.fields.get("doi", "").strip()
        url = entry.fields.get("url", "").strip()
        if doi:
            title = HRef("https://doi.org/" + doi, title)
        elif url and entry.type in ("article", "inproceedings", "incollection"):
            title = HRef(url, title)  # e.g. a JMLR paper: no DOI, a stable page
        parts.append(title)
        parts.append(f"[{mark}]")
        return Text(*parts)

    def _publisher(self, entry, *names: str) -> str:
        """``Address: Publisher`` (either part may be missing)."""
        address = self._field(entry, "address") or self._field(entry, "location")
        publisher = next((self._field(entry, n) for n in names if entry.fields.get(n)), "")
        if address and publisher:
            return f"{address}: {publisher}"
        return address or publisher

    def _arxiv(self, entry) -> Text | None:
        eprint = _arxiv_id(entry)
        if eprint is None:
            return None
        return Text(HRef("https://arxiv.org/abs/" + eprint, "arXiv: " + eprint))

    @staticmethod
    def _join(*blocks) -> Text:
        """Blocks joined by ``. `` and closed with a full stop (no doubled stops)."""
        out: list = []
        for block in blocks:
            if block is None or (isinstance(block, str) and not block):
                continue
            if out:
                out.append(" ")
            out.append(block)
            rendered = block if isinstance(block, str) else block.render(_TEXT_BACKEND)
            if not rendered.endswith("."):
                out.append(".")
        return Text(*out)

    def _where(self, entry, *publisher_fields: str, pages: bool = True) -> str:
        """``Address: Publisher, year: pages``."""
        place = self._publisher(entry, *publisher_fields)
        year = self._field(entry, "year")
        out = ", ".join(x for x in (place, year) if x)
        if pages and entry.fields.get("pages"):
            out += ": " + _pages(entry.fields["pages"])
        return out

    # -- entry types (pybtex calls format_<type>(context)) --------------------------------
    def format_article(self, context) -> Text:
        entry = context["entry"]
        if _is_preprint(entry):
            return self._preprint(entry)
        source = self._field(entry, "journal")
        year = self._field(entry, "year")
        source = ", ".join(x for x in (source, year) if x)
        volume, number = self._field(entry, "volume"), self._field(entry, "number")
        if volume:
            source += ", " + volume
        if number:
            source += f"({number})"
        if entry.fields.get("pages"):
            source += ": " + _pages(entry.fields["pages"])
        return self._join(self._head(entry, "J"), source, self._arxiv(entry))

    def _preprint(self, entry) -> Text:
        arxiv = self._arxiv(entry)
        year = self._field(entry, "year")
        return self._join(self._head(entry, "EB/OL"), Text(arxiv, ", " + year) if year else arxiv)

    def format_inproceedings(self, context) -> Text:
        entry = context["entry"]
        head = Text(self._head(entry, "C"), "//", self._field(entry, "booktitle"))
        return self._join(head, self._where(entry, "publisher", "organization"), self._arxiv(entry))

    format_conference = format_inproceedings

    def format_incollection(self, context) -> Text:
        entry = context["entry"]
        editors = self._authors(entry, "editor")
        head = Text(self._head(entry, "M"), "//")
        if editors:
            head = Text(head, editors, ". ")
        head = Text(head, self._field(entry, "booktitle"))
        return self._join(head, self._where(entry, "publisher"), self._arxiv(entry))

    format_inbook = format_incollection

    def format_book(self, context) -> Text:
        entry = context["entry"]
        edition = self._field(entry, "edition")
        if edition and edition.isdigit():
            edition = f"{edition} 版" if is_chinese(entry) else f"{edition}th ed"
        return self._join(
            self._head(entry, "M"),
            edition,
            self._where(entry, "publisher", pages=False),
            self._arxiv(entry),
        )

    def _thesis(self, context) -> Text:
        entry = context["entry"]
        return self._join(self._head(entry, "D"), self._where(entry, "school", pages=False))

    format_phdthesis = _thesis
    format_mastersthesis = _thesis
    format_thesis = _thesis

    def format_techreport(self, context) -> Text:
        entry = context["entry"]
        url, urldate = self._field(entry, "url"), self._field(entry, "urldate")
        online = bool(url and urldate)
        where = self._where(entry, "institution", "publisher", pages=False)
        if online:
            where += f"[{urldate}]"
        return self._join(
            self._head(entry, "R/OL" if online else "R"),
            where,
            HRef(url, url) if online else None,
            self._arxiv(entry),
        )

    format_report = format_techreport

    def format_misc(self, context) -> Text:
        entry = context["entry"]
        if _arxiv_id(entry) is not None:
            return self._preprint(entry)
        url = self._field(entry, "url")
        if not url:
            return self._join(self._head(entry, "Z"), self._where(entry, "publisher", pages=False))
        year, urldate = self._field(entry, "year"), self._field(entry, "urldate")
        dates = (f"({year})" if year else "") + (f"[{urldate}]" if urldate else "")
        return self._join(self._head(entry, "EB/OL"), dates, HRef(url, url))

    format_online = format_misc
    format_electronic = format_misc

    def format_unpublished(self, context) -> Text:
        entry = context["entry"]
        return self._join(self._head(entry, "Z"), self._field(entry, "year"))
