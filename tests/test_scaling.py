"""Tests of survey_models.scaling: min-norm least squares, power-law fit, random features."""

import math

import numpy as np
import pytest
import torch

from survey_models.scaling import (
    MLP,
    RandomFeatures,
    double_descent_curve,
    fit_power_law,
    min_norm_least_squares,
    random_features_error,
    teacher_regression_data,
    with_label_noise,
)
from survey_models.train import count_parameters


@pytest.mark.parametrize("n,p", [(30, 10), (20, 50), (25, 25)])
def test_min_norm_matches_pinv_and_lstsq(n, p):
    g = torch.Generator().manual_seed(0)
    phi = torch.randn(n, p, generator=g, dtype=torch.float64)
    y = torch.randn(n, 3, generator=g, dtype=torch.float64)
    beta = min_norm_least_squares(phi, y)
    assert torch.allclose(beta, torch.linalg.pinv(phi) @ y, atol=1e-8)
    # gelsd returns the minimum-norm solution for under-determined systems too.
    ref = torch.linalg.lstsq(phi, y, driver="gelsd").solution
    assert torch.allclose(beta, ref, atol=1e-8)


def test_min_norm_interpolates_and_is_smallest():
    g = torch.Generator().manual_seed(1)
    phi = torch.randn(10, 40, generator=g, dtype=torch.float64)
    y = torch.randn(10, generator=g, dtype=torch.float64)
    beta = min_norm_least_squares(phi, y)
    assert beta.shape == (40,)
    assert torch.allclose(phi @ beta, y, atol=1e-9)  # interpolates
    # Adding any null-space direction keeps the fit but increases the norm.
    null = torch.linalg.svd(phi).Vh[10:].T @ torch.randn(30, generator=g, dtype=torch.float64)
    assert torch.allclose(phi @ (beta + null), y, atol=1e-9)
    assert (beta + null).norm() > beta.norm()


def test_min_norm_rank_deficient():
    # Duplicate columns: the minimum-norm solution splits the weight equally.
    x = torch.tensor([[1.0], [2.0], [3.0]], dtype=torch.float64)
    phi = torch.cat([x, x], dim=1)
    beta = min_norm_least_squares(phi, 2 * x.squeeze(1))
    assert torch.allclose(beta, torch.tensor([1.0, 1.0], dtype=torch.float64))


def test_min_norm_bad_arguments():
    phi = torch.randn(5, 3, dtype=torch.float64)
    with pytest.raises(ValueError, match="y must be"):
        min_norm_least_squares(phi, torch.randn(4, dtype=torch.float64))
    with pytest.raises(ValueError, match="phi"):
        min_norm_least_squares(torch.randn(5, dtype=torch.float64), torch.randn(5))
    with pytest.raises(ValueError, match="rcond"):
        min_norm_least_squares(phi, torch.randn(5, dtype=torch.float64), rcond=-1.0)


def test_random_features_shape_and_determinism():
    f1, f2 = RandomFeatures(64, 30, seed=3), RandomFeatures(64, 30, seed=3)
    x = torch.rand(7, 64)
    assert f1(x).shape == (7, 30)
    assert torch.equal(f1(x), f2(x))
    assert (f1(x) >= 0).all()
    with pytest.raises(ValueError, match="n_features"):
        RandomFeatures(64, 0)
    with pytest.raises(ValueError, match="x must have last dimension 64"):
        f1(torch.rand(7, 10))


def test_label_noise_changes_exact_fraction():
    y = torch.arange(100) % 10
    noisy = with_label_noise(y, 0.2, seed=0)
    assert int((noisy != y).sum()) == 20
    assert noisy.min() >= 0 and noisy.max() <= 9
    assert torch.equal(with_label_noise(y, 0.0), y)
    with pytest.raises(ValueError, match="fraction"):
        with_label_noise(y, 1.5)


def test_double_descent_peak_at_interpolation_threshold():
    # A small linear-regression version of the gallery example: with n = 40 noisy samples,
    # the median test error at p = n is far above both sides.
    g = torch.Generator().manual_seed(0)
    x = torch.rand(240, 16, generator=g)
    y = (x[:, :8].sum(1) > 4).long()
    mse, err = double_descent_curve(x[:40], y[:40], x[40:], y[40:], [4, 40, 400], seeds=[0, 1, 2])
    med = np.median(mse, axis=0)
    assert mse.shape == (3, 3)
    assert med[1] > 3 * med[0] and med[1] > 3 * med[2]
    with pytest.raises(ValueError, match="feature_counts"):
        double_descent_curve(x[:40], y[:40], x[40:], y[40:], [], seeds=[0])


def test_random_features_error_interpolates_training_set():
    g = torch.Generator().manual_seed(0)
    x = torch.rand(30, 16, generator=g)
    y = torch.randint(0, 10, (30,), generator=g)
    mse, err = random_features_error(x, y, x, y, n_features=300)
    assert mse < 1e-8 and err == 0.0


def test_power_law_recovers_exact_law():
    n = np.array([10, 30, 100, 300, 1000.0])
    fit = fit_power_law(n, 5.0 * n**-0.3)
    assert fit.exponent == pytest.approx(0.3, abs=1e-10)
    assert fit.coefficient == pytest.approx(5.0, rel=1e-10)
    assert fit.r2 == pytest.approx(1.0, abs=1e-12)
    assert fit(100.0) == pytest.approx(5.0 * 100**-0.3)


def test_power_law_r2_detects_a_bad_fit():
    n = np.array([10, 20, 40, 80, 160.0])
    fit = fit_power_law(n, [1.0, 0.2, 1.0, 0.2, 1.0])
    assert fit.r2 < 0.2


def test_power_law_bad_arguments():
    with pytest.raises(ValueError, match="at least 3"):
        fit_power_law([1, 2], [1, 2])
    with pytest.raises(ValueError, match="loss must be positive"):
        fit_power_law([1, 2, 3], [1, 0, 2])
    with pytest.raises(ValueError, match="equal length"):
        fit_power_law([1, 2, 3], [1, 2])


def test_mlp_and_count_parameters():
    m = MLP(64, (32, 16), 10)
    assert m(torch.rand(5, 64)).shape == (5, 10)
    assert count_parameters(m) == 64 * 32 + 32 + 32 * 16 + 16 + 16 * 10 + 10
    with pytest.raises(ValueError, match=r"hidden\[1\]"):
        MLP(64, (32, 0), 10)


def test_teacher_data_standardised():
    x, y = teacher_regression_data(5000, n_input=4, seed=0)
    assert x.shape == (5000, 4) and y.shape == (5000, 1)
    assert abs(y.mean().item()) < 1e-5 and math.isclose(y.std().item(), 1.0, rel_tol=1e-4)
    with pytest.raises(ValueError, match="teacher_width"):
        teacher_regression_data(10, teacher_width=0)
