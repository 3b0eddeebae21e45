"""Progressive distillation of a DDIM sampler (survey chapter 3, part 3).

Salimans & Ho (2022) halve the number of sampling steps of a trained diffusion model,
round after round: a *student* learns to take, in **one** deterministic DDIM step, the
same jump that the *teacher* takes in **two**; then the student becomes the teacher.
``N`` steps become ``N/2``, ``N/4``, … and finally 1.

Notation as in :mod:`.ddpm`: :math:`a_t = \\sqrt{\\bar\\alpha_t}`,
:math:`s_t = \\sqrt{1-\\bar\\alpha_t}`, :math:`z_t = a_t x + s_t \\epsilon`; the step
index ``-1`` stands for the data itself (:math:`a = 1, s = 0`). A sampler with ``N``
steps on a chain of ``T`` steps visits the nested grid
``T-1, T-1-T/N, …, T/N-1, -1`` (:func:`distillation_timesteps`), so the grid of ``N``
steps is every other point of the grid of ``2N`` steps.

.. math::

    z_{t'} = a_{t'}\\,\\hat x_\\theta(z_t) + \\frac{s_{t'}}{s_t}\\bigl(z_t - a_t\\,\\hat x_\\theta(z_t)\\bigr)
    \\qquad (1)

    \\tilde x = \\frac{z_{t''} - (s_{t''}/s_t)\\,z_t}{a_{t''} - (s_{t''}/s_t)\\,a_t}
    \\qquad (2)

    L = \\bigl(1 + \\mathrm{SNR}_t\\bigr)\\,\\lVert \\tilde x - \\hat x_\\eta(z_t)\\rVert^2,
    \\quad \\mathrm{SNR}_t = a_t^2 / s_t^2 \\qquad (3)

    v = a_t\\,\\epsilon - s_t\\,x,\\qquad \\hat x = a_t z_t - s_t \\hat v,\\qquad
    \\hat\\epsilon = s_t z_t + a_t \\hat v \\qquad (4)

Equation (1) is the deterministic DDIM step (η = 0, eq. (5) of :mod:`.ddpm`) written in
terms of the predicted data :math:`\\hat x`. The teacher takes two such steps
:math:`t \\to t' \\to t''`; equation (2) is the :math:`\\tilde x` for which *one* step (1)
from :math:`z_t` lands exactly on the teacher's :math:`z_{t''}` (solve (1) for
:math:`\\hat x`) — the student's regression target (Salimans & Ho 2022, Algorithm 2).
Equation (3) is the loss with the paper's "SNR + 1" weighting; with the
v-parameterisation it is exactly :math:`\\lVert\\tilde v - \\hat v\\rVert^2`.

Why not predict ε: the data estimate of an ε-model is
:math:`\\hat x = (z_t - s_t\\hat\\epsilon)/a_t`, and at the first step of a few-step
sampler :math:`a_t \\approx 0` (:math:`z_t` is almost pure noise), so any error of
:math:`\\hat\\epsilon` is multiplied by :math:`1/a_t` (about 300 at the first step of the
linear schedule with T = 64). Many small DDIM steps hide this, a one-step student cannot. The paper therefore predicts
:math:`\\hat x` or :math:`v` (eq. (4)); this module uses ``prediction="v"`` (stable at both
ends: :math:`\\hat x \\to -\\hat v` at pure noise, :math:`\\hat\\epsilon \\to \\hat v` at
clean data) and keeps ``"eps"`` only to compare. :func:`v_diffusion_loss` trains a teacher
in the v-parameterisation (the diffusion loss of :mod:`.ddpm` with target ``v``).
"""

from __future__ import annotations

import copy
from collections.abc import Callable

import torch
from torch import nn

from .. import train
from .._checks import (
    check_callable,
    check_choice,
    check_module,
    check_positive_int,
    check_seed,
    check_tensor,
)
from .ddpm import NoiseSchedule, _check_schedule, _check_shape

