"""Convolutional autoencoder (Masci et al. 2011).

The dense encoder ``W1 x`` gives every hidden unit its own weight for every pixel. A
convolutional encoder shares small filters across positions and pools, so an image's
local structure is built in and the parameter count no longer grows with the image size.
Here an 8×8 digit goes through two 3×3 convolutions, each followed by 2×2 max-pooling
(8×8 → 4×4 → 2×2); the decoder mirrors it with nearest-neighbour up-sampling and 3×3
convolutions. Inputs and outputs are flat ``(batch, 64)`` rows, like every autoencoder of
the package, so the same losses and training loop apply.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import nn

from .._checks import check_positive_int, check_tensor
from .core import make_activation


class ConvAutoencoder(nn.Module):
    """Convolutional autoencoder for ``side × side`` single-channel images.

    Args:
        channels: ``(c1, c2)``, the feature maps of the two convolution layers; the code is
            ``c2 × (side/4) × (side/4)``.
        side: image side (a multiple of 4); 8 for the digits.
        activation: hidden activation (see :func:`~survey_models.autoencoders.core.make_activation`).

    Shapes: ``x: (batch, side²)`` → ``encode``: ``(batch, c2, side/4, side/4)`` →
    ``forward``: ``(batch, side²)`` in (0, 1).
    """

    def __init__(
        self, channels: Sequence[int] = (8, 8), side: int = 8, activation: str = "relu"
    ) -> None:
        super().__init__()
        if isinstance(channels, (str, bytes)) or len(channels) != 2:
            raise ValueError(f"channels must be two positive ints (c1, c2), got {channels!r}")
        c1 = check_positive_int("channels[0]", channels[0])
        c2 = check_positive_int("channels[1]", channels[1])
        self.side = check_positive_int("side", side)
        if side % 4:
            raise ValueError(f"side must be a multiple of 4, got {side}")
        self.n_input = side * side
        self.channels = (c1, c2)
        self.encoder = nn.Sequential(
            nn.Conv2d(1, c1, 3, padding=1),
            make_activation(activation),
            nn.MaxPool2d(2),
            nn.Conv2d(c1, c2, 3, padding=1),
            make_activation(activation),
            nn.MaxPool2d(2),
        )
        self.decoder = nn.Sequential(
            nn.Upsample(scale_factor=2, mode="nearest"),
            nn.Conv2d(c2, c1, 3, padding=1),
            make_activation(activation),
            nn.Upsample(scale_factor=2, mode="nearest"),
            nn.Conv2d(c1, 1, 3, padding=1),
            nn.Sigmoid(),
        )

    @property
    def code_size(self) -> int:
        return self.channels[1] * (self.side // 4) ** 2

    def encode(self, x: torch.Tensor) -> torch.Tensor:
        check_tensor("x", x, ndim=2, last_dim=self.n_input, floating=True)
        return self.encoder(x.view(-1, 1, self.side, self.side))

    def decode(self, h: torch.Tensor) -> torch.Tensor:
        """The image rows ``(batch, side²)`` from codes ``h: (batch, c2, side/4, side/4)``."""
        check_tensor("h", h, ndim=4, floating=True)
        code = (self.channels[1], self.side // 4, self.side // 4)
        if h.shape[1:] != code:
            raise ValueError(
                f"h must have shape (batch, {', '.join(map(str, code))}), got {tuple(h.shape)}"
            )
        return self.decoder(h).flatten(1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.decode(self.encode(x))

    def extra_repr(self) -> str:
        return f"side={self.side}, channels={self.channels}, code_size={self.code_size}"


__all__ = ["ConvAutoencoder"]
