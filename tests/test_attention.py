"""Tests of survey_models.attention: agreement with PyTorch built-ins, masks, bad input."""

from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F
from torch import nn

from survey_models.attention import (AdditiveAttention, MultiHeadAttention, causal_mask,
                                     fast_scaled_dot_product_attention,
                                     scaled_dot_product_attention)

ATOL = 1e-5


def _qkv(b=2, h=3, tq=5, tk=7, d=8, dv=6, seed=0, dtype=torch.float32):
    g = torch.Generator().manual_seed(seed)
    return (torch.randn(b, h, tq, d, generator=g, dtype=dtype),
            torch.randn(b, h, tk, d, generator=g, dtype=dtype),
            torch.randn(b, h, tk, dv, generator=g, dtype=dtype))


def test_causal_mask_is_lower_triangular():
    m = causal_mask(4)
    assert m.dtype == torch.bool
    assert m.tolist() == [[True, False, False, False], [True, True, False, False],
                          [True, True, True, False], [True, True, True, True]]


def test_equation_matches_hand_computation():
    # One query, two keys: scores 0 and 2/sqrt(2); softmax by hand.
    q = torch.tensor([[[1.0, 1.0]]])
    k = torch.tensor([[[0.0, 0.0], [1.0, 1.0]]])
    v = torch.tensor([[[1.0], [3.0]]])
    out, w = scaled_dot_product_attention(q, k, v)
    s = 2 / 2 ** 0.5
    w1 = torch.exp(torch.tensor(s)) / (1 + torch.exp(torch.tensor(s)))
    assert torch.allclose(w[0, 0], torch.stack([1 - w1, w1]), atol=1e-6)
    assert torch.allclose(out[0, 0, 0], (1 - w1) * 1 + w1 * 3, atol=1e-6)


@pytest.mark.parametrize("mask_kind", ["none", "bool", "float", "bool_batch"])
def test_teaching_and_fast_match_torch_sdpa(mask_kind):
    q, k, v = _qkv()
    g = torch.Generator().manual_seed(1)
    mask = None
    if mask_kind == "bool":
        mask = torch.rand(5, 7, generator=g) > 0.3
        mask[:, 0] = True                       # every query keeps at least one key
    elif mask_kind == "float":
        mask = torch.randn(5, 7, generator=g)
    elif mask_kind == "bool_batch":
        mask = torch.rand(2, 1, 5, 7, generator=g) > 0.5
        mask[..., 2] = True
    expected = F.scaled_dot_product_attention(q, k, v, attn_mask=mask)
    ours, weights = scaled_dot_product_attention(q, k, v, mask)
    fast = fast_scaled_dot_product_attention(q, k, v, mask)
    assert torch.allclose(ours, expected, atol=ATOL)
    assert torch.allclose(fast, expected, atol=ATOL)
    assert torch.allclose(weights.sum(-1), torch.ones(2, 3, 5), atol=1e-6)
    if mask is not None and mask.dtype == torch.bool:
        assert bool((weights[~mask.expand_as(weights)] == 0).all())


def test_teaching_gradients_match_torch():
    q, k, v = (t.double().requires_grad_() for t in _qkv(tq=4, tk=4))
    mask = causal_mask(4)
    ours, _ = scaled_dot_product_attention(q, k, v, mask)
    (ours * torch.linspace(-1, 1, ours.numel(), dtype=torch.float64).view_as(ours)).sum().backward()
    grads = [t.grad.clone() for t in (q, k, v)]
    for t in (q, k, v):
        t.grad = None
    ref = F.scaled_dot_product_attention(q, k, v, attn_mask=mask)
    (ref * torch.linspace(-1, 1, ref.numel(), dtype=torch.float64).view_as(ref)).sum().backward()
    for a, t in zip(grads, (q, k, v)):
        assert torch.allclose(a, t.grad, atol=1e-10)


