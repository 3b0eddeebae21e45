"""Tests of survey_models.low_bit: GPTQ against brute-force least squares, AWQ and RTN.

The least-squares comparisons run in float64, where the two computations agree to about
1e-13; the tolerance 1e-8 is five orders wider. A rounding decision could differ between
them only if a weight lay within ~1e-13 of a rounding boundary, which for these continuous
random weights has probability of order 1e-12.
"""

import pytest
import torch
from torch import nn

from survey_models.calibration import input_hessian, linear_inputs
from survey_models.compression import quantization_step
from survey_models.low_bit import (
    awq_quantize,
    awq_scales,
    gptq_quantize,
    output_error,
    quantize_linears,
    round_to_grid,
    rtn_quantize,
)

ATOL = 1e-8


def tiny_layer(rows=3, cols=5, n=40, seed=0):
    g = torch.Generator().manual_seed(seed)
    w = torch.randn(rows, cols, generator=g, dtype=torch.float64)
    mix = torch.eye(cols, dtype=torch.float64) + 0.5 * torch.randn(
        cols, cols, generator=g, dtype=torch.float64
    )
    x = torch.randn(n, cols, generator=g, dtype=torch.float64) @ mix  # correlated inputs
    return w, x


def brute_force_update(w, x, fixed):
    """argmin over the free columns of ‖(W − Ŵ)Xᵀ‖² with columns < len(fixed) held at
    ``fixed``: solve ``X_free δᵀ = X_fixed (W_fixed − Ŵ_fixed)ᵀ`` by least squares."""
    k = fixed.shape[1]
    target = x[:, :k] @ (w[:, :k] - fixed).T  # (n, rows): the error the free columns cancel
    delta = torch.linalg.lstsq(x[:, k:], target).solution.T  # (rows, cols - k)
    return w[:, k:] + delta


def test_one_gptq_step_is_the_least_squares_optimum():
    w, x = tiny_layer()
    h = x.T @ x / x.shape[0]  # undamped: the objective is exactly ‖(W − Ŵ)Xᵀ‖² / n
    bits = 3
    got = gptq_quantize(w, h, bits, n_columns=1)
    step = quantization_step(w, bits, per_channel=True)
    q0 = round_to_grid(w[:, :1], step, bits)
    assert torch.equal(got[:, :1], q0)  # column 0 is rounded to the nearest grid point
    want = brute_force_update(w, x, q0)
    assert torch.allclose(got[:, 1:], want, rtol=0, atol=ATOL)
    # and the update really moved the free columns (the test is not vacuous)
    assert (got[:, 1:] - w[:, 1:]).abs().max() > 1e-3


def test_gptq_is_sequential_least_squares_for_any_block_size():
    w, x = tiny_layer(rows=4, cols=6, n=50, seed=1)
    h = x.T @ x / x.shape[0]
    bits = 3
    step = quantization_step(w, bits, per_channel=True)
    cur = w.clone()  # brute force: round column k, re-solve the free columns, repeat
    for k in range(w.shape[1]):
        fixed = torch.cat([cur[:, :k], round_to_grid(cur[:, k : k + 1], step, bits)], 1)
        cur = torch.cat([fixed, brute_force_update(w, x, fixed)], 1) if k + 1 < 6 else fixed
    for block_size in (1, 2, 4, 128):
        got = gptq_quantize(w, h, bits, block_size=block_size)
        assert torch.allclose(got, cur, rtol=0, atol=ATOL), block_size


def test_gptq_with_identity_hessian_is_rtn():
    w, _ = tiny_layer(rows=6, cols=9)
    eye = torch.eye(9, dtype=torch.float64)
    for bits in (2, 3, 4, 8):
        assert torch.equal(gptq_quantize(w, eye, bits, block_size=4), rtn_quantize(w, bits))


