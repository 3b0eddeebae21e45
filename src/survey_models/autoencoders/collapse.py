"""Posterior collapse: a VAE whose decoder is autoregressive, and two fixes.

A VAE (Kingma & Welling 2014) maximises, per image ``x``,

.. math::

    \\mathcal{L}(x) = \\mathbb{E}_{q(z|x)}[\\log p(x|z)]
      - \\sum_{j=1}^{d} \\mathrm{KL}_j(x),                                        \\qquad (1)

    \\mathrm{KL}_j(x) = \\tfrac12 (\\mu_j^2 + \\sigma_j^2 - 1 - \\log\\sigma_j^2)
      = \\mathrm{KL}(q(z_j|x) \\,\\|\\, \\mathcal{N}(0, 1)).                          \\qquad (2)

With a *factorised* decoder ``p(x|z) = Π_i p(x_i|z)`` the pixels can only be correlated
through ``z``, so the model must use ``z``. An *autoregressive* decoder

.. math::

    p(x|z) = \\prod_{i=1}^{D} p(x_i \\mid x_{<i}, z)                                \\qquad (3)

can model the whole distribution without ``z``; then ``q(z|x) = p(z)`` (KL = 0) maximises
(1) whenever the information ``z`` would carry costs more KL than it saves in
reconstruction — *posterior collapse* (Bowman et al. 2016; Chen et al. 2017). Here (3)
is a masked MLP (MADE, Germain et al. 2015): input pixel ``i`` has degree ``i + 1``,
hidden unit ``k`` a degree ``m_k ∈ {0, …, D-1}``, output ``i`` degree ``i + 1``, and

.. math::

    M^{\\text{in}}_{ki} = [m_k \\ge i + 1], \\qquad M^{\\text{out}}_{ik} = [i + 1 > m_k],
    \\qquad M^{\\text{direct}}_{ij} = [j < i],                                      \\qquad (4)

so the logit of pixel ``i`` sees pixels ``x_{<i}`` only (and ``z``, which enters every
hidden unit unmasked).

Two fixes. *KL annealing* (Bowman et al. 2016) multiplies the KL by a weight that grows
from 0 to 1 over the first ``T`` steps,

.. math::

    \\beta_t = \\min(1, t / T);                                                    \\qquad (5)

*free bits* (Kingma et al. 2016) stop penalising each latent dimension's KL, averaged over
the mini-batch ``M``, below ``λ`` nats:

.. math::

    \\tilde{\\mathcal{L}}_\\lambda = \\mathbb{E}_{x \\in M}\\,\\mathbb{E}_{q}[\\log p(x|z)]
      - \\sum_{j=1}^{d} \\max\\big(\\lambda, \\mathbb{E}_{x \\in M}[\\mathrm{KL}_j(x)]\\big).  \\qquad (6)

A latent unit is *active* (Burda et al. 2016) if its posterior mean varies with the data:

.. math::

    A_u = \\mathrm{Cov}_x\\big(\\mathbb{E}_{q(z|x)}[z_u]\\big) > 0.01.                 \\qquad (7)
"""

from __future__ import annotations

import math

import torch
from torch import nn

from .._checks import (
    check_choice,
    check_nonnegative_float,
    check_nonnegative_int,
    check_positive_float,
    check_positive_int,
    check_tensor,
)
from .core import make_activation
from .variational import bernoulli_log_likelihood, reparameterize

_LOG_2PI = math.log(2 * math.pi)


class MaskedLinear(nn.Linear):
    """A linear layer whose weight is multiplied by a fixed 0/1 ``mask: (out, in)``."""

    def __init__(self, mask: torch.Tensor, bias: bool = True) -> None:
        check_tensor("mask", mask, ndim=2)
        super().__init__(mask.shape[1], mask.shape[0], bias=bias)
        self.register_buffer("mask", mask.to(self.weight.dtype))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return nn.functional.linear(x, self.weight * self.mask, self.bias)


