"""English titles in sentence case; Chinese titles as written."""

from __future__ import annotations

import re

from pybtex.richtext import Protected, String, Text  # noqa: F401 (Text: return type)

from .editions import GBT7714_2025, Edition, checked
from .names import CJK, from_latex

__all__ = ["sentence_case"]

_WORD = re.compile(r"[^\W\d_][\w'’]*", re.UNICODE)


def _keeps_case(word: str) -> bool:
    """Acronyms (``GAN``, ``VAE``) and words with inner capitals (``ImageNet``)."""
    return any(c.isupper() for c in word[1:])


class _Case:
    """Walks a title's words in order, remembering whether the next one starts it or a
    subtitle (after ``:``, ``?`` or ``!``)."""

    def __init__(self, edition: Edition) -> None:
        self.edition = edition
        self.first = True  # the title's first word
        self.after_colon = False

    def words(self, text: str) -> str:
        out, last = [], 0
        for m in _WORD.finditer(text):
            between = text[last : m.start()]
            out.append(between)
            if any(c in between for c in ":?!"):
                self.after_colon = True
            out.append(self._word(m.group()))
            self.first = self.after_colon = False
            last = m.end()
        tail = text[last:]
        if any(c in tail for c in ":?!"):
            self.after_colon = True
        out.append(tail)
        return "".join(out)

    def _word(self, word: str) -> str:
        if self.first:
            return word[0].upper() + word[1:]
        if _keeps_case(word):
            return word
        if self.after_colon and not self.edition.subtitle_lowercase:
            return word  # 2015: the subtitle's first word as the bib file writes it
        return word.lower()


def _sentence(node, state: _Case):
    if isinstance(node, Protected):
        if node.parts:
            state.first = state.after_colon = False
        return node
    if isinstance(node, String):
        return String(state.words(node.value))
    parts = [_sentence(part, state) for part in node.parts]
    return node._create_similar(parts)


def sentence_case(latex: str, edition: Edition = GBT7714_2025) -> Text:
    """English title in sentence case: braced parts, acronyms and words with inner
    capitals keep their case (and, in 2015, the subtitle's first word); a title with
    Chinese or Japanese characters is returned unchanged."""
    checked(edition)
    if not isinstance(latex, str):
        raise TypeError(f"latex: expected the title field as a str, got {latex!r}")
    text = from_latex(latex)
    if CJK.search(latex):
        return text
    return _sentence(text, _Case(edition))
