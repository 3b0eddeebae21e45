"""Flow matching and rectified flow (survey chapter 3, part 3): learn a velocity, integrate it.

Flow matching (Lipman et al. 2023) and rectified flow (Liu, Gong & Liu 2023) train a
velocity field ``v_θ(x, t)`` whose ODE ``dx/dt = v_θ(x, t)`` carries noise to data.

Convention (the papers' own): **t = 0 is noise, t = 1 is data**; ``x0 ~ N(0, I)`` is the
noise, ``x1`` a data point. (DDPM in :mod:`.ddpm` counts the other way: its step 0 is the
data.) The straight conditional path and its velocity are

.. math::

    x_t = (1-t)\\,x_0 + t\\,x_1, \\qquad
    \\frac{\\mathrm d x_t}{\\mathrm d t} = x_1 - x_0  \\qquad (1)

and the conditional flow-matching loss regresses the network on that velocity,

.. math::

    L_\\text{CFM}(\\theta) = \\mathbb E_{t\\sim U[0,1],\\,x_0,\\,x_1}
    \\lVert v_\\theta(x_t, t) - (x_1 - x_0)\\rVert^2  \\qquad (2)

Sampling integrates the ODE with ``k`` Euler steps of size ``h = 1/k``:

.. math::

    x_{t_{i+1}} = x_{t_i} + h\\,v_\\theta(x_{t_i}, t_i), \\quad t_i = i/k  \\qquad (3)

Reflow (rectified flow's second round) draws fresh noise ``x0``, integrates the trained
flow to get ``x̂1``, and trains again with eq. (2) on the pairs ``(x0, x̂1)`` instead of
independent ones. The straightness of a flow (Liu et al. 2023, eq. 7) is

.. math::

    S(v) = \\int_0^1 \\mathbb E\\,\\lVert (Z_1 - Z_0) - v(Z_t, t)\\rVert^2\\,\\mathrm dt
    \\qquad (4)

along the flow's own path ``Z_t``; it is 0 exactly when every path is a straight line
travelled at constant speed (then one Euler step is exact). Classifier-free guidance
carries over unchanged with the velocity in the place of the noise prediction:

.. math::

    \\tilde v = (1+w)\\,v_\\theta(x_t, t, c) - w\\,v_\\theta(x_t, t, \\varnothing)  \\qquad (5)
"""

from __future__ import annotations

from collections.abc import Callable

import torch
from torch import nn

from .._checks import (
    check_callable,
    check_module,
    check_positive_float,
    check_positive_int,
    check_tensor,
)
from .ddpm import model_eps

VelocityFn = Callable[[torch.Tensor, torch.Tensor], torch.Tensor]


def _check_points(name: str, x: object) -> torch.Tensor:
    check_tensor(name, x, ndim=2, floating=True, min_rows=1)
    assert isinstance(x, torch.Tensor)
    return x


def _check_pair(x0: object, x1: object) -> tuple[torch.Tensor, torch.Tensor]:
    x0 = _check_points("x0", x0)
    x1 = _check_points("x1", x1)
    if x0.shape != x1.shape:
        raise ValueError(
            f"x0 and x1 must have the same shape, got {tuple(x0.shape)} and {tuple(x1.shape)}"
        )
    return x0, x1


def _check_times(t: object, batch: int) -> torch.Tensor:
    check_tensor("t", t, ndim=1, floating=True)
    assert isinstance(t, torch.Tensor)
    if t.shape != (batch,):
        raise ValueError(f"t must have shape ({batch},), got {tuple(t.shape)}")
    lo, hi = (float(t.detach().min()), float(t.detach().max())) if t.numel() else (0.0, 0.0)
    if lo < 0 or hi > 1:
        raise ValueError(f"t must lie in [0, 1], got values in [{lo:.3g}, {hi:.3g}]")
    return t


