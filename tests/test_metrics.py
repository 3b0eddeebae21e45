"""Tests of the shared sample-quality yardsticks."""

import pytest
import torch

from survey_models import data, metrics


@pytest.fixture(scope="module")
def split():
    return data.digits_split(0.3, seed=0)


def _ring(n, seed, shift=0.0):
    x, centres = data.ring_of_gaussians(n, seed=seed)
    return x + shift, centres


def test_mmd_and_energy_near_zero_for_same_and_larger_for_shifted():
    x, _ = _ring(1000, 0)
    y, _ = _ring(1000, 1)
    z, _ = _ring(1000, 2, shift=0.5)
    assert abs(metrics.mmd_rbf(x, y)) < 2e-3
    assert metrics.mmd_rbf(x, z) > 10 * abs(metrics.mmd_rbf(x, y)) + 0.01
    assert abs(metrics.energy_distance(x, y)) < 0.01
    assert metrics.energy_distance(x, z) > 0.1


def test_mmd_matches_a_loop_computation():
    g = torch.Generator().manual_seed(0)
    x, y = torch.randn(6, 2, generator=g), torch.randn(5, 2, generator=g) + 1
    s = 0.7

    def k(a, b):
        return torch.exp(-((a - b) ** 2).sum() / (2 * s * s))

    xx = sum(k(x[i], x[j]) for i in range(6) for j in range(6) if i != j) / 30
    yy = sum(k(y[i], y[j]) for i in range(5) for j in range(5) if i != j) / 20
    xy = sum(k(x[i], y[j]) for i in range(6) for j in range(5)) / 30
    assert metrics.mmd_rbf(x, y, bandwidth=s) == pytest.approx(float(xx + yy - 2 * xy), rel=1e-5)


def test_energy_distance_of_two_points():
    # x = {0, 0}? no: use 1-D points; E|X-Y| = 2, within terms = 0 for single-valued sets.
    x = torch.zeros(3, 1)
    y = torch.full((4, 1), 2.0)
    assert metrics.energy_distance(x, y) == pytest.approx(4.0)


def test_ring_mode_coverage_counts_modes_and_quality():
    x, c = _ring(800, 0)
    full = metrics.ring_mode_coverage(x, c, std=0.05)
    assert full["modes_hit"] == 8 and full["high_quality_fraction"] > 0.95
    # keep only samples nearest to three modes: three modes hit
    nearest = torch.cdist(x, c).argmin(1)
    part = metrics.ring_mode_coverage(x[nearest < 3], c, std=0.05)
    assert part["modes_hit"] == 3
    # samples at the origin are far from every mode: no quality, no modes
    bad = metrics.ring_mode_coverage(torch.zeros(100, 2), c, std=0.05)
    assert bad["modes_hit"] == 0 and bad["high_quality_fraction"] == 0.0


def test_classifier_weights_match_fresh_deterministic_training(split):
    shipped = metrics.digits_classifier()
    fresh = metrics.train_digits_classifier(seed=0)
    with torch.no_grad():
        acc = (shipped(split.x_test).argmax(1) == split.y_test).float().mean().item()
        assert acc >= 0.95
        f1, f2 = shipped.features(split.x_test), fresh.features(split.x_test)
    assert torch.allclose(f1, f2, atol=1e-3, rtol=1e-3)
    assert metrics.DIGITS_CLASSIFIER_FILE.exists()
    state = torch.load(metrics.DIGITS_CLASSIFIER_FILE, weights_only=True)
    assert set(state) == set(shipped.state_dict())


def test_fid_near_zero_for_held_out_digits_and_large_for_noise(split):
    real = metrics.digits_fid(split.x_test, split.x_train)
    noise = torch.rand(500, 64, generator=torch.Generator().manual_seed(0))
    fake = metrics.digits_fid(noise, split.x_train)
    assert real < 2.0
    assert fake > 20 * real
    assert metrics.digits_fid(split.x_train, split.x_train) == pytest.approx(0.0, abs=1e-4)


def test_frechet_distance_of_known_gaussians():
    mu1, mu2 = torch.zeros(3), torch.tensor([1.0, 2.0, 0.0])
    c1, c2 = torch.eye(3), 4 * torch.eye(3)
    # |mu|^2 = 5; tr(I + 4I - 2*2I) = 3
    assert metrics.frechet_distance(mu1, c1, mu2, c2) == pytest.approx(8.0, abs=1e-8)