ModelFn = Callable[[torch.Tensor, torch.Tensor], torch.Tensor]
PREDICTIONS = ("v", "eps")


def _check_prediction(prediction: object) -> str:
    return check_choice("prediction", prediction, PREDICTIONS)


def _coefs(
    schedule: NoiseSchedule, t: int | torch.Tensor, like: torch.Tensor
) -> tuple[torch.Tensor, torch.Tensor]:
    """``(a_t, s_t)`` shaped (batch, 1) for an int ``t`` or a ``(batch,)`` tensor of steps,
    in ``like``'s dtype; ``t = -1`` is the data: ``(1, 0)``."""
    abar = torch.cat([schedule.alphas_bar, torch.ones(1, dtype=torch.float64)])  # [-1] = 1
    if not isinstance(t, torch.Tensor):
        t = torch.full((like.shape[0],), t, dtype=torch.long)
    abar_t = abar[t.cpu()].to(like.device).view(-1, *([1] * (like.dim() - 1)))
    return abar_t.sqrt().to(like.dtype), (1 - abar_t).sqrt().to(like.dtype)


def distillation_timesteps(num_steps: int, sampling_steps: int) -> list[int]:
    """The nested grid of a ``sampling_steps``-step sampler, descending, ending with ``-1``.

    ``num_steps`` (``T``) must be divisible by ``sampling_steps`` (``N``); the grid is
    ``T-1, T-1-T/N, …, T/N-1, -1`` (``N + 1`` points, ``N`` steps). With ``N = T`` it is
    the full DDIM chain of :func:`.ddpm.ddim_sample`.
    """
    check_positive_int("num_steps", num_steps)
    check_positive_int("sampling_steps", sampling_steps)
    if sampling_steps > num_steps or num_steps % sampling_steps:
        raise ValueError(
            f"sampling_steps must divide num_steps={num_steps} (and be at most it), "
            f"got {sampling_steps}"
        )
    stride = num_steps // sampling_steps
    return [num_steps - 1 - i * stride for i in range(sampling_steps)] + [-1]


def _steps(name: str, t: int | torch.Tensor, batch: int, low: int, high: int) -> torch.Tensor:
    """An int or a ``(batch,)`` integer tensor of steps in ``[low, high)`` as a long tensor."""
    if isinstance(t, torch.Tensor):
        if t.dtype not in (torch.int64, torch.int32) or t.shape != (batch,):
            raise ValueError(f"{name} must be an int or an integer tensor of shape ({batch},)")
        t = t.long().cpu()
    elif isinstance(t, bool) or not isinstance(t, int):
        raise TypeError(f"{name} must be an int or an integer tensor, got {type(t).__name__}")
    else:
        t = torch.full((batch,), t, dtype=torch.long)
    if batch and (int(t.min()) < low or int(t.max()) >= high):
        raise ValueError(f"{name} must lie in [{low}, {high - 1}], got {t.unique().tolist()}")
    return t


def _check_output(
    schedule: NoiseSchedule, xt: torch.Tensor, t: int | torch.Tensor, output: torch.Tensor
) -> torch.Tensor:
    _check_schedule(schedule)
    schedule._check_x("xt", xt)
    if not isinstance(output, torch.Tensor) or output.shape != xt.shape:
        raise ValueError(f"output must be a tensor of shape {tuple(xt.shape)}")
    return _steps("t", t, xt.shape[0], 0, schedule.num_steps)


