"""Tests of survey_models.attention: agreement with PyTorch built-ins, masks, bad input."""

from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F
from torch import nn

from survey_models.attention import (
    AdditiveAttention,
    MultiHeadAttention,
    causal_mask,
    fast_scaled_dot_product_attention,
    scaled_dot_product_attention,
)

ATOL = 1e-5


def _qkv(b=2, h=3, tq=5, tk=7, d=8, dv=6, seed=0, dtype=torch.float32):
    g = torch.Generator().manual_seed(seed)
    return (
        torch.randn(b, h, tq, d, generator=g, dtype=dtype),
        torch.randn(b, h, tk, d, generator=g, dtype=dtype),
        torch.randn(b, h, tk, dv, generator=g, dtype=dtype),
    )


def test_causal_mask_is_lower_triangular():
    m = causal_mask(4)
    assert m.dtype == torch.bool
    assert m.tolist() == [
        [True, False, False, False],
        [True, True, False, False],
        [True, True, True, False],
        [True, True, True, True],
    ]


def test_equation_matches_hand_computation():
    # One query, two keys: scores 0 and 2/sqrt(2); softmax by hand.
    q = torch.tensor([[[1.0, 1.0]]])
    k = torch.tensor([[[0.0, 0.0], [1.0, 1.0]]])
    v = torch.tensor([[[1.0], [3.0]]])
    out, w = scaled_dot_product_attention(q, k, v)
    s = 2 / 2**0.5
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
        mask[:, 0] = True  # every query keeps at least one key
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
        assert not torch.allclose(y0[:, t], y1[:, t], atol=1e-4)  # the mask is not "all"


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
        ref_mask = ~mask  # torch's MHA: True = forbidden
    elif mask_kind == "bool":
        mask = torch.rand(5, 5, generator=g) > 0.4
        mask[:, 1] = True
        ref_mask = ~mask
    elif mask_kind == "float":
        mask = torch.randn(5, 5, generator=g)
        ref_mask = mask
    else:  # one mask per example, shared by the heads
        mask = torch.rand(3, 5, 5, generator=g) > 0.4
        mask[..., 0] = True
        ref_mask = (~mask).repeat_interleave(4, dim=0)  # torch wants (B*H, Tq, Tk)
    out, w = ours(x, mem, mem, mask=mask, need_weights=True)
    expected, expected_w = ref(
        x, mem, mem, attn_mask=ref_mask, need_weights=True, average_attn_weights=False
    )
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
        e = torch.stack(
            [
                att.v.weight[0]
                @ torch.tanh(att.W.weight @ s[b] + att.U.weight @ h[b, j] + att.U.bias)
                for j in range(6)
            ]
        )
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

    keys, values, query, target, where = key_value_recall(
        50, 6, 8, 5, generator=torch.Generator().manual_seed(0)
    )
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


# --- tests that catch a wrong model (issue 12 §5): dropout, masks, scaling, shapes -------


def _eye_values(b, h, t):
    """Values = the identity: the output of attention is then its (dropped) weight matrix."""
    return torch.eye(t).expand(b, h, t, t)


def _weights(q, k):
    return torch.softmax(q @ k.transpose(-2, -1) / q.shape[-1] ** 0.5, dim=-1)


@pytest.mark.parametrize("p", [0.2, 0.5, 0.8])
@pytest.mark.parametrize("impl", ["teaching", "fast"])
def test_dropout_zeroes_a_share_p_and_scales_survivors_by_one_over_one_minus_p(impl, p):
    q, k, _ = _qkv(b=4, h=4, tq=16, tk=16, d=8)
    v = _eye_values(4, 4, 16)
    expected = _weights(q, k)
    if impl == "teaching":
        out, w = scaled_dot_product_attention(
            q, k, v, dropout=p, generator=torch.Generator().manual_seed(0)
        )
        torch.testing.assert_close(w, expected)  # the returned weights: before dropout
    else:
        torch.manual_seed(0)
        out = fast_scaled_dot_product_attention(q, k, v, dropout=p)
    dropped = out == 0
    assert not bool((expected == 0).any())  # a zero can only come from dropout
    # 4096 weights: the dropped share is p within 0.04 (more than 5 standard deviations)
    assert abs(dropped.double().mean().item() - p) < 0.04
    torch.testing.assert_close(out[~dropped], expected[~dropped] / (1 - p), rtol=1e-5, atol=1e-7)


