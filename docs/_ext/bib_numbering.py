"""One citation number per work across the whole site.

Each chapter ends with its own reference list and the references page lists everything.
If each list numbered its entries from 1, the same number would name different works on
different pages (and sphinxcontrib-bibtex warns about duplicate labels). Instead every
work's number is its position in ``references.bib``, on every page, and every list is
sorted by that number.
"""

from __future__ import annotations

import re
from pathlib import Path

from pybtex.plugin import register_plugin
from pybtex.style.formatting.unsrt import Style as UnsrtStyle
from pybtex.style.labels import BaseLabelStyle
from pybtex.style.sorting import BaseSortingStyle

BIB_FILE = Path(__file__).resolve().parents[2] / "references.bib"
_ENTRY_KEY = re.compile(r"^@\w+\s*\{\s*([^,\s]+)\s*,", re.MULTILINE)


def bib_order(path: Path = BIB_FILE) -> dict[str, int]:
    """Map each citation key to its 1-based position in the bib file."""
    keys = _ENTRY_KEY.findall(path.read_text(encoding="utf-8"))
    return {key.lower(): i for i, key in enumerate(keys, start=1)}


class GlobalNumberLabelStyle(BaseLabelStyle):
    """Label = the entry's position in references.bib."""

    def format_labels(self, sorted_entries):
        order = bib_order()
        for entry in sorted_entries:
            yield str(order[entry.key.lower()])


class GlobalNumberSortingStyle(BaseSortingStyle):
    """Sort entries by their position in references.bib."""

    def sorting_key(self, entry):
        return bib_order()[entry.key.lower()]


class GlobalNumberedUnsrtStyle(UnsrtStyle):
    default_label_style = "global_number"
    default_sorting_style = "global_number"


def setup(app):
    register_plugin("pybtex.style.labels", "global_number", GlobalNumberLabelStyle)
    register_plugin("pybtex.style.sorting", "global_number", GlobalNumberSortingStyle)
    register_plugin("pybtex.style.formatting", "unsrt_global", GlobalNumberedUnsrtStyle)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
