"""β-VAE (Higgins et al. 2017), its capacity form (Burgess et al. 2018) and the mutual
information gap (Chen et al. 2018) that scores how disentangled a code is.

The β-VAE is the :class:`~survey_models.autoencoders.variational.VariationalAutoencoder`
trained with the KL term of the ELBO weighted by ``β``:

.. math::

    \\mathcal{L}_\\beta(x) = \\mathbb{E}_{q(z|x)}[\\log p(x|z)]
        - \\beta\\, \\mathrm{KL}(q(z|x) \\,\\|\\, p(z)).                          \\tag{1}

``β = 1`` is the ELBO; ``β > 1`` presses ``q(z|x)`` towards the factorised prior
``N(0, I)`` and so, Higgins et al. argue, towards codes whose dimensions follow separate
generative factors, at the price of reconstruction. Burgess et al. instead let the KL
term approach a target capacity ``C`` (nats), raised during training:

.. math::

    \\mathcal{L}_C(x) = \\mathbb{E}_{q(z|x)}[\\log p(x|z)]
        - \\gamma\\, \\bigl|\\mathrm{KL}(q(z|x) \\,\\|\\, p(z)) - C\\bigr|.          \\tag{2}

The mutual information gap of codes ``z`` (here the posterior means, one column per
dimension, each cut into ``n_bins`` equal-width bins) against discrete factors ``v_k`` is

.. math::

    \\mathrm{MIG} = \\frac{1}{K} \\sum_{k=1}^{K}
        \\frac{I(z_{j^{(k)}}; v_k) - \\max_{j \\ne j^{(k)}} I(z_j; v_k)}{H(v_k)},
    \\qquad j^{(k)} = \\arg\\max_j I(z_j; v_k),                                  \\tag{3}

with ``I`` and ``H`` the plug-in (histogram) mutual information and entropy in nats
(Chen et al. estimate ``I`` from ``q(z|x)`` itself; the histogram estimate is the one of
Locatello et al. 2019). It lies in [0, 1]: 1 when each factor is fully told by one code
dimension and by no other, 0 when the two most informative dimensions tie.
"""

from __future__ import annotations

import numpy as np
import torch

from .._checks import (
    check_finite_tensor,
    check_nonnegative_float,
    check_positive_float,
    check_positive_int,
    check_tensor,
)
from .variational import (
    VariationalAutoencoder,
    bernoulli_log_likelihood,
    gaussian_kl,
    reparameterize,
)