def test_dropout_draws_come_from_the_generator():
    q, k, v = _qkv()
    a, _ = scaled_dot_product_attention(
        q, k, v, dropout=0.3, generator=torch.Generator().manual_seed(5)
    )
    b, _ = scaled_dot_product_attention(
        q, k, v, dropout=0.3, generator=torch.Generator().manual_seed(5)
    )
    c, _ = scaled_dot_product_attention(
        q, k, v, dropout=0.3, generator=torch.Generator().manual_seed(6)
    )
    assert torch.equal(a, b) and not torch.equal(a, c)


@pytest.mark.parametrize("impl", ["teaching", "fast"])
def test_dropout_zero_is_exactly_no_dropout(impl):
    q, k, v = _qkv()
    if impl == "teaching":
        plain, w0 = scaled_dot_product_attention(q, k, v)
        zero, w1 = scaled_dot_product_attention(q, k, v, dropout=0.0)
        assert torch.equal(w0, w1)
    else:
        plain = fast_scaled_dot_product_attention(q, k, v)
        zero = fast_scaled_dot_product_attention(q, k, v, dropout=0.0)
    assert torch.equal(plain, zero)
    torch.testing.assert_close(zero, F.scaled_dot_product_attention(q, k, v))


@pytest.mark.parametrize("fast", [True, False])
def test_multihead_dropout_acts_in_training_and_is_the_identity_in_eval(fast):
    torch.manual_seed(0)
    mha = MultiHeadAttention(16, 4, dropout=0.5, fast=fast)
    plain = MultiHeadAttention(16, 4, dropout=0.0, fast=fast)
    plain.load_state_dict(mha.state_dict())
    x = torch.randn(2, 6, 16)
    mha.eval()
    reference, _ = plain.eval()(x)
    assert torch.equal(mha(x)[0], reference)  # eval: exactly no dropout
    plain.train()
    assert torch.equal(plain(x)[0], reference)  # p = 0 in training: no dropout
    mha.train()
    torch.manual_seed(1)
    a, _ = mha(x)
    torch.manual_seed(2)
    b, _ = mha(x)
    assert (a - reference).abs().max() > 1e-2 and (a - b).abs().max() > 1e-2


def test_multihead_weights_in_training_are_before_dropout():
    torch.manual_seed(0)
    mha = MultiHeadAttention(16, 4, dropout=0.5, fast=False)
    x = torch.randn(2, 6, 16)
    _, w_eval = mha.eval()(x, need_weights=True)
    _, w_train = mha.train()(x, need_weights=True)
    torch.testing.assert_close(w_train, w_eval)
    torch.testing.assert_close(w_train.sum(-1), torch.ones(2, 4, 6))


def test_multihead_with_dropout_matches_torch_in_eval_mode():
    torch.manual_seed(0)
    ref = nn.MultiheadAttention(16, 4, dropout=0.5, batch_first=True).eval()
    ours = MultiHeadAttention(16, 4, dropout=0.5).eval().load_from_torch(ref)
    x = torch.randn(2, 6, 16)
    expected, _ = ref(x, x, x)
    for fast in (True, False):
        ours.fast = fast
        torch.testing.assert_close(ours(x)[0], expected, rtol=1e-5, atol=ATOL)


@pytest.mark.parametrize("d", [1, 4, 9, 16])
def test_scores_are_divided_by_the_square_root_of_d_k(d):
    q, k, v = _qkv(d=d)
    out, w = scaled_dot_product_attention(q, k, v)
    scores = torch.einsum("bhqd,bhkd->bhqk", q, k) / d**0.5
    torch.testing.assert_close(w, torch.softmax(scores, dim=-1))
    torch.testing.assert_close(out, torch.einsum("bhqk,bhkd->bhqd", w, v))


def test_trivial_masks_change_nothing_and_minus_infinity_equals_false():
    q, k, v = _qkv()
    plain, w = scaled_dot_product_attention(q, k, v)
    all_true = torch.ones(5, 7, dtype=torch.bool)
    assert torch.equal(scaled_dot_product_attention(q, k, v, all_true)[0], plain)
    assert torch.equal(scaled_dot_product_attention(q, k, v, torch.zeros(5, 7))[0], plain)
    # a constant added to a row of scores is invisible to the softmax
    row_shift = torch.linspace(-3, 3, 5)[:, None].expand(5, 7)
    torch.testing.assert_close(scaled_dot_product_attention(q, k, v, row_shift)[0], plain)
    allowed = torch.rand(5, 7, generator=torch.Generator().manual_seed(0)) > 0.5
    allowed[:, 3] = True
    additive = torch.zeros(5, 7).masked_fill(~allowed, float("-inf"))
    for impl in (
        lambda m: scaled_dot_product_attention(q, k, v, m)[0],
        lambda m: fast_scaled_dot_product_attention(q, k, v, m),
    ):
        torch.testing.assert_close(impl(allowed), impl(additive))


