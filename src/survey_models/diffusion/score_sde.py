"""Score-based models and the SDE view of diffusion (survey chapter 3, part 3, section 1).

Denoising score matching (Vincent 2011) trains a network to point from a noisy point back
towards the data; NCSN (Song & Ermon 2019) does it at many noise levels and samples with
Langevin dynamics. Song et al. (2021, "Score-based generative modeling through stochastic
differential equations") let the noise level run continuously in ``t ∈ [ε, 1]``: the
forward process is a stochastic differential equation (SDE), DDPM is its discretisation,
and two samplers follow from one trained score — the reverse-time SDE (Anderson 1982) and
a deterministic probability-flow ODE with the same marginals, of which DDIM is a
discretisation.

Notation: ``β(t)`` is linear from ``β_min`` to ``β_max``; ``m(t)`` and ``σ(t)`` are the
mean coefficient and standard deviation of the marginal; ``s(x, t) = ∇_x log p_t(x)`` is
the score and ``ε(x, t)`` the noise prediction of :class:`~survey_models.diffusion.ddpm.Denoiser`.

.. math::

    \\mathbb E_{x,\\tilde x}\\bigl\\lVert s_\\theta(\\tilde x, \\sigma)
    - \\nabla_{\\tilde x}\\log q_\\sigma(\\tilde x \\mid x)\\bigr\\rVert^2,\\quad
    \\nabla_{\\tilde x}\\log q_\\sigma(\\tilde x \\mid x) = -\\frac{\\tilde x - x}{\\sigma^2}
    \\qquad (1)

    dx = -\\tfrac12\\beta(t)\\,x\\,dt + \\sqrt{\\beta(t)}\\,dw,\\quad
    \\beta(t) = \\beta_\\min + t(\\beta_\\max - \\beta_\\min)  \\qquad (2)

    x_t \\mid x_0 \\sim \\mathcal N\\bigl(m(t)\\,x_0, \\sigma(t)^2 I\\bigr),\\quad
    m(t) = e^{-\\frac14 t^2(\\beta_\\max-\\beta_\\min) - \\frac12 t\\beta_\\min},\\quad
    \\sigma(t)^2 = 1 - m(t)^2  \\qquad (3)

    dx = \\bigl[f(x,t) - g(t)^2\\,s(x,t)\\bigr]dt + g(t)\\,d\\bar w
    \\quad (t \\text{ runs from 1 down to } \\varepsilon)  \\qquad (4)

    \\frac{dx}{dt} = f(x,t) - \\tfrac12 g(t)^2\\,s(x,t)  \\qquad (5)

    s(x,t) = -\\frac{\\epsilon(x,t)}{\\sigma(t)}  \\qquad (6)

    L = \\mathbb E_{t\\sim U[\\varepsilon,1],\\,x_0,\\,\\epsilon}
    \\bigl\\lVert \\epsilon - \\epsilon_\\theta\\bigl(m(t)x_0 + \\sigma(t)\\epsilon, t\\bigr)\\bigr\\rVert^2
    \\qquad (7)

    \\beta_i = \\beta(t_i)/N \\;\\Rightarrow\\; \\bar\\alpha_i = \\prod_{j\\le i}(1-\\beta_j)
    = m(t_{i+1})^2 + O(1/N)  \\qquad (8)

Equation (1) is denoising score matching with a Gaussian kernel; (2) is the
variance-preserving (VP) SDE with drift ``f(x, t) = -½β(t)x`` and diffusion ``g(t) = √β(t)``;
(3) its closed-form marginal; (4) the reverse-time SDE; (5) the probability-flow (PF) ODE;
(6) the identity between score and noise prediction (for a Gaussian kernel the target of
(1) is ``-ε/σ``); (7) the ε-parametrised DSM loss, i.e. (1) weighted by ``σ(t)²``, the DDPM
loss with continuous ``t``; (8) the discretisation that turns (2) into DDPM's linear
schedule (:meth:`VPSDE.ddpm_schedule`).
"""

from __future__ import annotations

