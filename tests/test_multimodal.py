"""Tests of survey_models.multimodal: captions, InfoNCE, CLIP, patch VQ, text-image sequences."""

from __future__ import annotations

import math

import pytest
import torch
import torch.nn.functional as F

from survey_models import data, train
from survey_models.multimodal import (
    CLIP,
    HELDOUT_TEMPLATES,
    TRAIN_TEMPLATES,
    PatchVQ,
    TextEncoder,
    caption_pairs,
    clip_loss,
    digit_caption,
    generate_images,
    info_nce_loss,
    text_image_sequences,
    zero_shot_predict,
)
from survey_models.text import CharTokenizer


def test_digit_caption():
    assert digit_caption(7, "数字{zh}") == "数字七"
    assert digit_caption(7, "一个手写的 {d}") == "一个手写的 7"
    assert digit_caption(0, "the digit {en}") == "the digit zero"
    assert not set(HELDOUT_TEMPLATES) & set(TRAIN_TEMPLATES)


def test_caption_tokenizer_pads_and_maps_unknown_characters():
    tok = CharTokenizer(["数字七", "abc"], specials=True)
    ids = tok.encode(["数字七", "ax"], 5)
    assert ids.shape == (2, 5)
    assert tok.decode(ids[0]) == "数字七"
    assert ids[1, 1] == CharTokenizer.UNK and ids[1, 2] == CharTokenizer.PAD


def test_info_nce_against_hand_computation():
    """Embeddings already on the unit circle so that s_ij = cos of the angle difference."""
    u = torch.tensor([[1.0, 0.0], [0.0, 1.0]])
    v = torch.tensor([[math.cos(0.3), math.sin(0.3)], [math.cos(2.0), math.sin(2.0)]])
    tau = 0.5
    s = [[math.cos(0.3), math.cos(2.0)], [math.sin(0.3), math.sin(2.0)]]  # s_ij = <u_i, v_j>
    e = [[math.exp(s[i][j] / tau) for j in range(2)] for i in range(2)]
    i2t = -(math.log(e[0][0] / (e[0][0] + e[0][1])) + math.log(e[1][1] / (e[1][0] + e[1][1]))) / 2
    t2i = -(math.log(e[0][0] / (e[0][0] + e[1][0])) + math.log(e[1][1] / (e[0][1] + e[1][1]))) / 2
    expected = (i2t + t2i) / 2
    assert math.isclose(float(info_nce_loss(u, v, tau)), expected, rel_tol=1e-6)
    # scaling the embeddings does not matter: they are normalised
    assert math.isclose(float(info_nce_loss(3 * u, 0.2 * v, tau)), expected, rel_tol=1e-6)


def test_info_nce_matches_cross_entropy_builtin():
    torch.manual_seed(0)
    u, v = torch.randn(7, 5), torch.randn(7, 5)
    logits = F.normalize(u, dim=1) @ F.normalize(v, dim=1).T / 0.1
    target = torch.arange(7)
    ref = (F.cross_entropy(logits, target) + F.cross_entropy(logits.T, target)) / 2
    assert torch.allclose(info_nce_loss(u, v, 0.1), ref, atol=1e-6)
    # distinct labels = the plain loss
    assert torch.allclose(info_nce_loss(u, v, 0.1, labels=torch.arange(7)), ref, atol=1e-6)


def test_info_nce_same_class_targets():
    """With labels, row i's target is uniform over same-label columns (hand computation)."""
    u = torch.tensor([[1.0, 0.0], [0.8, 0.6], [0.0, 1.0]])
    v = torch.tensor([[1.0, 0.0], [0.6, 0.8], [0.0, 1.0]])
    labels = torch.tensor([4, 4, 2])
    tau = 1.0
    s = (u @ v.T).tolist()

    def logsm(row, j):
        return row[j] - math.log(sum(math.exp(r) for r in row))

    cols = [[s[i][j] for i in range(3)] for j in range(3)]
    i2t = (
        -(0.5 * logsm(s[0], 0) + 0.5 * logsm(s[0], 1))
        - (0.5 * logsm(s[1], 0) + 0.5 * logsm(s[1], 1))
        - logsm(s[2], 2)
    ) / 3
    t2i = (
        -(0.5 * logsm(cols[0], 0) + 0.5 * logsm(cols[0], 1))
        - (0.5 * logsm(cols[1], 0) + 0.5 * logsm(cols[1], 1))
        - logsm(cols[2], 2)
    ) / 3
    got = float(info_nce_loss(u, v, tau, labels))
    assert math.isclose(got, (i2t + t2i) / 2, rel_tol=1e-6)
    # the plain loss (other "4" caption counted as a negative) is a different number
    assert not math.isclose(got, float(info_nce_loss(u, v, tau)), rel_tol=1e-3)


def test_text_encoder_ignores_padding():
    torch.manual_seed(0)
    enc = TextEncoder(vocab_size=10, hidden=16, embed_dim=8)
    a = torch.tensor([[3, 4, 5, 0, 0, 0]])
    b = torch.tensor([[3, 4, 5, 0, 0, 0, 0, 0, 0]])
    assert torch.allclose(enc(a), enc(b), atol=1e-6)


