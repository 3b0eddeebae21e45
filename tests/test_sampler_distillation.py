"""Tests of survey_models.diffusion.sampler_distillation: the target, the loss, the rounds."""

from __future__ import annotations

import pytest
import torch

from survey_models import train
from survey_models.diffusion import (
    Denoiser,
    NoiseSchedule,
    ddim_sample,
    ddim_step,
    diffusion_loss,
    model_eps,
)
from survey_models.diffusion.sampler_distillation import (
    ddim_jump,
    distillation_loss,
    distillation_target,
    distillation_timesteps,
    distilled_sample,
    progressive_distillation,
    split_output,
    v_diffusion_loss,
    v_target,
)

T = 16


@pytest.fixture(params=["linear", "cosine"])
def schedule(request) -> NoiseSchedule:
    return NoiseSchedule(T, kind=request.param)


def _ab(schedule: NoiseSchedule, t: int) -> tuple[float, float]:
    if t < 0:
        return 1.0, 0.0
    abar = float(schedule.alphas_bar[t])
    return abar**0.5, (1 - abar) ** 0.5


def constant_x0_teacher(schedule: NoiseSchedule, c: torch.Tensor, prediction: str):
    """A teacher whose data estimate x̂ is the constant ``c`` at every x_t and t."""

    def model(x: torch.Tensor, t: torch.Tensor) -> torch.Tensor:
        abar = schedule.alphas_bar[t].to(x.dtype)[:, None]
        a, s = abar.sqrt(), (1 - abar).sqrt()
        eps = (x - a * c) / s
        return eps if prediction == "eps" else a * eps - s * c  # v = a ε - s x

    return model


def gaussian_x0_teacher(schedule: NoiseSchedule, mu: float, var: float):
    """The exact E[x_0 | x_t] for x_0 ~ N(mu, var I), as a v-model (Gaussian conjugacy)."""

    def model(x: torch.Tensor, t: torch.Tensor) -> torch.Tensor:
        abar = schedule.alphas_bar[t].to(x.dtype)[:, None]
        a, s = abar.sqrt(), (1 - abar).sqrt()
        x0 = mu + a * var / (a**2 * var + s**2) * (x - a * mu)
        return a * (x - a * x0) / s - s * x0

    return model


def test_timesteps_are_nested_and_end_on_the_data():
    assert distillation_timesteps(16, 16) == list(range(15, -2, -1))
    assert distillation_timesteps(16, 4) == [15, 11, 7, 3, -1]
    assert distillation_timesteps(16, 1) == [15, -1]
    for n in (1, 2, 4, 8):
        fine = distillation_timesteps(16, 2 * n)
        assert distillation_timesteps(16, n) == fine[::2]


@pytest.mark.parametrize("prediction", ["v", "eps"])
def test_output_conversions_invert_the_forward_process(schedule, prediction):
    g = torch.Generator().manual_seed(0)
    x0 = torch.randn(6, 3, generator=g, dtype=torch.float64)
    eps = torch.randn(6, 3, generator=g, dtype=torch.float64)
    t = torch.tensor([0, 3, 7, 9, 14, 15])
    xt = schedule.q_sample(x0, t, eps)
    out = v_target(schedule, x0, t, eps) if prediction == "v" else eps
    x0_hat, eps_hat = split_output(schedule, xt, t, out, prediction)
    torch.testing.assert_close(x0_hat, x0)
    torch.testing.assert_close(eps_hat, eps)


@pytest.mark.parametrize("prediction", ["v", "eps"])
def test_ddim_jump_equals_ddim_step_of_ddpm(schedule, prediction):
    def model(x, t):  # any smooth function of (x_t, t), in float64
        return torch.sin(1.3 * x + 0.1 * t[:, None]) - 0.2 * x

    x = torch.randn(5, 2, generator=torch.Generator().manual_seed(1), dtype=torch.float64)
    for t, t_prev in [(15, 7), (7, 3), (3, -1), (0, -1)]:
        tt = torch.full((5,), t)
        _, eps = split_output(schedule, x, t, model(x, tt), prediction)
        expected, _, _ = ddim_step(schedule, x, t, t_prev, eps)
        got = ddim_jump(model, schedule, x, t, t_prev, prediction)
        torch.testing.assert_close(got, expected, rtol=1e-10, atol=1e-10)


