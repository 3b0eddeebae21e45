"""The entry types of GB/T 7714 as pybtex templates (``format_<bibtex type>``).

One class writes both editions; what differs is read from its :class:`~.editions.Edition`.
Every template builds the same chain of elements, each closed by a full stop::

    names. title: other title information[MARK]. other responsibility. edition.
    place: publisher, year: pages[access date]. URL. DOI

An entry is *online* (``[MARK/OL]``, URL and DOI printed) when it has both ``url`` and
``urldate``; otherwise a DOI (or, for a journal or conference paper, its URL) links the
title and is not printed, the way the site has always shown its references.
"""

from __future__ import annotations

import re

from pybtex.richtext import HRef, Text
from pybtex.style.formatting import BaseStyle

from .editions import GBT7714_2015, GBT7714_2025, Edition
from .names import _TEXT_BACKEND, CJK, format_names, is_chinese, persons, plain
from .titles import sentence_case

__all__ = ["GBT7714Style", "GBT7714Style2015"]

_ORDINAL = {1: "st", 2: "nd", 3: "rd"}


def _pages(value: str) -> str:
    return re.sub(r"\s*[-\u2013]+\s*", "-", value.strip())


def _arxiv_id(entry) -> str | None:
    fields = entry.fields
    prefix = fields.get("archivePrefix", fields.get("eprinttype", "")).lower()
    eprint = fields.get("eprint", "").strip()
    if eprint and (prefix == "arxiv" or not prefix):
        return eprint
    return None


def _rendered(block) -> str:
    return block if isinstance(block, str) else block.render(_TEXT_BACKEND)


def _join(*blocks) -> Text:
    """Blocks joined by a full stop and a space, and closed with a full stop (no doubled
    stops)."""
    out: list = []
    for block in blocks:
        if block is None or not _rendered(block):
            continue
        if out:
            out.append(" ")
        out.append(block)
        if not _rendered(block).endswith("."):
            out.append(".")
    return Text(*out)


def _glue(before: str, after: str) -> str:
    """``平台(2023-09-10)`` after Chinese, ``UK Data Service (1980)`` after Latin."""
    if not before:
        return after
    return before + ("" if CJK.search(before[-1]) else " ") + after