def test_knn_precision_recall_simple_cases():
    g = torch.Generator().manual_seed(0)
    real = torch.randn(300, 2, generator=g)
    same = torch.randn(300, 2, generator=g)
    p, r = metrics.knn_precision_recall(real, same, k=3)
    assert p > 0.9 and r > 0.9
    far = same + 100
    assert metrics.knn_precision_recall(real, far, k=3) == (0.0, 0.0)
    # fake covers only a small part of real: precision high, recall low
    narrow = 0.1 * torch.randn(300, 2, generator=g)
    p, r = metrics.knn_precision_recall(real, narrow, k=3)
    assert p > 0.9 and r < 0.3


def test_one_nn_accuracy_half_for_same_distribution_zero_for_copies(split):
    g = torch.Generator().manual_seed(0)
    a, b = torch.randn(400, 2, generator=g), torch.randn(400, 2, generator=g)
    assert 0.4 < metrics.one_nn_accuracy(a, b) < 0.6
    assert metrics.one_nn_accuracy(a, a.clone()) == 0.0
    assert metrics.one_nn_accuracy(a, b + 10) == 1.0
    feats = metrics.digits_features
    assert 0.4 < metrics.one_nn_accuracy(feats(split.x_test), feats(split.x_train[:540])) < 0.65


def test_label_accuracy(split):
    assert metrics.label_accuracy(split.x_test, split.y_test) >= 0.95
    assert metrics.label_accuracy(split.x_test, (split.y_test + 1) % 10) < 0.05


@pytest.mark.parametrize(
    "call, match",
    [
        (lambda: metrics.mmd_rbf(torch.zeros(5, 2), torch.zeros(5, 3)), "same number of columns"),
        (
            lambda: metrics.mmd_rbf(torch.randn(5, 2), torch.randn(5, 2), bandwidth=-1.0),
            "bandwidth",
        ),
        (
            lambda: metrics.energy_distance(torch.randn(1, 2), torch.randn(5, 2)),
            "x must have at least",
        ),
        (lambda: metrics.ring_mode_coverage(torch.randn(5, 3), torch.randn(8, 2), 0.1), "samples"),
        (lambda: metrics.ring_mode_coverage(torch.randn(5, 2), torch.randn(8, 2), 0.0), "std"),
        (lambda: metrics.digits_fid(torch.rand(10, 63), torch.rand(10, 64)), "samples"),
        (lambda: metrics.digits_fid(torch.rand(10, 64), torch.rand(10, 64), ridge=0.0), "ridge"),
        (lambda: metrics.knn_precision_recall(torch.randn(3, 2), torch.randn(10, 2), k=3), "real"),
        (lambda: metrics.knn_precision_recall(torch.randn(9, 2), torch.randn(10, 2), k=0), "k"),
        (
            lambda: metrics.label_accuracy(torch.rand(4, 64), torch.zeros(3, dtype=torch.long)),
            "labels",
        ),
        (lambda: metrics.digits_features(torch.full((2, 64), float("nan"))), "x contains NaN"),
    ],
)
def test_bad_arguments_raise(call, match):
    with pytest.raises(ValueError, match=match):
        call()


def test_wrong_types_raise():
    with pytest.raises(TypeError, match="x must be a torch.Tensor"):
        metrics.mmd_rbf([[0.0, 1.0]], torch.zeros(3, 2))
    with pytest.raises(TypeError, match="labels"):
        metrics.label_accuracy(torch.rand(3, 64), [1, 2, 3])


def test_mmd_floor_is_the_mean_absolute_real_vs_real_mmd():
    g = torch.Generator().manual_seed(0)
    reference = torch.randn(200, 2, generator=g)
    samples = [torch.randn(200, 2, generator=g) for _ in range(3)]
    floor, values = metrics.mmd_floor(samples, reference, bandwidth=1.0)
    assert values == [metrics.mmd_rbf(x, reference, 1.0) for x in samples]
    assert floor == sum(abs(v) for v in values) / 3
    shifted, _ = metrics.mmd_floor([x + 3.0 for x in samples], reference, bandwidth=1.0)
    assert shifted > 20 * floor  # another distribution is far above the scatter
    with pytest.raises(TypeError, match="real_samples"):
        metrics.mmd_floor(samples[0], reference)
    with pytest.raises(ValueError, match="real_samples"):
        metrics.mmd_floor([], reference)