def split_output(
    schedule: NoiseSchedule,
    xt: torch.Tensor,
    t: int | torch.Tensor,
    output: torch.Tensor,
    prediction: str = "v",
) -> tuple[torch.Tensor, torch.Tensor]:
    """The data and noise estimates ``(x̂, ε̂)`` from a network's ``output``, eq. (4).

    ``t`` is an int or a ``(batch,)`` tensor of steps. ``"v"``: ``x̂ = a_t x_t - s_t v̂``,
    ``ε̂ = s_t x_t + a_t v̂``; ``"eps"``: ``ε̂ = output`` and ``x̂ = (x_t - s_t ε̂)/a_t`` (the
    division that amplifies errors near pure noise). Shapes: ``xt, output: (batch, dim)``.
    """
    prediction = _check_prediction(prediction)
    t = _check_output(schedule, xt, t, output)
    a, s = _coefs(schedule, t, xt)
    if prediction == "eps":
        return (xt - s * output) / a, output
    return a * xt - s * output, s * xt + a * output  # eq. (4)


def v_target(
    schedule: NoiseSchedule, x0: torch.Tensor, t: torch.Tensor, eps: torch.Tensor
) -> torch.Tensor:
    """The velocity ``v = a_t ε - s_t x_0`` of eq. (4); ``t: (batch,)`` long."""
    schedule = _check_schedule(schedule)
    schedule._check_x("x0", x0)
    t = schedule._check_t(t, x0.shape[0])
    if not isinstance(eps, torch.Tensor) or eps.shape != x0.shape:
        raise ValueError(f"eps must be a tensor of shape {tuple(x0.shape)}")
    abar = schedule._gather(schedule.alphas_bar, t, x0)
    return abar.sqrt() * eps - (1 - abar).sqrt() * x0  # eq. (4)


def v_diffusion_loss(schedule: NoiseSchedule) -> Callable[..., torch.Tensor]:
    """The diffusion loss with target ``v`` as a ``loss_fn(model, x0)`` for :func:`train.fit`.

    ``t`` uniform, ``ε ~ N(0, I)`` from PyTorch's global generator, ``x_t`` from
    :meth:`NoiseSchedule.q_sample`; the loss is ``‖v - v̂(x_t, t)‖²`` summed over
    coordinates, averaged over the batch (the "SNR + 1" weighting of eq. (3) in terms of x̂).
    """
    _check_schedule(schedule)

    def loss_fn(model: nn.Module, x0: torch.Tensor) -> torch.Tensor:
        t = torch.randint(schedule.num_steps, (x0.shape[0],), device=x0.device)
        eps = torch.randn_like(x0)
        xt = schedule.q_sample(x0, t, eps)
        return ((v_target(schedule, x0, t, eps) - model(xt, t)) ** 2).sum(dim=1).mean()

    return loss_fn


def ddim_jump(
    model: ModelFn,
    schedule: NoiseSchedule,
    xt: torch.Tensor,
    t: int | torch.Tensor,
    t_prev: int | torch.Tensor,
    prediction: str = "v",
) -> torch.Tensor:
    """One deterministic DDIM step ``x_t → x_{t_prev}`` of ``model``, eq. (1).

    ``x_{t'} = a_{t'} x̂ + s_{t'} ε̂`` with x̂, ε̂ from the network output (eq. (4)); this is
    :func:`.ddpm.ddim_step` with η = 0, written for a step per row: ``t`` and ``t_prev``
    are ints or ``(batch,)`` tensors, ``t_prev = -1`` lands on the data, each
    ``t_prev < t``. ``xt: (batch, dim)`` → ``(batch, dim)``.
    """
    check_callable("model", model)
    schedule = _check_schedule(schedule)
    schedule._check_x("xt", xt)
    prediction = _check_prediction(prediction)
    batch = xt.shape[0]
    tt = _steps("t", t, batch, 0, schedule.num_steps)
    tp = _steps("t_prev", t_prev, batch, -1, schedule.num_steps)
    if bool((tp >= tt).any()):
        raise ValueError("t_prev must be smaller than t in every row")
    output = model(xt, tt.to(xt.device))
    x0_hat, eps_hat = split_output(schedule, xt, tt, output, prediction)
    a_prev, s_prev = _coefs(schedule, tp, xt)
    return a_prev * x0_hat + s_prev * eps_hat  # eq. (1)