# ---------------------------------------------------------------------------------------
# The path and the loss
# ---------------------------------------------------------------------------------------
def interpolate(x0: torch.Tensor, x1: torch.Tensor, t: torch.Tensor) -> torch.Tensor:
    """The straight path of eq. (1): ``x_t = (1-t) x0 + t x1``.

    Shapes: ``x0, x1: (batch, dim)``, ``t: (batch,)`` with values in [0, 1] → ``(batch, dim)``.
    """
    x0, x1 = _check_pair(x0, x1)
    t = _check_times(t, x0.shape[0]).to(x0.dtype)[:, None]
    return (1 - t) * x0 + t * x1  # eq. (1)


def cfm_loss(
    velocity: VelocityFn, x0: torch.Tensor, x1: torch.Tensor, t: torch.Tensor
) -> torch.Tensor:
    """The conditional flow-matching loss of eq. (2) at given ``(x0, x1, t)``: a scalar.

    ``velocity(x, t)`` maps ``x: (batch, dim)`` and ``t: (batch,)`` to ``(batch, dim)``.
    The squared error is summed over ``dim`` and averaged over the batch.
    """
    check_callable("velocity", velocity)
    xt = interpolate(x0, x1, t)
    v = velocity(xt, t)
    if not isinstance(v, torch.Tensor) or v.shape != x0.shape:
        raise ValueError(
            f"velocity must return a tensor of shape {tuple(x0.shape)}, got "
            f"{tuple(v.shape) if isinstance(v, torch.Tensor) else type(v).__name__}"
        )
    return ((v - (x1 - x0)) ** 2).sum(dim=1).mean()  # eq. (2)


def flow_matching_loss() -> Callable[..., torch.Tensor]:
    """Eq. (2) as a ``loss_fn(model, x1, x0=None)`` for :func:`survey_models.train.fit`.

    ``t ~ U[0, 1]`` and, when ``x0`` is not given, ``x0 ~ N(0, I)`` (independent of
    ``x1``) are drawn with PyTorch's global generator (seed it with
    :func:`survey_models.train.set_seed`). Pass ``data=(x1_hat, x0)`` to ``fit`` to train
    on coupled pairs — that is reflow.
    """

    def loss_fn(model: nn.Module, x1: torch.Tensor, x0: torch.Tensor | None = None) -> torch.Tensor:
        x0 = torch.randn_like(x1) if x0 is None else x0
        t = torch.rand(x1.shape[0], dtype=x1.dtype, device=x1.device)
        return cfm_loss(model, x0, x1, t)

    return loss_fn


# ---------------------------------------------------------------------------------------
# The velocity network: the DDPM denoiser's architecture, fed continuous time
# ---------------------------------------------------------------------------------------
class VelocityField(nn.Module):
    """``v_θ(x, t, c)``: a network of the :class:`~survey_models.diffusion.ddpm.Denoiser`
    kind read as a velocity, with continuous time ``t ∈ [0, 1]``.

    Args:
        net: a module called as ``net(x, s, y)`` with ``s = time_scale · t`` (e.g. a
            ``Denoiser``, whose sinusoidal embedding was built for step indices
            0..T-1; with ``time_scale = T`` the flow sees the same range of time inputs).
        time_scale: the factor from ``t ∈ [0, 1]`` to the network's time input.

    Shapes: ``x: (batch, dim)``, ``t: (batch,)`` float in [0, 1], ``y: (batch,)`` long or
    ``None`` → ``v: (batch, dim)``.
    """

    def __init__(self, net: nn.Module, time_scale: float = 100.0) -> None:
        super().__init__()
        self.net = check_module("net", net)
        self.time_scale = check_positive_float("time_scale", time_scale)

    def forward(
        self, x: torch.Tensor, t: torch.Tensor, y: torch.Tensor | None = None
    ) -> torch.Tensor:
        check_tensor("x", x, ndim=2, floating=True)
        check_tensor("t", t, ndim=1, floating=True)
        if t.shape != (x.shape[0],):
            raise ValueError(f"t must have shape ({x.shape[0]},), got {tuple(t.shape)}")
        s = t * self.time_scale
        return self.net(x, s) if y is None else self.net(x, s, y)

    def extra_repr(self) -> str:
        return f"time_scale={self.time_scale:g}"


