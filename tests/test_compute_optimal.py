"""Tests of the compute-optimal (IsoFLOP) helpers in survey_models.scaling."""

import math

import numpy as np
import pytest

from survey_models.scaling import (
    ExponentFit,
    IsoFlopFit,
    fit_compute_exponent,
    fit_isoflop_parabola,
    flops_estimate,
)


def test_flops_estimate_is_six_n_d():
    # Exact in binary floating point: small integers.
    assert flops_estimate(10, 7) == 420.0
    assert flops_estimate(2.5, 4) == 60.0
    # Chinchilla: 70e9 parameters on 1.4e12 tokens is about 5.9e23 FLOPs.
    assert flops_estimate(70e9, 1.4e12) == pytest.approx(5.88e23)


@pytest.mark.parametrize("n_opt", [37.0, 500.0, 12345.0])
def test_parabola_vertex_recovers_known_optimum(n_opt):
    n = np.array([10.0, 100.0, 1000.0, 10000.0, 30000.0])
    t = np.log(n)
    loss = 0.7 + 0.05 * (t - math.log(n_opt)) ** 2  # an exact parabola in log N
    fit = fit_isoflop_parabola(n, loss)
    assert isinstance(fit, IsoFlopFit)
    # Exact data: the only error is rounding in polyfit (~1e-12 relative), so 1e-8 is wide.
    assert fit.n_opt == pytest.approx(n_opt, rel=1e-8)
    assert fit.loss_opt == pytest.approx(0.7, abs=1e-10)
    assert fit.interior
    assert np.allclose(fit(n), loss, atol=1e-10)
    assert fit.coefficients[2] == pytest.approx(0.05, rel=1e-8)


def test_parabola_with_three_points_interpolates_and_flags_extrapolation():
    n = np.array([100.0, 200.0, 400.0])
    t = np.log(n)
    loss = 1.0 + (t - math.log(1000.0)) ** 2  # vertex beyond the largest size
    fit = fit_isoflop_parabola(n, loss)
    assert fit.n_opt == pytest.approx(1000.0, rel=1e-8)
    assert not fit.interior


def test_exponent_fit_recovers_known_exponents():
    c = np.geomspace(1e15, 1e21, 4)
    n_opt = 3e-3 * c**0.5
    d_opt = c / (6 * n_opt)
    fn = fit_compute_exponent(c, n_opt)
    fd = fit_compute_exponent(c, d_opt)
    assert isinstance(fn, ExponentFit)
    assert fn.exponent == pytest.approx(0.5, abs=1e-10)
    assert fd.exponent == pytest.approx(0.5, abs=1e-10)
    assert fn.coefficient == pytest.approx(3e-3, rel=1e-8)
    assert fn.stderr < 1e-8  # noise-free power law
    assert fn(c) == pytest.approx(n_opt, rel=1e-8)
    kaplan = fit_compute_exponent(c, 2.0 * c**0.73)
    assert kaplan.exponent == pytest.approx(0.73, abs=1e-10)


def test_exponent_stderr_matches_ols_formula():
    # Three points with a known residual: log y = (0, 1, 1) over log C = (0, 1, 2).
    c = np.exp([0.0, 1.0, 2.0])
    y = np.exp([0.0, 1.0, 1.0])
    fit = fit_compute_exponent(c, y)
    assert fit.exponent == pytest.approx(0.5, abs=1e-12)
    # Residuals (-1/6, 1/3, -1/6): RSS = 1/6 on 1 dof; Sxx = 2; se = sqrt(1/12).
    assert fit.stderr == pytest.approx(math.sqrt(1 / 12), rel=1e-10)


@pytest.mark.parametrize(
    "args,match",
    [
        ((0, 10), "n_params"),
        ((10, -1), "n_tokens"),
        ((float("inf"), 1), "n_params"),
    ],
)
def test_flops_bad_input(args, match):
    with pytest.raises(ValueError, match=match):
        flops_estimate(*args)


def test_parabola_bad_input():
    with pytest.raises(ValueError, match="n_params"):
        fit_isoflop_parabola([10, 100], [1.0, 0.5])
    with pytest.raises(ValueError, match="n_params"):
        fit_isoflop_parabola([10, -100, 1000], [1.0, 0.5, 0.7])
    with pytest.raises(ValueError, match="n_params"):
        fit_isoflop_parabola([10, 10, 100], [1.0, 0.5, 0.7])
    with pytest.raises(ValueError, match="loss"):
        fit_isoflop_parabola([10, 100, 1000], [1.0, 0.5])
    with pytest.raises(ValueError, match="loss"):
        fit_isoflop_parabola([10, 100, 1000], [1.0, float("nan"), 0.7])
    with pytest.raises(TypeError, match="n_params"):
        fit_isoflop_parabola("abc", [1.0, 0.5, 0.7])
    t = np.log([10.0, 100.0, 1000.0])
    with pytest.raises(ValueError, match="no minimum"):
        fit_isoflop_parabola(np.exp(t), 1.0 - (t - t[1]) ** 2)


def test_exponent_bad_input():
    with pytest.raises(ValueError, match="compute"):
        fit_compute_exponent([1e10, 1e11], [1.0, 2.0])
    with pytest.raises(ValueError, match="compute"):
        fit_compute_exponent([1e10, 1e10, 1e10], [1.0, 2.0, 3.0])
    with pytest.raises(ValueError, match="values"):
        fit_compute_exponent([1e10, 1e11, 1e12], [1.0, 0.0, 3.0])
    with pytest.raises(ValueError, match="values"):
        fit_compute_exponent([1e10, 1e11, 1e12, 1e13], [1.0, 2.0, 3.0])