import math
from collections.abc import Callable

import torch
from torch import nn

from .._checks import (
    check_callable,
    check_choice,
    check_module,
    check_positive_float,
    check_positive_int,
    check_tensor,
)
from .ddpm import Denoiser, NoiseSchedule, _check_shape, _same_shape

EpsFn = Callable[[torch.Tensor, torch.Tensor], torch.Tensor]


# ---------------------------------------------------------------------------------------
# The forward SDE: eq. (2) and its marginal, eq. (3)
# ---------------------------------------------------------------------------------------
class VPSDE:
    """The variance-preserving SDE of eq. (2) on ``t ∈ [eps, 1]`` with a linear ``β(t)``.

    Args:
        beta_min, beta_max: ``β(0)`` and ``β(1)``. The defaults 0.1 and 20 are those of
            Song et al. (2021); they are DDPM's 1e-4 and 0.02 times ``N = 1000``, eq. (8).
        eps: the smallest time used by the loss and the samplers (``σ(t) → 0`` as
            ``t → 0``, so the score is not defined at ``t = 0``); Song et al. sample with 1e-3.

    Times ``t`` are floats or floating-point tensors with values in ``[0, 1]``; every
    method returns a tensor of ``t``'s shape (float64 for a Python float).
    """

    def __init__(self, beta_min: float = 0.1, beta_max: float = 20.0, eps: float = 1e-3) -> None:
        self.beta_min = check_positive_float("beta_min", beta_min)
        self.beta_max = check_positive_float("beta_max", beta_max)
        if beta_max < beta_min:
            raise ValueError(
                f"beta_max must be >= beta_min, got beta_max={beta_max} < beta_min={beta_min}"
            )
        self.eps = check_positive_float("eps", eps)
        if eps >= 1:
            raise ValueError(f"eps must lie in (0, 1), got {eps}")

    def __repr__(self) -> str:
        return f"VPSDE(beta_min={self.beta_min}, beta_max={self.beta_max}, eps={self.eps})"

    @staticmethod
    def _time(t: torch.Tensor | float) -> torch.Tensor:
        if isinstance(t, (int, float)) and not isinstance(t, bool):
            t = torch.tensor(float(t), dtype=torch.float64)
        check_tensor("t", t, floating=True)
        assert isinstance(t, torch.Tensor)
        if t.numel() and not bool(((t >= 0) & (t <= 1)).all()):
            raise ValueError(
                f"t must lie in [0, 1], got values in [{float(t.min()):.4g}, {float(t.max()):.4g}]"
            )
        return t

    def beta(self, t: torch.Tensor | float) -> torch.Tensor:
        """``β(t) = β_min + t(β_max - β_min)``, eq. (2)."""
        t = self._time(t)
        return self.beta_min + t * (self.beta_max - self.beta_min)

    def log_mean_coef(self, t: torch.Tensor | float) -> torch.Tensor:
        """``log m(t) = -½∫_0^t β(s) ds = -¼t²(β_max-β_min) - ½tβ_min``, eq. (3)."""
        t = self._time(t)
        return -0.25 * t**2 * (self.beta_max - self.beta_min) - 0.5 * t * self.beta_min

    def mean_coef(self, t: torch.Tensor | float) -> torch.Tensor:
        """``m(t)``, the coefficient of ``x_0`` in the mean of ``x_t``, eq. (3)."""
        return self.log_mean_coef(t).exp()

    def std(self, t: torch.Tensor | float) -> torch.Tensor:
        """``σ(t) = sqrt(1 - m(t)²)``, eq. (3) (``-expm1`` keeps it accurate for small t)."""
        return (-torch.expm1(2 * self.log_mean_coef(t))).sqrt()

    def drift(self, x: torch.Tensor, t: torch.Tensor) -> torch.Tensor:
        """``f(x, t) = -½β(t)x``, eq. (2); ``x: (batch, dim)``, ``t: (batch,)``."""
        return -0.5 * _col(self.beta(t), x) * x

    def diffusion(self, t: torch.Tensor | float) -> torch.Tensor:
        """``g(t) = sqrt(β(t))``, eq. (2)."""
        return self.beta(t).sqrt()

    def marginal_sample(
        self, x0: torch.Tensor, t: torch.Tensor, noise: torch.Tensor | None = None
    ) -> torch.Tensor:
        """``x_t = m(t) x_0 + σ(t) ε``, eq. (3); ``x0: (batch, dim)``, ``t: (batch,)``."""
        _check_x("x0", x0)
        _check_batch_time(t, x0)
        noise = torch.randn_like(x0) if noise is None else _same_shape("noise", noise, x0)
        return _col(self.mean_coef(t), x0) * x0 + _col(self.std(t), x0) * noise

    def ddpm_schedule(self, num_steps: int) -> NoiseSchedule:
        """DDPM's linear schedule with ``β_i = β(t_i)/N``, eq. (8): ``N = num_steps`` steps.

        With the defaults (0.1, 20) this is exactly ``NoiseSchedule(N, "linear")``; its
        ``ᾱ_i`` approaches ``m((i+1)/N)²`` with an error of order ``1/N``.
        """
        num_steps = check_positive_int("num_steps", num_steps)
        return NoiseSchedule(
            num_steps,
            kind="linear",
            beta_start=self.beta_min / 1000,
            beta_end=self.beta_max / 1000,
            scale_to_1000=True,
        )


