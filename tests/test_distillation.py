"""Tests of survey_models.distillation: the T²-scaled loss, the omitted-class helpers."""

import math

import pytest
import torch
import torch.nn.functional as F

from survey_models import distillation as kd
from survey_models import train
from survey_models.scaling import MLP


def _hand_loss(s, t, y, T, alpha):
    # Equation (6.2) written out element by element with math.exp/log.
    total = 0.0
    for si, ti, yi in zip(s.tolist(), t.tolist(), y.tolist()):
        zs = sum(math.exp(v / T) for v in si)
        zt = sum(math.exp(v / T) for v in ti)
        ps = [math.exp(v / T) / zs for v in si]
        pt = [math.exp(v / T) / zt for v in ti]
        kl = sum(a * (math.log(a) - math.log(b)) for a, b in zip(pt, ps))
        z1 = sum(math.exp(v) for v in si)
        ce = -(si[yi] - math.log(z1))
        total += alpha * T * T * kl + (1 - alpha) * ce
    return total / len(y)


@pytest.mark.parametrize("T,alpha", [(1.0, 0.5), (4.0, 0.9), (20.0, 1.0), (2.0, 0.0)])
def test_distillation_loss_matches_hand_computation(T, alpha):
    g = torch.Generator().manual_seed(0)
    s = torch.randn(5, 4, generator=g, dtype=torch.float64)
    t = 3 * torch.randn(5, 4, generator=g, dtype=torch.float64)
    y = torch.randint(0, 4, (5,), generator=g)
    got = kd.distillation_loss(s, t, y, temperature=T, alpha=alpha).item()
    assert got == pytest.approx(_hand_loss(s, t, y, T, alpha), rel=1e-10)


def test_t_squared_keeps_soft_gradient_scale():
    # Without the T² factor the soft gradient would shrink like 1/T²; with it, at high T
    # it tends to (z_s - z_t)/N (Hinton et al. 2015, section 2.1, zero-mean logits).
    g = torch.Generator().manual_seed(1)
    s = torch.randn(1, 6, generator=g, dtype=torch.float64)
    s = (s - s.mean()).requires_grad_(True)
    t = torch.randn(1, 6, generator=g, dtype=torch.float64)
    t = t - t.mean()
    kd.distillation_loss(s, t, None, temperature=1000.0, alpha=1.0).backward()
    assert torch.allclose(s.grad, (s.detach() - t) / 6, atol=1e-4)


def test_distillation_loss_zero_when_student_equals_teacher():
    z = torch.randn(3, 5, dtype=torch.float64)
    assert kd.distillation_loss(z, z.clone(), None, 7.0, 1.0).item() == pytest.approx(0, abs=1e-12)


def test_distillation_loss_bad_arguments():
    s, t, y = torch.randn(3, 4), torch.randn(3, 4), torch.tensor([0, 1, 2])
    with pytest.raises(ValueError, match="temperature"):
        kd.distillation_loss(s, t, y, temperature=0.0)
    with pytest.raises(ValueError, match="alpha"):
        kd.distillation_loss(s, t, y, alpha=1.5)
    with pytest.raises(ValueError, match="teacher_logits"):
        kd.distillation_loss(s, torch.randn(3, 5), y)
    with pytest.raises(ValueError, match="targets must be given"):
        kd.distillation_loss(s, t, None, alpha=0.5)
    with pytest.raises(ValueError, match="targets must have 3"):
        kd.distillation_loss(s, t, torch.tensor([0, 1]), alpha=0.5)


def test_soften_high_temperature_is_flatter():
    z = torch.tensor([[5.0, 1.0, 0.0]])
    assert torch.allclose(kd.soften(z, 1.0), torch.softmax(z, -1))
    assert kd.soften(z, 10.0).max() < kd.soften(z, 1.0).max()
    with pytest.raises(ValueError, match="temperature"):
        kd.soften(z, -1.0)


def test_drop_class_and_bias_helpers():
    x, y = torch.rand(10, 2), torch.tensor([0, 1, 2, 3, 3, 1, 0, 2, 3, 1])
    xo, yo = kd.drop_class(x, y, 3)
    assert xo.shape[0] == 7 and not (yo == 3).any()
    with pytest.raises(ValueError, match="omitted=7"):
        kd.drop_class(x, y, 7)
    assert torch.equal(kd.shift_class_bias(4, 2, 1.5), torch.tensor([0.0, 0.0, 1.5, 0.0]))


def test_best_bias_shift_recovers_a_missing_class():
    # A "model" whose class-2 logit is 3 too low: the best shift on validation data is ~3.
    class Fixed(torch.nn.Module):
        def forward(self, x):
            return x - torch.tensor([0.0, 0.0, 3.0])

    g = torch.Generator().manual_seed(0)
    y = torch.randint(0, 3, (300,), generator=g)
    x = F.one_hot(y, 3).float() * 2 + 0.3 * torch.randn(300, 3, generator=g)
    model = Fixed()
    assert kd.class_accuracy(model, x, y, 2) < 0.05
    shift = kd.best_bias_shift(model, x, y, 2)
    assert 2.0 <= shift <= 4.0
    assert kd.class_accuracy(model, x, y, 2, kd.shift_class_bias(3, 2, shift)) > 0.8


def test_distilled_student_learns_from_teacher():
    # Training on soft targets through fit lowers the loss and matches the teacher.
    torch.manual_seed(0)
    x = torch.randn(256, 8)
    teacher = MLP(8, (32,), 4)
    t_logits = kd.teacher_logits(teacher, x)
    y = t_logits.argmax(1)
    student = MLP(8, (32,), 4)
    loss_fn = kd.make_distillation_loss_fn(2.0, 1.0)
    before = train.evaluate(student, loss_fn, (x, y, t_logits))
    train.fit(student, loss_fn, (x, y, t_logits), epochs=30, lr=1e-2, seed=0)
    after = train.evaluate(student, loss_fn, (x, y, t_logits))
    assert after < 0.2 * before
    assert train.accuracy(student, x, y) > 0.9
