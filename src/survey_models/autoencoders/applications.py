"""Two applications from the review: image restoration and clustering in code space.

*Restoration.* An autoencoder is trained to map a degraded image ``D(x)`` back to the clean
``x`` (a denoising autoencoder whose corruption is the degradation of the task):

.. math::

    J = \\mathbb{E}_x \\lVert g(f(D(x))) - x \\rVert^2 \\qquad (1)

Two degradations on ``side × side`` images stored as rows of ``side²`` pixels: *inpainting*
(a ``size × size`` block of pixels is missing, set to a fill value) and *super-resolution*
(``factor × factor`` average pooling, shown at full size by nearest-neighbour upsampling).
Quality is the peak signal-to-noise ratio against the clean image,

.. math::

    \\mathrm{PSNR} = 10 \\log_{10} \\frac{R^2}{\\mathrm{MSE}}, \\qquad
    \\mathrm{MSE} = \\frac{1}{N} \\sum_i (\\hat{x}_i - x_i)^2 \\qquad (2)

with ``R`` the data range (1 for pixels in [0, 1]), in decibels; identical images give ``+inf``.

*Clustering.* k-means on features ``z`` (pixels or autoencoder codes), scored against the
true labels by the adjusted Rand index (ARI: 1 for the same partition, about 0 for a random
one; scikit-learn's ``adjusted_rand_score``). Deep embedded clustering (Xie et al. 2016)
starts from exactly this: k-means on the codes of a pretrained autoencoder.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import nn

from .._checks import (
    check_choice,
    check_int_in,
    check_positive_float,
    check_positive_int,
    check_seed,
    check_tensor,
)
from .core import reconstruction_loss

UPSAMPLING = ("nearest", "bilinear")


def psnr(estimate: torch.Tensor, target: torch.Tensor, data_range: float = 1.0) -> float:
    """Equation (2): PSNR in dB of ``estimate`` against ``target`` (same shape), over all
    entries; ``+inf`` when they are identical."""
    check_tensor("estimate", estimate, floating=True)
    check_tensor("target", target, floating=True)
    if estimate.shape != target.shape:
        raise ValueError(
            f"estimate and target must have the same shape, got {tuple(estimate.shape)} "
            f"and {tuple(target.shape)}"
        )
    if target.numel() == 0:
        raise ValueError("target must not be empty")
    data_range = check_positive_float("data_range", data_range)
    mse = float(((estimate.double() - target.double()) ** 2).mean())  # (2)
    if not math.isfinite(mse):
        raise ValueError("estimate and target must be finite")
    if mse == 0.0:
        return math.inf
    return 10.0 * math.log10(data_range**2 / mse)  # (2)


def _check_images(name: str, x: object, side: int) -> torch.Tensor:
    side = check_positive_int("side", side)
    return check_tensor(name, x, ndim=2, last_dim=side * side, floating=True)


def block_mask(
    n: int,
    side: int = 8,
    size: int = 4,
    *,
    top: int | None = None,
    left: int | None = None,
    generator: torch.Generator | None = None,
) -> torch.Tensor:
    """Missing-pixel masks ``(n, side²)`` (bool, ``True`` = missing): one ``size × size``
    block per image, at ``(top, left)`` if both are given, else at a random position drawn
    from ``generator``."""
    n = check_positive_int("n", n)
    side = check_positive_int("side", side)
    size = check_int_in("size", size, 1, side + 1)
    if (top is None) != (left is None):
        raise ValueError("give both top and left, or neither")
    if top is not None and left is not None:
        check_int_in("top", top, 0, side - size + 1)
        check_int_in("left", left, 0, side - size + 1)
        tops = torch.full((n,), top)
        lefts = torch.full((n,), left)
    else:
        tops = torch.randint(0, side - size + 1, (n,), generator=generator)
        lefts = torch.randint(0, side - size + 1, (n,), generator=generator)
    rows = torch.arange(side)[None, :, None]  # (1, side, 1)
    cols = torch.arange(side)[None, None, :]  # (1, 1, side)
    in_rows = (rows >= tops[:, None, None]) & (rows < tops[:, None, None] + size)
    in_cols = (cols >= lefts[:, None, None]) & (cols < lefts[:, None, None] + size)
    return (in_rows & in_cols).reshape(n, side * side)


def apply_mask(
    x: torch.Tensor, mask: torch.Tensor, fill: float | torch.Tensor = 0.0
) -> torch.Tensor:
    """The inpainting degradation ``D(x)``: entries where ``mask`` is ``True`` become
    ``fill`` (a number, or a ``(dim,)`` tensor such as the training mean: mean-fill).

    Shapes: ``x: (batch, dim)``, ``mask: (batch, dim)`` bool.
    """
    check_tensor("x", x, ndim=2, floating=True)
    check_tensor("mask", mask, ndim=2)
    if mask.dtype != torch.bool:
        raise TypeError(f"mask must be a bool tensor, got dtype {mask.dtype}")
    if mask.shape != x.shape:
        raise ValueError(f"mask must have the shape of x {tuple(x.shape)}, got {tuple(mask.shape)}")
    if isinstance(fill, torch.Tensor):
        check_tensor("fill", fill, ndim=1, last_dim=x.shape[1], floating=True)
        fill_values = fill.to(x.dtype).expand_as(x)
    else:
        fill_values = torch.full_like(x, float(fill))
    return torch.where(mask, fill_values, x)


def keep_observed(
    restored: torch.Tensor, observed: torch.Tensor, mask: torch.Tensor
) -> torch.Tensor:
    """Take ``restored`` only where pixels are missing (``mask``) and the observed pixels
    elsewhere: an inpainting never changes what it was given."""
    check_tensor("restored", restored, ndim=2, floating=True)
    apply_mask(observed, mask)  # checks observed and mask
    if restored.shape != observed.shape:
        raise ValueError(
            f"restored must have the shape of observed {tuple(observed.shape)}, "
            f"got {tuple(restored.shape)}"
        )
    return torch.where(mask, restored, observed)


def downsample(x: torch.Tensor, side: int = 8, factor: int = 2) -> torch.Tensor:
    """The super-resolution degradation: ``factor × factor`` average pooling of
    ``x: (batch, side²)`` to ``(batch, (side / factor)²)``."""
    x = _check_images("x", x, side)
    factor = check_int_in("factor", factor, 1, side + 1)
    if side % factor:
        raise ValueError(f"factor must divide side={side}, got {factor}")
    low = F.avg_pool2d(x.reshape(-1, 1, side, side), factor)
    return low.reshape(x.shape[0], -1)


def upsample(
    x: torch.Tensor, side: int = 4, factor: int = 2, mode: str = "nearest"
) -> torch.Tensor:
    """Interpolate ``x: (batch, side²)`` to ``(batch, (side · factor)²)``; ``mode`` is
    ``"nearest"`` (each pixel copied into a ``factor × factor`` block) or ``"bilinear"``."""
    x = _check_images("x", x, side)
    factor = check_positive_int("factor", factor)
    check_choice("mode", mode, UPSAMPLING)
    image = x.reshape(-1, 1, side, side)
    if mode == "nearest":
        high = F.interpolate(image, scale_factor=factor, mode="nearest")
    else:
        high = F.interpolate(image, scale_factor=factor, mode="bilinear", align_corners=False)
    return high.reshape(x.shape[0], -1)


class InpaintingLoss:
    """Loss for :func:`survey_models.train.fit`, equation (1) with ``D`` = a random
    ``size × size`` block set to ``fill`` (fresh blocks at every call)."""

    def __init__(self, side: int = 8, size: int = 4, fill: float = 0.0) -> None:
        self.side = check_positive_int("side", side)
        self.size = check_int_in("size", size, 1, side + 1)
        self.fill = float(fill)

    def __call__(self, model: nn.Module, x: torch.Tensor) -> torch.Tensor:
        _check_images("x", x, self.side)
        mask = block_mask(x.shape[0], self.side, self.size).to(x.device)
        return reconstruction_loss(model, apply_mask(x, mask, self.fill), target=x)  # (1)

    def __repr__(self) -> str:
        return f"InpaintingLoss(side={self.side}, size={self.size}, fill={self.fill})"


class SuperResolutionLoss:
    """Loss for :func:`survey_models.train.fit`, equation (1) with ``D`` = average pooling
    by ``factor`` followed by nearest-neighbour upsampling (the model sees a blocky image of
    the full size and returns a sharp one)."""

    def __init__(self, side: int = 8, factor: int = 2) -> None:
        self.side = check_positive_int("side", side)
        self.factor = check_int_in("factor", factor, 1, side + 1)
        if side % factor:
            raise ValueError(f"factor must divide side={side}, got {factor}")

    def degrade(self, x: torch.Tensor) -> torch.Tensor:
        """``D(x)``: ``(batch, side²)`` → ``(batch, side²)``, blocky."""
        low = downsample(x, self.side, self.factor)
        return upsample(low, self.side // self.factor, self.factor, "nearest")

    def __call__(self, model: nn.Module, x: torch.Tensor) -> torch.Tensor:
        return reconstruction_loss(model, self.degrade(x), target=x)  # (1)

    def __repr__(self) -> str:
        return f"SuperResolutionLoss(side={self.side}, factor={self.factor})"


def kmeans_ari(
    features: torch.Tensor, labels: torch.Tensor, n_clusters: int = 10, seed: int = 0
) -> float:
    """Adjusted Rand index of k-means clusters of ``features: (n, dim)`` against
    ``labels: (n,)`` (scikit-learn's ``KMeans`` with 10 restarts, ``adjusted_rand_score``)."""
    from sklearn.cluster import KMeans
    from sklearn.metrics import adjusted_rand_score

    check_tensor("features", features, ndim=2, floating=True, min_rows=1)
    check_tensor("labels", labels, ndim=1)
    if labels.is_floating_point():
        raise TypeError(f"labels must be an integer tensor, got dtype {labels.dtype}")
    if labels.shape[0] != features.shape[0]:
        raise ValueError(
            f"labels must have one entry per row of features ({features.shape[0]}), "
            f"got {labels.shape[0]}"
        )
    n_clusters = check_int_in("n_clusters", n_clusters, 1, features.shape[0] + 1)
    seed = check_seed(seed)
    km = KMeans(n_clusters=n_clusters, n_init=10, random_state=seed)
    assigned = km.fit_predict(features.detach().double().cpu().numpy())
    return float(adjusted_rand_score(labels.cpu().numpy(), assigned))


__all__ = [
    "psnr",
    "block_mask",
    "apply_mask",
    "keep_observed",
    "downsample",
    "upsample",
    "InpaintingLoss",
    "SuperResolutionLoss",
    "kmeans_ari",
    "UPSAMPLING",
]
