"""Tests of survey_models.diffusion.dit: patches, adaLN-Zero blocks, the DiT denoiser."""

from __future__ import annotations

import math

import pytest
import torch
import torch.nn.functional as F

from survey_models import train
from survey_models.diffusion import (
    Denoiser,
    NoiseSchedule,
    ddim_sample,
    ddpm_sample,
    diffusion_loss,
    model_eps,
)
from survey_models.diffusion.dit import (
    AdaLNZeroBlock,
    DiT,
    patchify,
    sincos_position_2d,
    unpatchify,
)


def _randomise(module: torch.nn.Module, seed: int = 0) -> None:
    """Give every parameter (the zero-initialised ones included) random values."""
    g = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for p in module.parameters():
            p.copy_(0.3 * torch.randn(p.shape, generator=g, dtype=p.dtype))


def test_patchify_matches_a_brute_force_loop():
    g = torch.Generator().manual_seed(0)
    b, c, h, w, p = 2, 3, 6, 4, 2
    x = torch.randn(b, c, h, w, generator=g)
    tokens = patchify(x, p)
    assert tokens.shape == (b, (h // p) * (w // p), c * p * p)
    expected = torch.empty_like(tokens)
    for n in range(b):
        for i in range(h // p):
            for j in range(w // p):
                k = 0
                for ch in range(c):
                    for u in range(p):
                        for v in range(p):
                            expected[n, i * (w // p) + j, k] = x[n, ch, p * i + u, p * j + v]
                            k += 1
    assert torch.equal(tokens, expected)


@pytest.mark.parametrize("shape, p", [((2, 1, 8, 8), 2), ((3, 4, 6, 9), 3), ((1, 2, 4, 4), 4)])
def test_unpatchify_inverts_patchify_exactly(shape, p):
    x = torch.randn(*shape, generator=torch.Generator().manual_seed(1))
    _, c, h, w = shape
    tokens = patchify(x, p)
    assert torch.equal(unpatchify(tokens, p, c, h, w), x)
    assert torch.equal(patchify(unpatchify(tokens, p, c, h, w), p), tokens)


def test_sincos_positions_by_formula_and_distinct():
    pos = sincos_position_2d(4, 3, 8)
    assert pos.shape == (12, 8)
    # token n = i*3 + j: first half encodes the row i, second half the column j
    i, j = 2, 1
    row = pos[i * 3 + j]
    for k in range(2):
        angle_i = i / 10000 ** (2 * k / 4)
        angle_j = j / 10000 ** (2 * k / 4)
        assert row[2 * k].item() == pytest.approx(math.sin(angle_i), abs=1e-6)
        assert row[2 * k + 1].item() == pytest.approx(math.cos(angle_i), abs=1e-6)
        assert row[4 + 2 * k].item() == pytest.approx(math.sin(angle_j), abs=1e-6)
        assert row[4 + 2 * k + 1].item() == pytest.approx(math.cos(angle_j), abs=1e-6)
    assert torch.cdist(pos, pos).add(torch.eye(12)).min() > 0.1  # all 12 positions differ


def test_adaln_zero_block_is_exactly_the_identity_at_init():
    torch.manual_seed(0)
    block = AdaLNZeroBlock(16, 4)
    x = 5 * torch.randn(3, 7, 16)
    c = torch.randn(3, 16)
    assert (block(x, c) - x).abs().max().item() == 0.0
    random_init = AdaLNZeroBlock(16, 4, zero_init=False)
    assert (random_init(x, c) - x).abs().max().item() > 1e-3


def test_dit_outputs_exactly_zero_at_init_for_any_input():
    torch.manual_seed(0)
    model = DiT(image_size=8, patch_size=2, d_model=32, n_layer=2, num_classes=10)
    x = torch.randn(5, 64)
    t = torch.tensor([0, 3, 50, 98, 99])
    for y in (None, torch.tensor([0, 1, 2, 9, 10])):
        assert torch.equal(model(x, t, y), torch.zeros(5, 64))
    # and every block is the identity on the model's own tokens
    h = torch.randn(5, 16, 32)
    c = model.condition(t, None, 5)
    for block in model.blocks:
        assert torch.equal(block(h, c), h)


def test_block_matches_the_equations_with_torch_built_ins():
    """Eqs. (2)-(4) written with F.layer_norm and F.scaled_dot_product_attention.

    Float32, different summation orders: observed difference ~1e-6 on outputs of size ~3;
    the tolerance 1e-4 is two orders wider, while a missing (1 + γ) or gate misses by ~1.
    """
    torch.manual_seed(0)
    d, heads = 16, 4
    block = AdaLNZeroBlock(d, heads)
    _randomise(block)
    x, c = torch.randn(2, 5, d), torch.randn(2, d)
    mod = block.ada(F.silu(c))
    b1, g1, a1, b2, g2, a2 = (mod[:, k * d : (k + 1) * d, None].transpose(1, 2) for k in range(6))

    def attention(z):
        att = block.attn

        def split(u):
            return u.view(2, 5, heads, d // heads).transpose(1, 2)

        q, k, v = map(split, att.project(z))
        out = F.scaled_dot_product_attention(q, k, v).transpose(1, 2).reshape(2, 5, d)
        return att.out_proj(out)

    def ln(z):
        return F.layer_norm(z, (d,), eps=1e-6)

    h = x + a1 * attention(ln(x) * (1 + g1) + b1)
    mlp = block.linear2(F.gelu(block.linear1(ln(h) * (1 + g2) + b2)))
    expected = h + a2 * mlp
    torch.testing.assert_close(block(x, c), expected, atol=1e-4, rtol=0)


def test_fused_and_teaching_attention_give_the_same_model():
    """fast=True (F.scaled_dot_product_attention) vs the written-out softmax: float32 round-off
    ~1e-6; tolerance 1e-4."""
    torch.manual_seed(0)
    fast = DiT(d_model=16, n_layer=2, n_head=2, num_classes=3)
    slow = DiT(d_model=16, n_layer=2, n_head=2, num_classes=3, fast=False)
    _randomise(fast)
    slow.load_state_dict(fast.state_dict())
    x, t, y = torch.randn(4, 64), torch.randint(100, (4,)), torch.tensor([0, 1, 2, 3])
    torch.testing.assert_close(fast(x, t, y), slow(x, t, y), atol=1e-4, rtol=0)


def test_gradcheck_float64():
    torch.manual_seed(0)
    model = DiT(image_size=4, channels=2, patch_size=2, d_model=8, n_layer=1, n_head=2)
    _randomise(model)
    model = model.double()
    x = torch.randn(2, 32, dtype=torch.float64, requires_grad=True)
    t = torch.tensor([1, 7])
    assert torch.autograd.gradcheck(lambda z: model(z, t), (x,))


def test_conditioning_reaches_the_output():
    torch.manual_seed(0)
    model = DiT(d_model=16, n_layer=1, n_head=2, num_classes=10)
    _randomise(model)
    x = torch.randn(1, 64).expand(3, 64)
    out = model(x, torch.tensor([5, 60, 5]), torch.tensor([1, 1, 7]))
    assert (out[0] - out[1]).abs().max() > 1e-3  # t matters
    assert (out[0] - out[2]).abs().max() > 1e-3  # y matters


def test_drop_in_for_the_denoiser_with_loss_and_samplers():
    schedule = NoiseSchedule(20, kind="cosine")
    x0 = torch.rand(64, 64) * 2 - 1
    y = torch.randint(10, (64,))
    train.set_seed(0)
    model = DiT(d_model=16, n_layer=2, n_head=2, num_classes=10)
    blocks_before = [b.ada.weight.clone() for b in model.blocks]
    history = train.fit(
        model, diffusion_loss(schedule, p_uncond=0.2), (x0, y), steps=4, batch_size=32, lr=1e-2
    )
    assert len(history.train_loss) >= 1
    # zero initialisation does not block learning: after a few steps the gates moved
    for before, block in zip(blocks_before, model.blocks):
        assert not torch.equal(before, block.ada.weight)
    labels = torch.arange(6) % 10
    g = torch.Generator().manual_seed(0)
    out = ddim_sample(model_eps(model, labels, guidance=1.0), schedule, (6, 64), 5, generator=g)
    assert out.shape == (6, 64) and torch.isfinite(out).all()
    out = ddpm_sample(model_eps(model, labels), schedule, (6, 64), generator=g, clip=1.0)
    assert out.shape == (6, 64) and torch.isfinite(out).all()
    # the same call works for the MLP denoiser: same interface
    mlp = Denoiser(64, hidden=16, n_layers=1, num_classes=10)
    assert (
        mlp(x0[:6], torch.zeros(6, dtype=torch.long), labels).shape
        == model(x0[:6], torch.zeros(6, dtype=torch.long), labels).shape
    )


def test_shapes_and_channels():
    model = DiT(image_size=6, channels=3, patch_size=3, d_model=8, n_layer=1, n_head=2)
    assert model.dim == 108 and model.num_tokens == 4
    _randomise(model)
    assert model(torch.randn(2, 108), torch.tensor([0, 1])).shape == (2, 108)


def test_bad_input_raises_named_errors():
    with pytest.raises(ValueError, match="patch_size"):
        DiT(image_size=8, patch_size=3)
    with pytest.raises(ValueError, match="n_head"):
        DiT(d_model=30, n_head=4)
    with pytest.raises(ValueError, match="d_model"):
        DiT(d_model=6, n_head=3)
    with pytest.raises(ValueError, match="time_dim"):
        DiT(time_dim=33)
    with pytest.raises(TypeError, match="patch_size"):
        DiT(patch_size=2.0)
    with pytest.raises(ValueError, match="patch_size"):
        patchify(torch.zeros(1, 1, 7, 8), 2)
    with pytest.raises(ValueError, match="x"):
        patchify(torch.zeros(1, 8, 8), 2)
    with pytest.raises(ValueError, match="tokens"):
        unpatchify(torch.zeros(1, 15, 4), 2, 1, 8, 8)
    with pytest.raises(ValueError, match="height and width"):
        unpatchify(torch.zeros(1, 16, 4), 2, 1, 8, 7)
    model = DiT(d_model=16, n_layer=1, n_head=2, num_classes=10)
    t = torch.zeros(2, dtype=torch.long)
    with pytest.raises(ValueError, match="x must have last dimension 64"):
        model(torch.zeros(2, 63), t)
    with pytest.raises(TypeError, match="x must be a floating-point"):
        model(torch.zeros(2, 64, dtype=torch.long), t)
    with pytest.raises(ValueError, match="t must be"):
        model(torch.zeros(2, 64), torch.zeros(3, dtype=torch.long))
    with pytest.raises(ValueError, match="y must lie"):
        model(torch.zeros(2, 64), t, torch.tensor([0, 11]))
    with pytest.raises(ValueError, match="y must have shape"):
        model(torch.zeros(2, 64), t, torch.tensor([0, 1, 2]))
    with pytest.raises(TypeError, match="y must be an integer"):
        model(torch.zeros(2, 64), t, torch.tensor([0.0, 1.0]))
    with pytest.raises(ValueError, match="unconditional"):
        DiT(d_model=16, n_layer=1, n_head=2)(torch.zeros(2, 64), t, torch.tensor([0, 1]))
    block = AdaLNZeroBlock(8, 2)
    with pytest.raises(ValueError, match="c must"):
        block(torch.zeros(2, 4, 8), torch.zeros(3, 8))
