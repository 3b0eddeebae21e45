"""Tests of the memorisation helpers of survey_models.scaling: random labels, fit-to-target."""

import pytest
import torch

from survey_models.scaling import MLP, MemorizationRun, fit_until_accuracy, with_label_noise
from survey_models.train import accuracy


def _labels(n=200, seed=0):
    return torch.randint(10, (n,), generator=torch.Generator().manual_seed(seed))


@pytest.mark.parametrize("fraction", [0.0, 0.1, 0.25, 0.5, 0.9, 1.0])
def test_label_noise_changes_exact_count(fraction):
    y = _labels(203)
    noisy = with_label_noise(y, fraction, seed=3)
    assert int((noisy != y).sum()) == round(fraction * 203)
    assert noisy.dtype == y.dtype and int(noisy.min()) >= 0 and int(noisy.max()) < 10
    assert torch.equal(y, _labels(203))  # the input is not modified


def test_label_noise_deterministic_and_seed_dependent():
    y = _labels()
    assert torch.equal(with_label_noise(y, 0.5, seed=7), with_label_noise(y, 0.5, seed=7))
    assert not torch.equal(with_label_noise(y, 0.5, seed=7), with_label_noise(y, 0.5, seed=8))


def test_label_noise_extremes():
    y = _labels()
    assert torch.equal(with_label_noise(y, 0.0, seed=1), y)  # fraction 0: the identity
    assert bool((with_label_noise(y, 1.0, seed=1) != y).all())  # "other" labels: all change


def test_label_noise_other_classes_are_uniform():
    # Every wrong label is one of the 9 other classes, each about equally often.
    y = torch.zeros(9000, dtype=torch.long)
    noisy = with_label_noise(y, 1.0, seed=0)
    counts = torch.bincount(noisy, minlength=10)
    assert counts[0] == 0
    # Expected 1000 each; binomial std ≈ 30, so ±200 is a > 6-sigma margin.
    assert bool(((counts[1:] - 1000).abs() < 200).all())


def _toy(n=40, seed=0):
    g = torch.Generator().manual_seed(seed)
    return torch.randn(n, 8, generator=g), torch.randint(4, (n,), generator=g)


def test_fit_until_accuracy_stops_at_target():
    x, y = _toy()
    torch.manual_seed(0)
    model = MLP(8, (64,), 4)
    run = fit_until_accuracy(model, x, y, target_accuracy=1.0, max_epochs=500, lr=1e-2)
    assert isinstance(run, MemorizationRun) and run.reached
    # It stopped at the first epoch that met the target, not later.
    assert run.train_accuracy[-1] == 1.0 and all(a < 1.0 for a in run.train_accuracy[:-1])
    assert run.epochs_to_target == len(run.train_accuracy)
    assert run.steps_to_target == run.epochs_to_target * 1  # 40 rows, batch 64: 1 step/epoch
    assert accuracy(model, x, y) == 1.0  # the returned model is the one that fitted
    assert not model.training and run.eval_accuracy == []


def test_fit_until_accuracy_lower_target_stops_earlier_and_records_eval():
    x, y = _toy()
    xe, ye = _toy(30, seed=1)
    torch.manual_seed(0)
    run = fit_until_accuracy(
        MLP(8, (64,), 4), x, y, target_accuracy=0.5, max_epochs=500, lr=1e-2, eval_data=(xe, ye)
    )
    assert run.reached and run.train_accuracy[-1] >= 0.5
    assert all(a < 0.5 for a in run.train_accuracy[:-1])
    assert len(run.eval_accuracy) == len(run.train_accuracy)
    # accuracies are exact fractions of 30 test rows
    assert all(abs(a * 30 - round(a * 30)) < 1e-9 for a in run.eval_accuracy)


def test_fit_until_accuracy_cap_reports_not_reached():
    x, y = _toy()
    torch.manual_seed(0)
    run = fit_until_accuracy(MLP(8, (2,), 4), x, y, max_epochs=3)
    assert not run.reached and run.epochs_to_target is None and run.steps_to_target is None
    assert len(run.train_accuracy) == 3


@pytest.mark.parametrize(
    "kwargs, match",
    [
        ({"target_accuracy": 0.0}, "target_accuracy"),
        ({"target_accuracy": 1.5}, "target_accuracy"),
        ({"max_epochs": 0}, "max_epochs"),
        ({"batch_size": 0}, "batch_size"),
        ({"eval_data": torch.zeros(3, 8)}, "eval_data"),
    ],
)
def test_fit_until_accuracy_bad_arguments(kwargs, match):
    x, y = _toy()
    with pytest.raises((TypeError, ValueError), match=match):
        fit_until_accuracy(MLP(8, (4,), 4), x, y, **kwargs)


def test_fit_until_accuracy_bad_data():
    x, y = _toy()
    with pytest.raises(ValueError, match="y must have one label per row"):
        fit_until_accuracy(MLP(8, (4,), 4), x, y[:-1])
    with pytest.raises(TypeError, match="y"):
        fit_until_accuracy(MLP(8, (4,), 4), x, y.float())
    with pytest.raises(TypeError, match="model"):
        fit_until_accuracy("not a model", x, y)


def test_label_noise_bad_input():
    y = _labels()
    with pytest.raises(ValueError, match="fraction"):
        with_label_noise(y, -0.1)
    with pytest.raises(ValueError, match="y"):
        with_label_noise(y + 10, 0.5)