def test_a_query_with_every_key_forbidden_gives_nan_and_leaves_the_others_alone():
    q, k, v = _qkv()
    allowed = torch.ones(5, 7, dtype=torch.bool)
    allowed[2] = False
    out, w = scaled_dot_product_attention(q, k, v, allowed)
    assert bool(out[:, :, 2].isnan().all()) and bool(w[:, :, 2].isnan().all())
    plain, _ = scaled_dot_product_attention(q, k, v)
    keep = [0, 1, 3, 4]
    torch.testing.assert_close(out[:, :, keep], plain[:, :, keep])


@pytest.mark.parametrize("lead", [(), (3,)])
def test_unbatched_and_three_dimensional_inputs_match_torch(lead):
    # d_k = 4, d_v = 6, Tk = 9: any mix-up of the last two axes changes a shape
    g = torch.Generator().manual_seed(0)
    q = torch.randn(*lead, 5, 4, generator=g)
    k = torch.randn(*lead, 9, 4, generator=g)
    v = torch.randn(*lead, 9, 6, generator=g)
    mask = torch.rand(5, 9, generator=g) > 0.4
    mask[:, 0] = True
    for m in (None, mask):
        expected = F.scaled_dot_product_attention(q, k, v, attn_mask=m)
        out, w = scaled_dot_product_attention(q, k, v, m)
        assert out.shape == (*lead, 5, 6) and w.shape == (*lead, 5, 9)
        torch.testing.assert_close(out, expected)
        torch.testing.assert_close(fast_scaled_dot_product_attention(q, k, v, m), expected)


def test_fast_is_causal_matches_the_causal_mask():
    q, k, v = _qkv(tq=6, tk=6)
    expected, _ = scaled_dot_product_attention(q, k, v, causal_mask(6))
    torch.testing.assert_close(fast_scaled_dot_product_attention(q, k, v, is_causal=True), expected)
    with pytest.raises(ValueError, match="is_causal"):
        fast_scaled_dot_product_attention(q, k, v, causal_mask(6), is_causal=True)


def test_multihead_per_head_mask_matches_torch():
    ours, ref = _pair()
    g = torch.Generator().manual_seed(4)
    x = torch.randn(3, 5, 16, generator=g)
    mask = torch.rand(3, 4, 5, 5, generator=g) > 0.5  # (B, n_head, Tq, Tk)
    mask[..., 1] = True
    expected, expected_w = ref(
        x, x, x, attn_mask=(~mask).reshape(12, 5, 5), average_attn_weights=False
    )
    for fast in (True, False):
        ours.fast = fast
        out, w = ours(x, mask=mask, need_weights=not fast)
        torch.testing.assert_close(out, expected, rtol=1e-5, atol=ATOL)
        if not fast:
            torch.testing.assert_close(w, expected_w, rtol=1e-5, atol=ATOL)


@pytest.mark.parametrize("n_kv_head", [4, 2, 1])
def test_packed_projection_draws_what_three_linear_layers_draw(n_kv_head):
    # in_proj's rows [W^Q; W^K; W^V] get exactly the numbers (and consume exactly the
    # random stream) of three nn.Linear layers built in order, so seeds keep their meaning.
    torch.manual_seed(0)
    mha = MultiHeadAttention(16, 4, n_kv_head=n_kv_head)
    after = torch.rand(3)
    torch.manual_seed(0)
    d_kv = 4 * n_kv_head
    three = [nn.Linear(16, 16), nn.Linear(16, d_kv), nn.Linear(16, d_kv)]
    out_proj = nn.Linear(16, 16)
    assert torch.equal(torch.rand(3), after)
    for (w, b), lin in zip(mha.projection_weights(), three):
        assert torch.equal(w, lin.weight) and torch.equal(b, lin.bias)
    assert torch.equal(mha.out_proj.weight, out_proj.weight)
    assert mha.packed and [n for n, _ in mha.named_parameters()] == [
        "in_proj.weight",
        "in_proj.bias",
        "out_proj.weight",
        "out_proj.bias",
    ]


