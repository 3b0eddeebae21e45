"""Tests of survey_models.in_context: prompts, the two baselines, the causal regressor."""

from __future__ import annotations

import pytest
import torch

from survey_models.in_context import (
    InContextRegressor,
    best_gd_lr,
    error_by_position,
    gd_step_predict,
    in_context_loss,
    least_squares_predict,
    linear_regression_prompts,
    prefix_predictions,
    zero_predict,
)


def prompts(n_prompts=4, n_points=8, dim=3, seed=0, noise=0.0, dtype=torch.float64):
    g = torch.Generator().manual_seed(seed)
    return linear_regression_prompts(n_prompts, n_points, dim, g, noise=noise, dtype=dtype)


def test_prompt_shapes_and_determinism():
    x, y, w = prompts(5, 7, 3)
    assert x.shape == (5, 7, 3) and y.shape == (5, 7) and w.shape == (5, 3)
    x2, y2, w2 = prompts(5, 7, 3)
    assert torch.equal(x, x2) and torch.equal(y, y2) and torch.equal(w, w2)
    # Noiseless prompts: y is exactly the einsum the module writes (equation (1)).
    assert torch.equal(y, torch.einsum("bkd,bd->bk", x, w))
    assert prompts(2, 3, 2, dtype=torch.float32)[0].dtype == torch.float32


def test_least_squares_exact_on_noiseless_prompts():
    # k >= d noiseless points determine w, so the error is rounding only (float64, ~1e-13);
    # the 1e-8 bound is five orders of magnitude above it.
    x, y, w = prompts(16, 9, 4)
    for k in (4, 6, 8):
        pred = least_squares_predict(x[:, :k], y[:, :k], x[:, k])
        assert torch.allclose(pred, y[:, k], atol=1e-8, rtol=0)


def test_least_squares_is_minimum_norm_below_d():
    # With k < d, the prediction equals that of the pseudo-inverse solution, which
    # interpolates the k points: check interpolation at the prompt's own x.
    x, y, _ = prompts(6, 2, 5)
    for i in range(2):
        assert torch.allclose(least_squares_predict(x, y, x[:, i]), y[:, i], atol=1e-10)
    assert torch.equal(
        least_squares_predict(x[:, :0], y[:, :0], x[:, 0]), torch.zeros(6, dtype=x.dtype)
    )


def test_gd_step_equals_autograd_step():
    x, y, _ = prompts(5, 6, 3, noise=0.3)
    lr = 0.7
    w0 = torch.zeros(5, 3, dtype=torch.float64, requires_grad=True)
    loss = 0.5 * ((torch.einsum("bkd,bd->bk", x, w0) - y) ** 2).mean(1).sum()
    (grad,) = torch.autograd.grad(loss, w0)
    w1 = w0.detach() - lr * grad
    xq = torch.randn(5, 3, dtype=torch.float64, generator=torch.Generator().manual_seed(1))
    expected = (w1 * xq).sum(-1)
    assert torch.allclose(gd_step_predict(x, y, xq, lr), expected, atol=1e-12, rtol=1e-12)


def test_best_gd_lr_is_the_minimiser():
    x, y, _ = prompts(64, 5, 3, noise=0.1)
    lrs = best_gd_lr(x, y)
    assert lrs.shape == (5,) and lrs[0] == 0
    for k in (1, 4):

        def err(lr, k=k):
            return float(((gd_step_predict(x[:, :k], y[:, :k], x[:, k], lr) - y[:, k]) ** 2).mean())

        best = float(lrs[k])
        assert err(best) <= min(err(best * 0.9), err(best * 1.1))


def test_prefix_predictions_and_errors():
    x, y, _ = prompts(3, 5, 2)
    pred = prefix_predictions(least_squares_predict, x, y)
    assert pred.shape == (3, 5)
    assert torch.equal(pred[:, 3], least_squares_predict(x[:, :3], y[:, :3], x[:, 3]))
    zero = error_by_position(prefix_predictions(zero_predict, x, y), y)
    assert torch.equal(zero, (y**2).mean(0))


def test_model_shapes_and_causality():
    torch.manual_seed(0)
    for fast in (True, False):
        model = InContextRegressor(dim=3, max_points=6, d_model=16, n_head=2, fast=fast).eval()
        x, y, _ = prompts(2, 6, 3, dtype=torch.float32)
        out = model(x, y)
        assert out.shape == (2, 6)
        x2, y2 = x.clone(), y.clone()
        x2[:, 4:] += 5.0
        y2[:, 3:] -= 7.0  # y_3 itself is never seen by prediction 3
        out2 = model(x2, y2)
        assert torch.equal(out[:, :4], out2[:, :4])
        assert not torch.equal(out[:, 4:], out2[:, 4:])
        # Shorter prompts give the same leading predictions (a shorter sequence may change
        # the matmul blocking, hence rounding ~1e-7 in float32: 1e-5 is a wide bound).
        assert torch.allclose(model(x[:, :3], y[:, :3]), out[:, :3], atol=1e-5, rtol=0)
    loss = in_context_loss(model, x, y)
    assert loss.dim() == 0 and torch.equal(loss, ((out - y) ** 2).mean())


def test_bad_input():
    g = torch.Generator().manual_seed(0)
    with pytest.raises(ValueError, match="n_points"):
        linear_regression_prompts(2, 0, 3, g)
    with pytest.raises(TypeError, match="generator"):
        linear_regression_prompts(2, 2, 3, 0)
    with pytest.raises(ValueError, match="noise"):
        linear_regression_prompts(2, 2, 3, g, noise=-1.0)
    x, y, _ = prompts(2, 4, 3)
    with pytest.raises(ValueError, match="x_query"):
        least_squares_predict(x, y, x[:, 0, :2])
    with pytest.raises(ValueError, match="y must have shape"):
        gd_step_predict(x, y[:, :3], x[:, 0], 1.0)
    with pytest.raises(ValueError, match="lr"):
        gd_step_predict(x, y, x[:, 0], -1.0)
    with pytest.raises(ValueError, match="n_head"):
        InContextRegressor(3, 4, d_model=10, n_head=4)
    model = InContextRegressor(3, 4, d_model=16, n_head=2)
    with pytest.raises(ValueError, match="points"):
        model(*prompts(1, 5, 3, dtype=torch.float32)[:2])
    with pytest.raises(ValueError, match="x"):
        model(torch.zeros(1, 2, 4), torch.zeros(1, 2))
