"""One citation number per work across the whole site (GB/T 7714 numeric lists).

Each chapter ends with its own reference list and the references page lists everything.
If each list numbered its entries from 1, the same number would name different works on
different pages (and sphinxcontrib-bibtex warns about duplicate labels). Instead every
work's number is its position in ``references.bib``, on every page, and every list is
sorted by that number.

The formatting style, its labels and its sorting live in :mod:`pybtex_gbt7714`
and reach pybtex through the package's entry points (``gbt7714`` in the groups
``pybtex.style.formatting``, ``.labels`` and ``.sorting``); this extension only tells
them which bib file defines the numbers.
"""

from __future__ import annotations

from pathlib import Path

from pybtex_gbt7714 import use_bib_order

BIB_FILE = Path(__file__).resolve().parents[3] / "references.bib"


def number_by_bib_order() -> None:
    """Number every work by its position in references.bib, on every page."""
    use_bib_order(BIB_FILE)