def test_packed_projection_is_three_projections_and_other_widths_are_not_packed():
    torch.manual_seed(0)
    mha = MultiHeadAttention(8, 2, n_kv_head=1).double()
    x, mem = torch.randn(2, 3, 8, dtype=torch.float64), torch.randn(2, 5, 8, dtype=torch.float64)
    (wq, bq), (wk, bk), (wv, bv) = mha.projection_weights()
    for (q, k, v), source in ((mha.project(x), x), (mha.project(x, mem), mem)):
        torch.testing.assert_close(q, x @ wq.T + bq, atol=1e-12, rtol=0)
        torch.testing.assert_close(k, source @ wk.T + bk, atol=1e-12, rtol=0)
        torch.testing.assert_close(v, source @ wv.T + bv, atol=1e-12, rtol=0)
    # the views are the layer: writing into one changes what the module computes
    with torch.no_grad():
        wv.zero_(), bv.fill_(1.0)
    assert torch.equal(mha.project(x)[2], torch.ones(2, 3, 4, dtype=torch.float64))
    cross = MultiHeadAttention(8, 2, kdim=6, vdim=6)
    assert not cross.packed and not hasattr(cross, "in_proj")
    assert [tuple(w.shape) for w, _ in cross.projection_weights()] == [(8, 8), (8, 6), (8, 6)]
    plain = MultiHeadAttention(8, 2, bias=False)
    assert [b for _, b in plain.projection_weights()] == [None, None, None]
    with pytest.raises(ValueError, match="key"):
        mha.project(x, torch.randn(2, 5, 6))


def test_multihead_heads_are_split_and_concatenated_in_order():
    # Head i must read dimensions [i*d_head, (i+1)*d_head) of each projection.
    torch.manual_seed(0)
    mha = MultiHeadAttention(8, 2, fast=False).eval()
    x, mem = torch.randn(2, 3, 8), torch.randn(2, 4, 8)
    out, w = mha(x, mem)
    q, k, v = mha.project(x, mem)
    heads = []
    for i in range(2):
        s = slice(4 * i, 4 * i + 4)
        o, wi = scaled_dot_product_attention(q[..., s], k[..., s], v[..., s])
        torch.testing.assert_close(w[:, i], wi)
        heads.append(o)
    torch.testing.assert_close(out, mha.out_proj(torch.cat(heads, dim=-1)))


def test_causal_mask_and_attention_checks_name_the_argument():
    with pytest.raises(ValueError, match="length"):
        causal_mask(0)
    with pytest.raises(TypeError, match="length"):
        causal_mask(2.0)
    q, k, v = _qkv()
    with pytest.raises(TypeError, match="k must be a floating"):
        scaled_dot_product_attention(q, k.long(), v)
    with pytest.raises(TypeError, match="v must be a floating"):
        scaled_dot_product_attention(q, k, v.long())
    with pytest.raises(TypeError, match="k must be a torch.Tensor"):
        scaled_dot_product_attention(q, k.tolist(), v)
    with pytest.raises(ValueError, match="v must have shape"):
        scaled_dot_product_attention(q[0, 0], k[0, 0], v[0, 0, 0])
    with pytest.raises(ValueError, match="q must have shape"):
        scaled_dot_product_attention(q[0, 0, 0], k[0, 0], v[0, 0])
    with pytest.raises(ValueError, match="leading"):
        scaled_dot_product_attention(q, k[:1], v[:1])
    for p in (-0.1, 1.5):
        with pytest.raises(ValueError, match="dropout"):
            scaled_dot_product_attention(q, k, v, dropout=p)
        with pytest.raises(ValueError, match="dropout"):
            fast_scaled_dot_product_attention(q, k, v, dropout=p)
    with pytest.raises(TypeError, match="mask"):
        scaled_dot_product_attention(q, k, v, [[True] * 7] * 5)