def _col(values: torch.Tensor, like: torch.Tensor) -> torch.Tensor:
    """A per-row coefficient ``(batch,)`` (or a scalar) shaped to broadcast over ``like``."""
    values = values.to(device=like.device, dtype=like.dtype)
    return values.view(-1, *([1] * (like.dim() - 1))) if values.dim() else values


def _check_x(name: str, x: object) -> torch.Tensor:
    check_tensor(name, x, ndim=2, floating=True)
    assert isinstance(x, torch.Tensor)
    return x


def _check_batch_time(t: object, x: torch.Tensor) -> torch.Tensor:
    check_tensor("t", t, floating=True)
    assert isinstance(t, torch.Tensor)
    if t.shape != (x.shape[0],):
        raise ValueError(f"t must have shape ({x.shape[0]},), got {tuple(t.shape)}")
    return t


def _check_sde(sde: object) -> VPSDE:
    if not isinstance(sde, VPSDE):
        raise TypeError(f"sde must be a VPSDE, got {type(sde).__name__}")
    return sde


# ---------------------------------------------------------------------------------------
# The network: DDPM's Denoiser, fed continuous time
# ---------------------------------------------------------------------------------------
class ContinuousTimeDenoiser(nn.Module):
    """``ε_θ(x, t)`` for continuous ``t ∈ [0, 1]``: a :class:`Denoiser` fed ``time_scale · t``.

    :func:`~survey_models.diffusion.ddpm.timestep_embedding` accepts real-valued steps,
    but its frequencies are made for steps 0..1000; ``time_scale = 1000`` maps ``t`` onto
    that range (Song et al. feed ``999 t`` to their DDPM networks for the same reason).

    Shapes: ``x: (batch, dim)``, ``t: (batch,)`` float → ``ε̂: (batch, dim)``.
    """

    def __init__(self, denoiser: Denoiser, time_scale: float = 1000.0) -> None:
        super().__init__()
        check_module("denoiser", denoiser)
        if not isinstance(denoiser, Denoiser) or denoiser.num_classes is not None:
            raise TypeError("denoiser must be an unconditional Denoiser (num_classes=None)")
        self.denoiser = denoiser
        self.time_scale = check_positive_float("time_scale", time_scale)

    def forward(self, x: torch.Tensor, t: torch.Tensor) -> torch.Tensor:
        check_tensor("x", x, ndim=2, last_dim=self.denoiser.dim, floating=True)
        _check_batch_time(t, x)
        return self.denoiser(x, self.time_scale * t)

    def extra_repr(self) -> str:
        return f"time_scale={self.time_scale}"


