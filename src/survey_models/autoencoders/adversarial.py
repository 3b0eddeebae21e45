"""Adversarial autoencoder (Makhzani et al. 2016): an autoencoder whose code is pushed
towards a chosen prior ``p(z)`` by a discriminator that sees only codes.

A deterministic encoder ``q(z|x)`` gives the code ``z = f(x)``; its *aggregate posterior*
``q(z) = ∫ q(z|x) p_data(x) dx`` (the distribution of the codes of all data) is matched to
the prior ``p(z)`` adversarially instead of through the VAE's per-example KL term. Each
training step has two phases:

* reconstruction phase: encoder and decoder minimise the reconstruction error

  .. math::

      L_{\\mathrm{rec}} = \\mathbb{E}_x\\, \\mathrm{BCE}\\big(x, g(f(x))\\big)
        = -\\mathbb{E}_x \\sum_j \\big[x_j \\log \\hat x_j + (1-x_j)\\log(1-\\hat x_j)\\big]
        \\qquad (1)

* regularisation phase: the code discriminator ``D`` (a logit) learns to tell prior draws
  ("real") from codes ("fake"), then the encoder, playing the GAN generator, learns to
  fool it (equations (1) and (3) of :mod:`survey_models.gan`):

  .. math::

      L_D = -\\mathbb{E}_{z\\sim p(z)} \\log \\sigma(D(z))
            - \\mathbb{E}_x \\log\\big(1 - \\sigma(D(f(x)))\\big)        \\qquad (2)

      L_f = -\\mathbb{E}_x \\log \\sigma(D(f(x)))                         \\qquad (3)

At the optimum of the game ``q(z) = p(z)`` (Goodfellow et al. 2014), so decoding prior
draws ``g(z), z ~ p(z)`` gives samples from the model. The prior here is a mixture of
``K`` equal isotropic Gaussians with centres ``c_k``:

.. math::

    p(z) = \\frac{1}{K} \\sum_k \\mathcal{N}(z; c_k, s^2 I),\\quad
    \\mathbb{E}z = \\bar c,\\quad
    \\mathrm{Cov}\\,z = s^2 I + \\frac{1}{K}\\sum_k (c_k-\\bar c)(c_k-\\bar c)^\\top  \\qquad (4)

The plain autoencoder of the same size is the same model trained on (1) alone:
:func:`aae_reconstruction_loss` is a ``loss_fn`` for :func:`survey_models.train.fit`.
"""

from __future__ import annotations

import math
import time
from collections.abc import Iterator
from dataclasses import dataclass, field

import torch
from torch import nn
from torch.nn import functional as F

from .._checks import (
    check_finite_tensor,
    check_nonnegative_float,
    check_positive_float,
    check_positive_int,
    check_seed,
    check_tensor,
)
from ..data import ring_of_gaussians
from ..gan import MLPDiscriminator, discriminator_loss, generator_loss_nonsaturating
from .core import make_activation

# ---------------------------------------------------------------------------------------
# the prior
# ---------------------------------------------------------------------------------------