def test_multihead_checks_query_key_value_and_mask():
    mha = MultiHeadAttention(16, 4, kdim=6, vdim=10)
    x = torch.randn(2, 5, 16)
    k, v = torch.randn(2, 7, 6), torch.randn(2, 7, 10)
    assert mha(x, k, v)[0].shape == (2, 5, 16)
    with pytest.raises(TypeError, match="query must be a floating"):
        mha(x.long(), k, v)
    with pytest.raises(ValueError, match="key must have last dimension 6"):
        mha(x, torch.randn(2, 7, 16), v)
    with pytest.raises(TypeError, match="key must be a floating"):
        mha(x, k.long(), v)
    with pytest.raises(ValueError, match="value must have last dimension 10"):
        mha(x, k, torch.randn(2, 7, 6))
    with pytest.raises(TypeError, match="value must be a floating"):
        mha(x, k, v.long())
    with pytest.raises(ValueError, match="value"):
        mha(x, k, torch.randn(2, 6, 10))
    with pytest.raises(TypeError, match="mask"):
        mha(x, k, v, mask=[[True] * 7] * 5)
    with pytest.raises(ValueError, match="mask"):
        mha(x, k, v, mask=torch.ones(1, 2, 4, 5, 7, dtype=torch.bool))
    self_attention = MultiHeadAttention(16, 4)
    with pytest.raises(ValueError, match="is_causal"):
        self_attention(x, mask=causal_mask(5), is_causal=True)
    with pytest.raises(ValueError, match="is_causal"):
        self_attention(x, torch.randn(2, 7, 16), is_causal=True)


def test_load_from_torch_refuses_other_sizes_and_types():
    ours = MultiHeadAttention(16, 4)
    with pytest.raises(ValueError, match="embed_dim"):
        ours.load_from_torch(nn.MultiheadAttention(8, 4))
    with pytest.raises(ValueError, match="num_heads"):
        ours.load_from_torch(nn.MultiheadAttention(16, 2))
    with pytest.raises(TypeError, match="MultiheadAttention"):
        ours.load_from_torch(nn.Linear(16, 16))
    with pytest.raises(ValueError, match="bias"):
        MultiHeadAttention(16, 4, bias=False).load_from_torch(nn.MultiheadAttention(16, 4))


def test_load_from_torch_without_biases_matches_torch():
    torch.manual_seed(0)
    ref = nn.MultiheadAttention(16, 4, bias=False, batch_first=True).eval()
    ours = MultiHeadAttention(16, 4, bias=False).eval().load_from_torch(ref)
    x = torch.randn(2, 5, 16)
    torch.testing.assert_close(ours(x)[0], ref(x, x, x)[0], rtol=1e-5, atol=ATOL)


def test_load_from_torch_without_biases_into_a_module_with_biases():
    # (a bug found by the mutation benchmark's tests: our random biases used to stay)
    torch.manual_seed(0)
    ref = nn.MultiheadAttention(16, 4, bias=False, batch_first=True).eval()
    ours = MultiHeadAttention(16, 4, bias=True).eval()
    try:
        ours.load_from_torch(ref)
    except ValueError:
        return  # refusing would be right too
    x = torch.randn(2, 5, 16)
    torch.testing.assert_close(ours(x)[0], ref(x, x, x)[0], rtol=1e-5, atol=ATOL)


# --- additive attention ------------------------------------------------------------------


def test_additive_attention_with_several_queries_equals_one_query_at_a_time():
    torch.manual_seed(0)
    att = AdditiveAttention(query_dim=3, key_dim=4, hidden_dim=5)
    s = torch.randn(2, 6, 3)
    h, values = torch.randn(2, 7, 4), torch.randn(2, 7, 2)
    mask = torch.rand(2, 6, 7, generator=torch.Generator().manual_seed(1)) > 0.4
    mask[..., 0] = True
    ctx, w = att(s, h, values, mask=mask)
    assert ctx.shape == (2, 6, 2) and w.shape == (2, 6, 7)
    for i in range(6):
        ci, wi = att(s[:, i], h, values, mask=mask[:, i])
        torch.testing.assert_close(ctx[:, i], ci)
        torch.testing.assert_close(w[:, i], wi)
    # a (B, Tk) mask applies to every query
    ctx2, w2 = att(s, h, values, mask=mask[:, 0])
    torch.testing.assert_close(w2, att(s, h, values, mask=mask[:, :1].expand(2, 6, 7))[1])
    assert ctx2.shape == (2, 6, 2)


