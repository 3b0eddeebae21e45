"""Sparse autoencoder with a KL-divergence sparsity penalty (Ng, CS294A notes).

Let ``ρ̂_j`` be the mean activation of hidden unit ``j`` over a batch. The penalty treats
``ρ̂_j`` and the target ``ρ`` as the means of two Bernoulli variables and adds

.. math::

    J_{\\text{sparse}} = J + \\beta \\sum_j \\mathrm{KL}(\\rho \\,\\|\\, \\hat\\rho_j),
    \\qquad
    \\mathrm{KL}(\\rho \\,\\|\\, \\hat\\rho_j)
      = \\rho \\log\\frac{\\rho}{\\hat\\rho_j} + (1-\\rho)\\log\\frac{1-\\rho}{1-\\hat\\rho_j}

to the reconstruction error ``J``. It is zero when every unit fires on average a share
``ρ`` of the time and grows without bound as ``ρ̂_j`` nears 0 or 1. The hidden units must
lie in (0, 1), so the encoder activation is the sigmoid.
"""

from __future__ import annotations

import torch
from torch import nn

from .._checks import check_nonnegative_float, check_probability, check_tensor
from .core import Autoencoder

_EPS = 1e-7


def kl_sparsity(rho: float, rho_hat: torch.Tensor) -> torch.Tensor:
    """``Σ_j KL(ρ ‖ ρ̂_j)`` between Bernoulli(ρ) and Bernoulli(ρ̂_j); ``rho_hat: (n_hidden,)``."""
    rho = check_probability("rho", rho, open_interval=True)
    check_tensor("rho_hat", rho_hat, floating=True)
    rho_hat = rho_hat.clamp(_EPS, 1 - _EPS)
    return (rho * torch.log(rho / rho_hat) + (1 - rho) * torch.log((1 - rho) / (1 - rho_hat))).sum()


def mean_activation(model: Autoencoder, x: torch.Tensor) -> torch.Tensor:
    """``ρ̂``: the mean of each hidden unit over the batch, shape ``(n_hidden,)``."""
    return model.encode(x).mean(dim=0)


class SparseLoss:
    """Loss function for :func:`survey_models.train.fit`: reconstruction + β · KL sparsity.

    Args:
        sparsity_target: ρ, the desired mean activation, in the open interval (0, 1).
        sparsity_weight: β ≥ 0, the weight of the penalty (β = 0 is the plain autoencoder).

    Call as ``loss(model, x)`` with an :class:`Autoencoder` whose encoder is the sigmoid.
    """

    def __init__(self, sparsity_target: float = 0.05, sparsity_weight: float = 3.0) -> None:
        self.sparsity_target = check_probability(
            "sparsity_target", sparsity_target, open_interval=True
        )
        self.sparsity_weight = check_nonnegative_float("sparsity_weight", sparsity_weight)

    def __call__(self, model: Autoencoder, x: torch.Tensor) -> torch.Tensor:
        if not isinstance(getattr(model, "encoder_activation", None), nn.Sigmoid):
            raise ValueError(
                "model must be an Autoencoder with encoder_activation='sigmoid' "
                "(the KL sparsity penalty needs hidden units in (0, 1))"
            )
        h = model.encode(x)
        y = model.decode(h)
        recon = ((y - x) ** 2).sum(dim=1).mean()
        return recon + self.sparsity_weight * kl_sparsity(self.sparsity_target, h.mean(dim=0))

    def __repr__(self) -> str:
        return (
            f"SparseLoss(sparsity_target={self.sparsity_target}, "
            f"sparsity_weight={self.sparsity_weight})"
        )


__all__ = ["kl_sparsity", "mean_activation", "SparseLoss"]
