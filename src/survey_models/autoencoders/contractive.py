"""Contractive autoencoder (Rifai et al. 2011).

Add the squared Frobenius norm of the encoder's Jacobian to the reconstruction error,

.. math::

    J_{\\text{CAE}} = J + \\lambda \\, \\lVert J_f(x) \\rVert_F^2,
    \\qquad
    \\lVert J_f(x) \\rVert_F^2 = \\sum_{j} \\sigma_e'(a_j)^2 \\sum_i W_{1,ji}^2,

where ``a = W1 x + b1``: for a one-layer encoder ``h = σ_e(a)`` the Jacobian is
``diag(σ_e'(a)) W1``, so its norm costs no more than a forward pass. The penalty makes the
code locally insensitive to the input, except along the directions that reconstruction
needs.
"""

from __future__ import annotations

import torch

from .._checks import check_nonnegative_float
from .core import Autoencoder, activation_derivative, check_autoencoder


def _norm_sq_from_code(model: Autoencoder, h: torch.Tensor) -> torch.Tensor:
    slope = activation_derivative(model.encoder_activation, h)  # σ'(a): (batch, hidden)
    row_norms = (model.encoder_linear.weight**2).sum(dim=1)  # Σ_i W_ji²: (hidden,)
    return (slope**2 * row_norms).sum(dim=1)


def jacobian_norm_sq(model: Autoencoder, x: torch.Tensor) -> torch.Tensor:
    """``‖∂h/∂x‖_F²`` for each example, shape ``(batch,)``, in closed form."""
    check_autoencoder(model)
    return _norm_sq_from_code(model, model.encode(x))


def contractive_penalty(model: Autoencoder, x: torch.Tensor) -> torch.Tensor:
    """Batch mean of ``‖J_f(x)‖_F²`` (the CAE penalty, a scalar)."""
    return jacobian_norm_sq(model, x).mean()


class ContractiveLoss:
    """Loss function for :func:`survey_models.train.fit`: reconstruction + λ ‖J_f‖_F².

    Args:
        contraction_weight: λ ≥ 0 (λ = 0 is the plain autoencoder).
    """

    def __init__(self, contraction_weight: float = 0.1) -> None:
        self.contraction_weight = check_nonnegative_float("contraction_weight", contraction_weight)

    def __call__(self, model: Autoencoder, x: torch.Tensor) -> torch.Tensor:
        h = check_autoencoder(model).encode(x)
        recon = ((model.decode(h) - x) ** 2).sum(dim=1).mean()
        return recon + self.contraction_weight * _norm_sq_from_code(model, h).mean()

    def __repr__(self) -> str:
        return f"ContractiveLoss(contraction_weight={self.contraction_weight})"


__all__ = ["jacobian_norm_sq", "contractive_penalty", "ContractiveLoss"]
