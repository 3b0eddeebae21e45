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
        h = train.fit(
            model,
            mse_loss,
            (x, y),
            steps=50,
            log_every=10,
            lr=0.05,
            val_data=(x[:64], y[:64]),
            seed=3,
        )
        runs.append((h, model.weight.detach().clone()))
    h, w = runs[0]
    assert h.steps == [10, 20, 30, 40, 50]
    assert len(h.val_loss) == 5 and h.val_loss[-1] < h.val_loss[0]
    assert torch.equal(w, runs[1][1]) and h.train_loss == runs[1][0].train_loss


@pytest.mark.parametrize(
    "name, reference",
    [
        ("adam", lambda ps: torch.optim.Adam(ps, lr=0.05, weight_decay=0.1, foreach=False)),
        ("adamw", lambda ps: torch.optim.AdamW(ps, lr=0.05, weight_decay=0.1, foreach=False)),
    ],
)
def test_fit_takes_the_steps_of_the_per_tensor_optimizer(name, reference):
    # fit uses the fused kernels: the same rule as PyTorch's per-tensor loop, on the same
    # batches. float64: the two round differently by ~1e-16 a step; a wrong rule (no
    # weight decay, Adam for AdamW, another batch) differs by > 1e-3 after 30 steps.
    x, y = (t.double() for t in linear_problem(n=40))
    torch.manual_seed(0)
    model = nn.Linear(3, 1).double()
    by_hand = nn.Linear(3, 1).double()
    by_hand.load_state_dict(model.state_dict())
    train.fit(
        model,
        mse_loss,
        (x, y),
        steps=30,
        batch_size=8,
        optimizer=name,
        lr=0.05,
        weight_decay=0.1,
        seed=4,
    )
    g = torch.Generator().manual_seed(4)
    opt = reference(list(by_hand.parameters()))
    for _ in range(30):
        idx = torch.randint(40, (8,), generator=g)
        opt.zero_grad()
        mse_loss(by_hand, x[idx], y[idx]).backward()
        opt.step()
    for ours, theirs in zip(model.parameters(), by_hand.parameters()):
        torch.testing.assert_close(ours, theirs, atol=1e-12, rtol=0)


def test_clear_grads_drops_every_gradient_and_names_bad_input():
    model = nn.Linear(3, 1)
    mse_loss(model, *linear_problem(n=5)).backward()
    assert all(p.grad is not None for p in model.parameters())
    train.clear_grads(model.parameters())
    assert all(p.grad is None for p in model.parameters())
    with pytest.raises(TypeError, match="params must hold tensors"):
        train.clear_grads([model.weight, 1.0])


def test_evaluate_averages_over_all_rows():
    x, y = linear_problem(n=100)
    model = nn.Linear(3, 1)
    with torch.no_grad():
        expected = float(((model(x) - y) ** 2).mean())
    assert train.evaluate(model, mse_loss, (x, y), batch_size=7) == pytest.approx(
        expected, rel=1e-5
    )


@pytest.mark.parametrize(
    "kwargs, name",
    [
        ({"epochs": 0}, "epochs"),
        ({"epochs": 1, "lr": -1.0}, "lr"),
        ({"epochs": 1, "batch_size": 0}, "batch_size"),
        ({"epochs": 1, "optimizer": "lbfgs"}, "optimizer"),
        ({"epochs": 1, "steps": 5}, "exactly one"),
        ({}, "exactly one"),
    ],
)
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


# --- the shared classification helpers -------------------------------------------------------


class FixedLogits(nn.Module):
    """Logits = x itself; a dropout layer makes training and evaluation mode differ."""

    def __init__(self):
        super().__init__()
        self.drop = nn.Dropout(0.9)
        self.modes = []

    def forward(self, x):
        self.modes.append(self.training)
        return self.drop(x)


def logits_problem(n=7, classes=3):
    x = torch.eye(classes)[torch.arange(n) % classes] * 5.0
    y = torch.arange(n) % classes
    y[0] = 1  # one wrong answer out of n
    return x, y


