"""Tests of the KV cache: cached decoding equals recomputing the whole context.

Token equality is checked in float64: cached and full forwards round differently (by
about 1e-16 relative there), and a flip of an argmax or of a sample would need two
candidates closer than that, which random weights do not produce.
"""

from __future__ import annotations

import pytest
import torch

from survey_models.attention import KVCache, MultiHeadAttention, causal_mask
from survey_models.transformer import GPT


def _model(positional: str = "learned", block: int = 12, n_kv_head: int | None = None) -> GPT:
    torch.manual_seed(0)
    model = GPT(
        11, block, n_layer=2, n_head=4, d_model=16, positional=positional, n_kv_head=n_kv_head
    )
    return model.double().eval()


@pytest.mark.parametrize("positional", ["learned", "sinusoidal", "none"])
@pytest.mark.parametrize("new", [1, 5, 11, 25])  # 25 runs past block_size = 12
def test_cached_and_uncached_generation_give_identical_tokens(positional, new):
    model = _model(positional)
    start = torch.randint(11, (3, 4), generator=torch.Generator().manual_seed(1))
    greedy = [model.generate(start, new, greedy=True, use_cache=c) for c in (True, False)]
    assert torch.equal(greedy[0], greedy[1])
    sampled = [
        model.generate(start, new, generator=torch.Generator().manual_seed(7), use_cache=c)
        for c in (True, False)
    ]
    assert torch.equal(sampled[0], sampled[1])
    assert sampled[0].shape == (3, 4 + new)
    assert torch.equal(sampled[0][:, :4], start)


def test_a_prompt_of_block_size_and_a_prompt_of_one_token():
    model = _model()
    for length in (1, 12):
        start = torch.randint(11, (2, length), generator=torch.Generator().manual_seed(length))
        a = model.generate(start, 6, generator=torch.Generator().manual_seed(0))
        b = model.generate(start, 6, generator=torch.Generator().manual_seed(0), use_cache=False)
        assert torch.equal(a, b)


@pytest.mark.parametrize("positional", ["learned", "sinusoidal"])
def test_cached_logits_equal_full_forward_logits_at_every_step(positional):
    # float32: the measured difference is ~5e-8; 1e-4 leaves a wide margin for other
    # kernels (ATEN_CPU_CAPABILITY) while a wrong position or key would differ by ~1e-1.
    torch.manual_seed(0)
    model = GPT(11, 16, n_layer=2, n_head=4, d_model=32, positional=positional).eval()
    seq = torch.randint(11, (2, 16))
    with torch.no_grad():
        full = model(seq)
        cache = model.new_cache(2)
        parts = [model(seq[:, :5], cache=cache)]  # the prompt at once
        parts += [model(seq[:, t : t + 1], cache=cache) for t in range(5, 13)]
        parts.append(model(seq[:, 13:], cache=cache))  # a chunk of three after the cache
    cached = torch.cat(parts, dim=1)
    assert cache.length == 16
    torch.testing.assert_close(cached, full, atol=1e-4, rtol=0)


@pytest.mark.parametrize("positional", ["learned", "rope"])
def test_last_only_logits_are_the_last_row_of_the_full_logits(positional):
    # generation's last_only skips the last block's MLP and the head at earlier positions:
    # the last row must not change (float64: rounding ~1e-16, a wrong row differs by ~1e-1)
    torch.manual_seed(0)
    model = GPT(11, 16, n_layer=3, n_head=4, d_model=32, positional=positional).double().eval()
    seq = torch.randint(11, (2, 9))
    with torch.no_grad():
        full = model(seq)
        last = model._forward(seq, last_only=True)
        cache = model.new_cache(2)
        prefill = model._forward(seq[:, :6], cache=cache, last_only=True)
        assert cache.length == 6  # every position's keys and values are cached
        step = model._forward(seq[:, 6:7], cache=cache, last_only=True)
    assert last.shape == (2, 1, 11)
    torch.testing.assert_close(last, full[:, -1:], atol=1e-12, rtol=0)
    torch.testing.assert_close(prefill, model(seq[:, :6])[:, -1:], atol=1e-12, rtol=0)
    torch.testing.assert_close(step, model(seq[:, :7])[:, -1:], atol=1e-12, rtol=0)