def test_sampler_at_full_steps_is_ddim_sample():
    """With prediction "eps" and all T steps, the sampler is the DDIM of :mod:`.ddpm`.

    Both start from the same x_T (the generator's first draw); the two float32 paths
    compute eq. (1) in a different order, so they agree to rounding (~1e-6 measured,
    1e-4 allowed; a wrong coefficient moves the samples by > 1e-2).
    """
    schedule = NoiseSchedule(T)
    train.set_seed(0)
    model = Denoiser(dim=2, hidden=16, n_layers=1)
    ours = distilled_sample(
        model, schedule, (7, 2), T, "eps", generator=torch.Generator().manual_seed(3)
    )
    reference = ddim_sample(
        model_eps(model),
        schedule,
        (7, 2),
        sampling_steps=T,
        generator=torch.Generator().manual_seed(3),
    )
    torch.testing.assert_close(ours, reference, rtol=1e-4, atol=1e-4)


@pytest.mark.parametrize("prediction", ["v", "eps"])
def test_target_is_the_constant_of_a_constant_teacher(schedule, prediction):
    """DDIM with a fixed x̂ = c is exact: two teacher steps = one step, and x̃ = c."""
    c = torch.tensor([[0.7, -1.3]], dtype=torch.float64)
    teacher = constant_x0_teacher(schedule, c, prediction)
    x = torch.randn(8, 2, generator=torch.Generator().manual_seed(2), dtype=torch.float64)
    for t, t_mid, t_prev in [(15, 11, 7), (7, 5, 3), (15, 7, -1), (1, 0, -1)]:
        z1 = ddim_jump(teacher, schedule, x, t, t_mid, prediction)
        z2 = ddim_jump(teacher, schedule, z1, t_mid, t_prev, prediction)
        one = ddim_jump(teacher, schedule, x, t, t_prev, prediction)
        torch.testing.assert_close(z2, one, rtol=1e-10, atol=1e-10)
        target = distillation_target(schedule, x, t, t_prev, z2)
        torch.testing.assert_close(target, c.expand(8, 2), rtol=1e-10, atol=1e-10)


def test_one_student_step_with_the_target_reproduces_two_teacher_steps(schedule):
    """Eq. (2) solves eq. (1): the exact Gaussian teacher, whose two steps differ from one."""
    teacher = gaussian_x0_teacher(schedule, mu=1.5, var=0.25)
    x = torch.randn(8, 2, generator=torch.Generator().manual_seed(4), dtype=torch.float64)
    t, t_mid, t_prev = 15, 11, 7
    z2 = ddim_jump(teacher, schedule, ddim_jump(teacher, schedule, x, t, t_mid), t_mid, t_prev)
    one = ddim_jump(teacher, schedule, x, t, t_prev)
    assert (z2 - one).abs().max() > 1e-3  # a real correction, not a trivial case
    target = distillation_target(schedule, x, t, t_prev, z2)
    a, s = _ab(schedule, t)
    student = (a * x - target) / s  # the v whose data estimate is the target, eq. (4)

    def student_model(z, tt):
        return student

    torch.testing.assert_close(
        ddim_jump(student_model, schedule, x, t, t_prev), z2, rtol=1e-10, atol=1e-10
    )


