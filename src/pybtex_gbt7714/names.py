"""Names of persons and organisations, and the list of names before a title."""

from __future__ import annotations

import functools
import re

from pybtex.backends.plaintext import Backend as _PlainTextBackend
from pybtex.database import Person
from pybtex.richtext import Text

from .editions import GBT7714_2025, Edition, checked

__all__ = ["plain", "from_latex", "persons", "is_chinese", "format_person", "format_names", "CJK"]

CJK = re.compile(r"[\u3040-\u30ff\u3400-\u9fff\uf900-\ufaff\u3000-\u303f\uff00-\uffef]")
# one backend, made once: render_as("text") looks the backend up among entry points on
# every call, which is slow
_TEXT_BACKEND = _PlainTextBackend()
_QUAD = re.compile(r"\\quad\b\s*")
_CHINESE_LANGUAGES = {"chinese", "zh", "zh-cn", "zh_cn", "zh-hans", "中文", "pinyin"}


@functools.lru_cache(maxsize=4096)
def from_latex(latex: str) -> Text:
    """A field's LaTeX as rich text; ``\\quad`` is the wide space U+3000 (the bib parser
    turns a typed U+3000 into a plain space, and standards' titles need it).

    Cached: a build formats every entry in several styles and decoding the LaTeX is the
    slow part; rich text is never changed in place (its operations return new text)."""
    return Text.from_latex(_QUAD.sub("\u3000", latex))


def plain(latex: str) -> str:
    """LaTeX field text (``Herv{\\'e}``, ``{\\L}ukasz``, ``{OpenAI}``) as plain Unicode."""
    return from_latex(latex).render(_TEXT_BACKEND)


def persons(entry, role: str) -> list:
    """The names in ``role``: pybtex parses only author and editor into persons, so a
    ``translator`` field is split here (``A and B``)."""
    if role in entry.persons:
        return list(entry.persons[role])
    value = entry.fields.get(role, "").strip()
    return [Person(name) for name in re.split(r"\s+and\s+", value)] if value else []


def is_chinese(entry) -> bool:
    """A Chinese work: ``language``/``langid`` Chinese, or Chinese characters in the
    title or the names (``等`` then follows the third name instead of ``et al``)."""
    for field in ("language", "langid"):
        if entry.fields.get(field, "").strip().lower() in _CHINESE_LANGUAGES:
            return True
    if CJK.search(entry.fields.get("title", "")):
        return True
    return any(CJK.search(str(p)) for persons in entry.persons.values() for p in persons)


def _initials(token: str, hyphenated: bool) -> str:
    """``Jean-Luc`` -> ``J-L`` (or ``J L``); ``E.`` -> ``E``."""
    parts = [p for p in re.split(r"[\s.]+", plain(token)) if p]
    out = []
    for part in parts:
        letters = [next((c for c in piece if c.isalpha()), "") for piece in part.split("-")]
        letters = [c.upper() for c in letters if c]
        if letters:
            out.append(("-" if hyphenated else " ").join(letters))
    return " ".join(out)


def format_person(person, edition: Edition = GBT7714_2025) -> str:
    """One name as GB/T 7714 writes it, family name first, initials without full stops.

    2025: ``Hinton, Geoffrey E.`` -> ``Hinton G E``; ``Godard, Jean-Luc`` -> ``Godard J-L``.
    2015: ``HINTON G E``, ``GODARD J L``, ``PEEBLES P Z, Jr``.
    Both: ``袁非牛`` -> ``袁非牛``; ``{OpenAI}`` (an organisation, in braces) -> ``OpenAI``.
    """
    checked(edition)
    if not isinstance(person, Person):
        raise TypeError(f"person: expected a pybtex.database.Person, got {person!r}")
    given = person.first_names + person.middle_names
    family_tokens = person.prelast_names + person.last_names
    family = " ".join(plain(t) for t in family_tokens)
    if not given:
        single = len(family_tokens) == 1
        braced = single and family_tokens[0].startswith("{") and family_tokens[0].endswith("}")
        if braced or CJK.search(family):
            return family  # an organisation, a Chinese name, a full pinyin name: as written
        return family.upper() if edition.family_upper else family
    if CJK.search(family):
        # a Chinese name split as family/given in the bib file: written together
        return family + "".join(plain(t) for t in given)
    initials = " ".join(i for i in (_initials(t, edition.hyphenated_initials) for t in given) if i)
    name = (family.upper() if edition.family_upper else family) + (
        " " + initials if initials else ""
    )
    lineage = " ".join(plain(t) for t in person.lineage_names)
    if lineage:
        name += (", " if edition.lineage_comma else " ") + lineage.rstrip(".")
    return name


def format_names(persons, chinese: bool, edition: Edition = GBT7714_2025) -> str:
    """At most three names, then ``等`` (a Chinese work) or ``et al``."""
    names = [format_person(p, edition) for p in persons]
    if len(names) > 3:
        names = names[:3] + ["等" if chinese else "et al"]
    return ", ".join(names)
