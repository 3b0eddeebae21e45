"""Tests of survey_models.calibration: hooked inputs and the input Hessian."""

import pytest
import torch
from torch import nn

from survey_models.calibration import input_hessian, linear_inputs


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
