"""Tests of survey_models.text.BPETokenizer: byte-level byte-pair encoding."""

from __future__ import annotations

import random

import pytest
import torch

from survey_models.text import BPETokenizer, _chunks, load_corpus


def brute_force_merges(text: str, vocab_size: int) -> list[tuple[int, int]]:
    """Equations (1)-(3) done the slow way: recount every pair in every piece, take the
    most frequent (ties: smallest pair), replace left to right, repeat."""
    pieces = [list(c.encode("utf-8")) for c in _chunks(text)]
    merges = []
    while 256 + len(merges) < vocab_size:
        counts: dict[tuple[int, int], int] = {}
        for s in pieces:
            for i in range(len(s) - 1):
                counts[(s[i], s[i + 1])] = counts.get((s[i], s[i + 1]), 0) + 1
        if not counts or max(counts.values()) < 2:
            break
        top = max(counts.values())
        pair = min(p for p, c in counts.items() if c == top)
        new = 256 + len(merges)
        merges.append(pair)
        for k, s in enumerate(pieces):
            out, i = [], 0
            while i < len(s):
                if s[i : i + 2] == list(pair):
                    out.append(new)
                    i += 2
                else:
                    out.append(s[i])
                    i += 1
            pieces[k] = out
    return merges


def replay(tok: BPETokenizer, text: str) -> list[int]:
    """Encoding by replaying every merge, in the learned order, over each piece."""
    out = []
    for c in _chunks(text):
        s = list(c.encode("utf-8"))
        for k, (a, b) in enumerate(tok.merges):
            t, i = [], 0
            while i < len(s):
                if i + 1 < len(s) and s[i] == a and s[i + 1] == b:
                    t.append(256 + k)
                    i += 2
                else:
                    t.append(s[i])
                    i += 1
            s = t
        out += s
    return out


@pytest.fixture(scope="module")
def corpus_tok():
    text = load_corpus()
    return text, BPETokenizer.train(text[:60_000], 400)


def test_gage_example_by_hand():
    # "aaabdaaabac": aa occurs 4 times (overlaps count) -> Z; "ZabdZabac": Za and ab tie at
    # 2, the smaller pair (97, 98) = ab wins -> Y; "ZYdZYac": ZY -> X; "XdXac": no pair twice.
    tok = BPETokenizer.train("aaabdaaabac", 1000)
    a, b = ord("a"), ord("b")
    assert tok.merges == [(a, a), (a, b), (256, 257)]
    assert tok.vocab_size == 259 and tok.vocab[258] == b"aaab"
    assert tok.encode("aaabdaaabac").tolist() == [258, ord("d"), 258, a, ord("c")]
    assert BPETokenizer.train("aaabdaaabac", 257).merges == [(a, a)]  # vocab_size respected


def test_merges_equal_brute_force_on_random_strings():
    rng = random.Random(0)
    for _ in range(30):
        text = "".join(rng.choice("aab c\n") for _ in range(rng.randint(1, 60)))
        size = 256 + rng.randint(0, 12)
        tok = BPETokenizer.train(text, size)
        assert tok.merges == brute_force_merges(text, size), text
        assert tok.vocab_size <= size
        assert tok.encode(text).tolist() == replay(tok, text)


def test_encode_is_greedy_by_merge_rank(corpus_tok):
    text, tok = corpus_tok
    held_out = text[-3000:]
    assert tok.encode(held_out).tolist() == replay(tok, held_out)
    assert tok.vocab_size == 400 and len(tok.merges) == 144  # a big text fills the vocabulary
    assert all(
        tok.vocab[256 + k] == tok.vocab[a] + tok.vocab[b] for k, (a, b) in enumerate(tok.merges)
    )
    prefix = BPETokenizer(tok.merges[:50])  # the first merges are a smaller tokenizer
    assert prefix.merges == BPETokenizer.train(text[:60_000], 306).merges


@pytest.mark.parametrize(
    "s",
    [
        "Of Mans First Disobedience, and the Fruit",  # seen
        "Quantum zebras jog   past\tXYLOPHONES!\n\n",  # unseen words, odd spacing
        "深度生成模型：变分自编码器、扩散模型。",  # Chinese
        "emoji 🙂, accents éèê, math ∑∫√, nul \x00 and \U0010fffd",
        "",
    ],
)
def test_round_trip_is_exact(corpus_tok, s):
    _, tok = corpus_tok
    ids = tok.encode(s)
    assert ids.dtype == torch.long and ids.ndim == 1
    assert tok.decode(ids) == s and tok.decode(ids.tolist()) == s
    assert len(ids) <= len(s.encode("utf-8"))


def test_round_trip_corpus_and_compression(corpus_tok):
    text, tok = corpus_tok
    ids = tok.encode(text)
    assert tok.decode(ids) == text
    assert len(ids) < 0.6 * len(text)  # 144 merges of English words: well under 1 id/char
    assert BPETokenizer().encode("abc").tolist() == [97, 98, 99]  # no merges: bytes


def test_chinese_training_round_trip():
    text = "自编码器把输入压缩成潜在编码，再重构输入。" * 5
    tok = BPETokenizer.train(text, 300)
    assert tok.decode(tok.encode(text)) == text
    assert len(tok.encode(text)) < len(text)  # merges join the 3 bytes of a character first


@pytest.mark.parametrize(
    "call, exc, name",
    [
        (lambda: BPETokenizer.train(b"abc", 300), TypeError, "text"),
        (lambda: BPETokenizer.train("", 300), ValueError, "text"),
        (lambda: BPETokenizer.train("abc", 255), ValueError, "vocab_size"),
        (lambda: BPETokenizer.train("abc", 300.0), TypeError, "vocab_size"),
        (lambda: BPETokenizer([(1, 256)]), ValueError, "merges"),
        (lambda: BPETokenizer().encode(5), TypeError, "text"),
        (lambda: BPETokenizer().decode("ab"), TypeError, "ids"),
        (lambda: BPETokenizer().decode([1.5]), TypeError, "ids"),
        (lambda: BPETokenizer().decode([256]), ValueError, "ids"),
        (lambda: BPETokenizer().decode(torch.tensor([300])), ValueError, "ids"),
    ],
)
def test_bad_input(call, exc, name):
    with pytest.raises(exc, match=name):
        call()