def test_rtn_is_per_row_nearest_grid_point():
    w = torch.tensor([[1.0, -0.4, 0.26], [0.0, 0.0, 0.0], [-2.0, 0.7, 1.2]])
    # 3 bits: qmax 3; row steps 1/3, 1 (all-zero row), 2/3
    want = torch.tensor([[1.0, -1 / 3, 1 / 3], [0.0, 0.0, 0.0], [-2.0, 2 / 3, 4 / 3]])
    assert torch.allclose(rtn_quantize(w, 3), want, rtol=0, atol=1e-6)


def test_gptq_beats_rtn_on_correlated_inputs():
    # Inputs share one strong factor: an error in one column can be cancelled by the others.
    g = torch.Generator().manual_seed(2)
    n, cols, rows = 400, 32, 16
    z = torch.randn(n, 1, generator=g)
    x = z + 0.05 * torch.randn(n, cols, generator=g)
    w = torch.randn(rows, cols, generator=g)
    h = input_hessian(x, damp=0.0)
    for bits in (3, 4):
        e_rtn = output_error(w, rtn_quantize(w, bits), h)
        e_gptq = output_error(w, gptq_quantize(w, input_hessian(x), bits), h)
        # measured ratios 0.044 (3 bits) and 0.022 (4 bits): a factor 6 below the bound
        assert e_gptq < 0.25 * e_rtn, (bits, e_gptq, e_rtn)


def test_every_gptq_weight_lies_on_the_original_grid():
    w, x = tiny_layer(rows=5, cols=8, n=60, seed=3)
    bits = 3
    got = gptq_quantize(w, input_hessian(x), bits, block_size=3)
    q = got / quantization_step(w, bits, per_channel=True)
    assert torch.allclose(q, q.round(), rtol=0, atol=1e-9)
    assert q.round().abs().max() <= 3


def test_awq_alpha_zero_is_rtn_and_output_is_on_the_scaled_grid():
    w, x = tiny_layer(rows=5, cols=8, n=60, seed=4)
    x = x * torch.linspace(0.1, 5.0, 8, dtype=torch.float64)  # channels of unequal size
    for bits in (2, 3, 4):
        res = awq_quantize(w, x, bits, alphas=[0.0])
        assert res.alpha == 0.0 and torch.equal(res.scales, torch.ones(8, dtype=w.dtype))
        assert torch.equal(res.weight, rtn_quantize(w, bits))
    # With α = 0.7: Ŵ·diag(s) lies on the per-row grid of W·diag(s) (up to the division by s).
    res = awq_quantize(w, x, 3, alphas=[0.7])
    s = awq_scales(x, 0.7)
    assert torch.equal(res.scales, s)
    assert torch.equal(s, (x.abs().mean(0)) ** 0.7)
    q = res.weight * s / quantization_step(w * s, 3, per_channel=True)
    assert torch.allclose(q, q.round(), rtol=0, atol=1e-9)
    assert q.round().abs().max() <= 3


def test_awq_search_picks_the_smallest_calibration_error():
    w, x = tiny_layer(rows=6, cols=8, n=60, seed=5)
    x = x * torch.linspace(0.1, 5.0, 8, dtype=torch.float64)
    h = input_hessian(x, damp=0.0)
    alphas = [0.0, 0.25, 0.5, 0.75, 1.0]
    res = awq_quantize(w, x, 3, alphas=alphas)
    for a, err in zip(alphas, res.errors):
        single = awq_quantize(w, x, 3, alphas=[a])
        assert err == output_error(w, single.weight, h)
    assert res.alpha == alphas[min(range(5), key=lambda i: res.errors[i])]
    # α = 0 (RTN) is in the grid, so AWQ is never worse than RTN on the calibration data
    assert output_error(w, res.weight, h) <= output_error(w, rtn_quantize(w, 3), h)


