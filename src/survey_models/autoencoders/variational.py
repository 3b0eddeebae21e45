"""Variational autoencoder (Kingma & Welling 2014) and the importance-weighted bound
(Burda et al. 2016).

The encoder outputs a Gaussian ``q(z|x) = N(μ(x), diag σ²(x))``, the decoder a Bernoulli
``p(x|z)`` over each pixel, and the prior is ``p(z) = N(0, I)``. Training maximises the
evidence lower bound (ELBO)

.. math::

    \\log p(x) \\ge \\mathcal{L}(x)
      = \\mathbb{E}_{q(z|x)}[\\log p(x|z)] - \\mathrm{KL}(q(z|x) \\,\\|\\, p(z)),

with ``z = μ + σ ⊙ ε``, ``ε ~ N(0, I)`` (the reparameterisation trick) so that gradients
pass through the sample, and the KL term in closed form,
``½ Σ (μ² + σ² - 1 - log σ²)``. The importance-weighted bound with ``k`` samples,
``log (1/k) Σ_i p(x, z_i)/q(z_i|x)``, is tighter: it is ≥ the ELBO in expectation and
tends to ``log p(x)`` as ``k`` grows.
"""

from __future__ import annotations

import math

import torch
from torch import nn
from torch.nn import functional as F

from .._checks import check_positive_int, check_tensor
from .core import make_activation

_LOG_2PI = math.log(2 * math.pi)