def score_from_eps(sde: VPSDE, eps: torch.Tensor, t: torch.Tensor) -> torch.Tensor:
    """``s(x, t) = -ε(x, t)/σ(t)``, eq. (6); ``eps: (batch, dim)``, ``t: (batch,)``."""
    _check_sde(sde)
    _check_x("eps", eps)
    _check_batch_time(t, eps)
    return -eps / _col(sde.std(t), eps)


def gaussian_eps(sde: VPSDE, data_std: float) -> EpsFn:
    """The exact ``ε(x, t)`` when the data are ``N(0, data_std² I)``: a known answer.

    Then ``p_t = N(0, v(t) I)`` with ``v(t) = m(t)² data_std² + σ(t)²``, the score is
    ``-x/v(t)`` and, by eq. (6), ``ε(x, t) = σ(t) x / v(t)``.
    """
    _check_sde(sde)
    data_std = check_positive_float("data_std", data_std)

    def eps_fn(x: torch.Tensor, t: torch.Tensor) -> torch.Tensor:
        m, s = _col(sde.mean_coef(t), x), _col(sde.std(t), x)
        return s * x / (m**2 * data_std**2 + s**2)

    return eps_fn


# ---------------------------------------------------------------------------------------
# Training: the ε-parametrised denoising score matching loss, eq. (7)
# ---------------------------------------------------------------------------------------
def dsm_loss(sde: VPSDE) -> Callable[..., torch.Tensor]:
    """The DSM loss of eq. (7) as a ``loss_fn(model, x0)`` for :func:`survey_models.train.fit`.

    ``model(x_t, t)`` predicts the noise (e.g. a :class:`ContinuousTimeDenoiser`);
    ``t ~ U[eps, 1]`` and ``ε ~ N(0, I)`` come from PyTorch's global generator. Wrap the
    trained model for the samplers with :func:`survey_models.diffusion.ddpm.model_eps`.
    """
    _check_sde(sde)

    def loss_fn(model: nn.Module, x0: torch.Tensor) -> torch.Tensor:
        t = sde.eps + (1 - sde.eps) * torch.rand(x0.shape[0], device=x0.device, dtype=x0.dtype)
        eps = torch.randn_like(x0)
        xt = sde.marginal_sample(x0, t, eps)  # eq. (3)
        return ((eps - model(xt, t)) ** 2).sum(dim=1).mean()  # eq. (7)

    return loss_fn


# ---------------------------------------------------------------------------------------
# Samplers: the reverse SDE (4) and the probability-flow ODE (5)
# ---------------------------------------------------------------------------------------
def _time_grid(start: float, end: float, steps: int) -> torch.Tensor:
    return torch.linspace(start, end, steps + 1, dtype=torch.float64)


@torch.no_grad()
def reverse_sde_sample(
    eps_fn: EpsFn,
    sde: VPSDE,
    shape: tuple[int, ...],
    steps: int = 500,
    generator: torch.Generator | None = None,
    dtype: torch.dtype = torch.float32,
    return_trajectory: bool = False,
):
    """Euler–Maruyama on the reverse-time SDE (4) from ``x_1 ~ N(0, I)`` down to ``t = eps``.

    Each step from ``t`` to ``t + Δt`` (``Δt = -(1-eps)/steps < 0``) is
    ``x ← x + [f(x,t) - g(t)² s(x,t)] Δt + g(t) sqrt(|Δt|) z`` with the score from eq. (6);
    as in Song et al., the last step adds no noise. Returns samples of ``shape =
    (batch, dim)``; with ``return_trajectory`` also the list of the ``steps + 1`` states.
    """
    check_callable("eps_fn", eps_fn)
    _check_sde(sde)
    shape = _check_shape(shape)
    if len(shape) != 2:
        raise ValueError(f"shape must be (batch, dim), got {shape!r}")
    steps = check_positive_int("steps", steps)
    ts = _time_grid(1.0, sde.eps, steps)
    x = torch.randn(shape, generator=generator, dtype=dtype)
    traj = [x]
    for k in range(steps):
        t = torch.full((shape[0],), float(ts[k]), dtype=dtype)
        dt = float(ts[k + 1] - ts[k])  # negative: time runs backwards
        score = score_from_eps(sde, eps_fn(x, t), t)  # eq. (6)
        g = _col(sde.diffusion(t), x)
        x = x + (sde.drift(x, t) - g**2 * score) * dt  # eq. (4), drift part
        if k + 1 < steps:
            z = torch.randn(shape, generator=generator, dtype=dtype)
            x = x + g * math.sqrt(-dt) * z  # eq. (4), noise part
        traj.append(x)
    return (x, traj) if return_trajectory else x


