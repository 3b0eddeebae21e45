"""Rotary position embedding: exact properties, the KV cache, GQA, causality, bad input."""

import math

import pytest
import torch

from survey_models.attention import MultiHeadAttention, rotary_embedding
from survey_models.transformer import GPT


def _rotate(x, p, base=10000.0):
    return rotary_embedding(x, torch.tensor([p]), base)


def test_relative_inner_product_depends_only_on_offset():
    # (8): ⟨R_m q, R_n k⟩ = ⟨q, R_{n-m} k⟩; float64 rounding is ~1e-15 here, 1e-12 is wide
    g = torch.Generator().manual_seed(0)
    q, k = torch.randn(2, 1, 16, dtype=torch.float64, generator=g)
    for offset in (-5, 0, 3, 11):
        ref = (_rotate(q, 0) * _rotate(k, offset)).sum()
        for m in (1, 7, 40):
            dot = (_rotate(q, m) * _rotate(k, m + offset)).sum()
            assert abs(dot - ref) < 1e-12


def test_known_answer_matches_rotation_matrices():
    g = torch.Generator().manual_seed(1)
    x = torch.randn(3, 8, dtype=torch.float64, generator=g)
    pos = torch.tensor([0, 2, 5])
    out = rotary_embedding(x, pos, base=100.0)
    for row, p in enumerate(pos.tolist()):
        for i in range(4):
            a = p * 100.0 ** (-2 * i / 8)
            rot = torch.tensor(
                [[math.cos(a), -math.sin(a)], [math.sin(a), math.cos(a)]], dtype=torch.float64
            )
            expected = rot @ x[row, 2 * i : 2 * i + 2]
            torch.testing.assert_close(out[row, 2 * i : 2 * i + 2], expected)


def test_norm_preserved_and_position_zero_is_identity():
    g = torch.Generator().manual_seed(2)
    x = torch.randn(2, 3, 10, 8, dtype=torch.float64, generator=g)
    out = rotary_embedding(x, torch.arange(10))
    assert out.shape == x.shape and out.dtype == x.dtype
    torch.testing.assert_close(out.norm(dim=-1), x.norm(dim=-1), rtol=1e-12, atol=0)
    assert torch.equal(rotary_embedding(x, torch.zeros(10, dtype=torch.long)), x)  # cos 0 = 1


def test_gqa_attention_with_rope_gives_distributions():
    # grouped-query attention (2 K/V heads for 4 query heads) with rotated q and k
    torch.manual_seed(3)
    mha = MultiHeadAttention(16, 4, rope=True, n_kv_head=2, fast=False).double()
    x = torch.randn(2, 6, 16, dtype=torch.float64)
    _, w = mha(x, is_causal=True, need_weights=True)
    assert w.shape == (2, 4, 6, 6)
    torch.testing.assert_close(w.sum(-1), torch.ones(2, 4, 6, dtype=torch.float64))


@pytest.mark.parametrize("n_kv_head", [4, 2, 1])
def test_cached_generation_identical(n_kv_head):
    torch.manual_seed(4)
    model = GPT(11, 24, n_layer=2, n_head=4, d_model=32, positional="rope", n_kv_head=n_kv_head)
    prompt = torch.randint(11, (3, 5))
    a = model.generate(prompt, 14, greedy=True, use_cache=True)
    b = model.generate(prompt, 14, greedy=True, use_cache=False)
    assert torch.equal(a, b)
    # logits of the cached steps equal the full forward (positions continue at the offset)
    x = torch.randint(11, (2, 12))
    with torch.no_grad():
        full = model(x)
        cache = model.new_cache(2)
        parts = [model(x[:, :4], cache=cache), model(x[:, 4:5], cache=cache)]
        parts.append(model(x[:, 5:], cache=cache))
    torch.testing.assert_close(torch.cat(parts, 1), full, rtol=1e-4, atol=1e-5)


def test_rope_gpt_is_causal_and_has_no_position_table():
    torch.manual_seed(5)
    model = GPT(9, 16, n_layer=2, n_head=2, d_model=16, positional="rope").double()
    assert model.position_embedding is None
    assert all(b.self_attn.rope for b in model.blocks)
    x = torch.randint(9, (2, 10))
    y = x.clone()
    y[:, 6:] = (y[:, 6:] + 1) % 9
    with torch.no_grad():
        lx, ly = model(x), model(y)
        lw, maps = model(x, return_attention=True)
    assert torch.equal(lx[:, :6], ly[:, :6])  # the future does not change the past
    assert not torch.allclose(lx[:, 6:], ly[:, 6:])
    torch.testing.assert_close(lw, lx)
    assert all(bool((m.triu(1) == 0).all()) for m in maps)


def test_rope_makes_order_visible():
    # without positions, attention is permutation-equivariant; rope breaks that
    torch.manual_seed(6)
    x = torch.randn(1, 5, 8, dtype=torch.float64)
    perm = torch.tensor([3, 0, 4, 1, 2])
    plain = MultiHeadAttention(8, 2).double()
    rope = MultiHeadAttention(8, 2, rope=True).double()
    rope.load_state_dict(plain.state_dict())
    torch.testing.assert_close(plain(x[:, perm])[0], plain(x)[0][:, perm])
    assert not torch.allclose(rope(x[:, perm])[0], rope(x)[0][:, perm])


def test_bad_input():
    x = torch.randn(4, 6)
    with pytest.raises(ValueError, match="even dim"):
        rotary_embedding(torch.randn(4, 5), torch.arange(4))
    with pytest.raises(ValueError, match="positions"):
        rotary_embedding(x, torch.arange(3))
    with pytest.raises(TypeError, match="positions"):
        rotary_embedding(x, [0, 1, 2, 3])
    with pytest.raises(ValueError, match="base"):
        rotary_embedding(x, torch.arange(4), base=1.0)
    with pytest.raises(TypeError, match="x"):
        rotary_embedding(torch.arange(8).view(4, 2), torch.arange(4))
    with pytest.raises(TypeError, match="rope"):
        MultiHeadAttention(8, 2, rope="yes")
    with pytest.raises(ValueError, match="rope"):
        MultiHeadAttention(6, 2, rope=True)
    with pytest.raises(ValueError, match="rope"):
        GPT(5, 8, n_head=2, d_model=6, positional="rope")
    with pytest.raises(ValueError, match="positional"):
        GPT(5, 8, positional="rotary")