def test_causal_changing_future_token_never_changes_past_outputs():
    torch.manual_seed(0)
    mha = MultiHeadAttention(16, 4, fast=False).eval()
    x = torch.randn(2, 6, 16)
    y0, _ = mha(x, is_causal=True)
    for t in range(6):
        x2 = x.clone()
        x2[:, t] += torch.randn(2, 16)
        y1, _ = mha(x2, is_causal=True)
        assert torch.allclose(y0[:, :t], y1[:, :t], atol=1e-6)
        assert not torch.allclose(y0[:, t], y1[:, t], atol=1e-4)   # the mask is not "all"


def _pair(d=16, h=4, kdim=None, vdim=None, seed=0):
    torch.manual_seed(seed)
    ref = nn.MultiheadAttention(d, h, batch_first=True, kdim=kdim, vdim=vdim).eval()
    # Non-zero biases so that copying them is tested too.
    with torch.no_grad():
        for name, p in ref.named_parameters():
            if "bias" in name:
                p.normal_()
    ours = MultiHeadAttention(d, h, kdim=kdim, vdim=vdim).eval().load_from_torch(ref)
    return ours, ref


@pytest.mark.parametrize("fast", [True, False])
@pytest.mark.parametrize("mask_kind", ["none", "causal", "bool", "float", "bool_batch"])
def test_multihead_matches_torch_multiheadattention(fast, mask_kind):
    ours, ref = _pair()
    ours.fast = fast
    g = torch.Generator().manual_seed(3)
    x = torch.randn(3, 5, 16, generator=g)
    mem = torch.randn(3, 5, 16, generator=g)
    if mask_kind == "none":
        mask = None
        ref_mask = None
    elif mask_kind == "causal":
        mask = causal_mask(5)
        ref_mask = ~mask                     # torch's MHA: True = forbidden
    elif mask_kind == "bool":
        mask = torch.rand(5, 5, generator=g) > 0.4
        mask[:, 1] = True
        ref_mask = ~mask
    elif mask_kind == "float":
        mask = torch.randn(5, 5, generator=g)
        ref_mask = mask
    else:                                    # one mask per example, shared by the heads
        mask = torch.rand(3, 5, 5, generator=g) > 0.4
        mask[..., 0] = True
        ref_mask = (~mask).repeat_interleave(4, dim=0)   # torch wants (B*H, Tq, Tk)
    out, w = ours(x, mem, mem, mask=mask, need_weights=True)
    expected, expected_w = ref(x, mem, mem, attn_mask=ref_mask, need_weights=True,
                               average_attn_weights=False)
    assert torch.allclose(out, expected, atol=ATOL)
    assert torch.allclose(w, expected_w, atol=ATOL)
    out_fast, _ = ours(x, mem, mem, mask=mask)
    assert torch.allclose(out_fast, expected, atol=ATOL)


def test_multihead_is_causal_flag_equals_explicit_mask():
    ours, ref = _pair()
    x = torch.randn(2, 6, 16)
    a, _ = ours(x, is_causal=True)
    b, _ = ours(x, mask=causal_mask(6))
    c, _ = ref(x, x, x, attn_mask=~causal_mask(6))
    assert torch.allclose(a, b, atol=ATOL) and torch.allclose(a, c, atol=ATOL)


def test_multihead_cross_attention_with_other_widths_matches_torch():
    ours, ref = _pair(d=12, h=3, kdim=5, vdim=7)
    q, k, v = torch.randn(2, 4, 12), torch.randn(2, 9, 5), torch.randn(2, 9, 7)
    out, _ = ours(q, k, v)
    expected, _ = ref(q, k, v)
    assert torch.allclose(out, expected, atol=ATOL)


def test_self_attention_without_positions_is_permutation_equivariant():
    torch.manual_seed(0)
    mha = MultiHeadAttention(16, 4).eval()
    x = torch.randn(2, 7, 16)
    perm = torch.randperm(7)
    y, _ = mha(x)
    y_perm, _ = mha(x[:, perm])
    assert torch.allclose(y[:, perm], y_perm, atol=1e-5)


