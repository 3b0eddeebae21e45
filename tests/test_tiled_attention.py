"""Tests of exact tiled (online-softmax) attention against PyTorch's fused attention.

Comparisons are in float64: tiled and fused attention sum the same terms in a different
order, which moves the result by a few units of 1e-16; the tolerance 1e-12 is about
10,000 times that and still far below any error a wrong recurrence would make (a missing
rescale or a wrong normaliser changes the output by order 1e-2 or more on these inputs).
"""

from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F

from survey_models.attention import scaled_dot_product_attention
from survey_models.tiled_attention import largest_intermediate, tiled_attention


def _qkv(t_q: int = 13, t_k: int = 13, d_k: int = 8, d_v: int = 5, seed: int = 0):
    g = torch.Generator().manual_seed(seed)
    shape = (2, 3)  # (batch, head)
    q = torch.randn(*shape, t_q, d_k, generator=g, dtype=torch.float64)
    k = torch.randn(*shape, t_k, d_k, generator=g, dtype=torch.float64)
    v = torch.randn(*shape, t_k, d_v, generator=g, dtype=torch.float64)
    return q, k, v


@pytest.mark.parametrize("causal", [False, True])
@pytest.mark.parametrize("block_size", [1, 2, 4, 5, 12, 13, 100])  # 13 = T; 4, 5 do not divide it
def test_equals_scaled_dot_product_attention(causal, block_size):
    q, k, v = _qkv()
    out = tiled_attention(q, k, v, block_size, causal=causal)
    ref = F.scaled_dot_product_attention(q, k, v, is_causal=causal)
    assert out.shape == ref.shape == (2, 3, 13, 5)
    torch.testing.assert_close(out, ref, rtol=0, atol=1e-12)


@pytest.mark.parametrize("causal", [False, True])
@pytest.mark.parametrize(("t_q", "t_k"), [(7, 19), (19, 7), (1, 10)])
def test_rectangular_scores_match_reference(causal, t_q, t_k):
    """T_q != T_k; the causal mask is top-left aligned as in ``is_causal=True``."""
    q, k, v = _qkv(t_q, t_k)
    out = tiled_attention(q, k, v, 3, causal=causal)
    ref = F.scaled_dot_product_attention(q, k, v, is_causal=causal)
    torch.testing.assert_close(out, ref, rtol=0, atol=1e-12)


@pytest.mark.parametrize("causal", [False, True])
def test_gradients_agree_with_reference(causal):
    q, k, v = (t.requires_grad_() for t in _qkv(9, 9, 4, 3))
    g_out = torch.randn(2, 3, 9, 3, dtype=torch.float64, generator=torch.Generator().manual_seed(5))
    grads = []
    for fn in (
        lambda: tiled_attention(q, k, v, 4, causal=causal),
        lambda: F.scaled_dot_product_attention(q, k, v, is_causal=causal),
    ):
        grads.append(torch.autograd.grad(fn(), (q, k, v), g_out))
    for tiled, ref in zip(*grads, strict=True):
        torch.testing.assert_close(tiled, ref, rtol=0, atol=1e-12)


def test_gradcheck():
    q, k, v = (t[:1, :1].clone().requires_grad_() for t in _qkv(5, 6, 3, 2))
    assert torch.autograd.gradcheck(lambda a, b, c: tiled_attention(a, b, c, 2), (q, k, v))
    assert torch.autograd.gradcheck(
        lambda a, b, c: tiled_attention(a, b, c, 4, causal=True), (q[..., :5, :], k, v)
    )


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
def test_huge_logits_are_stable(dtype):
    """Scores of order 1e4: exp would overflow without subtracting the running max."""
    q, k, v = (t.to(dtype) for t in _qkv(11, 11, 4, 3))
    q = q * 100.0  # |scores| up to ~1e4 (d_k = 4, so q.k / 2 with |q| ~ 200, |k| ~ 2)
    k = k * 100.0
    scores = q @ k.transpose(-2, -1) / 2.0
    assert scores.abs().max() > 1e4
    for causal in (False, True):
        out = tiled_attention(q, k, v, 3, causal=causal)
        assert torch.isfinite(out).all()
        ref = F.scaled_dot_product_attention(q, k, v, is_causal=causal)
        # At such logits softmax is one-hot up to exp(-gap); both pick the same value rows.
        tol = 1e-12 if dtype == torch.float64 else 1e-5
        torch.testing.assert_close(out, ref, rtol=0, atol=tol)


def test_shift_of_all_scores_changes_nothing():
    """Adding the same vector to every key shifts each query's scores by a constant."""
    q, k, v = _qkv()
    shift = torch.randn(8, dtype=torch.float64, generator=torch.Generator().manual_seed(3))
    torch.testing.assert_close(
        tiled_attention(q, k + 50 * shift, v, 4, causal=True),
        F.scaled_dot_product_attention(q, k + 50 * shift, v, is_causal=True),
        rtol=0,
        atol=1e-12,
    )


def test_never_materialises_the_full_score_matrix():
    t, block = 64, 8
    q, k, v = (x[:1, :1] for x in _qkv(t, t, 4, 4))
    for causal in (False, True):
        out, largest = largest_intermediate(tiled_attention, q, k, v, block, causal=causal)
        assert out.shape == (1, 1, t, 4)
        assert largest == t * block  # one (T_q, block) score block; T x T would be 4096
    _, full = largest_intermediate(scaled_dot_product_attention, q, k, v)
    assert full == t * t  # the teaching version holds the whole score matrix


def test_largest_intermediate_rejects_non_callable():
    with pytest.raises(TypeError, match="fn"):
        largest_intermediate(3)


@pytest.mark.parametrize(
    ("kwargs", "error", "match"),
    [
        ({"q": [[1.0]]}, TypeError, "q"),
        ({"k": torch.zeros(2, 3, 13, 8, dtype=torch.long)}, TypeError, "k"),
        ({"q": torch.zeros(2, 3, 13, 7, dtype=torch.float64)}, ValueError, "q and k"),
        ({"v": torch.zeros(2, 3, 12, 5, dtype=torch.float64)}, ValueError, "k and v"),
        ({"v": torch.zeros(13, 5, dtype=torch.float64)}, ValueError, "leading"),
        ({"q": torch.zeros(2, 3, 13, 8)}, ValueError, "dtype"),
        ({"block_size": 0}, ValueError, "block_size"),
        ({"block_size": 2.0}, TypeError, "block_size"),
        ({"causal": 1}, TypeError, "causal"),
    ],
)
def test_bad_input(kwargs, error, match):
    q, k, v = _qkv()
    args = {"q": q, "k": k, "v": v, "block_size": 4, "causal": False} | kwargs
    with pytest.raises(error, match=match):
        tiled_attention(**args)


def test_empty_keys_rejected():
    q, _, _ = _qkv()
    empty = torch.zeros(2, 3, 0, 8, dtype=torch.float64)
    with pytest.raises(ValueError, match="k must have at least one position"):
        tiled_attention(q, empty, empty[..., :5], 4)