def made_masks(n_input: int, n_hidden: int) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """The three masks (4) of a one-hidden-layer MADE in raster order: ``in: (n_hidden,
    n_input)``, ``out: (n_input, n_hidden)``, ``direct: (n_input, n_input)``. Hidden degrees
    cycle through ``0, …, n_input - 1``."""
    n_input = check_positive_int("n_input", n_input)
    n_hidden = check_positive_int("n_hidden", n_hidden)
    degree_in = torch.arange(1, n_input + 1)  # pixel i has degree i + 1
    degree_hidden = torch.arange(n_hidden) % n_input
    mask_in = (degree_hidden[:, None] >= degree_in[None, :]).float()  # (4), left
    mask_out = (degree_in[:, None] > degree_hidden[None, :]).float()  # (4), middle
    mask_direct = torch.tril(torch.ones(n_input, n_input), diagonal=-1)  # (4), right
    return mask_in, mask_out, mask_direct


class AutoregressiveDecoder(nn.Module):
    """``p(x_i = 1 | x_{<i}, z) = σ(ℓ_i)``, eq. (3)-(4): a MADE conditioned on ``z``.

    Shapes: ``z: (..., n_latent)``, ``x: (..., n_input)`` (same leading dims) → logits
    ``(..., n_input)``; logit ``i`` depends on ``x_{<i}`` and ``z`` only.
    """

    def __init__(
        self, n_input: int, n_hidden: int, n_latent: int, activation: str = "tanh"
    ) -> None:
        super().__init__()
        mask_in, mask_out, mask_direct = made_masks(n_input, n_hidden)
        self.n_input, self.n_latent = n_input, check_positive_int("n_latent", n_latent)
        self.hidden = MaskedLinear(mask_in)
        self.from_z = nn.Linear(n_latent, n_hidden, bias=False)  # z enters unmasked
        self.act = make_activation(activation)
        self.out = MaskedLinear(mask_out)
        self.direct = MaskedLinear(mask_direct, bias=False)

    def forward(self, z: torch.Tensor, x: torch.Tensor) -> torch.Tensor:
        h = self.act(self.hidden(x) + self.from_z(z))
        return self.out(h) + self.direct(x)


