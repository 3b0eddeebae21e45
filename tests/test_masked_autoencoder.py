"""Tests of survey_models.autoencoders.masked: masking, the masked-only loss, the MAE."""

from __future__ import annotations

import pytest
import torch

from survey_models import train
from survey_models.autoencoders import (
    MAELoss,
    MaskedAutoencoder,
    gather_patches,
    kept_patches,
    masked_mse,
    random_masking,
)


def _gen(seed: int = 0) -> torch.Generator:
    return torch.Generator().manual_seed(seed)


def _digits(batch: int = 5, seed: int = 0) -> torch.Tensor:
    return torch.rand(batch, 64, generator=_gen(seed))


@pytest.mark.parametrize(
    "n, r, k",
    [(16, 0.75, 4), (16, 0.5, 8), (16, 0.25, 12), (16, 0.0, 16), (10, 0.9, 1), (4, 0.6, 1)],
)
def test_kept_patches_known_answers(n, r, k):
    assert kept_patches(n, r) == k  # ⌊(1 - r) N⌋, eq. (1); (1 - 0.9)·10 is 0.999… in floats


@pytest.mark.parametrize("r", [0.25, 0.5, 0.75, 0.9])
def test_masking_keeps_exactly_floor_of_visible_share_per_sample(r):
    n, b = 16, 7
    m = random_masking(b, n, r, generator=_gen(3))
    k = kept_patches(n, r)
    assert m.ids_keep.shape == (b, k) and m.mask.shape == (b, n)
    assert torch.equal(m.mask.sum(1), torch.full((b,), float(n - k)))
    assert set(m.mask.unique().tolist()) <= {0.0, 1.0}
    # the kept patches are exactly the visible ones
    assert torch.equal(torch.gather(m.mask, 1, m.ids_keep), torch.zeros(b, k))
    # every row of ids_shuffle is a permutation of 0..N-1
    assert torch.equal(m.ids_shuffle.sort(1).values, torch.arange(n).expand(b, n))


def test_restore_index_round_trip_is_exact():
    b, n, d = 6, 16, 3
    tokens = torch.randn(b, n, d, generator=_gen(1))
    m = random_masking(b, n, 0.75, generator=_gen(2))
    shuffled = gather_patches(tokens, m.ids_shuffle)
    assert torch.equal(gather_patches(shuffled, m.ids_restore), tokens)
    assert torch.equal(torch.gather(m.ids_shuffle, 1, m.ids_restore), torch.arange(n).expand(b, n))
    # brute force: the shuffled order lists the tokens π(0), π(1), ...
    for i in range(b):
        for j in range(n):
            assert torch.equal(shuffled[i, j], tokens[i, m.ids_shuffle[i, j]])


def test_masking_is_per_sample_and_seeded():
    a = random_masking(8, 16, 0.75, generator=_gen(5))
    b = random_masking(8, 16, 0.75, generator=_gen(5))
    assert torch.equal(a.ids_shuffle, b.ids_shuffle) and torch.equal(a.mask, b.mask)
    assert len({tuple(row.tolist()) for row in a.mask}) > 1  # different masks per sample


def test_masked_mse_matches_a_brute_force_loop():
    g = _gen(4)
    pred, target = (
        torch.randn(3, 16, 4, generator=g, dtype=torch.float64),
        torch.randn(3, 16, 4, generator=g, dtype=torch.float64),
    )
    mask = random_masking(3, 16, 0.5, generator=g).mask
    total, count = 0.0, 0
    for i in range(3):
        for n in range(16):
            if mask[i, n] == 1:
                total += float(((pred[i, n] - target[i, n]) ** 2).mean())
                count += 1
    # float64 sums of 24 terms of order 1: rounding error ~1e-15, tolerance 1e-12
    assert masked_mse(pred, target, mask).item() == pytest.approx(total / count, rel=1e-12)


def test_loss_ignores_visible_patches_exactly():
    g = _gen(6)
    pred, target = torch.randn(4, 16, 4, generator=g), torch.randn(4, 16, 4, generator=g)
    mask = random_masking(4, 16, 0.75, generator=g).mask
    changed = target + 100.0 * (1 - mask).unsqueeze(-1) * torch.randn(4, 16, 4, generator=g)
    assert not torch.equal(changed, target)
    assert torch.equal(masked_mse(pred, changed, mask), masked_mse(pred, target, mask))
    moved = target + mask.unsqueeze(-1)  # a masked patch's target does count
    assert masked_mse(pred, moved, mask) != masked_mse(pred, target, mask)


def test_encoder_and_decoder_never_see_masked_pixels():
    torch.manual_seed(0)
    model = MaskedAutoencoder(mask_ratio=0.75).eval()
    x = _digits()
    with torch.no_grad():
        out = model(x, generator=_gen(7))
        pixel_mask = model.unpatchify(out.mask.unsqueeze(-1).expand(-1, -1, 4).contiguous())
        other = x * (1 - pixel_mask) + pixel_mask * torch.rand(x.shape, generator=_gen(8))
        assert not torch.equal(other, x)
        out2 = model(other, generator=_gen(7))  # the same masks, other masked pixels
    assert torch.equal(out2.mask, out.mask)
    assert torch.equal(out2.latent, out.latent)
    assert torch.equal(out2.pred, out.pred)
    assert not torch.equal(out2.target, out.target)
    # a visible pixel does change the encoder's output
    visible = (1 - pixel_mask[0]).nonzero()[0, 0]
    shifted = x.clone()
    shifted[0, visible] += 1.0
    with torch.no_grad():
        assert not torch.equal(model(shifted, generator=_gen(7)).latent[0], out.latent[0])


