"""Tests of the restoration and clustering helpers: PSNR known answers, the exact shape and
values of the block mask and the pooling degradations, ARI known answers, and bad input."""

import math

import pytest
import torch

from survey_models.autoencoders import Autoencoder
from survey_models.autoencoders.applications import (
    InpaintingLoss,
    SuperResolutionLoss,
    apply_mask,
    block_mask,
    downsample,
    keep_observed,
    kmeans_ari,
    psnr,
    upsample,
)

# --- PSNR --------------------------------------------------------------------------------


def test_psnr_identical_is_inf():
    x = torch.rand(5, 64)
    assert psnr(x, x.clone()) == math.inf


def test_psnr_known_mse():
    # Every entry off by 0.1 (exact in float64 after the cast: MSE = 0.01 up to rounding of
    # 0.1 in float32, ~1e-9 relative): PSNR = 10 log10(1 / 0.01) = 20 dB.
    target = torch.zeros(4, 16)
    estimate = torch.full((4, 16), 0.1)
    assert psnr(estimate, target) == pytest.approx(20.0, abs=1e-5)
    # Powers of two are exact: error 0.5 everywhere, range 2 → 10 log10(4 / 0.25) = 10 log10 16.
    assert psnr(torch.full((3,), 0.5), torch.zeros(3), data_range=2.0) == pytest.approx(
        10 * math.log10(16.0), abs=1e-12
    )


def test_psnr_matches_mse_loss():
    a, b = torch.rand(7, 64, dtype=torch.float64), torch.rand(7, 64, dtype=torch.float64)
    mse = torch.nn.functional.mse_loss(a, b).item()
    assert psnr(a, b) == pytest.approx(-10 * math.log10(mse), rel=1e-12)


def test_psnr_bad_input():
    with pytest.raises(ValueError, match="same shape"):
        psnr(torch.zeros(2, 3), torch.zeros(3, 2))
    with pytest.raises(ValueError, match="data_range"):
        psnr(torch.zeros(2), torch.ones(2), data_range=0.0)
    with pytest.raises(TypeError, match="estimate"):
        psnr(torch.zeros(2, dtype=torch.long), torch.zeros(2))
    with pytest.raises(ValueError, match="target"):
        psnr(torch.zeros(0), torch.zeros(0))
    with pytest.raises(ValueError, match="finite"):
        psnr(torch.tensor([math.nan]), torch.zeros(1))


# --- inpainting mask ---------------------------------------------------------------------


def test_block_mask_fixed_position_exact():
    mask = block_mask(2, side=4, size=2, top=1, left=2)
    expected = torch.tensor(
        [[0, 0, 0, 0], [0, 0, 1, 1], [0, 0, 1, 1], [0, 0, 0, 0]], dtype=torch.bool
    ).reshape(16)
    assert mask.shape == (2, 16) and mask.dtype == torch.bool
    assert torch.equal(mask[0], expected) and torch.equal(mask[1], expected)


def test_block_mask_random_is_a_block_inside_the_image():
    mask = block_mask(50, side=8, size=3, generator=torch.Generator().manual_seed(0))
    assert mask.shape == (50, 64)
    assert torch.equal(mask.sum(1), torch.full((50,), 9))
    grid = mask.reshape(50, 8, 8)
    for m in grid:
        rows, cols = m.any(1).nonzero().flatten(), m.any(0).nonzero().flatten()
        assert len(rows) == 3 and len(cols) == 3
        assert rows[-1] - rows[0] == 2 and cols[-1] - cols[0] == 2
    # Different images get different positions.
    assert len({tuple(m.nonzero().flatten().tolist()) for m in mask}) > 1


def test_apply_mask_and_keep_observed_values():
    x = torch.arange(8.0).reshape(2, 4)
    mask = torch.tensor([[True, False, False, True], [False, False, True, False]])
    assert torch.equal(apply_mask(x, mask), torch.tensor([[0.0, 1, 2, 0], [4, 5, 0, 7]]))
    fill = torch.tensor([10.0, 20.0, 30.0, 40.0])
    assert torch.equal(apply_mask(x, mask, fill), torch.tensor([[10.0, 1, 2, 40], [4, 5, 30, 7]]))
    restored = torch.full((2, 4), -1.0)
    observed = apply_mask(x, mask)
    out = keep_observed(restored, observed, mask)
    assert torch.equal(out, torch.tensor([[-1.0, 1, 2, -1], [4, 5, -1, 7]]))