@torch.no_grad()
def distilled_sample(
    model: ModelFn,
    schedule: NoiseSchedule,
    shape: tuple[int, ...],
    sampling_steps: int,
    prediction: str = "v",
    generator: torch.Generator | None = None,
    x_T: torch.Tensor | None = None,
) -> torch.Tensor:
    """Deterministic DDIM sampling with ``sampling_steps`` steps on the nested grid.

    Runs a student at its own step count, or a teacher at any count that divides ``T``.
    Starts from ``x_T`` if given, else from ``torch.randn(shape, generator=generator)``.
    Returns samples of ``shape``.
    """
    check_callable("model", model)
    schedule = _check_schedule(schedule)
    shape = _check_shape(shape)
    prediction = _check_prediction(prediction)
    grid = distillation_timesteps(schedule.num_steps, sampling_steps)
    if x_T is None:
        x = torch.randn(shape, generator=generator)
    else:
        check_tensor("x_T", x_T, floating=True)
        if tuple(x_T.shape) != shape:
            raise ValueError(f"x_T must have shape {shape}, got {tuple(x_T.shape)}")
        x = x_T
    for t, t_prev in zip(grid[:-1], grid[1:]):
        x = ddim_jump(model, schedule, x, t, t_prev, prediction)
    return x


def distillation_target(
    schedule: NoiseSchedule,
    xt: torch.Tensor,
    t: int | torch.Tensor,
    t_prev: int | torch.Tensor,
    x_prev: torch.Tensor,
) -> torch.Tensor:
    """The student's target x̃ of eq. (2): one step (1) from ``x_t`` reaches ``x_prev``.

    ``x_prev`` is the teacher's ``z_{t''}`` after its two steps; ``t_prev = -1`` gives
    ``x̃ = x_prev``. ``t, t_prev``: ints or ``(batch,)`` tensors with ``t_prev < t``.
    Shapes: ``xt, x_prev: (batch, dim)``.
    """
    schedule = _check_schedule(schedule)
    schedule._check_x("xt", xt)
    if not isinstance(x_prev, torch.Tensor) or x_prev.shape != xt.shape:
        raise ValueError(f"x_prev must be a tensor of shape {tuple(xt.shape)}")
    tt = _steps("t", t, xt.shape[0], 0, schedule.num_steps)
    tp = _steps("t_prev", t_prev, xt.shape[0], -1, schedule.num_steps)
    if bool((tp >= tt).any()):
        raise ValueError("t_prev must be smaller than t in every row")
    a, s = _coefs(schedule, tt, xt)
    a2, s2 = _coefs(schedule, tp, xt)
    ratio = s2 / s
    return (x_prev - ratio * xt) / (a2 - ratio * a)  # eq. (2)


