"""Numbering: one number per work, site-wide (its position in a ``.bib`` file)."""

from __future__ import annotations

import re
from pathlib import Path

from pybtex.style.labels import BaseLabelStyle
from pybtex.style.sorting import BaseSortingStyle

__all__ = ["BibOrderLabelStyle", "BibOrderSortingStyle", "bib_order", "use_bib_order"]

_ENTRY_KEY = re.compile(r"^\s*@(\w+)\s*\{\s*([^,\s]+)\s*,", re.MULTILINE)
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
