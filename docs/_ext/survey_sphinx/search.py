"""Chinese search that finds what a reader types.

Sphinx's Chinese search language cuts the *pages* into words with jieba when it builds
the index, but the search box does not cut the *query*: ``知识蒸馏`` typed as one string
is looked up as one word, and misses when jieba indexed ``知识`` and ``蒸馏``. Two fixes:

1. jieba gets a user dictionary of the book's own terms (the Chinese terms of
   ``docs/glossary.md`` plus ``zh_terms.txt`` beside this file), so ``变分自编码器`` or
   ``生成对抗网络`` is indexed as a word of its own (and, through ``cut_for_search``, as
   its parts too);
2. the glossary's variants (``不用：缩放定律`` under 规模定律) reach the browser as
   ``window.SURVEY_SYNONYMS``, so a reader who types a translation the book does not use
   finds the book's term;
3. ``_static/zh_search.js`` replaces Sphinx's ``splitQuery`` in the browser: each run of
   Chinese characters in the query is cut by greedy longest match against the index's
   own terms, so the query is split exactly the way the pages were.

:class:`LazyChineseSearch` replaces Sphinx's Chinese search language only to load jieba's
dictionaries when the first page is cut rather than when the builder starts: a rebuild
that indexes no page does not spend the second jieba takes to load them.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

from sphinx.search.zh import SearchChinese

from .cjk import HAN

HERE = Path(__file__).resolve().parent
DOCS = HERE.parents[1]
TERMS_FILE = HERE / "zh_terms.txt"
GLOSSARY = DOCS / "glossary.md"
_HAN = re.compile(rf"[{HAN}]")


def glossary_terms(path: Path = GLOSSARY) -> list[str]:
    """Chinese terms of the glossary: the unindented term lines of its ``{glossary}``."""
    if not path.exists():
        return []
    terms, inside = [], False
    for line in path.read_text(encoding="utf-8").splitlines():
        if line.startswith("```{glossary}"):
            inside = True
        elif inside and line.startswith("```"):
            inside = False
        elif inside and line.strip() and not line[0].isspace() and not line.startswith(":"):
            term = line.strip()
            if _HAN.search(term) and " " not in term:
                terms.append(term)
    return terms


def glossary_variants(path: Path = GLOSSARY) -> dict[str, str]:
    """``{variant: term}`` from the glossary's ``不用：a、b`` lines (translations the book
    does not use), each mapped to the first term line of its entry."""
    variants: dict[str, str] = {}
    if not path.exists():
        return variants
    term, inside, in_terms = None, False, False
    for line in path.read_text(encoding="utf-8").splitlines():
        if line.startswith("```{glossary}"):
            inside, term, in_terms = True, None, False
        elif inside and line.startswith("```"):
            inside = False
        elif inside and line.strip() and not line[0].isspace():
            if not in_terms:  # the first term line of a new entry
                term = line.strip()
            in_terms = True
        else:
            in_terms = False
            text = line.strip()
            if inside and term and text.startswith("不用："):
                for variant in re.split(r"[、，,]", text[len("不用：") :]):
                    if variant.strip():
                        variants[variant.strip()] = term
    return variants


_SEE = re.compile(r"见 \{doc\}`(survey/[^`<>]+)`")


def glossary_concepts(path: Path = GLOSSARY) -> dict[str, str]:
    """``{name: chapter}``: every name of a glossary term (Chinese, English, abbreviation;
    lower case) mapped to the survey chapter its entry points to ("见 {doc}`survey/…`")."""
    concepts: dict[str, str] = {}
    if not path.exists():
        return concepts
    names: list[str] = []
    inside, in_terms = False, False
    for line in path.read_text(encoding="utf-8").splitlines():
        if line.startswith("```{glossary}"):
            inside, names, in_terms = True, [], False
        elif inside and line.startswith("```"):
            inside = False
        elif inside and line.strip() and not line[0].isspace():
            if not in_terms:
                names = []
            names += [n.strip().lower() for n in line.split(",") if n.strip()]
            in_terms = True
        else:
            in_terms = False
            chapter = _SEE.search(line)
            if inside and chapter:
                for name in names:
                    concepts.setdefault(name, chapter.group(1))
    return concepts


def synonyms_script() -> str:
    """The JavaScript that hands the glossary to ``_static/zh_search.js``: the variants
    to rewrite in a query, and the chapter that explains each term."""

    def dump(value: dict) -> str:
        return json.dumps(value, ensure_ascii=False, sort_keys=True)

    return (
        f"window.SURVEY_SYNONYMS = {dump(glossary_variants())};\n"
        f"window.SURVEY_CONCEPTS = {dump(glossary_concepts())};"
    )


def user_dictionary_terms() -> list[str]:
    """All terms jieba should keep whole: glossary first, then the extra list."""
    extra = []
    if TERMS_FILE.exists():
        for line in TERMS_FILE.read_text(encoding="utf-8").splitlines():
            line = line.split("#", 1)[0].strip()
            if line:
                extra.append(line.split()[0])
    seen: dict[str, None] = {}
    for term in glossary_terms() + extra:
        seen.setdefault(term, None)
    return list(seen)


def add_user_dictionary(app, config) -> None:
    """``config-inited``: hand jieba the book's terms (``html_search_options['dict']``)."""
    path = Path(app.doctreedir) / "jieba_userdict.txt"
    path.parent.mkdir(parents=True, exist_ok=True)
    # one word a line, no frequency: jieba then suggests a frequency that keeps it whole
    text = "\n".join(user_dictionary_terms()) + "\n"
    if not path.exists() or path.read_text(encoding="utf-8") != text:
        path.write_text(text, encoding="utf-8")
    options = dict(config.html_search_options or {})
    options["dict"] = str(path)
    config.html_search_options = options


class LazyChineseSearch(SearchChinese):
    """Sphinx's :class:`~sphinx.search.zh.SearchChinese`, initialised on first use."""

    def init(self, options: dict[str, str]) -> None:
        self._options, self._loaded = options, False

    def _load(self) -> None:
        if not self._loaded:
            super().init(self._options)  # jieba's user dictionary and the stemmer
            self._loaded = True

    def split(self, input: str) -> list[str]:
        self._load()
        return super().split(input)

    def stem(self, word: str) -> str:
        self._load()
        return super().stem(word)
