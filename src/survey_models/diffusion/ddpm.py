"""DDPM and DDIM (survey chapter 3, part 2): one forward process, many samplers.

Everything here is built on a single :class:`NoiseSchedule` — the forward (noising)
process of DDPM (Ho et al. 2020). DDPM ancestral sampling, DDIM (Song et al. 2021),
classifier-free guidance (Ho & Salimans 2022) and latent diffusion (Rombach et al. 2022)
are *functions* that use that one schedule; none re-implements it.

Notation (index ``t`` runs over ``0 .. T-1`` and stands for the paper's step ``t+1``):

.. math::

    q(x_t \\mid x_{t-1}) = \\mathcal N(\\sqrt{1-\\beta_t}\\,x_{t-1}, \\beta_t I)  \\qquad (1)

    q(x_t \\mid x_0) = \\mathcal N(\\sqrt{\\bar\\alpha_t}\\,x_0, (1-\\bar\\alpha_t) I),
    \\quad \\bar\\alpha_t = \\prod_{s\\le t}(1-\\beta_s)  \\qquad (2)

    q(x_{t-1} \\mid x_t, x_0) = \\mathcal N(\\tilde\\mu_t, \\tilde\\beta_t I),\\quad
    \\tilde\\mu_t = \\frac{\\sqrt{\\bar\\alpha_{t-1}}\\beta_t}{1-\\bar\\alpha_t} x_0
    + \\frac{\\sqrt{\\alpha_t}(1-\\bar\\alpha_{t-1})}{1-\\bar\\alpha_t} x_t,\\quad
    \\tilde\\beta_t = \\frac{1-\\bar\\alpha_{t-1}}{1-\\bar\\alpha_t}\\beta_t  \\qquad (3)

    L_\\text{simple} = \\mathbb E_{t,x_0,\\epsilon}
    \\lVert \\epsilon - \\epsilon_\\theta(\\sqrt{\\bar\\alpha_t}x_0+\\sqrt{1-\\bar\\alpha_t}\\epsilon, t)\\rVert^2
    \\qquad (4)

    x_{t'} = \\sqrt{\\bar\\alpha_{t'}}\\,\\hat x_0 + \\sqrt{1-\\bar\\alpha_{t'}-\\sigma^2}\\,\\hat\\epsilon
    + \\sigma z,\\quad
    \\sigma = \\eta\\sqrt{\\tfrac{1-\\bar\\alpha_{t'}}{1-\\bar\\alpha_t}
    \\bigl(1-\\tfrac{\\bar\\alpha_t}{\\bar\\alpha_{t'}}\\bigr)}  \\qquad (5)

    \\tilde\\epsilon = (1+w)\\,\\epsilon_\\theta(x_t, c) - w\\,\\epsilon_\\theta(x_t, \\varnothing)
    \\qquad (6)

Equation (5) is the DDIM update from step ``t`` to an earlier step ``t'``; equation (6)
is classifier-free guidance with weight ``w`` (``w = 0`` is the plain conditional model).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass

import torch
from torch import nn

from .._checks import (
    check_callable,
    check_choice,
    check_int_in,
    check_nonnegative_float,
    check_positive_float,
    check_positive_int,
    check_probability,
    check_tensor,
)

EpsFn = Callable[[torch.Tensor, torch.Tensor], torch.Tensor]


# ---------------------------------------------------------------------------------------
# The forward process: one implementation shared by every sampler
# ---------------------------------------------------------------------------------------
class NoiseSchedule:
    """The variance schedule :math:`\\beta_1..\\beta_T` and every quantity derived from it.

    Args:
        num_steps: ``T``, the number of diffusion steps.
        kind: ``"linear"`` (Ho et al. 2020: β from ``beta_start`` to ``beta_end``) or
            ``"cosine"`` (Nichol & Dhariwal 2021: ᾱ_t = cos²(((t/T)+s)/(1+s)·π/2)).
        beta_start, beta_end: the end points of the linear schedule. The paper uses
            1e-4 and 0.02 for T = 1000; for a short chain :meth:`linear` with
            ``scale_to_1000=True`` rescales them by 1000/T so that ᾱ_T stays near 0.

    All tensors are float64 internally (the products of many ``1-β`` lose precision in
    float32) and are cast to the input's dtype when used.
    """

    def __init__(
        self,
        num_steps: int = 100,
        kind: str = "linear",
        beta_start: float = 1e-4,
        beta_end: float = 0.02,
        scale_to_1000: bool = True,
    ) -> None:
        self.num_steps = check_positive_int("num_steps", num_steps)
        self.kind = check_choice("kind", kind, ("linear", "cosine"))
        beta_start = check_probability("beta_start", beta_start, open_interval=True)
        beta_end = check_probability("beta_end", beta_end, open_interval=True)
        if beta_end < beta_start:
            raise ValueError(
                f"beta_end must be >= beta_start, got beta_end={beta_end} < beta_start={beta_start}"
            )
        T = num_steps
        if kind == "linear":
            scale = 1000.0 / T if scale_to_1000 else 1.0
            if beta_start * scale > min(beta_end * scale, 0.999):
                raise ValueError(
                    f"beta_start={beta_start} scaled by 1000/num_steps gives "
                    f"β_1 = {beta_start * scale:.4g}, above the last β "
                    f"{min(beta_end * scale, 0.999):.4g} (β must stay below 1): "
                    "lower beta_start, or pass scale_to_1000=False"
                )
            betas = torch.linspace(
                beta_start * scale, min(beta_end * scale, 0.999), T, dtype=torch.float64
            )
        else:
            s = 0.008
            steps = torch.arange(T + 1, dtype=torch.float64) / T
            f = torch.cos((steps + s) / (1 + s) * math.pi / 2) ** 2
            abar = f / f[0]
            betas = (1 - abar[1:] / abar[:-1]).clamp(max=0.999)
        self.betas = betas  # β_t
        self.alphas = 1.0 - betas  # α_t = 1 - β_t
        self.alphas_bar = torch.cumprod(self.alphas, dim=0)  # ᾱ_t, eq. (2)
        self.alphas_bar_prev = torch.cat(
            [torch.ones(1, dtype=torch.float64), self.alphas_bar[:-1]]
        )  # ᾱ_{t-1}, ᾱ_0 := 1
        # eq. (3): posterior variance and the two coefficients of the posterior mean
        self.posterior_variance = (1 - self.alphas_bar_prev) / (1 - self.alphas_bar) * betas
        self.posterior_coef_x0 = self.alphas_bar_prev.sqrt() * betas / (1 - self.alphas_bar)
        self.posterior_coef_xt = (
            self.alphas.sqrt() * (1 - self.alphas_bar_prev) / (1 - self.alphas_bar)
        )

    def __repr__(self) -> str:
        return (
            f"NoiseSchedule(num_steps={self.num_steps}, kind={self.kind!r}, "
            f"alpha_bar_T={float(self.alphas_bar[-1]):.2e})"
        )

    # -- helpers -------------------------------------------------------------------------
    def _check_t(self, t: torch.Tensor, batch: int) -> torch.Tensor:
        if not isinstance(t, torch.Tensor):
            raise TypeError(f"t must be a torch.Tensor of step indices, got {type(t).__name__}")
        if t.dtype not in (torch.int64, torch.int32):
            raise TypeError(f"t must be an integer tensor, got dtype {t.dtype}")
        if t.shape != (batch,):
            raise ValueError(f"t must have shape ({batch},), got {tuple(t.shape)}")
        if t.numel() and (int(t.min()) < 0 or int(t.max()) >= self.num_steps):
            raise ValueError(
                f"t must lie in [0, {self.num_steps - 1}], got values in "
                f"[{int(t.min())}, {int(t.max())}]"
            )
        return t.long()

    @staticmethod
    def _gather(values: torch.Tensor, t: torch.Tensor, like: torch.Tensor) -> torch.Tensor:
        """``values[t]`` shaped (batch, 1, ..., 1) to broadcast against ``like``."""
        out = values.to(like.device)[t].to(like.dtype)
        return out.view(-1, *([1] * (like.dim() - 1)))

    def _check_x(self, name: str, x: torch.Tensor) -> torch.Tensor:
        check_tensor(name, x, floating=True)
        if x.dim() < 2:
            raise ValueError(f"{name} must have a batch dimension, got shape {tuple(x.shape)}")
        return x

    # -- forward process ----------------------------------------------------------------
    def q_step(
        self, x_prev: torch.Tensor, t: torch.Tensor, noise: torch.Tensor | None = None
    ) -> torch.Tensor:
        """One noising step, eq. (1): ``x_t = sqrt(1-β_t) x_{t-1} + sqrt(β_t) ε``."""
        self._check_x("x_prev", x_prev)
        t = self._check_t(t, x_prev.shape[0])
        noise = torch.randn_like(x_prev) if noise is None else _same_shape("noise", noise, x_prev)
        beta = self._gather(self.betas, t, x_prev)
        return (1 - beta).sqrt() * x_prev + beta.sqrt() * noise

    def q_sample(
        self, x0: torch.Tensor, t: torch.Tensor, noise: torch.Tensor | None = None
    ) -> torch.Tensor:
        """Sample ``x_t ~ q(x_t | x_0)`` in closed form, eq. (2); ``x0: (batch, ...)``."""
        self._check_x("x0", x0)
        t = self._check_t(t, x0.shape[0])
        noise = torch.randn_like(x0) if noise is None else _same_shape("noise", noise, x0)
        abar = self._gather(self.alphas_bar, t, x0)
        return abar.sqrt() * x0 + (1 - abar).sqrt() * noise

    def q_posterior(
        self, x0: torch.Tensor, xt: torch.Tensor, t: torch.Tensor
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """Mean and variance of ``q(x_{t-1} | x_t, x_0)``, eq. (3). Variance is (batch, 1, ...)."""
        self._check_x("x0", x0)
        self._check_x("xt", xt)
        if x0.shape != xt.shape:
            raise ValueError(
                f"x0 and xt must have the same shape, got {tuple(x0.shape)} and {tuple(xt.shape)}"
            )
        t = self._check_t(t, xt.shape[0])
        mean = (
            self._gather(self.posterior_coef_x0, t, xt) * x0
            + self._gather(self.posterior_coef_xt, t, xt) * xt
        )
        return mean, self._gather(self.posterior_variance, t, xt)

    def predict_x0(self, xt: torch.Tensor, t: torch.Tensor, eps: torch.Tensor) -> torch.Tensor:
        """Invert eq. (2): ``x̂_0 = (x_t - sqrt(1-ᾱ_t) ε) / sqrt(ᾱ_t)``."""
        self._check_x("xt", xt)
        _same_shape("eps", eps, xt)
        t = self._check_t(t, xt.shape[0])
        abar = self._gather(self.alphas_bar, t, xt)
        return (xt - (1 - abar).sqrt() * eps) / abar.sqrt()

    def predict_eps(self, xt: torch.Tensor, t: torch.Tensor, x0: torch.Tensor) -> torch.Tensor:
        """Invert eq. (2) the other way: ``ε = (x_t - sqrt(ᾱ_t) x_0) / sqrt(1-ᾱ_t)``."""
        self._check_x("xt", xt)
        _same_shape("x0", x0, xt)
        t = self._check_t(t, xt.shape[0])
        abar = self._gather(self.alphas_bar, t, xt)
        return (xt - abar.sqrt() * x0) / (1 - abar).sqrt()


def _same_shape(name: str, x: object, like: torch.Tensor) -> torch.Tensor:
    check_tensor(name, x, floating=True)
    assert isinstance(x, torch.Tensor)
    if x.shape != like.shape:
        raise ValueError(f"{name} must have shape {tuple(like.shape)}, got {tuple(x.shape)}")
    return x


def _check_schedule(schedule: object) -> NoiseSchedule:
    if not isinstance(schedule, NoiseSchedule):
        raise TypeError(f"schedule must be a NoiseSchedule, got {type(schedule).__name__}")
    return schedule


def _check_shape(shape: object) -> tuple[int, ...]:
    """A sample shape ``(batch, ...)``: at least two positive ints."""
    if (
        not isinstance(shape, (tuple, list, torch.Size))
        or len(shape) < 2
        or any(isinstance(s, bool) or not isinstance(s, int) or s <= 0 for s in shape)
    ):
        raise ValueError(
            f"shape must be a tuple of at least two positive ints (batch, ...), got {shape!r}"
        )
    return tuple(shape)


# ---------------------------------------------------------------------------------------
# The denoiser ε_θ(x_t, t, c): a small MLP with a sinusoidal time embedding
# ---------------------------------------------------------------------------------------
def timestep_embedding(t: torch.Tensor, dim: int, max_period: float = 10000.0) -> torch.Tensor:
    """Sinusoidal embedding of integer steps ``t: (batch,)`` → ``(batch, dim)`` (Vaswani 2017)."""
    dim = check_positive_int("dim", dim)
    if dim % 2:
        raise ValueError(f"dim must be even, got {dim}")
    check_tensor("t", t, ndim=1)
    max_period = check_positive_float("max_period", max_period)
    half = dim // 2
    freqs = torch.exp(-math.log(max_period) * torch.arange(half, dtype=torch.float32) / half)
    angles = t.float()[:, None] * freqs[None, :]
    return torch.cat([torch.cos(angles), torch.sin(angles)], dim=1)


class Denoiser(nn.Module):
    """``ε_θ(x_t, t, c)``: an MLP that predicts the noise in ``x_t``.

    Args:
        dim: data dimension (2 for the swiss roll, 64 for 8×8 digits, the code width for
            latent diffusion).
        hidden: width of the hidden layers.
        n_layers: number of hidden layers (>= 1).
        num_classes: if given, the model is conditional on a class label; label index
            ``num_classes`` is the "no label" token ∅ used by classifier-free guidance.
        time_dim: width of the sinusoidal step embedding.

    Shapes: ``x: (batch, dim)``, ``t: (batch,)`` long, ``y: (batch,)`` long or ``None``
    (``None`` means ∅ for a conditional model) → ``ε̂: (batch, dim)``.
    """

    def __init__(
        self,
        dim: int,
        hidden: int = 128,
        n_layers: int = 3,
        num_classes: int | None = None,
        time_dim: int = 32,
    ) -> None:
        super().__init__()
        self.dim = check_positive_int("dim", dim)
        self.hidden = check_positive_int("hidden", hidden)
        self.n_layers = check_positive_int("n_layers", n_layers)
        self.time_dim = check_positive_int("time_dim", time_dim)
        if time_dim % 2:
            raise ValueError(f"time_dim must be even, got {time_dim}")
        self.num_classes = (
            None if num_classes is None else check_positive_int("num_classes", num_classes)
        )
        self.time_mlp = nn.Sequential(
            nn.Linear(time_dim, hidden), nn.SiLU(), nn.Linear(hidden, hidden)
        )
        self.label_embedding = (
            None if num_classes is None else nn.Embedding(num_classes + 1, hidden)
        )
        self.input = nn.Linear(dim, hidden)
        self.blocks = nn.ModuleList(
            nn.Sequential(nn.SiLU(), nn.Linear(hidden, hidden)) for _ in range(n_layers)
        )
        self.output = nn.Sequential(nn.SiLU(), nn.Linear(hidden, dim))

    def forward(
        self, x: torch.Tensor, t: torch.Tensor, y: torch.Tensor | None = None
    ) -> torch.Tensor:
        check_tensor("x", x, ndim=2, last_dim=self.dim, floating=True)
        if not isinstance(t, torch.Tensor) or t.shape != (x.shape[0],):
            raise ValueError(f"t must be a tensor of shape ({x.shape[0]},)")
        cond = self.time_mlp(timestep_embedding(t, self.time_dim))
        if self.label_embedding is not None:
            assert self.num_classes is not None
            if y is None:
                y = torch.full((x.shape[0],), self.num_classes, dtype=torch.long, device=x.device)
            if not isinstance(y, torch.Tensor) or y.shape != (x.shape[0],):
                raise ValueError(f"y must be a tensor of shape ({x.shape[0]},)")
            if int(y.min()) < 0 or int(y.max()) > self.num_classes:
                raise ValueError(
                    f"y must lie in [0, {self.num_classes}] "
                    f"({self.num_classes} = no label), got values in "
                    f"[{int(y.min())}, {int(y.max())}]"
                )
            cond = cond + self.label_embedding(y)
        elif y is not None:
            raise ValueError("y was given but the model is unconditional (num_classes=None)")
        h = self.input(x) + cond
        for block in self.blocks:
            h = h + block(h) + cond  # residual block, conditioning added at every layer
        return self.output(h)

    def extra_repr(self) -> str:
        return (
            f"dim={self.dim}, hidden={self.hidden}, n_layers={self.n_layers}, "
            f"num_classes={self.num_classes}"
        )


# ---------------------------------------------------------------------------------------
# Training: the simplified loss, eq. (4), with optional label dropout for guidance
# ---------------------------------------------------------------------------------------
def diffusion_loss(schedule: NoiseSchedule, p_uncond: float = 0.0) -> Callable[..., torch.Tensor]:
    """The simplified DDPM loss of eq. (4) as a ``loss_fn(model, x0, y=None)`` for
    :func:`survey_models.train.fit`.

    ``t`` is drawn uniformly and ``ε`` from N(0, I) with PyTorch's global generator
    (seed it with :func:`survey_models.train.set_seed`). With labels ``y`` and
    ``p_uncond > 0``, each label is replaced by the ∅ token with probability
    ``p_uncond`` — the label dropout that lets one network be both the conditional and
    the unconditional model of classifier-free guidance.
    """
    _check_schedule(schedule)
    p_uncond = check_probability("p_uncond", p_uncond)

    def loss_fn(model: Denoiser, x0: torch.Tensor, y: torch.Tensor | None = None) -> torch.Tensor:
        t = torch.randint(schedule.num_steps, (x0.shape[0],), device=x0.device)
        eps = torch.randn_like(x0)
        xt = schedule.q_sample(x0, t, eps)
        if y is not None and p_uncond > 0:
            assert model.num_classes is not None
            drop = torch.rand(y.shape, device=y.device) < p_uncond
            y = torch.where(drop, torch.full_like(y, model.num_classes), y)
        return ((eps - model(xt, t, y)) ** 2).sum(dim=1).mean()

    return loss_fn


def model_eps(model: Denoiser, y: torch.Tensor | None = None, guidance: float = 0.0) -> EpsFn:
    """Wrap a trained :class:`Denoiser` as ``eps_fn(x, t)`` for the samplers.

    With labels ``y`` and ``guidance = w > 0`` this is classifier-free guidance, eq. (6):
    ``(1+w) ε(x, c) - w ε(x, ∅)``. ``w = 0`` is the plain conditional model.
    """
    check_callable("model", model)
    guidance = check_nonnegative_float("guidance", guidance)
    if guidance > 0 and y is None:
        raise ValueError("guidance > 0 needs labels y")

    @torch.no_grad()
    def eps_fn(x: torch.Tensor, t: torch.Tensor) -> torch.Tensor:
        if y is None:
            return model(x, t)
        eps_c = model(x, t, y)
        if guidance == 0:
            return eps_c
        eps_u = model(x, t, None)
        return (1 + guidance) * eps_c - guidance * eps_u  # eq. (6)

    return eps_fn


# ---------------------------------------------------------------------------------------
# Samplers: functions of (eps_fn, schedule), never copies of the forward process
# ---------------------------------------------------------------------------------------
def _check_clip(clip: float | None) -> float | None:
    return None if clip is None else check_positive_float("clip", clip)


def ddpm_step(
    schedule: NoiseSchedule,
    xt: torch.Tensor,
    t: torch.Tensor,
    eps: torch.Tensor,
    noise: torch.Tensor | None = None,
    clip: float | None = None,
) -> tuple[torch.Tensor, torch.Tensor]:
    """One ancestral step ``x_t → x_{t-1}`` of DDPM; returns ``(x_{t-1}, x̂_0)``.

    The mean is the posterior mean of eq. (3) with ``x_0`` replaced by its prediction
    ``x̂_0`` (optionally clipped to ``[-clip, clip]``); the variance is ``β̃_t``. No noise
    is added at ``t = 0``.
    """
    clip = _check_clip(clip)
    x0_hat = _check_schedule(schedule).predict_x0(xt, t, eps)
    if clip is not None:
        x0_hat = x0_hat.clamp(-clip, clip)
    mean, var = schedule.q_posterior(x0_hat, xt, t)
    noise = torch.randn_like(xt) if noise is None else _same_shape("noise", noise, xt)
    nonzero = (t > 0).to(xt.dtype).view(-1, *([1] * (xt.dim() - 1)))
    return mean + nonzero * var.sqrt() * noise, x0_hat


@torch.no_grad()
def ddpm_sample(
    eps_fn: EpsFn,
    schedule: NoiseSchedule,
    shape: tuple[int, ...],
    generator: torch.Generator | None = None,
    clip: float | None = None,
    return_trajectory: bool = False,
):
    """Ancestral sampling (Ho et al. 2020, Algorithm 2): ``T`` network calls from N(0, I).

    Returns samples of ``shape``; with ``return_trajectory`` also the list of ``x_t``
    from ``x_T`` down to ``x_0``.
    """
    check_callable("eps_fn", eps_fn)
    _check_schedule(schedule)
    shape = _check_shape(shape)
    x = torch.randn(shape, generator=generator)
    traj = [x]
    for step in reversed(range(schedule.num_steps)):
        t = torch.full((shape[0],), step, dtype=torch.long)
        noise = torch.randn(shape, generator=generator)
        x, _ = ddpm_step(schedule, x, t, eps_fn(x, t), noise=noise, clip=clip)
        traj.append(x)
    return (x, traj) if return_trajectory else x


def ddim_sigma(schedule: NoiseSchedule, t: int, t_prev: int, eta: float) -> float:
    """The noise scale σ of eq. (5) for a DDIM step ``t → t_prev`` (``t_prev = -1`` is x_0).

    With ``eta = 1`` and ``t_prev = t - 1``, ``σ²`` equals DDPM's posterior variance β̃_t.
    """
    _check_schedule(schedule)
    eta = check_nonnegative_float("eta", eta)
    check_int_in("t", t, 0, schedule.num_steps)
    if isinstance(t_prev, bool) or not isinstance(t_prev, int):
        raise TypeError(f"t_prev must be an int, got {type(t_prev).__name__}")
    if not -1 <= t_prev < t:
        raise ValueError(f"t_prev must lie in [-1, t-1] = [-1, {t - 1}], got {t_prev}")
    abar_t = float(schedule.alphas_bar[t])
    abar_prev = 1.0 if t_prev < 0 else float(schedule.alphas_bar[t_prev])
    return eta * math.sqrt((1 - abar_prev) / (1 - abar_t) * (1 - abar_t / abar_prev))


def ddim_step(
    schedule: NoiseSchedule,
    xt: torch.Tensor,
    t: int,
    t_prev: int,
    eps: torch.Tensor,
    eta: float = 0.0,
    noise: torch.Tensor | None = None,
    clip: float | None = None,
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """One DDIM update ``x_t → x_{t_prev}``, eq. (5); returns ``(x_prev, x̂_0, ε̂)``.

    When ``clip`` is set, ``x̂_0`` is clipped and **ε̂ is re-derived from the clipped x̂_0**
    (``ε̂ = (x_t - sqrt(ᾱ_t) x̂_0)/sqrt(1-ᾱ_t)``). Keeping the network's raw ε with a
    clipped x̂_0 makes the two halves of eq. (5) disagree, and the sampler drifts.
    """
    clip = _check_clip(clip)
    sigma = ddim_sigma(schedule, t, t_prev, eta)
    schedule._check_x("xt", xt)
    tt = torch.full((xt.shape[0],), t, dtype=torch.long)
    x0_hat = schedule.predict_x0(xt, tt, eps)
    if clip is not None:
        x0_hat = x0_hat.clamp(-clip, clip)
        eps = schedule.predict_eps(xt, tt, x0_hat)
    abar_prev = 1.0 if t_prev < 0 else float(schedule.alphas_bar[t_prev])
    direction = math.sqrt(max(1 - abar_prev - sigma**2, 0.0))
    x_prev = math.sqrt(abar_prev) * x0_hat + direction * eps
    if sigma > 0:
        noise = torch.randn_like(xt) if noise is None else _same_shape("noise", noise, xt)
        x_prev = x_prev + sigma * noise
    return x_prev, x0_hat, eps


def ddim_timesteps(num_steps: int, sampling_steps: int) -> list[int]:
    """Evenly spaced step indices, descending, for a ``sampling_steps``-step DDIM run."""
    check_positive_int("num_steps", num_steps)
    check_positive_int("sampling_steps", sampling_steps)
    if sampling_steps > num_steps:
        raise ValueError(f"sampling_steps must be <= num_steps={num_steps}, got {sampling_steps}")
    ts = torch.linspace(num_steps - 1, 0, sampling_steps).round().long().tolist()
    return sorted(set(ts), reverse=True)


@torch.no_grad()
def ddim_sample(
    eps_fn: EpsFn,
    schedule: NoiseSchedule,
    shape: tuple[int, ...],
    sampling_steps: int | None = None,
    eta: float = 0.0,
    generator: torch.Generator | None = None,
    clip: float | None = None,
) -> torch.Tensor:
    """DDIM sampling (Song et al. 2021) on a sub-sequence of ``sampling_steps`` steps.

    ``eta = 0`` is deterministic given ``x_T``; ``eta = 1`` is DDPM-like ancestral
    sampling on the sub-sequence. ``sampling_steps`` defaults to all ``T`` steps.
    """
    check_callable("eps_fn", eps_fn)
    _check_schedule(schedule)
    shape = _check_shape(shape)
    check_nonnegative_float("eta", eta)
    if sampling_steps is None:
        sampling_steps = schedule.num_steps
    steps = ddim_timesteps(schedule.num_steps, sampling_steps)
    x = torch.randn(shape, generator=generator)
    for i, t in enumerate(steps):
        t_prev = steps[i + 1] if i + 1 < len(steps) else -1
        tt = torch.full((shape[0],), t, dtype=torch.long)
        noise = torch.randn(shape, generator=generator)
        x, _, _ = ddim_step(schedule, x, t, t_prev, eps_fn(x, tt), eta=eta, noise=noise, clip=clip)
    return x


# ---------------------------------------------------------------------------------------
# Latent diffusion: the same schedule and samplers, run on an autoencoder's codes
# ---------------------------------------------------------------------------------------
@dataclass
class LatentCodec:
    """Maps data to standardised latents and back, around a trained autoencoder.

    ``encode(x) = (E(x) - mean) / std`` and ``decode(z) = D(z * std + mean)``, so the
    diffusion model sees latents of roughly unit scale, as in Rombach et al. (2022),
    who rescale their latents for the same reason.
    """

    encoder: Callable[[torch.Tensor], torch.Tensor]
    decoder: Callable[[torch.Tensor], torch.Tensor]
    mean: torch.Tensor
    std: torch.Tensor

    @classmethod
    def fit(
        cls,
        encoder: Callable[[torch.Tensor], torch.Tensor],
        decoder: Callable[[torch.Tensor], torch.Tensor],
        x: torch.Tensor,
    ) -> LatentCodec:
        """Estimate the per-coordinate latent mean and std on data ``x`` (at least 2 rows)."""
        check_callable("encoder", encoder)
        check_callable("decoder", decoder)
        check_tensor("x", x, min_rows=2)
        with torch.no_grad():
            z = encoder(x)
        return cls(encoder, decoder, z.mean(0), z.std(0).clamp_min(1e-4))

    @torch.no_grad()
    def encode(self, x: torch.Tensor) -> torch.Tensor:
        return (self.encoder(x) - self.mean) / self.std

    @torch.no_grad()
    def decode(self, z: torch.Tensor) -> torch.Tensor:
        return self.decoder(z * self.std + self.mean)


__all__ = [
    "NoiseSchedule",
    "Denoiser",
    "timestep_embedding",
    "diffusion_loss",
    "model_eps",
    "ddpm_step",
    "ddpm_sample",
    "ddim_sigma",
    "ddim_step",
    "ddim_timesteps",
    "ddim_sample",
    "LatentCodec",
]
