"""Data that ships with a package or is generated: nothing is downloaded.

* handwritten digits: scikit-learn's ``load_digits`` (1,797 images of 8×8 pixels, shipped
  inside scikit-learn), scaled to [0, 1];
* 2-D toy distributions for generative models (a ring of Gaussians, a swiss roll).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import torch

from ._checks import (
    check_finite_float,
    check_nonnegative_float,
    check_positive_int,
    check_probability,
    check_seed,
    check_tensor,
)

DIGIT_SIDE = 8
DIGIT_PIXELS = DIGIT_SIDE * DIGIT_SIDE


@dataclass(frozen=True)
class Split:
    """A train/test split: ``x_*`` are (n, features) float32, ``y_*`` are (n,) int64."""

    x_train: torch.Tensor
    y_train: torch.Tensor
    x_test: torch.Tensor
    y_test: torch.Tensor


def load_digits() -> tuple[torch.Tensor, torch.Tensor]:
    """All 1,797 digits: images (1797, 64) float32 in [0, 1] and labels (1797,) int64."""
    from sklearn.datasets import load_digits as _sk_load_digits

    bunch = _sk_load_digits()
    # Pixel values are integers 0..16 in the original data.
    x = torch.from_numpy(bunch.data.astype(np.float32) / 16.0)
    y = torch.from_numpy(bunch.target.astype(np.int64))
    return x, y


def digits_split(test_fraction: float = 0.3, seed: int = 0) -> Split:
    """A deterministic, class-stratified train/test split of the digits.

    The same ``(test_fraction, seed)`` gives the same split on every machine: the
    permutation comes from NumPy's PCG64 generator, not from global state.
    """
    test_fraction = check_probability("test_fraction", test_fraction, open_interval=True)
    seed = check_seed(seed)
    x, y = load_digits()
    rng = np.random.default_rng(seed)
    test_idx: list[np.ndarray] = []
    train_idx: list[np.ndarray] = []
    labels = y.numpy()
    for c in range(10):
        idx = np.flatnonzero(labels == c)
        idx = rng.permutation(idx)
        n_test = int(round(test_fraction * len(idx)))
        if not 0 < n_test < len(idx):
            part = "test" if n_test == 0 else "training"
            raise ValueError(
                f"test_fraction={test_fraction} leaves no {part} example of "
                f"digit {c} ({len(idx)} images)"
            )
        test_idx.append(idx[:n_test])
        train_idx.append(idx[n_test:])
    tr = np.sort(np.concatenate(train_idx))
    te = np.sort(np.concatenate(test_idx))
    return Split(x[tr], y[tr], x[te], y[te])


def binarize(x: torch.Tensor, threshold: float = 0.5) -> torch.Tensor:
    """Pixels above ``threshold`` become 1.0, the rest 0.0 (for Bernoulli models: RBM, VAE)."""
    check_tensor("x", x)
    threshold = check_probability("threshold", threshold)
    return (x > threshold).float()


def mask_pixels(
    x: torch.Tensor, fraction: float, generator: torch.Generator | None = None
) -> torch.Tensor:
    """Set a random ``fraction`` of each row's entries to zero (masking noise).

    Works on any device: the draws come from ``generator`` (on its own device, the CPU by
    default) and the mask is moved to ``x.device``.
    """
    check_tensor("x", x)
    fraction = check_probability("fraction", fraction)
    where = x.device if generator is None else generator.device
    keep = torch.rand(x.shape, generator=generator, device=where) >= fraction
    return x * keep.to(x.device)


def ring_of_gaussians(
    n: int, modes: int = 8, radius: float = 2.0, std: float = 0.05, seed: int = 0
) -> tuple[torch.Tensor, torch.Tensor]:
    """Samples (n, 2) from ``modes`` equal Gaussians on a circle, and the (modes, 2) centres."""
    n = check_positive_int("n", n)
    modes = check_positive_int("modes", modes)
    radius = check_finite_float("radius", radius)
    std = check_nonnegative_float("std", std)
    g = torch.Generator().manual_seed(check_seed(seed))
    angles = torch.arange(modes, dtype=torch.float32) * (2 * math.pi / modes)
    centres = radius * torch.stack([torch.cos(angles), torch.sin(angles)], dim=1)
    which = torch.randint(modes, (n,), generator=g)
    x = centres[which] + std * torch.randn(n, 2, generator=g)
    return x, centres


def swiss_roll_2d(n: int, noise: float = 0.05, seed: int = 0) -> torch.Tensor:
    """Samples (n, 2) from a 2-D swiss roll, scaled to roughly unit standard deviation."""
    n = check_positive_int("n", n)
    noise = check_nonnegative_float("noise", noise)
    g = torch.Generator().manual_seed(check_seed(seed))
    t = 1.5 * math.pi * (1 + 2 * torch.rand(n, generator=g))
    x = torch.stack([t * torch.cos(t), t * torch.sin(t)], dim=1) / 7.5
    return x + noise * torch.randn(n, 2, generator=g)


SHAPE_FACTORS = ("shape", "size", "x", "y")
"""Names of the factors of :func:`shapes`, in the order of its factor columns."""
SHAPE_LEVELS = (3, 3, 6, 6)
"""Number of levels of each factor: square/circle/triangle, 3 sizes, 6 × 6 positions."""


def render_shapes(factors: torch.Tensor, side: int = 12) -> torch.Tensor:
    """Draw one binary ``side × side`` image per row of ``factors``; ``(n, side*side)`` float32.

    ``factors: (n, 4)`` integer levels of (shape, size, x, y) as in :data:`SHAPE_FACTORS`:
    shape 0 is a square, 1 a circle, 2 a triangle pointing up; size ``s`` gives a
    half-width of ``side/8 · (1 + s/2)`` pixels; x and y place the centre on a 6 × 6 grid
    that keeps the largest shape inside the image. A pixel is on when its centre lies in
    the shape (computed in float64, so the same factors always give the same pixels).
    """
    side = check_positive_int("side", side)
    if side < 8:
        raise ValueError(f"side must be at least 8 pixels, got {side}")
    check_tensor("factors", factors, ndim=2, last_dim=len(SHAPE_FACTORS))
    if factors.is_floating_point() or factors.dtype == torch.bool:
        raise TypeError(f"factors must be an integer tensor, got dtype {factors.dtype}")
    f = factors.cpu().numpy().astype(np.int64)
    for j, (name, levels) in enumerate(zip(SHAPE_FACTORS, SHAPE_LEVELS)):
        if f.size and (f[:, j].min() < 0 or f[:, j].max() >= levels):
            raise ValueError(f"factors column {j} ({name}) must lie in [0, {levels - 1}]")
    unit = side / 8.0
    half = unit * (1.0 + f[:, 1] / 2.0)  # half-widths 1, 1.5, 2 units
    grid = np.linspace(2.0 * unit, side - 2.0 * unit, SHAPE_LEVELS[2])
    cx, cy = grid[f[:, 2]], grid[f[:, 3]]
    centres = np.arange(side) + 0.5
    dx = centres[None, None, :] - cx[:, None, None]  # (n, 1, side): columns
    dy = centres[None, :, None] - cy[:, None, None]  # (n, side, 1): rows, downwards
    r = half[:, None, None]
    square = (np.abs(dx) <= 0.85 * r) & (np.abs(dy) <= 0.85 * r)
    circle = dx**2 + dy**2 <= r**2
    triangle = (np.abs(dy) <= r) & (np.abs(dx) <= (dy + r) / 2)
    kind = f[:, 0][:, None, None]
    on = np.where(kind == 0, square, np.where(kind == 1, circle, triangle))
    return torch.from_numpy(on.reshape(len(f), side * side).astype(np.float32))


def shapes(n: int, seed: int = 0, side: int = 12) -> tuple[torch.Tensor, torch.Tensor]:
    """``n`` binary images of a square, circle or triangle with known generative factors.

    The factors (shape, size, x, y) are drawn independently and uniformly from their
    levels (:data:`SHAPE_LEVELS`) by NumPy's PCG64 generator seeded with ``seed``.
    Returns the images ``(n, side*side)`` float32 in {0, 1} and the factors ``(n, 4)``
    int64; ``render_shapes(factors, side)`` redraws the images exactly.
    """
    n = check_positive_int("n", n)
    rng = np.random.default_rng(check_seed(seed))
    factors = torch.from_numpy(np.stack([rng.integers(k, size=n) for k in SHAPE_LEVELS], 1))
    return render_shapes(factors, side), factors