class CollapseVAE(nn.Module):
    """A Gaussian-encoder VAE with a factorised or an autoregressive Bernoulli decoder.

    Args:
        n_input: number of binary pixels ``D``.
        n_hidden: hidden width of the encoder and the decoder.
        n_latent: dimension ``d`` of ``z``.
        decoder: ``"factorized"`` (an MLP of ``z``: ``p(x|z) = Π_i p(x_i|z)``) or
            ``"autoregressive"`` (eq. (3), a MADE of ``x_{<i}`` and ``z``).
        activation: hidden activation.

    Shapes: ``x: (batch, n_input)``; ``encode`` → ``μ, log σ²``: ``(batch, n_latent)``;
    ``decode_logits(z, x)``: ``(..., n_input)`` (teacher forcing: the true ``x`` supplies
    ``x_{<i}``; the factorised decoder ignores ``x``).
    """

    def __init__(
        self,
        n_input: int = 64,
        n_hidden: int = 128,
        n_latent: int = 16,
        decoder: str = "factorized",
        activation: str = "tanh",
    ) -> None:
        super().__init__()
        self.n_input = check_positive_int("n_input", n_input)
        self.n_hidden = check_positive_int("n_hidden", n_hidden)
        self.n_latent = check_positive_int("n_latent", n_latent)
        self.decoder_kind = check_choice("decoder", decoder, ("factorized", "autoregressive"))
        self.encoder = nn.Sequential(nn.Linear(n_input, n_hidden), make_activation(activation))
        self.mu = nn.Linear(n_hidden, n_latent)
        self.log_var = nn.Linear(n_hidden, n_latent)
        if decoder == "factorized":
            self.decoder: nn.Module = nn.Sequential(
                nn.Linear(n_latent, n_hidden),
                make_activation(activation),
                nn.Linear(n_hidden, n_input),
            )
        else:
            self.decoder = AutoregressiveDecoder(n_input, n_hidden, n_latent, activation)

    def encode(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """``μ(x)`` and ``log σ²(x)`` of ``q(z|x)``, each ``(batch, n_latent)``."""
        check_tensor("x", x, ndim=2, last_dim=self.n_input, floating=True)
        h = self.encoder(x)
        return self.mu(h), self.log_var(h)

    def decode_logits(self, z: torch.Tensor, x: torch.Tensor | None = None) -> torch.Tensor:
        """Bernoulli logits of ``p(x_i | x_{<i}, z)`` (or ``p(x_i | z)``), ``(..., n_input)``."""
        check_tensor("z", z, last_dim=self.n_latent, floating=True)
        if self.decoder_kind == "factorized":
            return self.decoder(z)
        if x is None:
            raise ValueError("x is required by the autoregressive decoder (it supplies x_{<i})")
        check_tensor("x", x, last_dim=self.n_input, floating=True)
        return self.decoder(z, x.expand(*z.shape[:-1], self.n_input))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Pixel probabilities at ``z = μ(x)`` (teacher-forced), ``(batch, n_input)``."""
        mu, _ = self.encode(x)
        return torch.sigmoid(self.decode_logits(mu, x))

    def elbo_terms(
        self, x: torch.Tensor, n_samples: int = 1, generator: torch.Generator | None = None
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """``E_q[log p(x|z)]`` (``n_samples`` reparameterised draws) and the per-dimension KL
        (2) of each example: ``(batch,)`` and ``(batch, n_latent)``; the ELBO (1) is
        ``ll - kl.sum(-1)``."""
        n_samples = check_positive_int("n_samples", n_samples)
        mu, log_var = self.encode(x)
        eps = torch.randn((n_samples, *mu.shape), generator=generator, device=mu.device)
        z = reparameterize(mu, log_var, eps)  # (n_samples, batch, latent)
        ll = bernoulli_log_likelihood(self.decode_logits(z, x), x).mean(dim=0)
        return ll, kl_per_dim(mu, log_var)

    @torch.no_grad()
    def iw_bound(
        self, x: torch.Tensor, k: int = 100, generator: torch.Generator | None = None
    ) -> torch.Tensor:
        """The importance-weighted bound ``log (1/k) Σ_i p(x|z_i) p(z_i) / q(z_i|x)`` of
        Burda et al. (2016) per example, ``(batch,)``; ``-iw_bound`` bounds the NLL."""
        k = check_positive_int("k", k)
        mu, log_var = self.encode(x)
        eps = torch.randn((k, *mu.shape), generator=generator, device=mu.device)
        z = reparameterize(mu, log_var, eps)  # (k, batch, latent)
        log_prior = -0.5 * (_LOG_2PI + z**2).sum(dim=-1)
        log_q = -0.5 * (_LOG_2PI + log_var + eps**2).sum(dim=-1)
        log_w = bernoulli_log_likelihood(self.decode_logits(z, x), x) + log_prior - log_q
        return torch.logsumexp(log_w, dim=0) - math.log(k)

    @torch.no_grad()
    def sample(self, n: int, generator: torch.Generator | None = None) -> torch.Tensor:
        """``n`` binary images from ``z ~ N(0, I)``, then ``p(x|z)`` (pixel by pixel for the
        autoregressive decoder: ``n_input`` decoder calls); ``(n, n_input)``."""
        n = check_positive_int("n", n)
        z = torch.randn(n, self.n_latent, generator=generator)
        if self.decoder_kind == "factorized":
            return torch.bernoulli(torch.sigmoid(self.decoder(z)), generator=generator)
        x = torch.zeros(n, self.n_input)
        for i in range(self.n_input):
            p = torch.sigmoid(self.decoder(z, x)[:, i])
            x[:, i] = torch.bernoulli(p, generator=generator)
        return x

    def extra_repr(self) -> str:
        return (
            f"n_input={self.n_input}, n_hidden={self.n_hidden}, n_latent={self.n_latent}, "
            f"decoder={self.decoder_kind!r}"
        )


def kl_per_dim(mu: torch.Tensor, log_var: torch.Tensor) -> torch.Tensor:
    """Eq. (2): ``½ (μ² + σ² - 1 - log σ²)`` elementwise, the shape of ``mu``."""
    check_tensor("mu", mu, floating=True)
    check_tensor("log_var", log_var, floating=True)
    if mu.shape != log_var.shape:
        raise ValueError(
            f"log_var must have the shape of mu {tuple(mu.shape)}, got {tuple(log_var.shape)}"
        )
    return 0.5 * (mu**2 + log_var.exp() - 1 - log_var)


def kl_weight(step: int, warmup_steps: int) -> float:
    """Eq. (5): the KL weight ``min(1, step / warmup_steps)`` (1 when ``warmup_steps`` is 0)."""
    step = check_nonnegative_int("step", step)
    warmup_steps = check_nonnegative_int("warmup_steps", warmup_steps)
    return 1.0 if warmup_steps == 0 else min(1.0, step / warmup_steps)


def free_bits_kl(kl: torch.Tensor, free_bits: float) -> torch.Tensor:
    """Eq. (6)'s penalty ``Σ_j max(λ, mean_batch KL_j)`` from ``kl: (batch, n_latent)``;
    a dimension whose batch-mean KL is below ``λ`` gets no gradient."""
    check_tensor("kl", kl, ndim=2, floating=True)
    free_bits = check_nonnegative_float("free_bits", free_bits)
    return torch.clamp(kl.mean(dim=0), min=free_bits).sum()  # (6)


def active_units(mu: torch.Tensor, threshold: float = 0.01) -> int:
    """Eq. (7): how many columns of the posterior means ``mu: (n_examples, n_latent)`` have
    a variance over the examples (population variance, divisor ``n``) above ``threshold``."""
    check_tensor("mu", mu, ndim=2, floating=True, min_rows=2)
    threshold = check_positive_float("threshold", threshold)
    return int((mu.var(dim=0, unbiased=False) > threshold).sum())


class CollapseLoss:
    """Loss function for :func:`survey_models.train.fit`: the negative ELBO (1) with KL
    annealing (5) and/or free bits (6) while the model trains.

    Args:
        warmup_steps: ``T`` of (5); 0 switches annealing off.
        free_bits: ``λ`` of (6) in nats per latent dimension; 0 switches it off.

    Each call in training mode counts one step. In evaluation mode (as in ``fit``'s
    validation) it returns the plain negative mean ELBO, so validation curves are comparable.
    """

    def __init__(self, warmup_steps: int = 0, free_bits: float = 0.0) -> None:
        self.warmup_steps = check_nonnegative_int("warmup_steps", warmup_steps)
        self.free_bits = check_nonnegative_float("free_bits", free_bits)
        self.steps = 0

    def __call__(self, model: CollapseVAE, x: torch.Tensor) -> torch.Tensor:
        if not isinstance(model, CollapseVAE):
            raise TypeError(f"model must be a CollapseVAE, got {type(model).__name__}")
        ll, kl = model.elbo_terms(x)
        if not model.training:
            return -(ll - kl.sum(dim=-1)).mean()  # (1)
        beta = kl_weight(self.steps, self.warmup_steps)  # (5)
        self.steps += 1
        penalty = free_bits_kl(kl, self.free_bits) if self.free_bits else kl.sum(-1).mean()
        return -ll.mean() + beta * penalty

    def __repr__(self) -> str:
        return f"CollapseLoss(warmup_steps={self.warmup_steps}, free_bits={self.free_bits})"


__all__ = [
    "MaskedLinear",
    "made_masks",
    "AutoregressiveDecoder",
    "CollapseVAE",
    "kl_per_dim",
    "kl_weight",
    "free_bits_kl",
    "active_units",
    "CollapseLoss",
]