def model_velocity(
    model: nn.Module, y: torch.Tensor | None = None, guidance: float = 0.0
) -> VelocityFn:
    """Wrap a trained velocity model as ``velocity(x, t)`` (no gradients) for the samplers.

    With labels ``y`` and ``guidance = w > 0`` this is classifier-free guidance on the
    velocity, eq. (5): ``(1+w) v(x, t, c) - w v(x, t, ∅)``.
    """
    # Guidance combines two predictions the same way whatever they predict (noise or
    # velocity): DDPM's wrapper, eq. (6) there, is eq. (5) here.
    return model_eps(model, y, guidance)


# ---------------------------------------------------------------------------------------
# Sampling, reflow and straightness
# ---------------------------------------------------------------------------------------
def _euler(
    velocity: VelocityFn, x0: torch.Tensor, steps: int
) -> tuple[list[torch.Tensor], list[torch.Tensor]]:
    """The points ``x_{t_0..t_k}`` and velocities ``v(x_{t_i}, t_i)`` of eq. (3)."""
    check_callable("velocity", velocity)
    x = _check_points("x0", x0)
    steps = check_positive_int("steps", steps)
    h = 1.0 / steps
    points, velocities = [x], []
    for i in range(steps):
        t = torch.full((x.shape[0],), i * h, dtype=x.dtype, device=x.device)
        v = velocity(x, t)
        if not isinstance(v, torch.Tensor) or v.shape != x.shape:
            raise ValueError(
                f"velocity must return a tensor of shape {tuple(x.shape)}, got "
                f"{tuple(v.shape) if isinstance(v, torch.Tensor) else type(v).__name__}"
            )
        x = x + h * v  # eq. (3)
        points.append(x)
        velocities.append(v)
    return points, velocities


@torch.no_grad()
def euler_sample(
    velocity: VelocityFn, x0: torch.Tensor, steps: int, return_trajectory: bool = False
):
    """Integrate ``dx/dt = velocity(x, t)`` from ``t = 0`` to ``1`` in ``steps`` Euler steps.

    ``x0: (batch, dim)`` is the starting noise; the result is a deterministic function of
    it. Returns ``x1: (batch, dim)``, and with ``return_trajectory`` also the list of the
    ``steps + 1`` points ``x_{t_0} = x0, ..., x_{t_k} = x1``.
    """
    points, _ = _euler(velocity, x0, steps)
    return (points[-1], points) if return_trajectory else points[-1]


@torch.no_grad()
def reflow_pairs(
    velocity: VelocityFn, x0: torch.Tensor, steps: int = 50
) -> tuple[torch.Tensor, torch.Tensor]:
    """The coupling ``(x0, x̂1)`` of reflow: ``x̂1`` is the trained flow's image of ``x0``.

    Integrates with ``steps`` Euler steps (eq. 3); a deterministic function of ``x0``.
    Train on the pairs with ``fit(model, flow_matching_loss(), (x1_hat, x0), ...)``.
    """
    x1_hat = euler_sample(velocity, x0, steps)
    return x0, x1_hat


@torch.no_grad()
def straightness(velocity: VelocityFn, x0: torch.Tensor, steps: int = 50) -> float:
    """Liu et al.'s straightness, eq. (4), along the ``steps``-step Euler path from ``x0``.

    The integral over ``t`` becomes the mean over the grid ``t_i = i/k``, and the
    displacement ``Z_1 - Z_0`` of the Euler path is ``h Σ_i v_i``, the mean of the
    velocities used. The squared norm is summed over ``dim`` and averaged over the batch;
    0 for a field that is constant along each path.
    """
    _, velocities = _euler(velocity, x0, steps)
    v = torch.stack(velocities)  # (steps, batch, dim)
    displacement = v.mean(dim=0)  # Z_1 - Z_0 = h Σ v_i
    return float(((displacement - v) ** 2).sum(dim=2).mean())  # eq. (4)


__all__ = [
    "interpolate",
    "cfm_loss",
    "flow_matching_loss",
    "VelocityField",
    "model_velocity",
    "euler_sample",
    "reflow_pairs",
    "straightness",
]