def distillation_loss(
    teacher: ModelFn,
    schedule: NoiseSchedule,
    student_steps: int,
    prediction: str = "v",
) -> Callable[..., torch.Tensor]:
    """The loss of one distillation round, eq. (3), as a ``loss_fn(student, x0)`` for
    :func:`train.fit`.

    For each example a student step ``t → t''`` of the ``student_steps``-step grid is drawn
    uniformly, ``z_t ~ q(z_t | x_0)``; the teacher (no gradients) takes two DDIM steps
    ``t → t' → t''`` on the grid of ``2·student_steps`` steps; x̃ is eq. (2); the loss is
    ``(1 + SNR_t) ‖x̃ - x̂_student‖²`` summed over coordinates, averaged over the batch.
    """
    check_callable("teacher", teacher)
    schedule = _check_schedule(schedule)
    prediction = _check_prediction(prediction)
    check_positive_int("student_steps", student_steps)
    T = schedule.num_steps
    if T % (2 * student_steps):
        raise ValueError(
            f"2 * student_steps must divide num_steps={T}, got student_steps={student_steps}"
        )
    grid_t = torch.tensor(distillation_timesteps(T, student_steps))
    half = T // (2 * student_steps)

    def loss_fn(student: nn.Module, x0: torch.Tensor) -> torch.Tensor:
        i = torch.randint(student_steps, (x0.shape[0],))  # the student step t → t''
        t = grid_t[i]
        t2 = grid_t[i + 1]
        t1 = t - half  # the teacher's middle point t'
        zt = schedule.q_sample(x0, t.to(x0.device))
        with torch.no_grad():
            z1 = ddim_jump(teacher, schedule, zt, t, t1, prediction)  # teacher, eq. (1)
            z2 = ddim_jump(teacher, schedule, z1, t1, t2, prediction)  # teacher, eq. (1)
            target = distillation_target(schedule, zt, t, t2, z2)  # eq. (2)
        x_hat, _ = split_output(schedule, zt, t, student(zt, t.to(x0.device)), prediction)
        a, s = _coefs(schedule, t, zt)
        weight = 1.0 + a**2 / s**2  # 1 + SNR_t, eq. (3)
        return (weight * (target - x_hat) ** 2).sum(dim=1).mean()

    return loss_fn


def progressive_distillation(
    teacher: nn.Module,
    schedule: NoiseSchedule,
    x_train: torch.Tensor,
    teacher_steps: int,
    final_steps: int = 1,
    steps_per_round: int = 500,
    prediction: str = "v",
    seed: int = 0,
    **fit_kwargs,
) -> tuple[dict[int, nn.Module], dict[int, train.History]]:
    """Distil ``teacher`` (sampled with ``teacher_steps`` DDIM steps) down to ``final_steps``.

    Each round copies the current teacher into a student (the paper's initialisation),
    trains it with :func:`distillation_loss` via :func:`train.fit` (``steps_per_round``
    steps, seed ``seed + round``, further keywords such as ``lr`` and ``batch_size`` passed
    on), and makes it the next teacher: ``teacher_steps → teacher_steps/2 → … →
    final_steps``. ``teacher_steps / final_steps`` must be a power of two.

    Returns ``(students, histories)``, each a dict keyed by the student's step count.
    The given ``teacher`` is not modified.
    """
    check_module("teacher", teacher)
    schedule = _check_schedule(schedule)
    check_tensor("x_train", x_train, ndim=2, floating=True, min_rows=1)
    check_positive_int("teacher_steps", teacher_steps)
    check_positive_int("final_steps", final_steps)
    check_positive_int("steps_per_round", steps_per_round)
    prediction = _check_prediction(prediction)
    check_seed(seed)
    distillation_timesteps(schedule.num_steps, teacher_steps)  # teacher_steps divides T
    ratio = teacher_steps // final_steps
    if final_steps >= teacher_steps or teacher_steps % final_steps or ratio & (ratio - 1):
        raise ValueError(
            f"final_steps must be teacher_steps={teacher_steps} divided by a power of two "
            f"(2, 4, …), got {final_steps}"
        )
    students: dict[int, nn.Module] = {}
    histories: dict[int, train.History] = {}
    current: nn.Module = teacher
    steps, round_ = teacher_steps // 2, 0
    while steps >= final_steps:
        current.eval()
        student = copy.deepcopy(current)
        loss_fn = distillation_loss(current, schedule, steps, prediction)
        histories[steps] = train.fit(
            student, loss_fn, x_train, steps=steps_per_round, seed=seed + round_, **fit_kwargs
        )
        students[steps] = student
        current, steps, round_ = student, steps // 2, round_ + 1
    return students, histories


__all__ = [
    "PREDICTIONS",
    "distillation_timesteps",
    "split_output",
    "v_target",
    "v_diffusion_loss",
    "ddim_jump",
    "distilled_sample",
    "distillation_target",
    "distillation_loss",
    "progressive_distillation",
]
