"""Linear autoencoder and PCA (Baldi & Hornik 1989).

With identity activations the autoencoder ``y = W2 (W1 x + b1) + b2`` is a rank-``k`` linear
map. Baldi and Hornik showed that every minimum of its squared error projects onto the
subspace spanned by the top-``k`` principal components, and that there are no other local
minima. The code ``W1 x`` need not be the principal components themselves (any invertible
mix of them is as good), so the comparison is between *subspaces*: the column space of the
decoder weight ``W2`` against the top-``k`` principal directions, measured by principal
angles.
"""

from __future__ import annotations

import torch

from .._checks import check_positive_int, check_tensor
from .core import Autoencoder, check_autoencoder


def linear_autoencoder(n_input: int, n_hidden: int) -> Autoencoder:
    """An :class:`Autoencoder` with identity encoder and decoder activations."""
    return Autoencoder(
        n_input, n_hidden, encoder_activation="identity", decoder_activation="identity"
    )


def pca_subspace(x: torch.Tensor, k: int) -> torch.Tensor:
    """Orthonormal basis ``(dim, k)`` of the top-``k`` principal directions of ``x: (n, dim)``.

    The data are centred and the right singular vectors of largest singular value kept.
    """
    check_tensor("x", x, ndim=2, floating=True)
    k = check_positive_int("k", k)
    if k > x.shape[1]:
        raise ValueError(f"k must be at most the data dimension {x.shape[1]}, got {k}")
    centred = x - x.mean(dim=0, keepdim=True)
    _, _, vh = torch.linalg.svd(centred, full_matrices=False)
    return vh[:k].T


def decoder_subspace(model: Autoencoder) -> torch.Tensor:
    """Orthonormal basis ``(n_input, n_hidden)`` of the column space of the decoder ``W2``."""
    check_autoencoder(model)
    q, _ = torch.linalg.qr(model.decoder_linear.weight.detach())
    return q


def principal_angles(a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    """Principal angles in degrees, ascending, between the column spaces of ``a`` and ``b``.

    Both are ``(dim, k)`` with the same ``dim``; the columns need not be orthonormal. The
    cosines of the angles are the singular values of ``Qa^T Qb`` (Björck & Golub 1973).
    """
    check_tensor("a", a, ndim=2, floating=True)
    check_tensor("b", b, ndim=2, floating=True)
    if a.shape[0] != b.shape[0]:
        raise ValueError(
            f"a and b must have the same number of rows, got {tuple(a.shape)} and {tuple(b.shape)}"
        )
    qa, _ = torch.linalg.qr(a.double())
    qb, _ = torch.linalg.qr(b.double())
    cosines = torch.linalg.svdvals(qa.T @ qb).clamp(-1.0, 1.0)
    return torch.sort(torch.rad2deg(torch.arccos(cosines))).values


def pca_reconstruction_error(x_train: torch.Tensor, x: torch.Tensor, k: int) -> float:
    """Mean squared error per example of projecting ``x`` on the top-``k`` PCA subspace of
    ``x_train`` (the best any rank-``k`` linear autoencoder can do on ``x_train``)."""
    basis = pca_subspace(x_train, k)
    check_tensor("x", x, ndim=2, last_dim=x_train.shape[1], floating=True)
    mean = x_train.mean(dim=0, keepdim=True)
    recon = mean + (x - mean) @ basis @ basis.T
    return float(((recon - x) ** 2).sum(dim=1).mean())


__all__ = [
    "linear_autoencoder",
    "pca_subspace",
    "decoder_subspace",
    "principal_angles",
    "pca_reconstruction_error",
]