def test_additive_attention_checks_its_inputs():
    att = AdditiveAttention(query_dim=3, key_dim=4, hidden_dim=5)
    s, h = torch.randn(2, 3), torch.randn(2, 7, 4)
    with pytest.raises(ValueError, match="query must have last dimension 3"):
        att(torch.randn(2, 4), h)
    with pytest.raises(TypeError, match="query must be a floating"):
        att(s.long(), h)
    with pytest.raises(ValueError, match="query must have 3 dimensions"):
        att(torch.randn(2, 1, 1, 3), h)
    with pytest.raises(ValueError, match="keys must have last dimension 4"):
        att(s, torch.randn(2, 7, 3))
    with pytest.raises(ValueError, match="keys must have 3 dimensions"):
        att(s, torch.randn(7, 4))
    with pytest.raises(TypeError, match="keys must be a floating"):
        att(s, h.long())
    with pytest.raises(ValueError, match="values must have 3 dimensions"):
        att(s, h, torch.randn(7, 4))
    with pytest.raises(TypeError, match="values must be a floating"):
        att(s, h, h.long())
    with pytest.raises(TypeError, match="values must be a torch.Tensor"):
        att(s, h, h.tolist())
    with pytest.raises(ValueError, match="batch size"):
        att(torch.randn(3, 3), h)
    with pytest.raises(ValueError, match="batch size"):
        att(s, h, torch.randn(2, 6, 4))
    ones = torch.ones(2, 7, dtype=torch.bool)
    for bad in (ones.float(), ones.tolist()):
        with pytest.raises(ValueError, match="mask must be a bool"):
            att(s, h, mask=bad)
    for bad in (
        torch.ones(2, 1, 1, 7, dtype=torch.bool),
        torch.ones(3, 7, dtype=torch.bool),
        torch.ones(2, 6, dtype=torch.bool),
    ):
        with pytest.raises(ValueError, match="mask must have shape"):
            att(s, h, mask=bad)


# --- the recall task and its model -------------------------------------------------------


def test_key_value_recall_checks_and_edge_case():
    from survey_models.attention import key_value_recall

    keys, *_ = key_value_recall(4, 5, 5, 3, generator=torch.Generator().manual_seed(0))
    assert sorted(keys[0].tolist()) == [0, 1, 2, 3, 4]  # n_keys == n_pairs: a permutation
    for args, name in (
        ((0,), "n"),
        ((2, 0), "n_pairs"),
        ((2, 2, 0), "n_keys"),
        ((2, 2, 4, 0), "n_values"),
    ):
        with pytest.raises(ValueError, match=name):
            key_value_recall(*args)
        with pytest.raises(TypeError, match=name):
            key_value_recall(*args[:-1], 4.0)


def _recall_batch():
    from survey_models.attention import key_value_recall

    return key_value_recall(5, 4, 8, 3, generator=torch.Generator().manual_seed(0))[:3]


@pytest.mark.parametrize("kind", ["dot", "additive", "uniform"])
def test_recall_model_matches_a_hand_computation(kind):
    from survey_models.attention import RecallModel

    torch.manual_seed(0)
    model = RecallModel(8, 3, d_model=6, kind=kind)
    keys, values, query = _recall_batch()
    logits, w = model(keys, values, query)
    pairs = model.key_embedding.weight[keys] + model.value_embedding.weight[values]
    s = model.query_embedding.weight[query]  # (B, d)
    if kind == "uniform":
        expected_w = torch.full((5, 4), 0.25)
        context = pairs.mean(1)
    elif kind == "dot":
        att = model.attention
        assert att.n_head == 1
        qp, kp, vp = att.project(s[:, None], pairs)
        qp = qp[:, 0]
        expected_w = torch.softmax(torch.einsum("bd,bpd->bp", qp, kp) / 6**0.5, dim=-1)
        context = att.out_proj(torch.einsum("bp,bpd->bd", expected_w, vp))
    else:
        context, expected_w = model.attention(s, pairs)
    hidden = torch.relu(model.readout[0](context))
    torch.testing.assert_close(w, expected_w)
    torch.testing.assert_close(logits, model.readout[2](hidden))


def test_recall_model_checks_its_inputs():
    from survey_models.attention import RecallModel

    model = RecallModel(8, 3, d_model=6)
    keys, values, query = _recall_batch()
    with pytest.raises(TypeError, match="keys"):
        model(keys.tolist(), values, query)
    with pytest.raises(TypeError, match="values must be an int64"):
        model(keys, values.float(), query)
    with pytest.raises(ValueError, match="keys and values"):
        model(keys, values[:, :3], query)
    with pytest.raises(ValueError, match="keys and values"):
        model(keys[None], values[None], query)
    with pytest.raises(ValueError, match="keys and values"):
        model(keys, values, query[:4])
    with pytest.raises(ValueError, match="kind"):
        RecallModel(8, 3, kind="cosine")
