"""Denoising autoencoder (Vincent et al. 2008).

Corrupt the input, ``x̃ ~ q(x̃ | x)``, and train the autoencoder to reconstruct the *clean*
``x`` from it: ``J = E ‖g(f(x̃)) - x‖²``. Copying the input no longer minimises the error,
so even an over-complete autoencoder has to learn how the pixels depend on each other.
Two corruptions are provided: masking noise (a random share of the entries set to 0, the
corruption of the original paper) and additive Gaussian noise.
"""

from __future__ import annotations

import torch

from .._checks import check_choice, check_nonnegative_float, check_probability, check_tensor
from .core import reconstruction_loss

NOISES = ("mask", "gaussian")


def _check_noise(noise: str, noise_level: float) -> float:
    check_choice("noise", noise, NOISES)
    if noise == "mask":
        return check_probability("noise_level", noise_level)
    return check_nonnegative_float("noise_level", noise_level)


def corrupt(
    x: torch.Tensor,
    noise: str = "mask",
    noise_level: float = 0.25,
    generator: torch.Generator | None = None,
) -> torch.Tensor:
    """The corruption ``q(x̃ | x)``; ``x: (batch, dim)``.

    ``noise="mask"`` zeroes each entry with probability ``noise_level`` (in [0, 1]);
    ``noise="gaussian"`` adds ``N(0, noise_level²)`` noise (``noise_level ≥ 0``).
    """
    check_tensor("x", x, floating=True)
    noise_level = _check_noise(noise, noise_level)
    if noise == "mask":
        keep = torch.rand(x.shape, generator=generator, device=x.device) >= noise_level
        return x * keep
    return x + noise_level * torch.randn(x.shape, generator=generator, device=x.device)


class DenoisingLoss:
    """Loss function for :func:`survey_models.train.fit`: reconstruct clean ``x`` from
    ``corrupt(x)``. A fresh corruption is drawn at every call (every mini-batch).

    Args:
        noise: ``"mask"`` or ``"gaussian"``.
        noise_level: share of masked entries (in [0, 1]) or the Gaussian standard deviation
            (≥ 0). ``noise_level=0`` gives back the plain autoencoder.
    """

    def __init__(self, noise: str = "mask", noise_level: float = 0.25) -> None:
        self.noise = noise
        self.noise_level = _check_noise(noise, noise_level)

    def __call__(self, model: torch.nn.Module, x: torch.Tensor) -> torch.Tensor:
        return reconstruction_loss(model, corrupt(x, self.noise, self.noise_level), target=x)

    def __repr__(self) -> str:
        return f"DenoisingLoss(noise={self.noise!r}, noise_level={self.noise_level})"


__all__ = ["corrupt", "DenoisingLoss", "NOISES"]