def test_output_error_is_the_mean_squared_output_difference():
    w, x = tiny_layer(seed=6)
    w_hat = rtn_quantize(w, 3)
    want = ((w - w_hat) @ x.T).pow(2).sum() / x.shape[0]
    got = output_error(w, w_hat, input_hessian(x, damp=0.0))
    assert abs(got - float(want)) <= 1e-10 * float(want)


def test_quantize_linears_layer_by_layer():
    torch.manual_seed(7)
    model = nn.Sequential(nn.Linear(6, 8), nn.ReLU(), nn.Linear(8, 3))
    before = {k: v.clone() for k, v in model.state_dict().items()}
    x = torch.randn(64, 6)
    run = lambda m: m(x)  # noqa: E731
    rtn = quantize_linears(model, "rtn", 3)
    for i in (0, 2):
        assert torch.equal(rtn[i].weight, rtn_quantize(model[i].weight, 3))
        assert torch.equal(rtn[i].bias, model[i].bias)
    gptq = quantize_linears(model, "gptq", 3, run, damp=0.01)
    assert torch.equal(gptq[0].weight, gptq_quantize(model[0].weight, input_hessian(x), 3))
    # the second layer is calibrated on the outputs of the *quantised* first layer
    x2 = linear_inputs(gptq, run, names=["2"])["2"]
    assert torch.equal(x2, torch.relu(gptq[0](x)))
    want2 = gptq_quantize(model[2].weight, input_hessian(x2), 3)
    assert torch.equal(gptq[2].weight, want2)
    awq = quantize_linears(model, "awq", 3, run, alphas=[0.0])
    assert torch.equal(awq[0].weight, rtn[0].weight)
    assert all(torch.equal(v, before[k]) for k, v in model.state_dict().items())


def test_bad_input_names_the_argument():
    w, x = tiny_layer()
    h = x.T @ x / x.shape[0]
    with pytest.raises(ValueError, match="weight"):
        rtn_quantize(torch.zeros(3), 4)
    with pytest.raises(ValueError, match="weight"):
        gptq_quantize(torch.tensor([[float("nan")] * 5]), h, 4)
    with pytest.raises(ValueError, match="hessian"):
        gptq_quantize(w, h[:4, :4], 4)
    with pytest.raises(ValueError, match="symmetric"):
        gptq_quantize(w, h + torch.triu(torch.ones_like(h), 1), 4)
    with pytest.raises(ValueError, match="positive definite"):
        gptq_quantize(w, torch.zeros(5, 5, dtype=torch.float64), 4)
    with pytest.raises(ValueError, match="bits"):
        gptq_quantize(w, h, 1)
    with pytest.raises(ValueError, match="n_columns"):
        gptq_quantize(w, h, 4, n_columns=6)
    with pytest.raises(ValueError, match="block_size"):
        gptq_quantize(w, h, 4, block_size=0)
    with pytest.raises(ValueError, match="bits"):
        round_to_grid(w, torch.ones(3, 1, dtype=w.dtype), 20)
    with pytest.raises(ValueError, match="inputs"):
        awq_quantize(w, x[:, :4], 4)
    with pytest.raises(ValueError, match=r"alphas\[1\]"):
        awq_quantize(w, x, 4, alphas=[0.0, 1.5])
    with pytest.raises(TypeError, match="alphas"):
        awq_quantize(w, x, 4, alphas=[])
    with pytest.raises(ValueError, match="alpha"):
        awq_scales(x, -0.1)
    with pytest.raises(ValueError, match="w_hat"):
        output_error(w, w[:, :3], h)
    model = nn.Sequential(nn.Linear(5, 2))
    with pytest.raises(ValueError, match="method"):
        quantize_linears(model, "int4", 4)
    with pytest.raises(TypeError, match="run"):
        quantize_linears(model, "gptq", 4)
    with pytest.raises(ValueError, match="bits"):
        quantize_linears(model, "rtn", 0)
    with pytest.raises(TypeError, match="model"):
        quantize_linears("model", "rtn", 4)
