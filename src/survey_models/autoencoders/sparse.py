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

Two other ways to make codes sparse act on each example's code ``h`` rather than on the
batch means. The L1 activity penalty (Goodfellow et al. 2016, §14.2.1)
adds the absolute activations,

.. math::

    J_{\\ell_1} = J + \\lambda \\frac{1}{N}\\sum_{n}\\sum_j \\lvert h_j^{(n)} \\rvert, \\qquad (3)

and the k-sparse autoencoder (Makhzani & Frey 2014) keeps, in the forward pass, only the
``k`` largest hidden units of each example and sets the rest to zero:

.. math::

    \\tilde h = h \\odot \\mathbb{1}\\left[j \\in \\mathrm{supp}_k(h)\\right], \\qquad
    y = \\sigma_d(W_2 \\tilde h + b_2), \\qquad (4)

where ``supp_k(h)`` is the index set of the ``k`` largest entries of ``h``. The gradient
reaches only the kept units, and no penalty term is needed: exactly ``k`` units are
non-zero by construction. (The paper uses a linear encoder and tied weights,
:class:`~survey_models.autoencoders.tied.TiedAutoencoder`.)
"""

from __future__ import annotations

import torch
from torch import nn

from .._checks import (
    check_choice,
    check_nonnegative_float,
    check_positive_int,
    check_probability,
    check_tensor,
)
from .core import ERRORS, Autoencoder, check_autoencoder, per_example_error

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


def l1_activity(h: torch.Tensor) -> torch.Tensor:
    """``(1/N) Σ_n Σ_j |h_j⁽ⁿ⁾|``, the L1 activity of equation (3); ``h: (batch, n_hidden)``."""
    check_tensor("h", h, ndim=2, floating=True, min_rows=1)
    return h.abs().sum(dim=1).mean()  # equation (3), without λ


class L1ActivityLoss:
    """Loss function for :func:`survey_models.train.fit`: reconstruction + λ · L1 activity.

    Args:
        activity_weight: λ ≥ 0 in equation (3) (λ = 0 is the plain autoencoder).
        error: the reconstruction error, ``"squared"`` or ``"cross_entropy"``
            (see :func:`~survey_models.autoencoders.core.per_example_error`).

    Call as ``loss(model, x)`` with an :class:`Autoencoder` (any encoder activation).
    """

    def __init__(self, activity_weight: float = 0.1, error: str = "squared") -> None:
        self.activity_weight = check_nonnegative_float("activity_weight", activity_weight)
        self.error = check_choice("error", error, ERRORS)

    def __call__(self, model: Autoencoder, x: torch.Tensor) -> torch.Tensor:
        check_autoencoder(model)
        h = model.encode(x)
        recon = per_example_error(model.decode(h), x, self.error).mean()
        return recon + self.activity_weight * l1_activity(h)  # equation (3)

    def __repr__(self) -> str:
        return f"L1ActivityLoss(activity_weight={self.activity_weight}, error={self.error!r})"


def k_sparse(h: torch.Tensor, k: int) -> torch.Tensor:
    """Keep the ``k`` largest entries of each row of ``h``, zero the rest (equation (4)).

    ``h: (batch, n_hidden)`` → same shape, with at most ``k`` non-zeros per row (exactly
    ``k`` unless a kept value is itself 0). Ties are broken by :func:`torch.topk`. The
    result is ``h`` times a 0/1 mask, so the gradient flows only through the kept units.
    """
    check_tensor("h", h, ndim=2, floating=True)
    check_positive_int("k", k)
    if k > h.shape[1]:
        raise ValueError(f"k must be at most the number of hidden units {h.shape[1]}, got {k}")
    support = h.topk(k, dim=1).indices  # supp_k(h)
    mask = torch.zeros_like(h).scatter_(1, support, 1.0)
    return h * mask  # equation (4)


class KSparseLoss:
    """Loss function for :func:`survey_models.train.fit`: the k-sparse autoencoder.

    The reconstruction goes through :func:`k_sparse`: ``y = decode(k_sparse(encode(x), k))``
    (equation (4)); the loss is its reconstruction error, with no penalty term.

    Args:
        k: hidden units kept per example (a positive int, at most ``n_hidden``).
        error: ``"squared"`` or ``"cross_entropy"``.

    Use :meth:`encode` and :meth:`reconstruct` to apply the same sparsification at test time.
    """

    def __init__(self, k: int, error: str = "squared") -> None:
        self.k = check_positive_int("k", k)
        self.error = check_choice("error", error, ERRORS)

    def encode(self, model: Autoencoder, x: torch.Tensor) -> torch.Tensor:
        """The k-sparse code ``h̃`` of ``x``, ``(batch, n_hidden)``."""
        check_autoencoder(model)
        return k_sparse(model.encode(x), self.k)

    def reconstruct(self, model: Autoencoder, x: torch.Tensor) -> torch.Tensor:
        """``y = decode(h̃)``, ``(batch, n_input)``."""
        return model.decode(self.encode(model, x))

    def __call__(self, model: Autoencoder, x: torch.Tensor) -> torch.Tensor:
        return per_example_error(self.reconstruct(model, x), x, self.error).mean()

    def __repr__(self) -> str:
        return f"KSparseLoss(k={self.k}, error={self.error!r})"


__all__ = [
    "kl_sparsity",
    "mean_activation",
    "SparseLoss",
    "l1_activity",
    "L1ActivityLoss",
    "k_sparse",
    "KSparseLoss",
]