class GaussianMixturePrior:
    """Equation (4): ``K`` equal isotropic Gaussians ``N(c_k, s² I)``.

    Args:
        centres: ``(K, dim)`` component means.
        std: the common standard deviation ``s`` (0 puts every draw on a centre).

    :meth:`ring` builds the usual 2-D prior: ``K`` centres on a circle.
    """

    def __init__(self, centres: torch.Tensor, std: float) -> None:
        check_tensor("centres", centres, ndim=2, floating=True, min_rows=1)
        check_finite_tensor("centres", centres)
        self.centres = centres.detach().clone()
        self.std = check_nonnegative_float("std", std)

    @classmethod
    def ring(
        cls, n_components: int = 10, radius: float = 4.0, std: float = 0.5
    ) -> GaussianMixturePrior:
        """``n_components`` Gaussians with centres evenly spaced on a circle of ``radius``
        (the centres of :func:`survey_models.data.ring_of_gaussians`)."""
        n_components = check_positive_int("n_components", n_components)
        radius = check_positive_float("radius", radius)
        _, centres = ring_of_gaussians(1, n_components, radius, 0.0)
        return cls(centres, std)

    @property
    def n_components(self) -> int:
        return self.centres.shape[0]

    @property
    def dim(self) -> int:
        return self.centres.shape[1]

    @property
    def mean(self) -> torch.Tensor:
        """Equation (4): ``E z``, the mean of the centres, ``(dim,)``."""
        return self.centres.mean(0)

    @property
    def covariance(self) -> torch.Tensor:
        """Equation (4): ``s² I`` plus the (population) covariance of the centres, ``(dim, dim)``."""
        d = self.centres - self.mean
        return self.std**2 * torch.eye(self.dim) + d.T @ d / self.n_components

    def sample(
        self, n: int, generator: torch.Generator | None = None, return_components: bool = False
    ) -> torch.Tensor | tuple[torch.Tensor, torch.Tensor]:
        """``n`` draws ``(n, dim)``: a uniform component ``k``, then ``c_k + s ε``.

        With ``return_components`` also the ``(n,)`` int64 component of every draw.
        """
        n = check_positive_int("n", n)
        k = torch.randint(self.n_components, (n,), generator=generator)
        z = self.centres[k] + self.std * torch.randn(n, self.dim, generator=generator)
        return (z, k) if return_components else z

    def log_prob(self, z: torch.Tensor) -> torch.Tensor:
        """``log p(z)`` of every row of ``z: (batch, dim)`` → ``(batch,)`` (needs ``std > 0``)."""
        check_tensor("z", z, ndim=2, last_dim=self.dim, floating=True)
        if self.std == 0:
            raise ValueError("std must be > 0 for log_prob (a point mass has no density)")
        sq = torch.cdist(z, self.centres.to(z)) ** 2  # (batch, K)
        log_n = -0.5 * sq / self.std**2 - self.dim * math.log(self.std * math.sqrt(2 * math.pi))
        return torch.logsumexp(log_n, dim=1) - math.log(self.n_components)

    def __repr__(self) -> str:
        return f"GaussianMixturePrior(n_components={self.n_components}, dim={self.dim}, std={self.std})"


# ---------------------------------------------------------------------------------------
# the model
# ---------------------------------------------------------------------------------------


def _mlp(widths: list[int], activation: str) -> nn.Sequential:
    layers: list[nn.Module] = []
    for i, (a, b) in enumerate(zip(widths[:-1], widths[1:], strict=True)):
        layers.append(nn.Linear(a, b))
        if i < len(widths) - 2:
            layers.append(make_activation(activation))
    return nn.Sequential(*layers)


class AdversarialAutoencoder(nn.Module):
    """Encoder ``f``, decoder ``g`` and code discriminator ``D`` of an adversarial autoencoder.

    Args:
        n_input: data width (pixels in [0, 1]).
        n_hidden: width of the two hidden layers of encoder and decoder.
        n_latent: dimension of the code ``z``.
        disc_hidden: width of the discriminator's two LeakyReLU layers
            (:class:`survey_models.gan.MLPDiscriminator`).
        activation: hidden activation of encoder and decoder.

    Shapes: ``x: (batch, n_input)`` → ``encode`` → ``z: (batch, n_latent)`` →
    ``decode_logits`` → ``(batch, n_input)``; ``discriminate(z)`` → ``(batch,)`` logits;
    ``forward(x)``: the reconstruction probabilities ``σ(g(f(x)))``.
    """

    def __init__(
        self,
        n_input: int = 64,
        n_hidden: int = 128,
        n_latent: int = 2,
        disc_hidden: int = 64,
        activation: str = "relu",
    ) -> None:
        super().__init__()
        self.n_input = check_positive_int("n_input", n_input)
        self.n_hidden = check_positive_int("n_hidden", n_hidden)
        self.n_latent = check_positive_int("n_latent", n_latent)
        check_positive_int("disc_hidden", disc_hidden)
        self.encoder = _mlp([n_input, n_hidden, n_hidden, n_latent], activation)
        self.decoder = _mlp([n_latent, n_hidden, n_hidden, n_input], activation)
        self.discriminator = MLPDiscriminator(n_latent, hidden=disc_hidden, depth=2)

    def encode(self, x: torch.Tensor) -> torch.Tensor:
        """The code ``z = f(x)``; ``x: (batch, n_input)`` → ``(batch, n_latent)``."""
        check_tensor("x", x, ndim=2, last_dim=self.n_input, floating=True)
        return self.encoder(x)

    def decode_logits(self, z: torch.Tensor) -> torch.Tensor:
        """Bernoulli logits of the decoder ``g(z)``; ``z: (batch, n_latent)``."""
        check_tensor("z", z, ndim=2, last_dim=self.n_latent, floating=True)
        return self.decoder(z)

    def discriminate(self, z: torch.Tensor) -> torch.Tensor:
        """``D(z)``: logit that ``z`` is a prior draw; ``(batch, n_latent)`` → ``(batch,)``."""
        return self.discriminator(z)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.sigmoid(self.decode_logits(self.encode(x)))

    def autoencoder_parameters(self) -> Iterator[nn.Parameter]:
        """Encoder and decoder parameters (those of the reconstruction phase)."""
        yield from self.encoder.parameters()
        yield from self.decoder.parameters()

    @torch.no_grad()
    def sample(self, prior: GaussianMixturePrior, n: int, generator: torch.Generator | None = None):
        """``n`` images ``σ(g(z))``, ``z ~ prior``: ``(n, n_input)`` probabilities in [0, 1]."""
        _check_prior(prior, self.n_latent)
        z = prior.sample(n, generator=generator)
        return torch.sigmoid(self.decode_logits(z.to(next(self.parameters()))))

    def extra_repr(self) -> str:
        return f"n_input={self.n_input}, n_hidden={self.n_hidden}, n_latent={self.n_latent}"


