"""Tests of survey_models.lora: exact identity at init, merged = unmerged, frozen base."""

import copy

import pytest
import torch
from torch import nn

from survey_models import lora, train
from survey_models.scaling import MLP


def _model(dtype=torch.float32) -> nn.Module:
    torch.manual_seed(0)
    return MLP(12, (10, 8), 5).to(dtype)


@pytest.mark.parametrize("init", ["gaussian", "kaiming"])
def test_at_init_the_lora_model_equals_the_base_model_exactly(init):
    base = _model()
    x = torch.randn(7, 12)
    expected = base(x)
    adapted = lora.apply_lora(copy.deepcopy(base), r=3, alpha=6.0, init=init)
    assert torch.equal(adapted(x), expected)  # B = 0, so ΔW x = 0 exactly
    assert all(
        bool(m.A.detach().abs().sum() > 0)
        for m in adapted.modules()
        if isinstance(m, lora.LoRALinear)
    )


def _train_a_few_steps(model: nn.Module, x, y, steps=5) -> None:
    opt = torch.optim.SGD([p for p in model.parameters() if p.requires_grad], lr=0.1)
    for _ in range(steps):
        opt.zero_grad()
        train.classification_loss(model, x, y).backward()
        opt.step()


def test_merged_equals_unmerged_after_training_and_only_a_b_change():
    model = _model(torch.float64)
    before = {k: v.clone() for k, v in model.state_dict().items()}
    lora.apply_lora(model, r=2, alpha=4.0, target=["net.0", "net.4"])
    x = torch.randn(32, 12, dtype=torch.float64)
    y = torch.randint(5, (32,))
    _train_a_few_steps(model, x, y)
    # Base weights exactly unchanged after the optimiser steps (they got no gradient).
    state = model.state_dict()
    for k, v in before.items():
        key = k.replace("net.0.", "net.0.base.").replace("net.4.", "net.4.base.")
        assert torch.equal(state[key], v), k
    for name, p in model.named_parameters():
        assert p.requires_grad == name.endswith((".A", ".B")), name
    lora_layers = [m for m in model.modules() if isinstance(m, lora.LoRALinear)]
    assert len(lora_layers) == 2
    assert all(bool(m.B.detach().abs().sum() > 0) for m in lora_layers)  # B has moved off zero
    merged = lora.merge_lora(model)
    assert not any(isinstance(m, lora.LoRALinear) for m in merged.modules())
    assert any(isinstance(m, lora.LoRALinear) for m in model.modules())  # original kept
    # Same products summed in a different order: float64 round-off is ~1e-16 here.
    torch.testing.assert_close(merged(x), model(x), rtol=0, atol=1e-12)


def test_only_a_and_b_receive_gradients():
    model = lora.apply_lora(_model(), r=2)
    train.classification_loss(model, torch.randn(4, 12), torch.tensor([0, 1, 2, 3])).backward()
    for name, p in model.named_parameters():
        if name.endswith((".A", ".B")):
            assert p.grad is not None, name
        else:
            assert p.grad is None, name


def test_forward_matches_the_equation_and_merged_layer():
    torch.manual_seed(1)
    base = nn.Linear(6, 4, dtype=torch.float64)
    layer = lora.LoRALinear(base, r=3, alpha=1.5, seed=0)
    with torch.no_grad():
        layer.B.normal_()
    x = torch.randn(5, 6, dtype=torch.float64)
    w = base.weight + (1.5 / 3) * layer.B @ layer.A
    torch.testing.assert_close(layer(x), x @ w.T + base.bias, rtol=0, atol=1e-12)
    torch.testing.assert_close(layer.merged().weight, w, rtol=0, atol=0)
    torch.testing.assert_close(layer.delta_weight(), (1.5 / 3) * layer.B @ layer.A)
    assert layer.scale == 0.5 and layer.A.shape == (3, 6) and layer.B.shape == (4, 3)
    assert lora.LoRALinear(base, r=2).scale == 1.0  # alpha=None means alpha = r


def test_trainable_parameter_count_known_answer():
    model = MLP(12, (10, 8), 5)  # weights 12·10 + 10·8 + 8·5, biases 10 + 8 + 5
    total = 12 * 10 + 10 + 10 * 8 + 8 + 8 * 5 + 5
    assert lora.trainable_parameters(model) == (total, total)
    lora.apply_lora(model, r=2)  # r (d_in + d_out) per layer
    n_lora = 2 * (12 + 10) + 2 * (10 + 8) + 2 * (8 + 5)
    assert lora.trainable_parameters(model) == (n_lora, total + n_lora)
    model.net[4].base.requires_grad_(True)  # train the head as well
    assert lora.trainable_parameters(model)[0] == n_lora + 8 * 5 + 5


def test_target_by_callable_and_seeded_init_is_reproducible():
    a = lora.apply_lora(_model(), r=2, target=lambda name, m: m.out_features == 5, seed=3)
    b = lora.apply_lora(_model(), r=2, target=lambda name, m: m.out_features == 5, seed=3)
    assert isinstance(a.net[4], lora.LoRALinear) and isinstance(a.net[0], nn.Linear)
    assert torch.equal(a.net[4].A, b.net[4].A)
    assert "r=2" in repr(a.net[4])


def test_r_may_equal_min_dimension_but_not_exceed_it():
    lora.LoRALinear(nn.Linear(6, 4), r=4)
    with pytest.raises(ValueError, match="r must be an integer in \\[1, 4\\]"):
        lora.LoRALinear(nn.Linear(6, 4), r=5)


@pytest.mark.parametrize(
    ("make", "exc", "match"),
    [
        (lambda: lora.LoRALinear(nn.Linear(6, 4), r=0), ValueError, "r must"),
        (lambda: lora.LoRALinear(nn.Linear(6, 4), r=-1), ValueError, "r must"),
        (lambda: lora.LoRALinear(nn.Linear(6, 4), r=2.0), TypeError, "r must"),
        (lambda: lora.LoRALinear(nn.Linear(6, 4), r=2, alpha=0.0), ValueError, "alpha"),
        (lambda: lora.LoRALinear(nn.Linear(6, 4), r=2, init="zeros"), ValueError, "init"),
        (lambda: lora.LoRALinear(nn.Conv1d(2, 2, 1), r=1), TypeError, "base"),
        (lambda: lora.apply_lora("m", r=1), TypeError, "model"),
        (lambda: lora.apply_lora(_model(), r=1, target=["net.9"]), ValueError, "target"),
        (lambda: lora.apply_lora(_model(), r=1, target="net.0"), TypeError, "target"),
        (lambda: lora.apply_lora(_model(), r=1, target=lambda n, m: False), ValueError, "target"),
        (lambda: lora.apply_lora(nn.ReLU(), r=1), ValueError, "target"),
        (lambda: lora.merge_lora(3), TypeError, "model"),
        (lambda: lora.trainable_parameters(None), TypeError, "model"),
    ],
)
def test_bad_arguments(make, exc, match):
    with pytest.raises(exc, match=match):
        make()


def test_bad_forward_input():
    layer = lora.LoRALinear(nn.Linear(6, 4), r=2)
    with pytest.raises(ValueError, match="x must have last dimension 6"):
        layer(torch.randn(3, 5))
    with pytest.raises(TypeError, match="x must be a floating-point"):
        layer(torch.ones(3, 6, dtype=torch.long))