def test_additive_attention_matches_formula():
    torch.manual_seed(0)
    att = AdditiveAttention(query_dim=3, key_dim=4, hidden_dim=5)
    s = torch.randn(2, 3)
    h = torch.randn(2, 6, 4)
    mask = torch.ones(2, 6, dtype=torch.bool)
    mask[1, 4:] = False
    ctx, w = att(s, h, mask=mask)
    for b in range(2):
        e = torch.stack([att.v.weight[0] @ torch.tanh(att.W.weight @ s[b] + att.U.weight @ h[b, j]
                                                      + att.U.bias) for j in range(6)])
        e = e.masked_fill(~mask[b], float("-inf"))
        alpha = torch.softmax(e, 0)
        assert torch.allclose(w[b], alpha, atol=1e-6)
        assert torch.allclose(ctx[b], alpha @ h[b], atol=1e-6)
    assert float(w[1, 4:].detach().abs().sum()) == 0.0


def test_bad_arguments_raise_value_errors_naming_them():
    with pytest.raises(ValueError, match="d_model.*divisible by n_head"):
        MultiHeadAttention(10, 3)
    q, k, v = _qkv()
    with pytest.raises(ValueError, match="q and k"):
        scaled_dot_product_attention(q, k[..., :4], v)
    with pytest.raises(ValueError, match="k and v"):
        scaled_dot_product_attention(q, k, v[..., :3, :])
    with pytest.raises(ValueError, match="mask.*dtype"):
        scaled_dot_product_attention(q, k, v, torch.ones(5, 7, dtype=torch.int64))
    with pytest.raises(ValueError, match="mask.*dtype"):
        fast_scaled_dot_product_attention(q, k, v, torch.ones(5, 7, dtype=torch.float64))
    with pytest.raises(ValueError, match="mask of shape"):
        scaled_dot_product_attention(q, k, v, torch.ones(5, 6, dtype=torch.bool))
    mha = MultiHeadAttention(16, 4)
    with pytest.raises(ValueError, match="query"):
        mha(torch.randn(2, 5, 12))
    with pytest.raises(ValueError, match="mask"):
        mha(torch.randn(2, 5, 16), mask=torch.ones(5, 5, dtype=torch.int32))
    with pytest.raises(ValueError, match="mask"):
        mha(torch.randn(2, 5, 16), mask=torch.ones(5, dtype=torch.bool))
    with pytest.raises(ValueError, match="key"):
        mha(torch.randn(2, 5, 16), torch.randn(3, 5, 16))
    with pytest.raises(ValueError, match="dropout"):
        MultiHeadAttention(16, 4, dropout=1.5)
    with pytest.raises(TypeError, match="q must be a floating"):
        scaled_dot_product_attention(q.long(), k, v)


def test_key_value_recall_data_is_consistent():
    from survey_models.attention import key_value_recall
    keys, values, query, target, where = key_value_recall(50, 6, 8, 5,
                                                          generator=torch.Generator().manual_seed(0))
    assert keys.shape == values.shape == (50, 6)
    for i in range(50):
        assert len(set(keys[i].tolist())) == 6
        assert query[i] == keys[i, where[i]] and target[i] == values[i, where[i]]
    with pytest.raises(ValueError, match="n_keys"):
        key_value_recall(5, 6, 4, 3)


def test_attention_learns_recall_and_uniform_weights_cannot():
    from survey_models import train
    from survey_models.attention import RecallModel, key_value_recall, recall_loss
    g = torch.Generator().manual_seed(0)
    data = key_value_recall(3000, 8, 16, 6, generator=g)
    test = key_value_recall(500, 8, 16, 6, generator=g)
    acc = {}
    for kind in ("dot", "additive", "uniform"):
        train.set_seed(0)
        model = RecallModel(16, 6, d_model=24, kind=kind)
        train.fit(model, recall_loss, data[:4], epochs=6, batch_size=64, lr=5e-3, seed=0)
        with torch.no_grad():
            logits, w = model(*test[:3])
        acc[kind] = (logits.argmax(1) == test[3]).float().mean().item()
        assert torch.allclose(w.sum(1), torch.ones(500), atol=1e-5)
    assert acc["dot"] > 0.9 and acc["additive"] > 0.9 and acc["uniform"] < 0.6, acc