def _check_model(model: object) -> AdversarialAutoencoder:
    if not isinstance(model, AdversarialAutoencoder):
        raise TypeError(f"model must be an AdversarialAutoencoder, got {type(model).__name__}")
    return model


def _check_prior(prior: object, n_latent: int) -> GaussianMixturePrior:
    if not isinstance(prior, GaussianMixturePrior):
        raise TypeError(f"prior must be a GaussianMixturePrior, got {type(prior).__name__}")
    if prior.dim != n_latent:
        raise ValueError(f"prior must have dim {n_latent} (the model's n_latent), got {prior.dim}")
    return prior


# ---------------------------------------------------------------------------------------
# losses
# ---------------------------------------------------------------------------------------


def aae_reconstruction_loss(model: AdversarialAutoencoder, x: torch.Tensor) -> torch.Tensor:
    """Equation (1): Bernoulli cross-entropy of ``x`` under ``σ(g(f(x)))``, summed over
    pixels, averaged over the batch. A ``loss_fn`` for :func:`survey_models.train.fit`."""
    logits = _check_model(model).decode_logits(model.encode(x))
    return F.binary_cross_entropy_with_logits(logits, x, reduction="sum") / x.shape[0]  # (1)


def code_discriminator_loss(
    model: AdversarialAutoencoder, x: torch.Tensor, z_prior: torch.Tensor
) -> torch.Tensor:
    """Equation (2): prior draws ``z_prior: (m, n_latent)`` are "real", the codes of
    ``x: (batch, n_input)`` "fake"; the codes are detached, so only ``D`` gets gradients."""
    _check_model(model)
    check_tensor("z_prior", z_prior, ndim=2, last_dim=model.n_latent, floating=True)
    codes = model.encode(x).detach()
    return discriminator_loss(model.discriminate(z_prior), model.discriminate(codes))  # (2)


def encoder_adversarial_loss(model: AdversarialAutoencoder, x: torch.Tensor) -> torch.Tensor:
    """Equation (3): the encoder as a non-saturating GAN generator, ``-E log σ(D(f(x)))``."""
    return generator_loss_nonsaturating(_check_model(model).discriminate(model.encode(x)))  # (3)


# ---------------------------------------------------------------------------------------
# training: one step of the two phases, and a loop
# ---------------------------------------------------------------------------------------


@dataclass
class AAEOptimizers:
    """The three Adam optimisers of a training step: ``autoencoder`` (encoder + decoder,
    reconstruction phase), ``discriminator`` (``D``) and ``encoder`` (``f`` as generator)."""

    autoencoder: torch.optim.Optimizer
    discriminator: torch.optim.Optimizer
    encoder: torch.optim.Optimizer


def make_optimizers(
    model: AdversarialAutoencoder,
    lr: float = 1e-3,
    lr_adversarial: float = 2e-4,
    betas: tuple[float, float] = (0.5, 0.999),
) -> AAEOptimizers:
    """Adam for each phase: ``lr`` for the reconstruction, ``lr_adversarial`` for ``D`` and
    for the encoder's regularisation update."""
    _check_model(model)
    lr = check_positive_float("lr", lr)
    lr_adversarial = check_positive_float("lr_adversarial", lr_adversarial)
    # fused: one kernel over all of an optimiser's parameters, not a Python loop over them
    return AAEOptimizers(
        torch.optim.Adam(model.autoencoder_parameters(), lr=lr, fused=True),
        torch.optim.Adam(
            model.discriminator.parameters(), lr=lr_adversarial, betas=betas, fused=True
        ),
        torch.optim.Adam(model.encoder.parameters(), lr=lr_adversarial, betas=betas, fused=True),
    )


