"""GB/T 7714 numeric reference styles for pybtex (and so for sphinxcontrib-bibtex).

Two editions of the national standard 《信息与文献　参考文献著录规则》, as two pybtex
formatting styles:

==================  ===================================  ==================================
pybtex name         class                                edition
==================  ===================================  ==================================
``gbt7714``         :class:`GBT7714Style`                GB/T 7714—2025 (in force since
``gbt7714-2025``                                         2026-07-01)
``gbt7714-2015``    :class:`GBT7714Style2015`            GB/T 7714—2015
==================  ===================================  ==================================

The survey's seed cites its sources in the 2015 form::

    [1] 袁非牛, 章琳, 史劲亭, 等. 自编码神经网络理论及应用综述[J]. 计算机学报, 2019, 42(1): 203-230.

Entry types: ``article`` ([J]; ``entrysubtype = {newspaper}`` [N]; an arXiv identifier
without a journal is a preprint), ``book`` ([M], with ``volume``, ``edition``,
``translator``, ``pages``), ``incollection``/``inbook`` ([M]//), ``proceedings`` ([C]),
``inproceedings`` ([C]//), ``phdthesis``/``mastersthesis``/``thesis`` ([D]),
``techreport``/``report`` ([R], ``number`` as the report number), ``standard`` ([S]),
``patent`` ([P]), ``archive`` ([A], ``number`` as the archive number), ``newspaper`` ([N]),
``dataset`` ([DS]), ``software`` ([CP]), ``misc``/``online`` ([EB/OL] with a URL, [Z]
without), ``unpublished`` ([Z]). An entry with ``url`` and ``urldate`` is cited online
(``[M/OL]`` ... URL, DOI). Organisations are written in braces (``{American Chemical
Society}``) and printed as written; so is a full pinyin name (``{Li Jiangning}``).

What the two editions do differently is listed, with the example of the standard that
shows each rule, in :mod:`pybtex_gbt7714.editions`. Sources and their limits:

* GB/T 7714—2015: the printed examples (§8, Appendix A) as reproduced by the CTAN
  package gbt7714 (zepinglee/gbt7714-bibtex-style, ``test/standard.txt``).
* GB/T 7714—2025: the examples' text embedded in the standard's PDF, transcribed by the
  Zotero Chinese CSL group (typst-doc-cn/bib-csl-dev-data, ``GB-T_7714—2025.original.toml``).
  Verified there: names as written with initials (``Boobier T``, ``Godard J-L``, ``Peebles
  P Z Jr``); subtitles in lower case; no access date except for web pages, software, data
  sets and preprints; the preprint type [PP] and the data-set template (version,
  platform, dates); standards as ``number title[S]``; ``[C]//会议名称, 年: 页``; ``DOI:``
  without a space; ``2版``; the archive template.
  Not verified: the embedded text carries ASCII ``.,:;`` with no spaces, and the printed
  page shows the separators of Chinese entries a full character wide; this package writes
  ASCII full stops, commas and colons each followed by one space, in both editions (the
  form of the 2015 text). Also not from a source: ``trans`` after a non-Chinese translator and the 2015
  form of data sets and software (the 2025 template is used).

Labels and order come from :func:`use_bib_order`: once a ``.bib`` file is named, every
work is numbered by its position in that file on every page (one number, one work,
site-wide); before that, entries are numbered 1, 2, ... in the order given. The label and
sorting styles are registered as ``gbt7714`` for both editions.
"""

from __future__ import annotations

from .editions import GBT7714_2015, GBT7714_2025, Edition, edition
from .names import format_names, format_person, is_chinese
from .order import BibOrderLabelStyle, BibOrderSortingStyle, bib_order, use_bib_order
from .templates import GBT7714Style, GBT7714Style2015
from .titles import sentence_case

__all__ = [
    "GBT7714Style",
    "GBT7714Style2015",
    "BibOrderLabelStyle",
    "BibOrderSortingStyle",
    "Edition",
    "GBT7714_2015",
    "GBT7714_2025",
    "edition",
    "use_bib_order",
    "bib_order",
    "is_chinese",
    "format_person",
    "format_names",
    "sentence_case",
]