def test_patchify_round_trip_and_layout():
    model = MaskedAutoencoder(patch_size=2)
    x = torch.arange(2 * 64, dtype=torch.float32).reshape(2, 64)
    patches = model.patchify(x)
    assert patches.shape == (2, 16, 4)
    assert patches[0, 0].tolist() == [0.0, 1.0, 8.0, 9.0]  # pixels (0,0), (0,1), (1,0), (1,1)
    assert patches[0, 1].tolist() == [2.0, 3.0, 10.0, 11.0]
    assert torch.equal(model.unpatchify(patches), x)
    big = MaskedAutoencoder(patch_size=4, mask_ratio=0.5)
    assert big.n_patches == 4 and torch.equal(big.unpatchify(big.patchify(x)), x)


def test_shapes_and_reconstruction_keeps_visible_pixels():
    model = MaskedAutoencoder(d_model=32, decoder_d_model=16, mask_ratio=0.75)
    x = _digits(3)
    out = model(x, generator=_gen(0))
    assert out.pred.shape == out.target.shape == (3, 16, 4)
    assert out.mask.shape == (3, 16) and out.latent.shape == (3, 4, 32)
    assert model.encode(x).shape == (3, 32)
    recon, pixel_mask = model.reconstruct(x, generator=_gen(0))
    assert recon.shape == pixel_mask.shape == (3, 64)
    assert torch.equal(pixel_mask.sum(1), torch.full((3,), 48.0))
    assert torch.equal(recon * (1 - pixel_mask), x * (1 - pixel_mask))
    assert model.loss(x, generator=_gen(0)).dim() == 0


def test_encode_uses_no_mask_and_is_deterministic():
    model = MaskedAutoencoder().eval()
    x = _digits(4)
    with torch.no_grad():
        a, b = model.encode(x), model.encode(x)
        assert torch.equal(a, b)
        y = x.clone()
        y[:, 63] += 1.0  # the last pixel: every patch counts
        assert not torch.equal(model.encode(y), a)


def test_gradients_of_the_masked_loss_float64():
    torch.manual_seed(1)
    model = MaskedAutoencoder(d_model=8, n_head=2, decoder_d_model=8, decoder_n_head=2).double()
    x = torch.rand(2, 64, generator=_gen(2), dtype=torch.float64, requires_grad=True)
    assert torch.autograd.gradcheck(lambda v: model.loss(v, generator=_gen(3)), (x,))
    pred = torch.randn(2, 16, 4, generator=_gen(4), dtype=torch.float64, requires_grad=True)
    target = torch.randn(2, 16, 4, generator=_gen(5), dtype=torch.float64)
    mask = random_masking(2, 16, 0.5, generator=_gen(6)).mask.double()
    assert torch.autograd.gradcheck(lambda p: masked_mse(p, target, mask), (pred,))


def test_fit_with_mae_loss_is_reproducible():
    x = _digits(32)
    losses = []
    for _ in range(2):
        train.set_seed(0)
        model = MaskedAutoencoder(d_model=16, depth=1, decoder_d_model=16)
        history = train.fit(model, MAELoss(seed=1), x, steps=3, batch_size=16, log_every=1)
        losses.append(history.train_loss)
    assert losses[0] == losses[1]
    assert "mask_ratio" in repr(MAELoss(seed=1, mask_ratio=0.5))


def test_bad_input():
    with pytest.raises(ValueError, match="mask_ratio"):
        kept_patches(16, 0.95)
    with pytest.raises(ValueError, match="mask_ratio"):
        MaskedAutoencoder(mask_ratio=1.0)
    with pytest.raises(ValueError, match="mask_ratio"):
        MaskedAutoencoder(patch_size=4, mask_ratio=0.8)  # 4 patches: none left visible
    with pytest.raises(ValueError, match="patch_size"):
        MaskedAutoencoder(patch_size=3)
    with pytest.raises(ValueError, match="d_model"):
        MaskedAutoencoder(d_model=30, n_head=3)
    with pytest.raises(ValueError, match="batch"):
        random_masking(0, 16, 0.5)
    model = MaskedAutoencoder()
    with pytest.raises(ValueError, match="x"):
        model(torch.rand(2, 63))
    with pytest.raises(TypeError, match="x"):
        model.encode(torch.ones(2, 64, dtype=torch.long))
    with pytest.raises(TypeError, match="x"):
        model([[0.0] * 64])
    with pytest.raises(ValueError, match="mask_ratio"):
        model(_digits(2), mask_ratio=-0.1)
    pred = torch.zeros(2, 16, 4)
    with pytest.raises(ValueError, match="target"):
        masked_mse(pred, torch.zeros(2, 16, 3), torch.ones(2, 16))
    with pytest.raises(ValueError, match="mask"):
        masked_mse(pred, pred, torch.ones(2, 15))
    with pytest.raises(ValueError, match="mask"):
        masked_mse(pred, pred, torch.zeros(2, 16))
    with pytest.raises(ValueError, match="ids"):
        gather_patches(pred, torch.zeros(3, 2, dtype=torch.long))
    with pytest.raises(TypeError, match="model"):
        MAELoss()(torch.nn.Linear(64, 64), _digits(2))
    with pytest.raises(ValueError, match="seed"):
        MAELoss(seed=-1)