class VariationalAutoencoder(nn.Module):
    """A one-hidden-layer Gaussian-encoder, Bernoulli-decoder VAE.

    Args:
        n_input: data width (pixels, each in [0, 1]; binary data give a true likelihood).
        n_hidden: width of the hidden layer of encoder and decoder.
        n_latent: dimension of ``z``.
        activation: hidden activation.

    Shapes: ``x: (batch, n_input)``; ``encode`` → ``μ, log σ²``: ``(batch, n_latent)``;
    ``decode_logits(z)``: ``(..., n_input)``; ``forward(x)``: the reconstruction
    probabilities at ``z = μ(x)``, ``(batch, n_input)``.
    """

    def __init__(
        self, n_input: int = 64, n_hidden: int = 128, n_latent: int = 2, activation: str = "tanh"
    ) -> None:
        super().__init__()
        self.n_input = check_positive_int("n_input", n_input)
        self.n_hidden = check_positive_int("n_hidden", n_hidden)
        self.n_latent = check_positive_int("n_latent", n_latent)
        self.encoder = nn.Sequential(nn.Linear(n_input, n_hidden), make_activation(activation))
        self.mu = nn.Linear(n_hidden, n_latent)
        self.log_var = nn.Linear(n_hidden, n_latent)
        self.decoder = nn.Sequential(
            nn.Linear(n_latent, n_hidden), make_activation(activation), nn.Linear(n_hidden, n_input)
        )

    def encode(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """``μ(x)`` and ``log σ²(x)`` of ``q(z|x)``."""
        check_tensor("x", x, ndim=2, last_dim=self.n_input, floating=True)
        h = self.encoder(x)
        return self.mu(h), self.log_var(h)

    def decode_logits(self, z: torch.Tensor) -> torch.Tensor:
        """Bernoulli logits of ``p(x|z)``; ``z: (..., n_latent)``."""
        check_tensor("z", z, last_dim=self.n_latent, floating=True)
        return self.decoder(z)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        mu, _ = self.encode(x)
        return torch.sigmoid(self.decode_logits(mu))

    @torch.no_grad()
    def sample(
        self, n: int, generator: torch.Generator | None = None, binary: bool = False
    ) -> torch.Tensor:
        """``n`` draws from the model: ``z ~ N(0, I)``, then the pixel probabilities
        ``p(x|z)`` (or, with ``binary=True``, Bernoulli draws from them); ``(n, n_input)``."""
        n = check_positive_int("n", n)
        z = torch.randn(n, self.n_latent, generator=generator)
        probs = torch.sigmoid(self.decode_logits(z))
        return torch.bernoulli(probs, generator=generator) if binary else probs

    def extra_repr(self) -> str:
        return f"n_input={self.n_input}, n_hidden={self.n_hidden}, n_latent={self.n_latent}"


def _check_gaussian(mu: object, log_var: object) -> None:
    check_tensor("mu", mu, floating=True)
    check_tensor("log_var", log_var, floating=True)
    assert isinstance(mu, torch.Tensor) and isinstance(log_var, torch.Tensor)
    if log_var.shape != mu.shape:
        raise ValueError(
            f"log_var must have the shape of mu {tuple(mu.shape)}, got {tuple(log_var.shape)}"
        )


def gaussian_kl(mu: torch.Tensor, log_var: torch.Tensor) -> torch.Tensor:
    """``KL(N(μ, diag σ²) ‖ N(0, I)) = ½ Σ_j (μ_j² + σ_j² - 1 - log σ_j²)``; shape ``(batch,)``."""
    _check_gaussian(mu, log_var)
    return 0.5 * (mu**2 + log_var.exp() - 1 - log_var).sum(dim=-1)


def reparameterize(
    mu: torch.Tensor,
    log_var: torch.Tensor,
    eps: torch.Tensor | None = None,
    generator: torch.Generator | None = None,
) -> torch.Tensor:
    """``z = μ + σ ⊙ ε`` with ``ε ~ N(0, I)`` (given or drawn): differentiable in μ and σ.

    A given ``eps`` has the shape of ``mu`` or extra leading (sample) dimensions.
    """
    _check_gaussian(mu, log_var)
    if eps is None:
        eps = torch.randn(mu.shape, generator=generator, device=mu.device)
    else:
        check_tensor("eps", eps, floating=True)
        if eps.shape[eps.dim() - mu.dim() :] != mu.shape:
            raise ValueError(
                f"eps must end with the shape of mu {tuple(mu.shape)}, got {tuple(eps.shape)}"
            )
    return mu + (0.5 * log_var).exp() * eps


def bernoulli_log_likelihood(logits: torch.Tensor, x: torch.Tensor) -> torch.Tensor:
    """``log p(x|z) = Σ_i x_i log p_i + (1-x_i) log(1-p_i)`` from logits; sums the last dim."""
    return -F.binary_cross_entropy_with_logits(logits, x.expand_as(logits), reduction="none").sum(
        dim=-1
    )


def elbo(
    model: VariationalAutoencoder,
    x: torch.Tensor,
    n_samples: int = 1,
    generator: torch.Generator | None = None,
) -> torch.Tensor:
    """The ELBO of each example, ``(batch,)``: a Monte Carlo estimate of the expected
    log-likelihood (``n_samples`` reparameterised draws) minus the analytic KL."""
    n_samples = check_positive_int("n_samples", n_samples)
    mu, log_var = model.encode(x)
    eps = torch.randn((n_samples, *mu.shape), generator=generator, device=mu.device)
    z = reparameterize(mu, log_var, eps)  # (n_samples, batch, latent)
    expected_ll = bernoulli_log_likelihood(model.decode_logits(z), x).mean(dim=0)
    return expected_ll - gaussian_kl(mu, log_var)


def vae_loss(model: VariationalAutoencoder, x: torch.Tensor) -> torch.Tensor:
    """Negative mean ELBO over the batch (a ``fit`` loss function)."""
    return -elbo(model, x).mean()


def _log_normal(z: torch.Tensor, mu: torch.Tensor, log_var: torch.Tensor) -> torch.Tensor:
    return -0.5 * (_LOG_2PI + log_var + (z - mu) ** 2 / log_var.exp()).sum(dim=-1)


@torch.no_grad()
def importance_weighted_bound(
    model: VariationalAutoencoder,
    x: torch.Tensor,
    k: int = 100,
    generator: torch.Generator | None = None,
) -> torch.Tensor:
    """``log (1/k) Σ_i p(x|z_i) p(z_i) / q(z_i|x)``, ``z_i ~ q(z|x)``, per example ``(batch,)``."""
    k = check_positive_int("k", k)
    mu, log_var = model.encode(x)
    eps = torch.randn((k, *mu.shape), generator=generator, device=mu.device)
    z = reparameterize(mu, log_var, eps)  # (k, batch, latent)
    log_w = (
        bernoulli_log_likelihood(model.decode_logits(z), x)
        + _log_normal(z, torch.zeros_like(z), torch.zeros_like(z))
        - _log_normal(z, mu, log_var)
    )
    return torch.logsumexp(log_w, dim=0) - math.log(k)


__all__ = [
    "VariationalAutoencoder",
    "gaussian_kl",
    "reparameterize",
    "bernoulli_log_likelihood",
    "elbo",
    "vae_loss",
    "importance_weighted_bound",
]