def test_mask_bad_input():
    with pytest.raises(ValueError, match="size"):
        block_mask(1, side=4, size=5)
    with pytest.raises(ValueError, match="top"):
        block_mask(1, side=4, size=2, top=3, left=0)
    with pytest.raises(ValueError, match="both top and left"):
        block_mask(1, side=4, size=2, top=0)
    with pytest.raises(TypeError, match="mask"):
        apply_mask(torch.zeros(2, 4), torch.zeros(2, 4))
    with pytest.raises(ValueError, match="mask"):
        apply_mask(torch.zeros(2, 4), torch.zeros(2, 3, dtype=torch.bool))
    with pytest.raises(ValueError, match="fill"):
        apply_mask(torch.zeros(2, 4), torch.zeros(2, 4, dtype=torch.bool), torch.zeros(3))
    with pytest.raises(ValueError, match="restored"):
        keep_observed(torch.zeros(1, 4), torch.zeros(2, 4), torch.zeros(2, 4, dtype=torch.bool))


# --- super-resolution --------------------------------------------------------------------


def test_downsample_is_block_average():
    x = torch.arange(16.0).reshape(1, 16)  # rows 0..3 of a 4 × 4 image
    low = downsample(x, side=4, factor=2)
    # Block (0,0): 0,1,4,5 → 2.5; (0,1): 2,3,6,7 → 4.5; (1,0): 8,9,12,13 → 10.5; 12.5.
    assert torch.equal(low, torch.tensor([[2.5, 4.5, 10.5, 12.5]]))
    assert downsample(torch.rand(3, 64)).shape == (3, 16)


def test_upsample_nearest_copies_blocks_and_inverts_downsample():
    low = torch.tensor([[1.0, 2.0, 3.0, 4.0]])
    high = upsample(low, side=2, factor=2)
    expected = torch.tensor([[1.0, 1, 2, 2], [1, 1, 2, 2], [3, 3, 4, 4], [3, 3, 4, 4]])
    assert torch.equal(high, expected.reshape(1, 16))
    # Pooling a nearest-upsampled image gives it back exactly (averages of equal values).
    assert torch.equal(downsample(high, side=4, factor=2), low)
    # Bilinear keeps a constant image constant and has the right shape.
    const = torch.full((2, 16), 0.25)
    assert torch.equal(upsample(const, side=4, mode="bilinear"), torch.full((2, 64), 0.25))


def test_resampling_bad_input():
    with pytest.raises(ValueError, match="factor"):
        downsample(torch.zeros(1, 64), side=8, factor=3)
    with pytest.raises(ValueError, match="x"):
        downsample(torch.zeros(1, 63), side=8)
    with pytest.raises(ValueError, match="mode"):
        upsample(torch.zeros(1, 16), side=4, mode="cubic")
    with pytest.raises(ValueError, match="factor"):
        SuperResolutionLoss(side=8, factor=3)


# --- losses ------------------------------------------------------------------------------


def test_losses_are_reconstruction_of_the_clean_image():
    torch.manual_seed(0)
    model = Autoencoder(64, 16)
    x = torch.rand(10, 64)
    sr = SuperResolutionLoss()
    degraded = sr.degrade(x)
    assert torch.equal(degraded, upsample(downsample(x)))
    expected = ((model(degraded) - x) ** 2).sum(1).mean()
    assert torch.allclose(sr(model, x), expected, rtol=1e-6, atol=0)  # same sum, any order
    # A model that returns its input pays exactly the energy of the missing block.
    loss = InpaintingLoss(side=8, size=4)
    torch.manual_seed(1)
    value = loss(torch.nn.Identity(), x)
    torch.manual_seed(1)
    mask = block_mask(10, 8, 4)
    assert torch.allclose(value, ((x * mask) ** 2).sum(1).mean(), rtol=1e-6, atol=0)
    with pytest.raises(ValueError, match="size"):
        InpaintingLoss(side=8, size=9)


# --- clustering --------------------------------------------------------------------------


def test_kmeans_ari_known_answers():
    # Three well-separated blobs: k-means recovers them exactly, ARI = 1 (labels permuted).
    centres = torch.tensor([[0.0, 0.0], [10.0, 0.0], [0.0, 10.0]])
    labels = torch.arange(3).repeat_interleave(20)
    features = centres[labels] + 0.1 * torch.randn(
        60, 2, generator=torch.Generator().manual_seed(0)
    )
    assert kmeans_ari(features, (labels + 1) % 3, n_clusters=3) == 1.0
    # One cluster for all points: ARI is 0 by definition.
    assert kmeans_ari(features, labels, n_clusters=1) == 0.0


def test_kmeans_ari_bad_input():
    f = torch.rand(5, 2)
    with pytest.raises(ValueError, match="labels"):
        kmeans_ari(f, torch.zeros(4, dtype=torch.long))
    with pytest.raises(TypeError, match="labels"):
        kmeans_ari(f, torch.zeros(5))
    with pytest.raises(ValueError, match="n_clusters"):
        kmeans_ari(f, torch.zeros(5, dtype=torch.long), n_clusters=6)
    with pytest.raises(ValueError, match="features"):
        kmeans_ari(torch.rand(5), torch.zeros(5, dtype=torch.long))
