"""What differs between GB/T 7714—2015 and GB/T 7714—2025, one switch per difference.

Each switch names the printed example of the standard that shows it. Rules the two
editions share (the order of the elements, ``等``/``et al`` after three names, the type
marks of Table 1, ``//`` before the host of a component part) live in the templates.
"""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["Edition", "GBT7714_2015", "GBT7714_2025", "edition", "checked"]


@dataclass(frozen=True)
class Edition:
    """The rules of one edition of GB/T 7714 that the templates consult."""

    year: int
    # 2015 ``HINTON G E``; 2025 §5.1 example 3 ``Boobier T`` (family name as written)
    family_upper: bool
    # 2015 A.1 ``PEEBLES P Z, Jr``; 2025 §8.2.2 example 6 ``Peebles P Z Jr``
    lineage_comma: bool
    # 2025 §7.1.1 ``Godard J-L`` (hyphenated given names keep the hyphen); 2015 ``J L``
    hyphenated_initials: bool
    # 2025 §8.2.2 ``Death by theory: a tale of mystery ...``: the subtitle is lower case;
    # 2015 keeps the subtitle's first word as the bib file writes it
    subtitle_lowercase: bool
    # the type marks whose online form prints the access date ``[YYYY-MM-DD]``; 2015:
    # every online work (None); 2025: web pages, software, data sets and preprints only
    # (§7.6; B.1 [14] ``[M/OL]. 北京: 社会科学文献出版社, 2001. http://...``)
    access_date_marks: frozenset[str] | None
    # an arXiv preprint: 2015 ``[EB/OL]. arXiv: 2001.08361, 2020``; 2025 §8.15 ``[PP/OL]``
    preprint_mark: str
    # 2015 ``DOI: 10.3771/...``; 2025 §7.9.2 ``DOI:10.7666/d.y351065``
    doi_label: str
    # 2025 §8.6.3 ``[C]//...学术年会, 2022: 2``: without publisher, the conference year
    # follows the proceedings title after a comma; 2015 starts a new element
    conference_year_comma: bool
    # 2025 §8.9.2 ``GB/T 3792—2021 信息与文献 资源描述[S]``: number first, no
    # publisher; 2015 A.1 ``全国...委员会. 信息与文献　都柏林...: GB/T 25100—2010[S]. 北京: ...``
    standard_number_first: bool
    # 2025 §8.2.2 ``2版``; 2015 ``2 版`` (the site's form before 2025)
    edition_space: str

    def prints_access_date(self, mark: str) -> bool:
        return self.access_date_marks is None or mark in self.access_date_marks


GBT7714_2015 = Edition(
    year=2015,
    family_upper=True,
    lineage_comma=True,
    hyphenated_initials=False,
    subtitle_lowercase=False,
    access_date_marks=None,
    preprint_mark="EB",
    doi_label="DOI: ",
    conference_year_comma=False,
    standard_number_first=False,
    edition_space=" ",
)

GBT7714_2025 = Edition(
    year=2025,
    family_upper=False,
    lineage_comma=False,
    hyphenated_initials=True,
    subtitle_lowercase=True,
    access_date_marks=frozenset({"EB", "CP", "DS", "PP"}),
    preprint_mark="PP",
    doi_label="DOI:",
    conference_year_comma=True,
    standard_number_first=True,
    edition_space="",
)

_EDITIONS = {2015: GBT7714_2015, 2025: GBT7714_2025}


def edition(year: int | str) -> Edition:
    """The edition published in ``year`` (2015 or 2025)."""
    try:
        return _EDITIONS[int(year)]
    except (KeyError, ValueError, TypeError):
        raise ValueError(
            f"year: expected one of the editions {sorted(_EDITIONS)}, got {year!r}"
        ) from None


def checked(value) -> Edition:
    """``value`` if it is an :class:`Edition` (the public functions' ``edition`` argument)."""
    if not isinstance(value, Edition):
        raise TypeError(
            f"edition: expected GBT7714_2015 or GBT7714_2025 (an Edition), got {value!r}"
        )
    return value
