"""Tests of multi-query / grouped-query attention (``n_kv_head``)."""

from __future__ import annotations

import math

import pytest
import torch
from torch import nn

from survey_models.attention import KVCache, MultiHeadAttention, repeat_kv
from survey_models.transformer import GPT


def test_n_kv_head_equal_to_n_head_is_standard_multi_head_exactly():
    torch.manual_seed(0)
    mha = GPT(13, 10, n_layer=2, n_head=4, d_model=16)
    gqa = GPT(13, 10, n_layer=2, n_head=4, d_model=16, n_kv_head=4)
    gqa.load_state_dict(mha.state_dict())
    idx = torch.randint(13, (3, 10))
    assert torch.equal(mha(idx), gqa(idx))
    assert mha.num_parameters() == gqa.num_parameters()


def _brute_force(mha: MultiHeadAttention, x: torch.Tensor) -> torch.Tensor:
    # every query head i attends with its own copy of key/value head i // (h / n_kv)
    b, t, _ = x.shape
    h, g, d = mha.n_head, mha.n_kv_head, mha.d_head
    q, k, v = mha.project(x)
    q, k, v = q.view(b, t, h, d), k.view(b, t, g, d), v.view(b, t, g, d)
    heads = []
    for i in range(h):
        j = i * g // h
        scores = q[:, :, i] @ k[:, :, j].transpose(1, 2) / math.sqrt(d)
        scores = scores.masked_fill(~torch.ones(t, t, dtype=torch.bool).tril(), float("-inf"))
        heads.append(torch.softmax(scores, -1) @ v[:, :, j])
    return mha.out_proj(torch.cat(heads, dim=-1))


@pytest.mark.parametrize("n_kv_head", [1, 2, 4])
@pytest.mark.parametrize("fast", [True, False])
def test_grouped_heads_share_keys_and_values_brute_force(n_kv_head, fast):
    torch.manual_seed(0)
    mha = MultiHeadAttention(32, 4, n_kv_head=n_kv_head, fast=fast).double()
    x = torch.randn(2, 7, 32, dtype=torch.float64)
    out, _ = mha(x, is_causal=True)
    torch.testing.assert_close(out, _brute_force(mha, x), atol=1e-12, rtol=0)


def test_multi_query_equals_multi_head_with_tiled_key_value_weights():
    torch.manual_seed(0)
    mqa = MultiHeadAttention(16, 4, n_kv_head=1).double()
    mha = MultiHeadAttention(16, 4).double()
    with torch.no_grad():
        mha.out_proj.load_state_dict(mqa.out_proj.state_dict())
        (wq, bq), *kv = mqa.projection_weights()
        (dq, dbq), *dkv = mha.projection_weights()
        dq.copy_(wq), dbq.copy_(bq)
        for (w, bias), (dw, db) in zip(kv, dkv):
            dw.copy_(w.repeat(4, 1))  # the one K/V head, for every head
            db.copy_(bias.repeat(4))
    x = torch.randn(3, 6, 16, dtype=torch.float64)
    torch.testing.assert_close(mqa(x)[0], mha(x)[0], atol=1e-12, rtol=0)
    w_mqa = mqa(x, need_weights=True)[1]
    w_mha = mha(x, need_weights=True)[1]
    torch.testing.assert_close(w_mqa, w_mha, atol=1e-12, rtol=0)


def test_repeat_kv_is_repeat_interleave():
    x = torch.arange(2 * 3 * 4 * 5.0).view(2, 3, 4, 5)
    assert torch.equal(repeat_kv(x, 2), x.repeat_interleave(2, dim=1))
    assert repeat_kv(x, 1) is x


@pytest.mark.parametrize("n_kv_head", [1, 2])
def test_cache_works_with_grouped_query_attention(n_kv_head):
    torch.manual_seed(0)
    model = GPT(11, 10, n_layer=2, n_head=4, d_model=16, n_kv_head=n_kv_head).double().eval()
    start = torch.randint(11, (2, 3))
    for greedy in (True, False):
        a, b = (
            model.generate(
                start, 12, greedy=greedy, generator=torch.Generator().manual_seed(3), use_cache=c
            )
            for c in (True, False)
        )
        assert torch.equal(a, b)


def test_cache_memory_is_proportional_to_n_kv_head():
    sizes = {}
    for g in (1, 2, 4):
        model = GPT(11, 8, n_layer=2, n_head=4, d_model=16, n_kv_head=g)
        cache = model.new_cache(1)
        with torch.no_grad():
            model(torch.zeros(1, 8, dtype=torch.long), cache=cache)
        sizes[g] = cache.nbytes
        assert cache.keys[0].shape == (1, g, 8, 4)
    assert sizes[4] == 2 * sizes[2] == 4 * sizes[1]


def test_key_value_projections_shrink():
    mha = MultiHeadAttention(16, 4, n_kv_head=2)
    shapes = [tuple(w.shape) for w, _ in mha.projection_weights()]
    assert shapes == [(16, 16), (8, 16), (8, 16)]
    assert mha.in_proj.weight.shape == (32, 16)
    assert "n_kv_head=2" in repr(mha)


def test_bad_input_names_the_argument():
    with pytest.raises(ValueError, match="n_kv_head"):
        MultiHeadAttention(16, 4, n_kv_head=3)
    with pytest.raises(ValueError, match="n_kv_head"):
        MultiHeadAttention(16, 4, n_kv_head=0)
    with pytest.raises(ValueError, match="n_kv_head"):
        GPT(11, 8, n_head=4, d_model=16, n_kv_head=8)
    with pytest.raises(ValueError, match="n_kv_head"):
        MultiHeadAttention(16, 4, n_kv_head=2).load_from_torch(
            nn.MultiheadAttention(16, 4, batch_first=True)
        )
    mha = MultiHeadAttention(16, 4, n_kv_head=2)
    with pytest.raises(ValueError, match="n_kv_head"):
        mha(torch.zeros(1, 2, 16), cache=KVCache(1, 1, 4, 4, 4))