class GBT7714Style(BaseStyle):
    """pybtex formatting style: GB/T 7714—2025 numeric reference lists."""

    edition: Edition = GBT7714_2025
    default_name_style = "plain"
    default_label_style = "gbt7714"
    default_sorting_style = "gbt7714"

    # -- fields ---------------------------------------------------------------------
    def _field(self, entry, *names: str) -> str:
        for name in names:
            value = entry.fields.get(name, "").strip()
            if value:
                # a URL is not LaTeX: ``~`` and ``%`` stay as they are
                return value if name == "url" else plain(value).strip()
        return ""

    def _names(self, entry, role: str) -> str:
        found = persons(entry, role)
        return format_names(found, is_chinese(entry), self.edition) if found else ""

    def _online(self, entry) -> bool:
        return bool(self._field(entry, "url") and self._field(entry, "urldate"))

    def _mark(self, entry, code: str, online: bool | None = None) -> str:
        online = self._online(entry) if online is None else online
        return f"[{code}/OL]" if online else f"[{code}]"

    def _year(self, entry) -> str:
        return self._field(entry, "year") or self._field(entry, "date")[:4]

    def _date(self, entry) -> str:
        return self._field(entry, "date") or self._field(entry, "year")

    def _access(self, entry, code: str) -> str:
        urldate = self._field(entry, "urldate")
        if urldate and self._online(entry) and self.edition.prints_access_date(code):
            return f"[{urldate}]"
        return ""

    # -- elements -------------------------------------------------------------------
    def _title(self, entry, *extra: str) -> Text:
        """Title, then subtitle and further title information (volume, number), each after a
        colon."""
        title = entry.fields.get("title", "")
        subtitle = entry.fields.get("subtitle", "")
        parts = [sentence_case(title + (": " + subtitle if subtitle else ""), self.edition)]
        for item in extra:
            if item:
                parts += [": ", item]
        return Text(*parts)

    def _head(
        self,
        entry,
        code: str,
        *extra: str,
        role: str = "author",
        title=None,
        online=None,
        editor_leads: bool = True,
    ) -> Text:
        """``NAMES. Title: extra[MARK]`` (the title linked to its DOI when there is one).

        Without authors the editors lead (``editor_leads``), except in a component part,
        whose editors are the host's."""
        parts: list = []
        names = self._names(entry, role)
        if not names and role == "author" and editor_leads:
            names = self._names(entry, "editor")
        if names:
            parts += [names if names.endswith(".") else names + ".", " "]
        title = self._title(entry, *extra) if title is None else title
        doi, url = self._field(entry, "doi"), self._field(entry, "url")
        if doi:
            title = HRef("https://doi.org/" + doi, title)
        elif url and entry.type.lower() in ("article", "inproceedings", "incollection"):
            title = HRef(url, title)  # e.g. a JMLR paper: no DOI, a stable page
        parts += [title, self._mark(entry, code, online)]
        return Text(*parts)

    def _translators(self, entry) -> str:
        names = self._names(entry, "translator")
        if not names:
            return ""
        return f"{names}, 译" if is_chinese(entry) else f"{names}, trans"

    def _edition(self, entry) -> str:
        """``2版`` / ``2nd ed``; the first edition is not given (§7.4)."""
        value = self._field(entry, "edition")
        if not value.isdigit():
            return value
        n = int(value)
        if n == 1:
            return ""
        if is_chinese(entry):
            return f"{n}{self.edition.edition_space}版"
        suffix = "th" if 10 <= n % 100 <= 20 else _ORDINAL.get(n % 10, "th")
        return f"{n}{suffix} ed"

    def _volume(self, entry) -> str:
        """A volume of a multi-volume book, as other title information: ``第1卷``."""
        value = self._field(entry, "volume")
        if value.isdigit():
            return f"第{value}卷" if is_chinese(entry) else f"v.{value}"
        return value

    def _place_publisher(self, entry, *publisher_fields: str) -> str:
        place = self._field(entry, "address", "location")
        publisher = self._field(entry, *publisher_fields)
        return ": ".join(x for x in (place, publisher) if x)

    def _publication(self, entry, code: str, *publisher_fields: str, date: str = "") -> str:
        """``Place: Publisher, year: pages[access date]``."""
        place = self._place_publisher(entry, *publisher_fields)
        out = ", ".join(x for x in (place, date or self._year(entry)) if x)
        pages = self._field(entry, "pages", "eid")
        if pages:
            out += ": " + _pages(pages)
        return out + self._access(entry, code)

    def _links(self, entry) -> list:
        """``URL. DOI`` for an online work (a DOI inside the URL is not repeated, §7.9)."""
        if not self._online(entry):
            return []
        url, doi = self._field(entry, "url"), self._field(entry, "doi")
        out: list = [HRef(url, url)]
        if doi and doi.lower() not in url.lower():
            out.append(Text(self.edition.doi_label, HRef("https://doi.org/" + doi, doi)))
        cstr = self._field(entry, "cstr")  # China's science and technology resource id
        if cstr and cstr.lower() not in url.lower():
            out.append(Text("CSTR:", HRef("https://cstr.cn/" + cstr, cstr)))
        return out

    def _arxiv(self, entry) -> Text | None:
        eprint = _arxiv_id(entry)
        if eprint is None or self._online(entry):
            return None
        return Text(HRef("https://arxiv.org/abs/" + eprint, "arXiv: " + eprint))

    def _dated(self, entry, code: str) -> str:
        """``(created)[access date]`` of a web page, data set or preprint (§7.6)."""
        date = self._date(entry)
        return (f"({date})" if date else "") + self._access(entry, code)

    # -- periodicals ----------------------------------------------------------------
    def format_article(self, context) -> Text:
        entry = context["entry"]
        subtype = self._field(entry, "entrysubtype", "type").lower()
        if subtype in ("newspaper", "报纸"):
            return self._newspaper(entry)
        journal = self._field(entry, "journal", "journaltitle")
        if _arxiv_id(entry) is not None and (not journal or "arxiv" in journal.lower()):
            return self._preprint(entry)
        source = journal
        volume, number = self._field(entry, "volume"), self._field(entry, "number")
        year = self._field(entry, "year")
        if year:
            source += ", " + year + (", " + volume if volume else "")
            source += f"({number})" if number else ""
        elif self._field(entry, "date"):
            source += ", " + self._date(entry)  # published online first, no issue yet
        pages = self._field(entry, "pages", "eid")
        if pages:
            source += ": " + _pages(pages)
        source += self._access(entry, "J")
        return _join(
            self._head(entry, "J"),
            self._translators(entry),
            source,
            *self._links(entry),
            self._arxiv(entry),
        )

    def _newspaper(self, entry) -> Text:
        number = self._field(entry, "number")
        source = self._field(entry, "journal", "journaltitle") + ", " + self._date(entry)
        source += (f"({number})" if number else "") + self._access(entry, "N")
        return _join(self._head(entry, "N"), source, *self._links(entry))

    def format_newspaper(self, context) -> Text:
        return self._newspaper(context["entry"])

    # -- books and their parts -------------------------------------------------------
    def format_book(self, context) -> Text:
        entry = context["entry"]
        return _join(
            self._head(entry, "M", self._volume(entry)),
            self._translators(entry),
            self._edition(entry),
            self._publication(entry, "M", "publisher"),
            *self._links(entry),
            self._arxiv(entry),
        )

    def format_proceedings(self, context) -> Text:
        entry = context["entry"]
        return _join(
            self._head(entry, "C", self._volume(entry), role="editor"),
            self._publication(entry, "C", "publisher", "organization"),
            *self._links(entry),
        )

    def _component(self, entry, code: str, *publisher_fields: str) -> Text:
        """``Part[MARK]. other responsibility//Host names. Host: volume. edition. ...``."""
        head = Text(self._head(entry, code, editor_leads=False))
        translators = self._translators(entry)
        if translators:
            head = Text(head, ". ", translators)
        head = Text(head, "//")
        editors = self._names(entry, "editor")
        if editors:
            head = Text(head, editors, ". ")
        host = self._field(entry, "booktitle")
        volume = self._volume(entry)
        head = Text(head, host + (": " + volume if volume else ""))
        place = self._place_publisher(entry, *publisher_fields)
        if not place and self.edition.conference_year_comma:
            # 2025 §8.6.3: ``[C]//会议名称, 2022: 2``
            year_pages = self._publication(entry, code, *publisher_fields)
            return _join(Text(head, ", ", year_pages), *self._links(entry), self._arxiv(entry))
        return _join(
            head,
            self._edition(entry),
            self._publication(entry, code, *publisher_fields),
            *self._links(entry),
            self._arxiv(entry),
        )

    def format_incollection(self, context) -> Text:
        return self._component(context["entry"], "M", "publisher")

    format_inbook = format_incollection

    def format_inproceedings(self, context) -> Text:
        return self._component(context["entry"], "C", "publisher", "organization")

    format_conference = format_inproceedings

    # -- theses, reports, standards, patents, archives --------------------------------
    def _thesis(self, context) -> Text:
        entry = context["entry"]
        return _join(
            self._head(entry, "D"),
            self._publication(entry, "D", "school", "institution"),
            *self._links(entry),
        )

    format_phdthesis = format_mastersthesis = format_thesis = _thesis

    def format_techreport(self, context) -> Text:
        entry = context["entry"]
        number = self._field(entry, "number")
        if self._place_publisher(entry, "institution", "publisher"):
            where = self._publication(entry, "R", "institution", "publisher")
        elif self.edition.year >= 2025:
            # §8.8.3: ``[R/OL]. 2013-09-30. http://...``, ``[R/OL]. 2011: 8-9. https://...``
            where = self._publication(entry, "R", date=self._date(entry))
        else:
            where = self._dated(entry, "R")  # 2015 A.6: ``[R/OL]. (2012-01-16)[2013-03-26]``
        return _join(self._head(entry, "R", number), where, *self._links(entry), self._arxiv(entry))

    format_report = format_techreport

    def format_standard(self, context) -> Text:
        entry = context["entry"]
        number = self._field(entry, "number")
        if self.edition.standard_number_first:
            title = self._title(entry)
            if number:
                title = Text(number, " ", title)
            return _join(self._head(entry, "S", title=title), *self._links(entry))
        return _join(
            self._head(entry, "S", number),
            self._publication(entry, "S", "publisher", "institution", "organization"),
            *self._links(entry),
        )

    def format_patent(self, context) -> Text:
        entry = context["entry"]
        where = self._date(entry)
        pages = self._field(entry, "pages")
        if pages:
            where += ": " + _pages(pages)
        return _join(
            self._head(entry, "P", self._field(entry, "number")),
            where + self._access(entry, "P"),
            *self._links(entry),
        )

    def format_archive(self, context) -> Text:
        entry = context["entry"]
        return _join(
            self._head(entry, "A", self._field(entry, "number")),
            self._publication(
                entry, "A", "institution", "publisher", date=self._field(entry, "date")
            ),
            *self._links(entry),
        )

    # -- electronic resources ---------------------------------------------------------
    def _preprint(self, entry) -> Text:
        mark = self.edition.preprint_mark
        if self.edition.year < 2025:
            if self._online(entry):  # a web page: ``(created)[access date]. URL``
                return _join(self._head(entry, mark), self._dated(entry, mark), *self._links(entry))
            arxiv, year = self._arxiv(entry), self._year(entry)
            body = Text(arxiv, ", " + year) if arxiv is not None and year else arxiv
            return _join(self._head(entry, mark, online=True), body)
        return self._released(entry, mark, default_platform="arXiv")

    def _released(self, entry, code: str, default_platform: str = "") -> Text:
        """Data sets, software and (2025) preprints: ``V2. Platform(date)[access]. URL``."""
        version = self._field(entry, "version")
        if version and version[0].isdigit():
            version = "V" + version
        platform = self._field(entry, "publisher", "organization", "howpublished")
        eprint = _arxiv_id(entry)
        platform = platform or (default_platform if eprint else "")
        url = self._field(entry, "url") or (f"https://arxiv.org/abs/{eprint}" if eprint else "")
        online = bool(url)
        head = self._head(entry, code, online=online)
        dated = _glue(platform, f"({self._date(entry)})" if self._date(entry) else "")
        dated += self._access(entry, code) if self._online(entry) else ""
        links = self._links(entry) if self._online(entry) else ([HRef(url, url)] if url else [])
        return _join(head, version, dated, *links)

    def format_preprint(self, context) -> Text:
        return self._preprint(context["entry"])

    def format_dataset(self, context) -> Text:
        return self._released(context["entry"], "DS")

    def format_software(self, context) -> Text:
        return self._released(context["entry"], "CP")

    def format_misc(self, context) -> Text:
        entry = context["entry"]
        if _arxiv_id(entry) is not None:
            return self._preprint(entry)
        if not self._field(entry, "url"):
            return _join(self._head(entry, "Z"), self._publication(entry, "Z", "publisher"))
        # a web page is always online: ``[EB/OL]. (created)[access date]. URL``
        head = self._head(entry, "EB", online=True)
        url = self._field(entry, "url")
        return _join(head, self._dated(entry, "EB"), HRef(url, url))

    format_online = format_electronic = format_webpage = format_misc

    def format_unpublished(self, context) -> Text:
        entry = context["entry"]
        return _join(self._head(entry, "Z"), self._year(entry))


class GBT7714Style2015(GBT7714Style):
    """pybtex formatting style: GB/T 7714—2015 numeric reference lists (the style of
    the survey's seed)."""

    edition = GBT7714_2015