def test_clip_learns_digits_zero_shot():
    """A short training run must beat chance (0.1) by far on a held-out template."""
    train.set_seed(0)
    split = data.digits_split(0.3, seed=0)
    tok = CharTokenizer(
        [digit_caption(d, t) for d in range(10) for t in TRAIN_TEMPLATES], specials=True
    )
    x, t, y = caption_pairs(
        split.x_train, split.y_train, tok, TRAIN_TEMPLATES, repeats=2, length=24
    )
    model = CLIP(tok.vocab_size, hidden=128, embed_dim=32)
    train.fit(model, clip_loss, (x, t, y), epochs=3, batch_size=128, lr=3e-3)
    class_tokens = tok.encode([digit_caption(d, HELDOUT_TEMPLATES[0]) for d in range(10)], 24)
    acc = (zero_shot_predict(model, split.x_test, class_tokens) == split.y_test).float().mean()
    assert acc > 0.6


def test_patch_vq_roundtrip_and_layout():
    vq = PatchVQ(codebook_size=4, patch=2, side=4)
    x = torch.arange(16, dtype=torch.float32).reshape(1, 16)
    p = vq.patches(x)
    # top-left 2x2 patch of the 4x4 image [[0,1,2,3],[4,5,6,7],...] is (0,1,4,5)
    assert p[0, 0].tolist() == [0, 1, 4, 5] and p[0, 3].tolist() == [10, 11, 14, 15]
    assert torch.equal(vq.unpatch(p), x)
    # with as many codes as distinct patches, quantisation is lossless
    imgs = torch.stack([x[0], x[0] + 100]).float()
    vq8 = PatchVQ(codebook_size=8, patch=2, side=4).fit(imgs, iters=5)
    assert torch.allclose(vq8.decode(vq8.encode(imgs)), imgs)


def test_patch_vq_reconstructs_digits_better_with_more_codes():
    x = data.load_digits()[0][:400]
    err = {}
    for k in (4, 32):
        vq = PatchVQ(codebook_size=k, patch=2).fit(x, iters=10)
        err[k] = ((vq.decode(vq.encode(x)) - x) ** 2).sum(1).mean().item()
    assert err[32] < 0.6 * err[4]


def test_text_image_sequences_targets():
    cap = torch.tensor([[5, 6, 0]])
    img = torch.tensor([[1, 2]])
    x, y = text_image_sequences(cap, img, text_vocab=10)
    # full sequence: 5 6 0 <sep>=10, then image codes shifted by text_vocab + 1 = 11
    assert x.tolist() == [[5, 6, 0, 10, 12]]
    assert y.tolist() == [[-100, -100, -100, 12, 13]]


def test_generate_images_only_emits_image_codes():
    from survey_models.transformer import GPT

    torch.manual_seed(0)
    vq = PatchVQ(codebook_size=8, patch=2).fit(data.load_digits()[0][:100], iters=3)
    model = GPT(vocab_size=10 + 1 + 8, block_size=4 + 1 + 16, n_layer=1, n_head=2, d_model=16)
    imgs, tokens = generate_images(
        model,
        torch.tensor([[3, 4, 0, 0]] * 3),
        vq,
        text_vocab=10,
        generator=torch.Generator().manual_seed(0),
    )
    assert imgs.shape == (3, 64) and tokens.shape == (3, 16)
    assert int(tokens.min()) >= 0 and int(tokens.max()) < 8


def test_bad_arguments_raise_named_errors():
    with pytest.raises(ValueError, match="label"):
        digit_caption(12, "{d}")
    with pytest.raises(ValueError, match="template"):
        digit_caption(1, "no slot")
    with pytest.raises(ValueError, match="temperature"):
        info_nce_loss(torch.randn(3, 2), torch.randn(3, 2), 0.0)
    with pytest.raises(ValueError, match="same shape"):
        info_nce_loss(torch.randn(3, 2), torch.randn(4, 2), 0.1)
    with pytest.raises(ValueError, match="labels"):
        info_nce_loss(torch.randn(3, 2), torch.randn(3, 2), 0.1, labels=torch.zeros(2))
    with pytest.raises(ValueError, match="length"):
        CharTokenizer(["a"], specials=True).encode(["a"], 0)
    with pytest.raises(ValueError, match="patch"):
        PatchVQ(patch=3, side=8)
    with pytest.raises(RuntimeError, match="fitted"):
        PatchVQ().encode(torch.rand(2, 64))
    with pytest.raises(ValueError, match="images must have last dimension 64"):
        CLIP(10).encode_image(torch.rand(2, 63))
    with pytest.raises(ValueError, match="tokens must lie"):
        CLIP(10).encode_text(torch.tensor([[1, 12]]))
    with pytest.raises(ValueError, match="repeats"):
        caption_pairs(
            torch.rand(3, 64),
            torch.zeros(3, dtype=torch.long),
            CharTokenizer(["a"], specials=True),
            TRAIN_TEMPLATES,
            repeats=0,
        )
    with pytest.raises(ValueError, match="specials"):  # captions need the <pad> id
        caption_pairs(
            torch.rand(3, 64),
            torch.zeros(3, dtype=torch.long),
            CharTokenizer(["a"]),
            TRAIN_TEMPLATES,
        )


def test_encode_refuses_to_cut_a_caption_silently():
    tok = CharTokenizer(["abc"], specials=True)
    with pytest.raises(ValueError, match="texts"):
        tok.encode(["abcabc"], 4)
    cut = tok.encode(["abcabc"], 4, truncate=True)
    assert cut.shape == (1, 4) and torch.equal(cut, tok.encode(["abca"], 4))