def pf_ode_velocity(eps_fn: EpsFn, sde: VPSDE, x: torch.Tensor, t: torch.Tensor) -> torch.Tensor:
    """The right-hand side of the PF-ODE (5): ``-½β(t)[x + s(x, t)]`` with ``s = -ε/σ``."""
    score = score_from_eps(sde, eps_fn(x, t), t)  # eq. (6)
    return sde.drift(x, t) - 0.5 * _col(sde.beta(t), x) * score  # eq. (5)


@torch.no_grad()
def pf_ode_solve(
    eps_fn: EpsFn,
    sde: VPSDE,
    x: torch.Tensor,
    t_start: float,
    t_end: float,
    steps: int = 100,
    method: str = "heun",
    return_trajectory: bool = False,
):
    """Integrate the PF-ODE (5) from ``t_start`` to ``t_end`` in ``steps`` fixed steps.

    ``method`` is ``"euler"`` (one network call per step) or ``"heun"`` (two; second
    order). Deterministic: equal inputs give bitwise-equal outputs. ``x: (batch, dim)``.
    """
    check_callable("eps_fn", eps_fn)
    _check_sde(sde)
    _check_x("x", x)
    steps = check_positive_int("steps", steps)
    method = check_choice("method", method, ("euler", "heun"))
    for name, value in (("t_start", t_start), ("t_end", t_end)):
        check_positive_float(name, value)
        if not sde.eps <= value <= 1:
            raise ValueError(f"{name} must lie in [eps, 1] = [{sde.eps}, 1], got {value}")
    ts = _time_grid(t_start, t_end, steps)
    traj = [x]
    for k in range(steps):
        t = torch.full((x.shape[0],), float(ts[k]), dtype=x.dtype, device=x.device)
        t_next = torch.full_like(t, float(ts[k + 1]))
        h = float(ts[k + 1] - ts[k])
        d1 = pf_ode_velocity(eps_fn, sde, x, t)
        if method == "euler":
            x = x + h * d1
        else:  # Heun: average the slopes at both ends of the step
            d2 = pf_ode_velocity(eps_fn, sde, x + h * d1, t_next)
            x = x + 0.5 * h * (d1 + d2)
        traj.append(x)
    return (x, traj) if return_trajectory else x


def encode(
    eps_fn: EpsFn, sde: VPSDE, x0: torch.Tensor, steps: int = 100, method: str = "heun"
) -> torch.Tensor:
    """Data → noise: the PF-ODE (5) from ``t = eps`` to ``t = 1``; ``x0: (batch, dim)``."""
    return pf_ode_solve(eps_fn, _check_sde(sde), x0, sde.eps, 1.0, steps, method)


def decode(
    eps_fn: EpsFn, sde: VPSDE, z: torch.Tensor, steps: int = 100, method: str = "heun"
) -> torch.Tensor:
    """Noise → data: the PF-ODE (5) from ``t = 1`` to ``t = eps``; ``z: (batch, dim)``."""
    return pf_ode_solve(eps_fn, _check_sde(sde), z, 1.0, sde.eps, steps, method)


__all__ = [
    "VPSDE",
    "ContinuousTimeDenoiser",
    "score_from_eps",
    "gaussian_eps",
    "dsm_loss",
    "reverse_sde_sample",
    "pf_ode_velocity",
    "pf_ode_solve",
    "encode",
    "decode",
]
