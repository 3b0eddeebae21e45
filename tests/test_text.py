"""Tests of survey_models.text: the shipped corpus, the tokenizer, windows and baselines."""

from __future__ import annotations

import math

import pytest
import torch

from survey_models.text import (
    CORPORA,
    CharTokenizer,
    bigram_counts,
    bigram_nll,
    load_corpus,
    split_ids,
    unigram_nll,
    windows,
)


def test_corpus_is_the_expected_text():
    text = load_corpus()
    assert len(text) == 454_480
    assert text.startswith("PARADISE LOST\nBOOK I.\n\n  Of Mans First Disobedience")
    assert text.rstrip().endswith("Through EDEN took thir solitarie way.\n     THE END.".rstrip())
    assert "\r" not in text and text.isascii()
    assert len(set(text)) == 65


def test_unknown_corpus_and_checksum():
    with pytest.raises(ValueError, match="name must be one of"):
        load_corpus("hamlet")
    assert len(CORPORA["paradise_lost"][1]) == 64


def test_tokenizer_round_trip_and_errors():
    tok = CharTokenizer("hello world")
    assert tok.vocab_size == len(set("hello world")) == 8
    assert tok.chars == sorted(set("hello world"))
    ids = tok.encode("low hello")
    assert ids.dtype == torch.long and tok.decode(ids) == "low hello"
    with pytest.raises(ValueError, match="outside the vocabulary"):
        tok.encode("xyz")
    with pytest.raises(ValueError, match="ids must lie"):
        tok.decode([0, 99])
    with pytest.raises(ValueError, match="corpus must contain"):
        CharTokenizer("")
    with pytest.raises(ValueError, match="specials=True"):  # no <pad> id to pad with
        tok.encode(["he", "hello"], 5)


def test_tokenizer_with_specials_reserves_pad_and_unk():
    plain = CharTokenizer("hello world")
    tok = CharTokenizer(["hello", " world"], specials=True)
    assert (tok.PAD, tok.UNK) == (0, 1) and tok.itos[:2] == ["<pad>", "<unk>"]
    assert tok.chars == plain.chars and tok.itos[2:] == plain.chars
    assert tok.vocab_size == plain.vocab_size + 2
    assert tok.encode("hold").tolist() == [tok.stoi[c] for c in "hold"]
    assert tok.encode("hex").tolist()[-1] == tok.UNK  # unknown: UNK, not an error
    ids = tok.encode(["he", "", "low"], 4)
    assert ids.shape == (3, 4) and ids[1].tolist() == [tok.PAD] * 4
    assert [tok.decode(row) for row in ids] == ["he", "", "low"]  # padding dropped
    assert tok.decode(tok.encode("hex")) == "he<unk>"


@pytest.mark.parametrize(
    "call, exc, name",
    [
        (lambda: CharTokenizer(5), TypeError, "corpus"),
        (lambda: CharTokenizer(["a", 1]), TypeError, "corpus"),
        (lambda: CharTokenizer("a", specials=1), TypeError, "specials"),
        (lambda: CharTokenizer("ab").encode(5), TypeError, "texts"),
        (lambda: CharTokenizer("ab", specials=True).encode("ab", 3), TypeError, "texts"),
        (lambda: CharTokenizer("ab", specials=True).encode([5], 3), TypeError, "texts"),
        (lambda: CharTokenizer("ab").decode("ab"), TypeError, "ids"),
        (lambda: CharTokenizer("ab").decode([1.5]), TypeError, "ids"),
        (
            lambda: CharTokenizer("ab").decode(torch.zeros(2, 2, dtype=torch.long)),
            ValueError,
            "ids",
        ),
    ],
)
def test_tokenizer_names_the_bad_argument(call, exc, name):
    with pytest.raises(exc, match=name):
        call()


def test_split_and_windows():
    ids = torch.arange(100)
    tr, va = split_ids(ids, 0.1)
    assert torch.equal(tr, torch.arange(90)) and torch.equal(va, torch.arange(90, 100))
    x, y = windows(tr, 8)
    assert x.shape == (82, 8) and torch.equal(y, x + 1)
    xs, ys = windows(va, 3, stride=3)
    assert xs.tolist() == [[90, 91, 92], [93, 94, 95], [96, 97, 98]]
    assert torch.equal(ys, xs + 1)
    with pytest.raises(ValueError, match="block_size"):
        windows(torch.arange(5), 5)
    with pytest.raises(ValueError, match="val_fraction"):
        split_ids(ids, 1.0)


def test_bigram_and_unigram_against_hand_counts():
    # "abab a": pairs ab, ba, ab, b' ', ' 'a
    tok = CharTokenizer("abab a")
    ids = tok.encode("abab a")
    counts = bigram_counts(ids, tok.vocab_size)
    a, b, sp = tok.stoi["a"], tok.stoi["b"], tok.stoi[" "]
    assert counts[a, b] == 2 and counts[b, a] == 1 and counts[b, sp] == 1 and counts[sp, a] == 1
    assert counts.sum() == 5
    # With alpha = 0: p(b|a) = 1, p(a|b) = 1/2.
    nll = bigram_nll(counts, torch.tensor([a, b]), torch.tensor([b, a]), alpha=0.0)
    assert nll == pytest.approx((0 + math.log(2)) / 2)
    assert bigram_nll(counts, torch.tensor([a]), torch.tensor([a]), alpha=0.0) == math.inf
    # Unigram with alpha=0: counts a=3, b=2, ' '=1.
    assert unigram_nll(ids, torch.tensor([a]), 3, alpha=0.0) == pytest.approx(-math.log(3 / 6))


def test_bigram_beats_unigram_on_the_corpus():
    text = load_corpus()
    tok = CharTokenizer(text)
    tr, va = split_ids(tok.encode(text), 0.1)
    x, y = windows(va, 64, stride=64)
    bi = bigram_nll(bigram_counts(tr, tok.vocab_size), x, y)
    uni = unigram_nll(tr, y, tok.vocab_size)
    assert 2.0 < bi < uni < math.log(tok.vocab_size)
