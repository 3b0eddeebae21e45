import pytest
import torch
from torch import nn

from survey_models import train


def mse_loss(model, x, y):
    return ((model(x) - y) ** 2).mean()


def linear_problem(n=256, seed=0):
    g = torch.Generator().manual_seed(seed)
    x = torch.randn(n, 3, generator=g)
    w = torch.tensor([[1.5], [-2.0], [0.5]])
    return x, x @ w + 0.3


def test_fit_by_epochs_recovers_a_linear_map():
    x, y = linear_problem()
    model = nn.Linear(3, 1)
    history = train.fit(model, mse_loss, (x, y), epochs=60, lr=0.05, batch_size=32)
    assert len(history.train_loss) == 60
    assert history.train_loss[-1] < 1e-3 * history.train_loss[0]
    assert torch.allclose(model.weight, torch.tensor([[1.5, -2.0, 0.5]]), atol=1e-2)
    assert torch.allclose(model.bias, torch.tensor([0.3]), atol=1e-2)


def test_fit_by_steps_logs_validation_and_is_deterministic():
    x, y = linear_problem()
    runs = []
    for _ in range(2):
        torch.manual_seed(0)
        model = nn.Linear(3, 1)
        h = train.fit(model, mse_loss, (x, y), steps=50, log_every=10, lr=0.05,
                      val_data=(x[:64], y[:64]), seed=3)
        runs.append((h, model.weight.detach().clone()))
    h, w = runs[0]
    assert h.steps == [10, 20, 30, 40, 50]
    assert len(h.val_loss) == 5 and h.val_loss[-1] < h.val_loss[0]
    assert torch.equal(w, runs[1][1]) and h.train_loss == runs[1][0].train_loss


def test_evaluate_averages_over_all_rows():
    x, y = linear_problem(n=100)
    model = nn.Linear(3, 1)
    with torch.no_grad():
        expected = float(((model(x) - y) ** 2).mean())
    assert train.evaluate(model, mse_loss, (x, y), batch_size=7) == pytest.approx(expected, rel=1e-5)


@pytest.mark.parametrize("kwargs, name", [
    ({"epochs": 0}, "epochs"), ({"epochs": 1, "lr": -1.0}, "lr"),
    ({"epochs": 1, "batch_size": 0}, "batch_size"),
    ({"epochs": 1, "optimizer": "lbfgs"}, "optimizer"),
    ({"epochs": 1, "steps": 5}, "exactly one"), ({}, "exactly one"),
])
def test_fit_rejects_bad_arguments(kwargs, name):
    x, y = linear_problem(n=8)
    with pytest.raises(ValueError, match=name):
        train.fit(nn.Linear(3, 1), mse_loss, (x, y), **kwargs)


def test_fit_rejects_mismatched_data():
    with pytest.raises(ValueError, match="same first dimension"):
        train.fit(nn.Linear(3, 1), mse_loss, (torch.zeros(8, 3), torch.zeros(7, 1)), epochs=1)


def test_set_seed_makes_randomness_repeatable():
    g1 = train.set_seed(5)
    a = torch.rand(3), torch.rand(3, generator=g1)
    g2 = train.set_seed(5)
    b = torch.rand(3), torch.rand(3, generator=g2)
    assert torch.equal(a[0], b[0]) and torch.equal(a[1], b[1])
