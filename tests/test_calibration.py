"""Tests of survey_models.calibration: hooked inputs and the input Hessian."""

import pytest
import torch
from torch import nn

from survey_models.calibration import check_hessian, input_hessian, inverse_hessian, linear_inputs


def test_linear_inputs_are_what_each_layer_sees():
    torch.manual_seed(0)
    model = nn.Sequential(nn.Linear(3, 4), nn.ReLU(), nn.Linear(4, 2))
    x = torch.randn(5, 2, 3)  # extra leading dims are flattened into rows
    got = linear_inputs(model, lambda m: m(x))
    assert list(got) == ["0", "2"]
    assert torch.equal(got["0"], x.reshape(-1, 3))
    assert torch.equal(got["2"], torch.relu(model[0](x)).reshape(-1, 4).detach())
    only = linear_inputs(model, lambda m: m(x), names=["2"])
    assert list(only) == ["2"]
    # Hooks are gone afterwards: the model has no forward pre-hooks left.
    assert all(not m._forward_pre_hooks for m in model.modules())


def test_input_hessian_is_second_moment_plus_ridge():
    x = torch.tensor([[1.0, 0.0], [1.0, 2.0]])
    h = input_hessian(x, damp=0.0)
    assert torch.equal(h, torch.tensor([[1.0, 1.0], [1.0, 2.0]], dtype=torch.float64))
    h = input_hessian(x, damp=0.5)  # mean diagonal 1.5, ridge 0.75
    assert torch.equal(h, torch.tensor([[1.75, 1.0], [1.0, 2.75]], dtype=torch.float64))
    zero = input_hessian(torch.zeros(3, 2), damp=0.1)
    assert torch.equal(zero, 0.1 * torch.eye(2, dtype=torch.float64))


def test_bad_input_names_the_argument():
    model = nn.Sequential(nn.Linear(3, 4))
    with pytest.raises(TypeError, match="run"):
        linear_inputs(model, "not callable")
    with pytest.raises(ValueError, match="names"):
        linear_inputs(model, lambda m: m(torch.zeros(1, 3)), names=["nope"])
    with pytest.raises(ValueError, match="never called"):
        linear_inputs(model, lambda m: None)
    with pytest.raises(TypeError, match="model"):
        linear_inputs("model", lambda m: None)
    with pytest.raises(ValueError, match="inputs"):
        input_hessian(torch.zeros(0, 3))
    with pytest.raises(ValueError, match="finite"):
        input_hessian(torch.tensor([[float("nan")]]))
    with pytest.raises(ValueError, match="damp"):
        input_hessian(torch.ones(2, 2), damp=-1.0)


def test_inverse_hessian_and_its_upper_factor():
    h = torch.tensor([[4.0, 2.0], [2.0, 3.0]], dtype=torch.float64)
    h_inv, u = inverse_hessian(h)
    # Known answer: the 2×2 inverse is [[3, -2], [-2, 4]] / 8.
    torch.testing.assert_close(
        h_inv, torch.tensor([[3.0, -2.0], [-2.0, 4.0]], dtype=torch.float64) / 8
    )
    assert torch.equal(u, torch.triu(u))
    torch.testing.assert_close(u.T @ u, h_inv)
    with pytest.raises(ValueError, match="positive definite"):
        inverse_hessian(torch.tensor([[1.0, 2.0], [2.0, 1.0]], dtype=torch.float64))


def test_check_hessian_names_what_is_wrong():
    assert check_hessian(torch.eye(3), 3).dtype == torch.float64
    with pytest.raises(ValueError, match=r"hessian must have shape \(2, 2\)"):
        check_hessian(torch.eye(3), 2)
    with pytest.raises(ValueError, match="symmetric"):
        check_hessian(torch.tensor([[1.0, 0.5], [0.0, 1.0]]), 2)
    with pytest.raises(ValueError, match="hessian"):
        check_hessian(torch.tensor([[1.0, float("inf")], [0.0, 1.0]]), 2)