@pytest.mark.parametrize("fast", [True, False])
def test_attention_with_a_cache_equals_causal_attention(fast):
    torch.manual_seed(0)
    mha = MultiHeadAttention(16, 4, fast=fast).double()
    x = torch.randn(2, 9, 16, dtype=torch.float64)
    full, _ = mha(x, is_causal=True)
    cache = KVCache(1, 2, 4, 9, 4, dtype=torch.float64)
    outs = []
    for lo, hi in ((0, 3), (3, 4), (4, 9)):  # prompt, one step, a chunk
        outs.append(mha(x[:, lo:hi], is_causal=True, cache=cache)[0])
        cache.advance(hi - lo)
    torch.testing.assert_close(torch.cat(outs, 1), full, atol=1e-12, rtol=0)
    # the stored keys are the projected inputs, head by head
    k = mha.project(x)[1].view(2, 9, 4, 4).transpose(1, 2)
    torch.testing.assert_close(cache.keys[0], k, atol=1e-12, rtol=0)


def test_cache_memory_is_two_layers_heads_dhead_length_numbers():
    model = GPT(11, 16, n_layer=3, n_head=4, d_model=32)
    cache = model.new_cache(2)
    assert cache.nbytes == 0
    with torch.no_grad():
        model(torch.zeros(2, 5, dtype=torch.long), cache=cache)
    assert cache.length == 5
    assert cache.nbytes == 2 * 3 * 2 * 4 * 8 * 5 * 4  # 2 · layers · B · heads · d_head · T · 4 B
    assert "length=5/16" in repr(cache)


def test_cache_causal_mask_convention():
    # a new chunk at positions past..past+t-1 sees keys 0..past+i: tril with offset past
    mask = torch.ones(3, 7, dtype=torch.bool).tril(4)
    assert torch.equal(mask[:, 4:], causal_mask(3))
    assert bool(mask[:, :4].all())


def test_bad_input_names_the_argument():
    model = GPT(11, 8, n_layer=1, n_head=2, d_model=8)
    idx = torch.zeros(2, 3, dtype=torch.long)
    with pytest.raises(TypeError, match="use_cache"):
        model.generate(idx, 2, use_cache="yes")
    with pytest.raises(TypeError, match="generator"):
        model.generate(idx, 2, generator=3)
    with pytest.raises(TypeError, match="cache"):
        model(idx, cache={})
    with pytest.raises(ValueError, match="cache batch"):
        model(idx, cache=model.new_cache(1))
    cache = model.new_cache(2)
    model(idx, cache=cache)
    with pytest.raises(ValueError, match="cache length"):
        model(torch.zeros(2, 6, dtype=torch.long), cache=cache)
    with pytest.raises(ValueError, match="prefix"):
        model(idx, prefix=torch.zeros(2, 1, 8), cache=model.new_cache(2))
    other = GPT(11, 8, n_layer=2, n_head=2, d_model=8)
    with pytest.raises(ValueError, match="new_cache"):
        model(idx, cache=other.new_cache(2))
    mha = MultiHeadAttention(8, 2)
    x = torch.zeros(2, 3, 8)
    with pytest.raises(ValueError, match="self-attention"):
        mha(x, x, cache=KVCache(1, 2, 2, 8, 4))
    with pytest.raises(ValueError, match="layer"):
        mha(x, cache=KVCache(1, 2, 2, 8, 4), layer=1)
    with pytest.raises(ValueError, match="max_length"):
        KVCache(1, 2, 2, 2, 4).update(0, torch.zeros(2, 2, 3, 4), torch.zeros(2, 2, 3, 4))
    with pytest.raises(ValueError, match="n_kv_head"):
        KVCache(1, 2, 0, 2, 4)
