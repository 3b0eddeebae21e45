import math

import pytest
import torch

from survey_models import data


def test_digits_are_scaled_and_complete():
    x, y = data.load_digits()
    assert x.shape == (1797, 64) and x.dtype == torch.float32
    assert y.shape == (1797,) and y.dtype == torch.int64
    assert float(x.min()) == 0.0 and float(x.max()) == 1.0
    assert sorted(y.unique().tolist()) == list(range(10))


def test_split_is_deterministic_stratified_and_disjoint():
    a = data.digits_split(0.3, seed=0)
    b = data.digits_split(0.3, seed=0)
    c = data.digits_split(0.3, seed=1)
    assert torch.equal(a.x_test, b.x_test) and torch.equal(a.y_train, b.y_train)
    assert not torch.equal(a.x_test, c.x_test)
    assert a.x_train.shape[0] + a.x_test.shape[0] == 1797
    assert abs(a.x_test.shape[0] / 1797 - 0.3) < 0.01
    # every class is split in the same proportion (stratified), within one image
    for k in range(10):
        n_k = int((a.y_train == k).sum() + (a.y_test == k).sum())
        assert abs(int((a.y_test == k).sum()) - 0.3 * n_k) <= 1
    # no image appears in both parts (rows of the full set are distinct by index)
    x, _ = data.load_digits()
    train_rows = {tuple(r.tolist()) for r in a.x_train}
    test_rows = [tuple(r.tolist()) for r in a.x_test]
    dup_in_full = len(x) - len({tuple(r.tolist()) for r in x})
    assert sum(r in train_rows for r in test_rows) <= dup_in_full


@pytest.mark.parametrize("bad", [0.0, 1.0, -0.1, 1.5])
def test_split_rejects_bad_fraction(bad):
    with pytest.raises(ValueError, match="test_fraction"):
        data.digits_split(bad)


def test_mask_pixels_zeroes_the_stated_fraction():
    x = torch.ones(200, 64)
    m = data.mask_pixels(x, 0.25, generator=torch.Generator().manual_seed(0))
    assert abs(float((m == 0).float().mean()) - 0.25) < 0.01
    assert set(m.unique().tolist()) <= {0.0, 1.0}
    with pytest.raises(ValueError, match="fraction"):
        data.mask_pixels(x, 1.2)


def test_ring_of_gaussians_sits_on_the_ring():
    x, centres = data.ring_of_gaussians(4000, modes=8, radius=2.0, std=0.05, seed=0)
    assert x.shape == (4000, 2) and centres.shape == (8, 2)
    assert torch.allclose(centres.norm(dim=1), torch.full((8,), 2.0), atol=1e-5)
    nearest = torch.cdist(x, centres).min(dim=1).values
    assert float(nearest.max()) < 6 * 0.05  # every sample within 6σ of a centre
    angles = torch.atan2(centres[:, 1], centres[:, 0])
    gaps = torch.diff(torch.sort(torch.remainder(angles, 2 * math.pi)).values)
    assert torch.allclose(gaps, torch.full((7,), 2 * math.pi / 8), atol=1e-5)
    with pytest.raises(ValueError, match="modes"):
        data.ring_of_gaussians(10, modes=0)


def test_swiss_roll_shape_and_scale():
    x = data.swiss_roll_2d(3000, noise=0.0, seed=0)
    r = x.norm(dim=1) * 7.5
    # without noise the radius equals the angle parameter t in [1.5π, 4.5π]
    assert float(r.min()) >= 1.5 * math.pi - 1e-4 and float(r.max()) <= 4.5 * math.pi + 1e-4
    assert torch.equal(x, data.swiss_roll_2d(3000, noise=0.0, seed=0))
    with pytest.raises(ValueError, match="noise"):
        data.swiss_roll_2d(10, noise=-1.0)


def test_binarize_thresholds_and_checks_its_argument():
    x = torch.tensor([[0.0, 0.5, 0.51, 1.0]])
    assert torch.equal(data.binarize(x), torch.tensor([[0.0, 0.0, 1.0, 1.0]]))
    with pytest.raises(ValueError, match="threshold"):
        data.binarize(x, threshold=1.5)