def test_final_round_target_is_the_teachers_two_step_sample():
    """Student 1 step, teacher 2 steps: t'' = -1, so x̃ is the teacher's 2-step sample."""
    schedule = NoiseSchedule(T)
    teacher = Denoiser(dim=2, hidden=16, n_layers=1)
    x_T = torch.randn(9, 2, generator=torch.Generator().manual_seed(5))
    two = distilled_sample(teacher, schedule, (9, 2), 2, x_T=x_T)
    with torch.no_grad():
        z1 = ddim_jump(teacher, schedule, x_T, T - 1, T // 2 - 1)
        z2 = ddim_jump(teacher, schedule, z1, T // 2 - 1, -1)
    assert torch.equal(z2, two)
    assert torch.equal(distillation_target(schedule, x_T, T - 1, -1, z2), two)


def test_loss_is_zero_for_a_student_equal_to_a_constant_teacher():
    schedule = NoiseSchedule(T)
    c = torch.tensor([[0.5, 2.0]], dtype=torch.float64)
    teacher = constant_x0_teacher(schedule, c, "v")

    class Same(torch.nn.Module):
        def forward(self, x, t):
            return teacher(x, t)

    torch.manual_seed(0)
    x0 = torch.randn(64, 2, dtype=torch.float64)
    for steps in (1, 2, 4, 8):
        loss = distillation_loss(teacher, schedule, steps)(Same(), x0)
        assert loss.dim() == 0 and float(loss) < 1e-18


def test_loss_weight_is_one_plus_snr_by_hand():
    """A student that outputs v̂ = 0 has x̂ = a_t x_t; check eq. (3) row by row."""
    schedule = NoiseSchedule(T)
    c = torch.tensor([[0.5, 2.0]], dtype=torch.float64)
    teacher = constant_x0_teacher(schedule, c, "v")

    class Zero(torch.nn.Module):
        def forward(self, x, t):
            return torch.zeros_like(x)

    x0 = torch.randn(32, 2, dtype=torch.float64, generator=torch.Generator().manual_seed(0))
    torch.manual_seed(7)
    loss = distillation_loss(teacher, schedule, 1)(Zero(), x0)
    torch.manual_seed(7)
    torch.randint(1, (32,))  # the loss's draw of student steps (all 15 → -1)
    zt = schedule.q_sample(x0, torch.full((32,), T - 1))
    a, s = _ab(schedule, T - 1)
    expected = ((1 + a**2 / s**2) * ((c - a * zt) ** 2).sum(1)).mean()
    torch.testing.assert_close(loss, expected, rtol=1e-12, atol=0.0)


def test_v_diffusion_loss_is_zero_for_the_true_velocity():
    schedule = NoiseSchedule(T)
    x0 = torch.randn(16, 2, dtype=torch.float64, generator=torch.Generator().manual_seed(0))
    torch.manual_seed(1)
    t = torch.randint(T, (16,))
    eps = torch.randn_like(x0)
    v = v_target(schedule, x0, t, eps)
    torch.testing.assert_close(
        v,
        schedule.alphas_bar[t].sqrt()[:, None] * eps
        - (1 - schedule.alphas_bar[t]).sqrt()[:, None] * x0,
    )

    class Oracle(torch.nn.Module):
        def forward(self, x, tt):
            assert torch.equal(tt, t)
            return v

    torch.manual_seed(1)
    assert float(v_diffusion_loss(schedule)(Oracle(), x0)) == 0.0


def test_progressive_distillation_runs_the_rounds_and_keeps_the_teacher():
    schedule = NoiseSchedule(T)
    train.set_seed(0)
    teacher = Denoiser(dim=2, hidden=16, n_layers=1)
    before = {k: v.clone() for k, v in teacher.state_dict().items()}
    x = torch.randn(64, 2, generator=torch.Generator().manual_seed(0))
    students, histories = progressive_distillation(
        teacher, schedule, x, teacher_steps=8, final_steps=1, steps_per_round=3, batch_size=16
    )
    assert sorted(students) == sorted(histories) == [1, 2, 4]
    assert all(len(h.train_loss) > 0 for h in histories.values())
    assert all(torch.equal(before[k], v) for k, v in teacher.state_dict().items())
    assert len({id(m) for m in students.values()} | {id(teacher)}) == 4
    out = distilled_sample(students[1], schedule, (5, 2), 1)
    assert out.shape == (5, 2) and torch.isfinite(out).all()


def test_distillation_lowers_the_loss_of_a_trained_teacher():
    """A few dozen steps of round 1 lower the loss of the copied student (by > 10%)."""
    schedule = NoiseSchedule(T)
    train.set_seed(0)
    x = torch.randn(256, 2) * 0.3 + 1.0
    teacher = Denoiser(dim=2, hidden=32, n_layers=1)
    train.fit(teacher, diffusion_loss(schedule), x, steps=60, batch_size=64, lr=3e-3)
    eps_teacher = model_eps(teacher)

    def as_v(z, t):  # the same teacher, read as a v-model (eq. (4))
        abar = schedule.alphas_bar[t].float()[:, None]
        x0 = (z - (1 - abar).sqrt() * eps_teacher(z, t)) / abar.sqrt()
        return abar.sqrt() * eps_teacher(z, t) - (1 - abar).sqrt() * x0

    student = Denoiser(dim=2, hidden=32, n_layers=1)
    history = train.fit(
        student, distillation_loss(as_v, schedule, 4), x, steps=80, batch_size=64, lr=3e-3
    )
    assert history.train_loss[-1] < 0.9 * history.train_loss[0]


def test_gradients_of_the_target_and_the_loss_by_gradcheck():
    """Float64 gradcheck: the target of eq. (2) in (x_t, x_prev) and the loss in the
    student's output (the student is a leaf tensor returned for every input)."""
    schedule = NoiseSchedule(T)
    g = torch.Generator().manual_seed(0)
    xt = torch.randn(3, 2, generator=g, dtype=torch.float64, requires_grad=True)
    xp = torch.randn(3, 2, generator=g, dtype=torch.float64, requires_grad=True)
    t = torch.tensor([15, 7, 3])
    t_prev = torch.tensor([7, 3, -1])
    assert torch.autograd.gradcheck(
        lambda a, b: distillation_target(schedule, a, t, t_prev, b), (xt, xp)
    )
    c = torch.tensor([[0.5, -1.0]], dtype=torch.float64)
    teacher = constant_x0_teacher(schedule, c, "v")
    x0 = torch.randn(4, 2, generator=g, dtype=torch.float64)
    out = torch.randn(4, 2, generator=g, dtype=torch.float64, requires_grad=True)

    def loss_of(o):
        class Fixed(torch.nn.Module):
            def forward(self, x, tt):
                return o

        torch.manual_seed(3)  # the same t and noise at every evaluation
        return distillation_loss(teacher, schedule, 2)(Fixed(), x0)

    assert torch.autograd.gradcheck(loss_of, (out,))


def test_bad_arguments_raise_named_errors():
    schedule = NoiseSchedule(T)
    model = Denoiser(dim=2, hidden=8, n_layers=1)
    x = torch.randn(4, 2)
    with pytest.raises(ValueError, match="sampling_steps"):
        distillation_timesteps(16, 3)
    with pytest.raises(ValueError, match="sampling_steps"):
        distillation_timesteps(16, 32)
    with pytest.raises(ValueError, match="prediction"):
        distilled_sample(model, schedule, (4, 2), 2, prediction="x")
    with pytest.raises(ValueError, match="shape"):
        distilled_sample(model, schedule, (4,), 2)
    with pytest.raises(ValueError, match="x_T"):
        distilled_sample(model, schedule, (4, 2), 2, x_T=torch.randn(3, 2))
    with pytest.raises(TypeError, match="model"):
        distilled_sample("model", schedule, (4, 2), 2)
    with pytest.raises(TypeError, match="schedule"):
        ddim_jump(model, "schedule", x, 3, 1)
    with pytest.raises(ValueError, match="t_prev"):
        ddim_jump(model, schedule, x, 3, 3)
    with pytest.raises(ValueError, match="t "):
        ddim_jump(model, schedule, x, 16, 3)
    with pytest.raises(TypeError, match="t_prev"):
        distillation_target(schedule, x, 3, 1.0, x)
    with pytest.raises(ValueError, match="x_prev"):
        distillation_target(schedule, x, 3, 1, x[:2])
    with pytest.raises(ValueError, match="output"):
        split_output(schedule, x, 3, x[:, :1])
    with pytest.raises(ValueError, match="student_steps"):
        distillation_loss(model, schedule, 16)
    with pytest.raises(ValueError, match="final_steps"):
        progressive_distillation(model, schedule, x, teacher_steps=8, final_steps=3)
    with pytest.raises(ValueError, match="final_steps"):
        progressive_distillation(model, schedule, x, teacher_steps=8, final_steps=8)
    with pytest.raises(ValueError, match="sampling_steps"):
        progressive_distillation(model, schedule, x, teacher_steps=5)
    with pytest.raises(TypeError, match="teacher"):
        progressive_distillation(lambda z, t: z, schedule, x, teacher_steps=8)
    with pytest.raises(ValueError, match="x_train"):
        progressive_distillation(model, schedule, x[0], teacher_steps=8)