def _update(optimizer: torch.optim.Optimizer, model: nn.Module, loss: torch.Tensor) -> float:
    value = loss.item()
    if not math.isfinite(value):  # raise before any weight moves
        raise FloatingPointError(f"a loss became {value}")
    model.zero_grad(set_to_none=True)  # every parameter: no stale gradient reaches a step
    loss.backward()
    optimizer.step()
    return value


def reconstruction_step(
    model: AdversarialAutoencoder, optimizers: AAEOptimizers, x: torch.Tensor
) -> float:
    """Reconstruction phase: one update of encoder and decoder on (1); ``D`` is untouched."""
    return _update(optimizers.autoencoder, model, aae_reconstruction_loss(model, x))


def discriminator_step(
    model: AdversarialAutoencoder, optimizers: AAEOptimizers, x: torch.Tensor, z_prior: torch.Tensor
) -> float:
    """Regularisation phase, first half: one update of ``D`` on (2); encoder and decoder are
    untouched."""
    return _update(optimizers.discriminator, model, code_discriminator_loss(model, x, z_prior))


def encoder_step(
    model: AdversarialAutoencoder, optimizers: AAEOptimizers, x: torch.Tensor
) -> float:
    """Regularisation phase, second half: one update of the encoder on (3); decoder and
    ``D`` are untouched."""
    return _update(optimizers.encoder, model, encoder_adversarial_loss(model, x))


@dataclass
class AAEHistory:
    """Mean losses of (1), (2) and (3) over each ``log_every`` steps, and the wall time."""

    steps: list[int] = field(default_factory=list)
    reconstruction: list[float] = field(default_factory=list)
    d_loss: list[float] = field(default_factory=list)
    g_loss: list[float] = field(default_factory=list)
    seconds: float = 0.0


def train_aae(
    model: AdversarialAutoencoder,
    data: torch.Tensor,
    prior: GaussianMixturePrior,
    *,
    steps: int = 2000,
    batch_size: int = 100,
    lr: float = 1e-3,
    lr_adversarial: float = 2e-4,
    seed: int = 0,
    log_every: int = 100,
) -> AAEHistory:
    """Train ``model`` on ``data: (n, n_input)``: each step draws a batch (with
    replacement of order, from a generator seeded by ``seed``) and runs
    :func:`reconstruction_step`, :func:`discriminator_step` (against as many prior draws)
    and :func:`encoder_step`. Raises ``FloatingPointError`` on a non-finite loss."""
    _check_model(model)
    _check_prior(prior, model.n_latent)
    check_tensor("data", data, ndim=2, last_dim=model.n_input, floating=True, min_rows=1)
    check_finite_tensor("data", data)
    steps = check_positive_int("steps", steps)
    batch_size = check_positive_int("batch_size", batch_size)
    log_every = check_positive_int("log_every", log_every)
    g = torch.Generator().manual_seed(check_seed(seed))
    optimizers = make_optimizers(model, lr, lr_adversarial)
    history = AAEHistory()
    logs: list[tuple[float, float, float]] = []
    start = time.perf_counter()
    model.train()
    n = data.shape[0]
    for step in range(1, steps + 1):
        x = data[torch.randint(n, (min(batch_size, n),), generator=g)]
        z_prior = prior.sample(x.shape[0], generator=g).to(x)
        logs.append(
            (
                reconstruction_step(model, optimizers, x),
                discriminator_step(model, optimizers, x, z_prior),
                encoder_step(model, optimizers, x),
            )
        )
        if step % log_every == 0 or step == steps:
            rec, d, gl = (sum(v) / len(v) for v in zip(*logs, strict=True))
            history.steps.append(step)
            history.reconstruction.append(rec)
            history.d_loss.append(d)
            history.g_loss.append(gl)
            logs = []
    model.eval()
    history.seconds = time.perf_counter() - start
    return history


__all__ = [
    "GaussianMixturePrior",
    "AdversarialAutoencoder",
    "aae_reconstruction_loss",
    "code_discriminator_loss",
    "encoder_adversarial_loss",
    "AAEOptimizers",
    "make_optimizers",
    "reconstruction_step",
    "discriminator_step",
    "encoder_step",
    "AAEHistory",
    "train_aae",
]