class BetaVAELoss:
    """Loss function for :func:`survey_models.train.fit`: the negative mean of eq. (1), or of
    eq. (2) when ``capacity`` is given.

    Args:
        beta: weight of the KL term, a finite number > 0 (``β = 1`` is
            :func:`~survey_models.autoencoders.variational.vae_loss`, bit for bit); with a
            ``capacity`` it is the γ of eq. (2).
        capacity: target KL ``C`` in nats (≥ 0), or ``None`` for the plain β-VAE. It is a
            plain attribute: a training callback may raise it step by step, as Burgess et
            al. do.

    Call as ``loss(model, x)`` with a :class:`VariationalAutoencoder` and
    ``x: (batch, n_input)``; one reparameterised sample per example.
    """

    def __init__(self, beta: float = 4.0, capacity: float | None = None) -> None:
        self.beta = check_positive_float("beta", beta)
        self.capacity = None if capacity is None else check_nonnegative_float("capacity", capacity)

    def terms(
        self, model: VariationalAutoencoder, x: torch.Tensor
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """Per-example expected log-likelihood and KL, each ``(batch,)``."""
        if not isinstance(model, VariationalAutoencoder):
            raise TypeError(f"model must be a VariationalAutoencoder, got {type(model).__name__}")
        mu, log_var = model.encode(x)
        eps = torch.randn((1, *mu.shape), device=mu.device)  # the draw vae_loss makes
        z = reparameterize(mu, log_var, eps)
        expected_ll = bernoulli_log_likelihood(model.decode_logits(z), x).mean(dim=0)
        return expected_ll, gaussian_kl(mu, log_var)

    def __call__(self, model: VariationalAutoencoder, x: torch.Tensor) -> torch.Tensor:
        expected_ll, kl = self.terms(model, x)
        if self.capacity is None:
            return -(expected_ll - self.beta * kl).mean()  # eq. (1)
        return -(expected_ll - self.beta * (kl - self.capacity).abs()).mean()  # eq. (2)

    def __repr__(self) -> str:
        return f"BetaVAELoss(beta={self.beta}, capacity={self.capacity})"


def _check_codes_factors(codes: object, factors: object) -> tuple[np.ndarray, np.ndarray]:
    check_tensor("codes", codes, ndim=2, floating=True, min_rows=2)
    check_tensor("factors", factors, ndim=2, min_rows=1)
    assert isinstance(codes, torch.Tensor) and isinstance(factors, torch.Tensor)
    if factors.is_floating_point() or factors.is_complex() or factors.dtype == torch.bool:
        raise TypeError(f"factors must be an integer tensor, got dtype {factors.dtype}")
    if factors.shape[0] != codes.shape[0]:
        raise ValueError(
            f"factors must have one row per row of codes ({codes.shape[0]}), "
            f"got shape {tuple(factors.shape)}"
        )
    check_finite_tensor("codes", codes)
    return codes.detach().cpu().double().numpy(), factors.cpu().numpy().astype(np.int64)


def discretize_codes(codes: torch.Tensor, n_bins: int = 20) -> torch.Tensor:
    """Cut each column of ``codes: (n, d)`` into ``n_bins`` equal-width bins between its
    minimum and maximum; bin indices ``(n, d)`` int64 in ``[0, n_bins)``. A constant column
    falls in bin 0."""
    n_bins = check_positive_int("n_bins", n_bins)
    check_tensor("codes", codes, ndim=2, floating=True)
    check_finite_tensor("codes", codes)
    c = codes.detach().cpu().double().numpy()
    out = np.zeros(c.shape, dtype=np.int64)
    for j in range(c.shape[1]):
        lo, hi = c[:, j].min(), c[:, j].max()
        if hi > lo:
            out[:, j] = np.clip(np.floor((c[:, j] - lo) / (hi - lo) * n_bins), 0, n_bins - 1)
    return torch.from_numpy(out)


def _entropy(labels: np.ndarray) -> float:
    p = np.unique(labels, return_counts=True)[1] / len(labels)
    return float(-(p * np.log(p)).sum())


def _mutual_information(a: np.ndarray, b: np.ndarray) -> float:
    """Plug-in ``I(a; b) = H(a) + H(b) - H(a, b)`` of two integer label vectors, in nats."""
    joint = a * (int(b.max()) + 1) + b
    return _entropy(a) + _entropy(b) - _entropy(joint)


def mutual_information_matrix(
    codes: torch.Tensor, factors: torch.Tensor, n_bins: int = 20
) -> torch.Tensor:
    """``I(z_j; v_k)`` in nats for each code dimension ``j`` and factor ``k``;
    ``(d, K)`` float64. ``codes: (n, d)`` float (discretised by :func:`discretize_codes`),
    ``factors: (n, K)`` integer levels. Each entry is computed from its two columns
    alone, so permuting the code dimensions permutes the rows exactly."""
    n_bins = check_positive_int("n_bins", n_bins)
    _, f = _check_codes_factors(codes, factors)
    z = discretize_codes(codes, n_bins).numpy()
    f = f - f.min(axis=0, keepdims=True)
    mi = np.array([[_mutual_information(z[:, j], f[:, k]) for k in range(f.shape[1])]
                   for j in range(z.shape[1])])  # fmt: skip
    return torch.from_numpy(mi.reshape(z.shape[1], f.shape[1]))


def mutual_info_gap(
    codes: torch.Tensor, factors: torch.Tensor, n_bins: int = 20
) -> tuple[float, torch.Tensor]:
    """MIG of eq. (3) and the per-factor gaps ``(K,)``; needs ≥ 2 code dimensions, and
    every factor must take ≥ 2 values (so that ``H(v_k) > 0``)."""
    check_tensor("codes", codes, ndim=2)
    if codes.shape[1] < 2:
        raise ValueError(f"codes must have at least 2 dimensions, got shape {tuple(codes.shape)}")
    mi = mutual_information_matrix(codes, factors, n_bins).numpy()
    f = factors.cpu().numpy().astype(np.int64)
    h = np.array([_entropy(f[:, k]) for k in range(f.shape[1])])
    if (h == 0).any():
        raise ValueError(f"factors column {int(np.argmin(h))} is constant: H(v_k) = 0")
    top = -np.sort(-mi, axis=0)  # each column in descending order
    gaps = (top[0] - top[1]) / h  # eq. (3), one term per factor
    return float(gaps.mean()), torch.from_numpy(gaps)


@torch.no_grad()
def latent_traversal(
    model: VariationalAutoencoder, z: torch.Tensor, values: torch.Tensor
) -> torch.Tensor:
    """Decode ``z: (n_latent,)`` with one dimension at a time set to each of ``values: (m,)``;
    pixel probabilities ``(n_latent, m, n_input)``, row ``j`` varying dimension ``j``."""
    if not isinstance(model, VariationalAutoencoder):
        raise TypeError(f"model must be a VariationalAutoencoder, got {type(model).__name__}")
    check_tensor("z", z, ndim=1, last_dim=model.n_latent, floating=True)
    check_tensor("values", values, ndim=1, floating=True, min_rows=1)
    d, m = model.n_latent, values.shape[0]
    grid = z.expand(d, m, d).clone()
    idx = torch.arange(d)
    grid[idx, :, idx] = values.to(z.dtype)
    return torch.sigmoid(model.decode_logits(grid))


__all__ = [
    "BetaVAELoss",
    "discretize_codes",
    "mutual_information_matrix",
    "mutual_info_gap",
    "latent_traversal",
]