@pytest.mark.parametrize("training", [True, False])
def test_accuracy_evaluates_in_eval_mode_and_restores_the_mode(training):
    x, y = logits_problem()
    model = FixedLogits().train(training)
    assert train.accuracy(model, x, y, batch_size=3) == 6 / 7  # exact fraction
    assert model.modes == [False, False, False]  # three batches, all in evaluation mode
    assert model.training is training
    assert all(m.training is training for m in model.modules())


def test_accuracy_restores_the_mode_when_the_model_fails():
    class Broken(FixedLogits):
        def forward(self, x):
            raise RuntimeError("boom")

    model = Broken().train()
    with pytest.raises(RuntimeError, match="boom"):
        train.accuracy(model, *logits_problem())
    assert model.training


def test_accuracy_does_not_depend_on_the_batch_size_and_takes_a_bias_shift():
    g = torch.Generator().manual_seed(0)
    model = nn.Linear(5, 4)
    x, y = torch.randn(50, 5, generator=g), torch.randint(4, (50,), generator=g)
    values = {train.accuracy(model, x, y, batch_size=b) for b in (1, 7, 50, 512)}
    assert len(values) == 1
    with torch.no_grad():
        expected = float((model(x).argmax(1) == y).sum()) / 50
    assert values == {expected}
    shift = torch.tensor([0.0, 0.0, 100.0, 0.0])
    assert train.accuracy(model, x, y, bias_shift=shift) == float((y == 2).sum()) / 50


@pytest.mark.parametrize(
    "call, name",
    [
        (lambda: train.accuracy("m", torch.zeros(2, 3), torch.zeros(2, dtype=torch.long)), "model"),
        (
            lambda: train.accuracy(
                nn.Linear(3, 2), torch.zeros(2, 3), torch.zeros(1, dtype=torch.long)
            ),
            "y",
        ),
        (lambda: train.accuracy(nn.Linear(3, 2), torch.zeros(2, 3), torch.zeros(2)), "y"),
        (
            lambda: train.accuracy(
                nn.Linear(3, 2), torch.zeros(0, 3), torch.zeros(0, dtype=torch.long)
            ),
            "x",
        ),
        (
            lambda: train.accuracy(
                nn.Linear(3, 2), torch.zeros(2, 3), torch.zeros(2, dtype=torch.long), batch_size=0
            ),
            "batch_size",
        ),
        (
            lambda: train.accuracy(
                nn.Linear(3, 2),
                torch.zeros(2, 3),
                torch.zeros(2, dtype=torch.long),
                bias_shift=torch.zeros(5),
            ),
            "bias_shift",
        ),
        (
            lambda: train.classification_loss(nn.Linear(3, 2), torch.zeros(2, 3), torch.zeros(2)),
            "y",
        ),
        (lambda: train.count_parameters("m"), "model"),
    ],
)
def test_classification_helpers_name_the_bad_argument(call, name):
    with pytest.raises((TypeError, ValueError), match=name):
        call()


def test_classification_loss_is_cross_entropy_and_trains_with_fit():
    g = torch.Generator().manual_seed(0)
    x = torch.randn(64, 2, generator=g)
    y = (x[:, 0] > 0).long()
    model = nn.Linear(2, 2)
    assert torch.equal(
        train.classification_loss(model, x, y), nn.functional.cross_entropy(model(x), y)
    )
    train.fit(model, train.classification_loss, (x, y), epochs=50, lr=0.05, seed=0)
    assert train.accuracy(model, x, y) > 0.95


def test_count_parameters_counts_only_trainable_ones():
    model = nn.Sequential(nn.Linear(3, 4), nn.Linear(4, 2))
    assert train.count_parameters(model) == 3 * 4 + 4 + 4 * 2 + 2
    model[0].requires_grad_(False)
    assert train.count_parameters(model) == 4 * 2 + 2
