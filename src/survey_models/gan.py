"""Generative adversarial networks: the losses, small generators and discriminators, and
one training loop shared by every adversarial model in the codebook.

The losses are small named functions written as their equations. ``D`` outputs a logit
(``σ(D)`` is the probability "real"); ``f`` is a critic's unbounded score.

.. math::

    L_D^{\\mathrm{GAN}} = -\\mathbb{E}_x \\log \\sigma(D(x))
        - \\mathbb{E}_z \\log(1 - \\sigma(D(G(z))))                       \\qquad (1)

    L_G^{\\mathrm{sat}} = \\mathbb{E}_z \\log(1 - \\sigma(D(G(z))))           \\qquad (2)

    L_G^{\\mathrm{ns}} = -\\mathbb{E}_z \\log \\sigma(D(G(z)))                 \\qquad (3)

    L_f^{\\mathrm{WGAN}} = \\mathbb{E}_z f(G(z)) - \\mathbb{E}_x f(x),\\quad
    L_G^{\\mathrm{WGAN}} = -\\mathbb{E}_z f(G(z))                           \\qquad (4)

    \\mathrm{GP} = \\mathbb{E}_{\\hat x}\\,(\\lVert \\nabla_{\\hat x} f(\\hat x)\\rVert_2 - 1)^2,
    \\quad \\hat x = \\epsilon x + (1-\\epsilon) G(z),\\ \\epsilon \\sim U[0,1]  \\qquad (5)

    L_D^{\\mathrm{hinge}} = \\mathbb{E}_x \\max(0, 1 - f(x))
        + \\mathbb{E}_z \\max(0, 1 + f(G(z))),\\quad
    L_G^{\\mathrm{hinge}} = -\\mathbb{E}_z f(G(z))                          \\qquad (6)

(1)-(3): Goodfellow et al. 2014; (4): Arjovsky et al. 2017; (5): Gulrajani et al. 2017;
(6) with the projection discriminator and truncation: Miyato & Koyama 2018, Brock et al.
2019.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from dataclasses import dataclass, field

import torch
from torch import nn
from torch.nn.functional import relu, softplus

from ._checks import (
    check_callable,
    check_choice,
    check_finite_tensor,
    check_module,
    check_nonnegative_float,
    check_positive_float,
    check_positive_int,
    check_probability,
    check_seed,
    check_tensor,
)
from .train import clear_grads

# ---------------------------------------------------------------------------------------
# losses
# ---------------------------------------------------------------------------------------


def _logits(name: str, t: object) -> torch.Tensor:
    check_tensor(name, t, floating=True)
    assert isinstance(t, torch.Tensor)
    if t.dim() == 2 and t.shape[1] == 1:
        t = t[:, 0]
    if t.dim() != 1:
        raise ValueError(f"{name} must have shape (batch,) or (batch, 1), got {tuple(t.shape)}")
    return t


def discriminator_loss(real_logits: torch.Tensor, fake_logits: torch.Tensor) -> torch.Tensor:
    """Equation (1): ``-E log σ(D(x)) - E log(1 - σ(D(G(z))))``.

    Uses ``log σ(a) = -softplus(-a)`` and ``log(1 - σ(a)) = -softplus(a)``.
    """
    real_logits, fake_logits = (
        _logits("real_logits", real_logits),
        _logits("fake_logits", fake_logits),
    )
    return softplus(-real_logits).mean() + softplus(fake_logits).mean()


def generator_loss_saturating(fake_logits: torch.Tensor) -> torch.Tensor:
    """Equation (2), the minimax generator loss ``E log(1 - σ(D(G(z))))`` (to minimise)."""
    return -softplus(_logits("fake_logits", fake_logits)).mean()


def generator_loss_nonsaturating(fake_logits: torch.Tensor) -> torch.Tensor:
    """Equation (3), the non-saturating generator loss ``-E log σ(D(G(z)))``."""
    return softplus(-_logits("fake_logits", fake_logits)).mean()


def critic_loss_wasserstein(real_scores: torch.Tensor, fake_scores: torch.Tensor) -> torch.Tensor:
    """Equation (4), critic side: ``E f(G(z)) - E f(x)``; its negative estimates W1."""
    return _logits("fake_scores", fake_scores).mean() - _logits("real_scores", real_scores).mean()


def generator_loss_wasserstein(fake_scores: torch.Tensor) -> torch.Tensor:
    """Equation (4), generator side: ``-E f(G(z))`` (also the hinge generator loss (6))."""
    return -_logits("fake_scores", fake_scores).mean()


def discriminator_loss_hinge(real_scores: torch.Tensor, fake_scores: torch.Tensor) -> torch.Tensor:
    """Equation (6): ``E max(0, 1 - f(x)) + E max(0, 1 + f(G(z)))``."""
    return (
        relu(1 - _logits("real_scores", real_scores)).mean()
        + relu(1 + _logits("fake_scores", fake_scores)).mean()
    )


generator_loss_hinge = generator_loss_wasserstein


def gradient_penalty(
    critic: Callable[..., torch.Tensor],
    real: torch.Tensor,
    fake: torch.Tensor,
    *critic_args: torch.Tensor,
    generator: torch.Generator | None = None,
    epsilon: torch.Tensor | None = None,
) -> torch.Tensor:
    """Equation (5): ``E (|∇f(x̂)|₂ - 1)²`` at random interpolates of real and fake rows.

    ``real``, ``fake``: ``(batch, ...)`` of equal shape; ``critic_args`` (e.g. labels) are
    passed to the critic after ``x̂``. ``epsilon: (batch,)`` fixes the interpolation
    weights (drawn from U[0, 1] when ``None``). Differentiable (``create_graph=True``).
    """
    check_callable("critic", critic)
    check_tensor("real", real, floating=True)
    check_tensor("fake", fake, floating=True)
    if real.shape != fake.shape:
        raise ValueError(
            f"real and fake must have the same shape, got {tuple(real.shape)} "
            f"and {tuple(fake.shape)}"
        )
    n = real.shape[0]
    if epsilon is None:
        epsilon = torch.rand(n, generator=generator)
    check_tensor("epsilon", epsilon, ndim=1, floating=True)
    if epsilon.shape[0] != n:
        raise ValueError(f"epsilon must have shape ({n},), got {tuple(epsilon.shape)}")
    eps = epsilon.reshape(n, *([1] * (real.dim() - 1)))
    x_hat = (eps * real.detach() + (1 - eps) * fake.detach()).requires_grad_(True)
    scores = critic(x_hat, *critic_args)
    (grad,) = torch.autograd.grad(scores.sum(), x_hat, create_graph=True)
    return ((grad.reshape(n, -1).norm(dim=1) - 1) ** 2).mean()


LOSSES: dict[str, tuple[Callable, Callable]] = {
    "saturating": (discriminator_loss, generator_loss_saturating),
    "nonsaturating": (discriminator_loss, generator_loss_nonsaturating),
    "wasserstein": (critic_loss_wasserstein, generator_loss_wasserstein),
    "hinge": (discriminator_loss_hinge, generator_loss_hinge),
}


# ---------------------------------------------------------------------------------------
# latent sampling and truncation
# ---------------------------------------------------------------------------------------


def truncated_normal(
    n: int, dim: int, psi: float | None = None, generator: torch.Generator | None = None
) -> torch.Tensor:
    """``(n, dim)`` standard normal draws; with ``psi`` every entry with ``|z| > psi`` is
    redrawn until it falls inside — the truncation trick of BigGAN (Brock et al. 2019)."""
    n, dim = check_positive_int("n", n), check_positive_int("dim", dim)
    z = torch.randn(n, dim, generator=generator)
    if psi is None:
        return z
    psi = check_positive_float("psi", psi)
    outside = z.abs() > psi
    while outside.any():
        z[outside] = torch.randn(int(outside.sum()), generator=generator)
        outside = z.abs() > psi
    return z


# ---------------------------------------------------------------------------------------
# MLP and convolutional generators / discriminators
# ---------------------------------------------------------------------------------------

_OUT = {"sigmoid": nn.Sigmoid, "identity": nn.Identity, "tanh": nn.Tanh}


class MLPGenerator(nn.Module):
    """``z: (batch, latent_dim)`` → ``x: (batch, out_dim)`` through ``depth`` ReLU layers."""

    def __init__(
        self,
        latent_dim: int,
        out_dim: int,
        hidden: int = 128,
        depth: int = 2,
        out_activation: str = "identity",
    ) -> None:
        super().__init__()
        self.latent_dim = check_positive_int("latent_dim", latent_dim)
        self.out_dim = check_positive_int("out_dim", out_dim)
        check_positive_int("hidden", hidden)
        check_positive_int("depth", depth)
        check_choice("out_activation", out_activation, tuple(_OUT))
        layers: list[nn.Module] = []
        width = latent_dim
        for _ in range(depth):
            layers += [nn.Linear(width, hidden), nn.ReLU()]
            width = hidden
        layers += [nn.Linear(width, out_dim), _OUT[out_activation]()]
        self.net = nn.Sequential(*layers)

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        check_tensor("z", z, ndim=2, last_dim=self.latent_dim, floating=True)
        return self.net(z)


def _leaky_relu_trunk(
    in_dim: int, hidden: int, depth: int, spectral_norm: bool
) -> tuple[list[nn.Module], Callable[[nn.Module], nn.Module]]:
    """The discriminators' shared body: ``depth`` × (Linear → LeakyReLU(0.2)), each linear
    layer spectrally normalised when asked; also returns the wrapper for the head layer."""
    check_positive_int("hidden", hidden)
    check_positive_int("depth", depth)
    sn = nn.utils.parametrizations.spectral_norm if spectral_norm else (lambda m: m)
    layers: list[nn.Module] = []
    width = in_dim
    for _ in range(depth):
        layers += [sn(nn.Linear(width, hidden)), nn.LeakyReLU(0.2)]
        width = hidden
    return layers, sn


class MLPDiscriminator(nn.Module):
    """``x: (batch, in_dim)`` → one logit/score per row ``(batch,)``; LeakyReLU layers,
    optionally spectrally normalised (Miyato et al. 2018)."""

    def __init__(
        self, in_dim: int, hidden: int = 128, depth: int = 2, spectral_norm: bool = False
    ) -> None:
        super().__init__()
        self.in_dim = check_positive_int("in_dim", in_dim)
        layers, sn = _leaky_relu_trunk(in_dim, hidden, depth, spectral_norm)
        layers.append(sn(nn.Linear(hidden, 1)))
        self.net = nn.Sequential(*layers)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        check_tensor("x", x, ndim=2, last_dim=self.in_dim, floating=True)
        return self.net(x)[:, 0]


class DCGANGenerator(nn.Module):
    """The DCGAN recipe at 8x8 (Radford et al. 2015): project z to a ``channels×2×2`` map,
    then two stride-2 transposed convolutions with batch norm and ReLU, sigmoid output.

    ``z: (batch, latent_dim)`` → ``x: (batch, 64)`` (flattened 8x8 image in [0, 1]).
    """

    def __init__(self, latent_dim: int = 16, channels: int = 32) -> None:
        super().__init__()
        self.latent_dim = check_positive_int("latent_dim", latent_dim)
        self.channels = check_positive_int("channels", channels)
        if channels % 2 or channels > 32:
            raise ValueError(f"channels must be an even number <= 32, got {channels}")
        c = channels
        self.project = nn.Sequential(nn.Linear(latent_dim, c * 4), nn.BatchNorm1d(c * 4), nn.ReLU())
        self.net = nn.Sequential(
            nn.ConvTranspose2d(c, c // 2, 4, stride=2, padding=1),  # 2x2 → 4x4
            nn.BatchNorm2d(c // 2),
            nn.ReLU(),
            nn.ConvTranspose2d(c // 2, 1, 4, stride=2, padding=1),  # 4x4 → 8x8
            nn.Sigmoid(),
        )

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        check_tensor("z", z, ndim=2, last_dim=self.latent_dim, floating=True)
        h = self.project(z).reshape(-1, self.channels, 2, 2)
        return self.net(h).reshape(-1, 64)


class DCGANDiscriminator(nn.Module):
    """Two stride-2 convolutions with LeakyReLU (8x8 → 4x4 → 2x2), then a linear logit.

    ``x: (batch, 64)`` → ``(batch,)``.
    """

    def __init__(self, channels: int = 32) -> None:
        super().__init__()
        self.channels = check_positive_int("channels", channels)
        if channels % 2 or channels > 32:
            raise ValueError(f"channels must be an even number <= 32, got {channels}")
        c = channels
        self.net = nn.Sequential(
            nn.Conv2d(1, c // 2, 4, stride=2, padding=1),
            nn.LeakyReLU(0.2),
            nn.Conv2d(c // 2, c, 4, stride=2, padding=1),
            nn.LeakyReLU(0.2),
            nn.Flatten(),
            nn.Linear(c * 4, 1),
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        check_tensor("x", x, ndim=2, last_dim=64, floating=True)
        return self.net(x.reshape(-1, 1, 8, 8))[:, 0]


# ---------------------------------------------------------------------------------------
# one training loop for every adversarial model
# ---------------------------------------------------------------------------------------


@dataclass
class AdversarialHistory:
    """Losses logged by :func:`train_adversarial` every ``log_every`` steps, the values any
    ``callback`` returned at those steps, and the wall time."""

    steps: list[int] = field(default_factory=list)
    d_loss: list[float] = field(default_factory=list)
    g_loss: list[float] = field(default_factory=list)
    extra: list[dict] = field(default_factory=list)
    seconds: float = 0.0


def _set_requires_grad(params: list[nn.Parameter], flag: bool) -> None:
    for p in params:
        p.requires_grad_(flag)


def _call(module: nn.Module, x: torch.Tensor, y: torch.Tensor | None) -> torch.Tensor:
    return module(x) if y is None else module(x, y)


def train_adversarial(
    generator: nn.Module,
    discriminator: nn.Module,
    data: torch.Tensor,
    *,
    loss: str = "nonsaturating",
    steps: int = 1000,
    batch_size: int = 64,
    n_critic: int = 1,
    lr_g: float = 2e-4,
    lr_d: float = 2e-4,
    betas: tuple[float, float] = (0.5, 0.999),
    gp_weight: float = 0.0,
    labels: torch.Tensor | None = None,
    seed: int = 0,
    log_every: int = 100,
    callback: Callable[[int, nn.Module, nn.Module], dict] | None = None,
) -> AdversarialHistory:
    """Alternate ``n_critic`` discriminator steps and one generator step, ``steps`` times.

    ``loss`` picks the pair of named losses: ``"saturating"`` (1)+(2),
    ``"nonsaturating"`` (1)+(3), ``"wasserstein"`` (4) (add ``gp_weight`` > 0 for
    WGAN-GP (5)) or ``"hinge"`` (6). The generator needs an attribute ``latent_dim``;
    with ``labels`` (``(n,)`` int64 class of every data row) both networks are called with
    the labels of the real batch as a second argument (class-conditional models).
    Adam with ``betas`` for both networks. ``callback(step, G, D)`` runs every
    ``log_every`` steps (networks in eval mode) and returns a dict kept in the history.
    """
    d_loss_fn, g_loss_fn = LOSSES[check_choice("loss", loss, tuple(LOSSES))]
    check_module("generator", generator)
    check_module("discriminator", discriminator)
    check_tensor("data", data, floating=True, min_rows=1)
    check_finite_tensor("data", data)
    steps = check_positive_int("steps", steps)
    batch_size = check_positive_int("batch_size", batch_size)
    n_critic = check_positive_int("n_critic", n_critic)
    check_positive_float("lr_g", lr_g)
    check_positive_float("lr_d", lr_d)
    gp_weight = check_nonnegative_float("gp_weight", gp_weight)
    log_every = check_positive_int("log_every", log_every)
    if not (
        isinstance(betas, (tuple, list))
        and len(betas) == 2
        and all(
            isinstance(b, (int, float)) and not isinstance(b, bool) and 0 <= b < 1 for b in betas
        )
    ):
        raise ValueError(f"betas must be two numbers in [0, 1) (Adam's β1, β2), got {betas!r}")
    if callback is not None:
        check_callable("callback", callback)
    latent_dim = getattr(generator, "latent_dim", None)
    if not isinstance(latent_dim, int):
        raise TypeError("generator must have an int attribute latent_dim")
    n = data.shape[0]
    if labels is not None:
        check_tensor("labels", labels, ndim=1)
        if labels.shape[0] != n:
            raise ValueError(f"labels must have shape ({n},), got {tuple(labels.shape)}")

    g = torch.Generator().manual_seed(check_seed(seed))
    # Fused Adam: one kernel over all parameters instead of a Python loop over them.
    g_params, d_params = list(generator.parameters()), list(discriminator.parameters())
    opt_g = torch.optim.Adam(g_params, lr=lr_g, betas=betas, fused=True)
    opt_d = torch.optim.Adam(d_params, lr=lr_d, betas=betas, fused=True)
    # In the generator's step D is a fixed function: its weights need no gradient (the
    # next critic step would discard it), only the gradient through D to its input.
    d_trainable = [p for p in d_params if p.requires_grad]
    history = AdversarialHistory()
    start = time.perf_counter()
    d_losses: list[float] = []
    g_losses: list[float] = []
    generator.train()
    discriminator.train()
    for step in range(1, steps + 1):
        for _ in range(n_critic):
            idx = torch.randint(n, (min(batch_size, n),), generator=g)
            real = data[idx]
            y = None if labels is None else labels[idx]
            z = torch.randn(real.shape[0], latent_dim, generator=g)
            with torch.no_grad():
                fake = _call(generator, z, y)
            d_loss = d_loss_fn(_call(discriminator, real, y), _call(discriminator, fake, y))
            if gp_weight > 0:
                extra_args = () if y is None else (y,)
                d_loss = d_loss + gp_weight * gradient_penalty(
                    discriminator, real, fake, *extra_args, generator=g
                )
            clear_grads(d_params)
            d_loss.backward()
            opt_d.step()
        idx = torch.randint(n, (min(batch_size, n),), generator=g)
        y = None if labels is None else labels[idx]
        z = torch.randn(idx.shape[0], latent_dim, generator=g)
        _set_requires_grad(d_trainable, False)
        try:
            g_loss = g_loss_fn(_call(discriminator, _call(generator, z, y), y))
            clear_grads(g_params)
            g_loss.backward()
        finally:
            _set_requires_grad(d_trainable, True)
        opt_g.step()
        d_losses.append(d_loss.item())
        g_losses.append(g_loss.item())
        if not (math.isfinite(d_losses[-1]) and math.isfinite(g_losses[-1])):
            raise FloatingPointError(
                f"the losses became d_loss={d_losses[-1]}, g_loss={g_losses[-1]} at step {step}"
            )
        if step % log_every == 0 or step == steps:
            history.steps.append(step)
            history.d_loss.append(sum(d_losses) / len(d_losses))
            history.g_loss.append(sum(g_losses) / len(g_losses))
            d_losses, g_losses = [], []
            if callback is not None:
                generator.eval()
                discriminator.eval()
                with torch.no_grad():
                    history.extra.append(callback(step, generator, discriminator))
                generator.train()
                discriminator.train()
    generator.eval()
    discriminator.eval()
    history.seconds = time.perf_counter() - start
    return history


@torch.no_grad()
def sample(
    generator: nn.Module,
    n: int,
    labels: torch.Tensor | None = None,
    psi: float | None = None,
    seed: int = 0,
) -> torch.Tensor:
    """``n`` samples from ``generator`` (in eval mode) with latents from
    :func:`truncated_normal` (``psi=None``: no truncation); ``labels`` for conditional models."""
    n = check_positive_int("n", n)
    latent_dim = getattr(generator, "latent_dim", None)
    if not isinstance(latent_dim, int):
        raise TypeError("generator must have an int attribute latent_dim")
    z = truncated_normal(
        n, latent_dim, psi, generator=torch.Generator().manual_seed(check_seed(seed))
    )
    was_training = generator.training
    generator.eval()
    out = _call(generator, z, labels)
    generator.train(was_training)
    return out


# ---------------------------------------------------------------------------------------
# BigGAN pieces: class-conditional batch norm, projection discriminator
# ---------------------------------------------------------------------------------------


def _check_labels(labels: object, n: int, n_classes: int) -> torch.Tensor:
    if not isinstance(labels, torch.Tensor):
        raise TypeError(f"labels must be a torch.Tensor, got {type(labels).__name__}")
    if labels.dtype != torch.long or labels.shape != (n,):
        raise ValueError(
            f"labels must be an int64 tensor of shape ({n},), got dtype "
            f"{labels.dtype} and shape {tuple(labels.shape)}"
        )
    if n and (int(labels.min()) < 0 or int(labels.max()) >= n_classes):
        raise ValueError(f"labels must lie in [0, {n_classes - 1}]")
    return labels


class ConditionalBatchNorm1d(nn.Module):
    """Class-conditional batch norm: ``(1 + γ_y) ⊙ BN(h) + β_y`` with per-class γ, β
    (de Vries et al. 2017; used in BigGAN's generator). ``h: (batch, features)``."""

    def __init__(self, num_features: int, n_classes: int) -> None:
        super().__init__()
        self.num_features = check_positive_int("num_features", num_features)
        self.n_classes = check_positive_int("n_classes", n_classes)
        self.bn = nn.BatchNorm1d(num_features, affine=False)
        self.gain = nn.Embedding(n_classes, num_features)
        self.bias = nn.Embedding(n_classes, num_features)
        nn.init.zeros_(self.gain.weight)
        nn.init.zeros_(self.bias.weight)

    def forward(self, h: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
        check_tensor("h", h, ndim=2, last_dim=self.num_features, floating=True)
        labels = _check_labels(labels, h.shape[0], self.n_classes)
        return (1 + self.gain(labels)) * self.bn(h) + self.bias(labels)


class ConditionalGenerator(nn.Module):
    """A small BigGAN-style generator: ``z`` and a class ``y`` → image, with
    class-conditional batch norm after each hidden layer.

    ``z: (batch, latent_dim)``, ``labels: (batch,)`` int64 → ``(batch, out_dim)`` in [0, 1].
    """

    def __init__(
        self,
        latent_dim: int = 16,
        n_classes: int = 10,
        out_dim: int = 64,
        hidden: int = 128,
        depth: int = 2,
    ) -> None:
        super().__init__()
        self.latent_dim = check_positive_int("latent_dim", latent_dim)
        self.n_classes = check_positive_int("n_classes", n_classes)
        self.out_dim = check_positive_int("out_dim", out_dim)
        check_positive_int("hidden", hidden)
        check_positive_int("depth", depth)
        widths = [latent_dim] + [hidden] * depth
        self.linears = nn.ModuleList(nn.Linear(a, b) for a, b in zip(widths[:-1], widths[1:]))
        self.norms = nn.ModuleList(ConditionalBatchNorm1d(hidden, n_classes) for _ in range(depth))
        self.out = nn.Linear(hidden, out_dim)

    def forward(self, z: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
        check_tensor("z", z, ndim=2, last_dim=self.latent_dim, floating=True)
        labels = _check_labels(labels, z.shape[0], self.n_classes)
        h = z
        for linear, norm in zip(self.linears, self.norms):
            h = torch.relu(norm(linear(h), labels))
        return torch.sigmoid(self.out(h))


class ProjectionDiscriminator(nn.Module):
    """Projection discriminator (Miyato & Koyama 2018) with spectral norm on every layer:

    .. math:: D(x, y) = \\psi(\\phi(x)) + e_y^\\top \\phi(x)

    ``x: (batch, in_dim)``, ``labels: (batch,)`` int64 → scores ``(batch,)``.
    """

    def __init__(
        self,
        in_dim: int = 64,
        n_classes: int = 10,
        hidden: int = 128,
        depth: int = 2,
        spectral_norm: bool = True,
    ) -> None:
        super().__init__()
        self.in_dim = check_positive_int("in_dim", in_dim)
        self.n_classes = check_positive_int("n_classes", n_classes)
        layers, sn = _leaky_relu_trunk(in_dim, hidden, depth, spectral_norm)
        self.phi = nn.Sequential(*layers)
        self.psi = sn(nn.Linear(hidden, 1))
        self.embed = sn(nn.Embedding(n_classes, hidden))

    def class_term(self, x: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
        """The projection ``e_yᵀ φ(x)``, shape ``(batch,)``."""
        check_tensor("x", x, ndim=2, last_dim=self.in_dim, floating=True)
        labels = _check_labels(labels, x.shape[0], self.n_classes)
        return (self.embed(labels) * self.phi(x)).sum(1)

    def forward(self, x: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
        check_tensor("x", x, ndim=2, last_dim=self.in_dim, floating=True)
        labels = _check_labels(labels, x.shape[0], self.n_classes)
        h = self.phi(x)
        return self.psi(h)[:, 0] + (self.embed(labels) * h).sum(1)


# ---------------------------------------------------------------------------------------
# StyleGAN pieces: mapping network, weight modulation/demodulation, noise, style mixing
# ---------------------------------------------------------------------------------------


class ModulatedLinear(nn.Module):
    """A fully connected layer with StyleGAN2 weight modulation and demodulation
    (Karras et al. 2020), the 1x1 analogue of the modulated convolution:

    .. math::

        s = A(w),\\quad w'_{oi} = W_{oi}\\, s_i,\\quad
        w''_{oi} = w'_{oi} \\Big/ \\sqrt{\\textstyle\\sum_i w'^2_{oi} + \\epsilon}

    ``x: (batch, in_features)``, ``w: (batch, w_dim)`` → ``(batch, out_features)``.
    Computed without forming per-sample weights: ``y = ((x ⊙ s) Wᵀ) ⊙ d`` with
    ``d_o = (Σ_i W_oi² s_i² + ε)^{-1/2}``.
    """

    def __init__(
        self,
        in_features: int,
        out_features: int,
        w_dim: int,
        demodulate: bool = True,
        eps: float = 1e-8,
    ) -> None:
        super().__init__()
        self.in_features = check_positive_int("in_features", in_features)
        self.out_features = check_positive_int("out_features", out_features)
        self.w_dim = check_positive_int("w_dim", w_dim)
        self.demodulate = bool(demodulate)
        self.eps = check_positive_float("eps", eps)
        self.weight = nn.Parameter(torch.randn(out_features, in_features) / in_features**0.5)
        self.affine = nn.Linear(w_dim, in_features)
        nn.init.ones_(self.affine.bias)  # styles start at 1: the layer starts unmodulated

    def forward(self, x: torch.Tensor, w: torch.Tensor) -> torch.Tensor:
        check_tensor("x", x, ndim=2, last_dim=self.in_features, floating=True)
        check_tensor("w", w, ndim=2, last_dim=self.w_dim, floating=True)
        s = self.affine(w)
        y = (x * s) @ self.weight.T
        if self.demodulate:
            y = y * torch.rsqrt((s**2) @ (self.weight**2).T + self.eps)
        return y


class StyleGenerator(nn.Module):
    """A small StyleGAN-style generator for 8x8 digits built from modulated linear layers.

    * mapping network: ``z → w`` (an MLP on the normalised ``z``);
    * synthesis: a learned constant goes through ``n_layers`` modulated layers, each
      followed by per-unit noise with a learned strength, a bias and LeakyReLU; a final
      modulated (not demodulated) layer gives the 64 pixels through a sigmoid;
    * each of the ``n_layers + 1`` layers reads its own ``w``, so styles can be mixed:
      :meth:`synthesize` takes a list of ``w``; :meth:`mix` uses ``w_a`` for the first
      ``crossover`` layers (coarse) and ``w_b`` for the rest (fine);
    * with ``mixing_prob`` > 0, training forwards use two latents and a random crossover
      (mixing regularisation).

    ``z: (batch, latent_dim)`` → ``(batch, out_dim)``.
    """

    def __init__(
        self,
        latent_dim: int = 16,
        w_dim: int = 32,
        hidden: int = 64,
        n_layers: int = 4,
        out_dim: int = 64,
        mapping_depth: int = 3,
        mixing_prob: float = 0.5,
    ) -> None:
        super().__init__()
        self.latent_dim = check_positive_int("latent_dim", latent_dim)
        self.w_dim = check_positive_int("w_dim", w_dim)
        self.hidden = check_positive_int("hidden", hidden)
        self.n_layers = check_positive_int("n_layers", n_layers)
        self.out_dim = check_positive_int("out_dim", out_dim)
        check_positive_int("mapping_depth", mapping_depth)
        self.mixing_prob = check_probability("mixing_prob", mixing_prob)
        layers: list[nn.Module] = []
        width = latent_dim
        for _ in range(mapping_depth):
            layers += [nn.Linear(width, w_dim), nn.LeakyReLU(0.2)]
            width = w_dim
        self.mapping = nn.Sequential(*layers)
        self.const = nn.Parameter(torch.ones(hidden))
        self.layers = nn.ModuleList(ModulatedLinear(hidden, hidden, w_dim) for _ in range(n_layers))
        self.noise_strength = nn.Parameter(torch.zeros(n_layers, hidden))
        self.biases = nn.Parameter(torch.zeros(n_layers, hidden))
        self.to_out = ModulatedLinear(hidden, out_dim, w_dim, demodulate=False)
        self.out_bias = nn.Parameter(torch.zeros(out_dim))

    @property
    def n_styles(self) -> int:
        """How many ``w`` the synthesis network reads (``n_layers + 1``)."""
        return self.n_layers + 1

    def map(self, z: torch.Tensor) -> torch.Tensor:
        """Mapping network ``z → w``; ``z`` is first normalised to unit mean square."""
        check_tensor("z", z, ndim=2, last_dim=self.latent_dim, floating=True)
        z = z * torch.rsqrt((z**2).mean(1, keepdim=True) + 1e-8)
        return self.mapping(z)

    def synthesize(self, ws: list[torch.Tensor], noise: bool = True) -> torch.Tensor:
        """Synthesis network with one ``w`` per layer (a list of ``n_styles`` tensors)."""
        if not isinstance(ws, (list, tuple)) or len(ws) != self.n_styles:
            raise ValueError(f"ws must be a list of {self.n_styles} tensors (one per layer)")
        for i, w in enumerate(ws):
            check_tensor(f"ws[{i}]", w, ndim=2, last_dim=self.w_dim, floating=True)
        n = ws[0].shape[0]
        h = self.const.expand(n, -1)
        for i, layer in enumerate(self.layers):
            h = layer(h, ws[i])
            if noise:
                h = h + self.noise_strength[i] * torch.randn_like(h)
            h = nn.functional.leaky_relu(h + self.biases[i], 0.2)
        return torch.sigmoid(self.to_out(h, ws[-1]) + self.out_bias)

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        w = self.map(z)
        ws = [w] * self.n_styles
        if self.training and self.mixing_prob > 0 and torch.rand(()) < self.mixing_prob:
            w2 = self.map(torch.randn_like(z))
            cut = int(torch.randint(1, self.n_styles, ()))
            ws = [w] * cut + [w2] * (self.n_styles - cut)
        return self.synthesize(ws)

    def mix(
        self, z_a: torch.Tensor, z_b: torch.Tensor, crossover: int, noise: bool = False
    ) -> torch.Tensor:
        """Style mixing: layers ``< crossover`` read ``w(z_a)`` (coarse), the rest ``w(z_b)``."""
        if (
            isinstance(crossover, bool)
            or not isinstance(crossover, int)
            or not 0 <= crossover <= self.n_styles
        ):
            raise ValueError(f"crossover must be an int in [0, {self.n_styles}], got {crossover!r}")
        w_a, w_b = self.map(z_a), self.map(z_b)
        return self.synthesize([w_a] * crossover + [w_b] * (self.n_styles - crossover), noise)
