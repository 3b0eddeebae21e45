"""Autoregressive image models: PixelCNN (van den Oord, Kalchbrenner & Kavukcuoglu 2016).

An image of ``D = side²`` binary pixels, read in raster-scan order (row by row, left to
right), has the exact likelihood

.. math::

    p(x) = \\prod_{i=1}^{D} p(x_i \\mid x_1, \\dots, x_{i-1})                   \\qquad (1)

    p(x_i = 1 \\mid x_{<i}) = \\sigma(\\ell_i(x_{<i}))                          \\qquad (2)

    -\\log p(x) = \\sum_{i=1}^{D} \\mathrm{BCE}(\\ell_i, x_i)
               = -\\sum_i x_i \\log \\sigma(\\ell_i) + (1 - x_i) \\log(1 - \\sigma(\\ell_i))  \\qquad (3)

A PixelCNN computes all ``D`` logits ``ℓ_i`` in one pass by *masked* convolutions: the
kernel weight at offset ``(u, v)`` from its centre is multiplied by

.. math::

    m_{uv} = \\begin{cases} 1 & u < 0, \\text{ or } u = 0 \\text{ and } v < 0
                           \\text{ (above, or left in the same row)} \\\\
                           1 & u = v = 0 \\text{ and type B} \\\\
                           0 & \\text{otherwise} \\end{cases}            \\qquad (4)

Type A (the first layer) excludes the current pixel, type B (later layers) includes the
current position, whose features already depend only on earlier pixels. So ``ℓ_i``
depends on ``x_{<i}`` only, training is one parallel pass (teacher forcing), and
sampling needs one network call per pixel (``D`` calls). A stack of such 3×3 masks does
not see every earlier pixel: the receptive field misses a wedge above and to the right
(the *blind spot* that Gated PixelCNN removes with separate vertical and horizontal
stacks; van den Oord et al. 2016b).

Masks act on spatial positions only (every channel of an earlier pixel is visible): exact
for one-channel images; colour images would also order the R, G, B channels.
"""

from __future__ import annotations

import math

import torch
from torch import nn
from torch.nn import functional as F

from ._checks import (
    check_choice,
    check_int_in,
    check_module,
    check_nonnegative_int,
    check_positive_int,
    check_tensor,
)


def causal_mask(kernel_size: int, mask_type: str) -> torch.Tensor:
    """Mask (4) of a ``kernel_size × kernel_size`` kernel, ``(kernel_size, kernel_size)``
    of 0/1: rows above the centre, and the centre row left of the centre (type ``"A"``),
    plus the centre itself (type ``"B"``)."""
    kernel_size = check_positive_int("kernel_size", kernel_size)
    if kernel_size % 2 == 0:
        raise ValueError(f"kernel_size must be odd (a centre pixel), got {kernel_size}")
    check_choice("mask_type", mask_type, ("A", "B"))
    c = kernel_size // 2
    mask = torch.zeros(kernel_size, kernel_size)
    mask[:c, :] = 1  # rows above the centre
    mask[c, :c] = 1  # left of the centre, same row
    if mask_type == "B":
        mask[c, c] = 1  # the current position (its features see only x_<i)
    return mask


class MaskedConv2d(nn.Conv2d):
    """A stride-1, same-padded ``nn.Conv2d`` whose weight is multiplied by mask (4).

    Args:
        mask_type: ``"A"`` (excludes the current pixel; the first layer) or ``"B"``
            (includes it; later layers).
        in_channels, out_channels: as in ``nn.Conv2d``.
        kernel_size: odd side of the square kernel.
        bias: add a learned bias per output channel.

    Shapes: ``x: (batch, in_channels, H, W)`` → ``(batch, out_channels, H, W)``.
    The mask is applied in :meth:`forward` (``weight * mask``), so the masked entries get
    zero gradient and stay irrelevant whatever the optimiser does to them.
    """

    def __init__(
        self,
        mask_type: str,
        in_channels: int,
        out_channels: int,
        kernel_size: int,
        bias: bool = True,
    ) -> None:
        mask = causal_mask(kernel_size, mask_type)  # checks kernel_size and mask_type
        check_positive_int("in_channels", in_channels)
        check_positive_int("out_channels", out_channels)
        super().__init__(
            in_channels, out_channels, kernel_size, padding=kernel_size // 2, bias=bias
        )
        self.mask_type = mask_type
        self.register_buffer("mask", mask)

    def masked_weight(self) -> torch.Tensor:
        """``weight * mask``, ``(out_channels, in_channels, k, k)``."""
        return self.weight * self.mask  # mask (4), broadcast over both channel dims

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        check_tensor("x", x, ndim=4, floating=True)
        if x.shape[1] != self.in_channels:
            raise ValueError(
                f"x must have {self.in_channels} channels (dim 1), got shape {tuple(x.shape)}"
            )
        return F.conv2d(x, self.masked_weight(), self.bias, padding=self.padding)

    def extra_repr(self) -> str:
        return f"mask_type={self.mask_type!r}, " + super().extra_repr()


class PixelCNN(nn.Module):
    """A small PixelCNN for binary ``side × side`` images: one Bernoulli logit per pixel.

    Args:
        side: image side; images have ``side*side`` pixels in raster order.
        channels: feature maps of every hidden layer.
        n_layers: number of 3×3 type-B residual layers after the type-A input layer (may be 0).
        first_kernel: odd kernel side of the type-A input layer; ``None`` means
            ``2*side - 1``, a kernel that covers every earlier pixel of every position (no
            blind spot: affordable for tiny images only; the paper uses 7×7, then 3×3).

    Layers: pixels enter as ``2x - 1`` (±1, so that the zero padding outside the image
    differs from a background pixel), a type-A ``first_kernel`` masked conv, ``n_layers`` residual blocks
    ``h ← h + ReLU(conv_B(h))``, then two 1×1 convolutions to one logit, plus a learned
    bias per pixel position (a convolution alone is blind to where it is; with all other
    weights at zero the model is the independent-Bernoulli model).

    Shapes: ``x: (batch, side*side)`` with entries in {0, 1} (raster order, as
    :func:`survey_models.data.binarize` gives the digits) → logits ``(batch, side*side)``
    of equation (2); ``logits[:, i]`` depends on ``x[:, :i]`` only.
    """

    def __init__(
        self, side: int = 8, channels: int = 32, n_layers: int = 1, first_kernel: int | None = None
    ) -> None:
        super().__init__()
        self.side = check_positive_int("side", side)
        self.channels = check_positive_int("channels", channels)
        self.n_layers = check_nonnegative_int("n_layers", n_layers)
        if first_kernel is None:
            first_kernel = 2 * side - 1
        if check_positive_int("first_kernel", first_kernel) % 2 == 0:
            raise ValueError(f"first_kernel must be odd (a centre pixel), got {first_kernel}")
        self.first = MaskedConv2d("A", 1, channels, first_kernel)
        self.hidden = nn.ModuleList(
            MaskedConv2d("B", channels, channels, 3) for _ in range(n_layers)
        )
        self.head = nn.Sequential(
            nn.ReLU(), nn.Conv2d(channels, channels, 1), nn.ReLU(), nn.Conv2d(channels, 1, 1)
        )
        self.pixel_bias = nn.Parameter(torch.zeros(side * side))

    @property
    def n_pixels(self) -> int:
        return self.side * self.side

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        check_tensor("x", x, ndim=2, last_dim=self.n_pixels, floating=True)
        h = self.first(2 * x.view(-1, 1, self.side, self.side) - 1)  # type A: sees x_<i only
        for layer in self.hidden:
            h = h + torch.relu(layer(h))  # type B keeps the dependence on x_<i
        return self.head(h).flatten(1) + self.pixel_bias  # ℓ_i of equation (2)

    def extra_repr(self) -> str:
        return f"side={self.side}, channels={self.channels}, n_layers={self.n_layers}"


def _check_binary(name: str, x: object, n_pixels: int) -> torch.Tensor:
    check_tensor(name, x, ndim=2, last_dim=n_pixels, floating=True)
    assert isinstance(x, torch.Tensor)
    if not bool(((x == 0) | (x == 1)).all()):
        raise ValueError(f"{name} must be binary (every entry 0 or 1), e.g. data.binarize(x)")
    return x


def pixel_nll(model: PixelCNN, x: torch.Tensor) -> torch.Tensor:
    """``-log p(x_i | x_<i)`` of every pixel in nats, ``(batch, side*side)``: the terms of
    equation (3). ``x: (batch, side*side)`` binary."""
    check_module("model", model)
    x = _check_binary("x", x, model.n_pixels)
    return F.binary_cross_entropy_with_logits(model(x), x, reduction="none")  # (3), per pixel


def nll(model: PixelCNN, x: torch.Tensor) -> torch.Tensor:
    """Exact negative log-likelihood ``-log p(x)`` of equation (1) in nats per image,
    ``(batch,)``: the sum of :func:`pixel_nll` over the pixels."""
    return pixel_nll(model, x).sum(dim=1)  # (3)


def pixelcnn_loss(model: PixelCNN, x: torch.Tensor) -> torch.Tensor:
    """Mean exact NLL over the batch, nats per image (a :func:`survey_models.train.fit` loss)."""
    return nll(model, x).mean()


def bits_per_pixel(nats_per_image: float, n_pixels: int) -> float:
    """Nats per image → bits per pixel (``/ (n_pixels · ln 2)``), the unit papers report."""
    check_positive_int("n_pixels", n_pixels)
    return float(nats_per_image) / (n_pixels * math.log(2))


@torch.no_grad()
def sample(
    model: PixelCNN,
    n: int,
    generator: torch.Generator | None = None,
    given: torch.Tensor | None = None,
    start: int = 0,
) -> torch.Tensor:
    """Draw ``n`` binary images pixel by pixel in raster order, ``(n, side*side)``.

    Each of the ``side*side - start`` steps calls the network once on the partly drawn
    images and draws pixel ``i`` from ``σ(ℓ_i)`` (equation 2), so sampling costs one
    network call per pixel (training, by contrast, is a single call). With ``given``
    (``(n, side*side)`` binary) and ``start``, the first ``start`` pixels are copied from
    ``given`` and only the rest are drawn: an image completion. The same ``generator``
    state gives the same images.
    """
    check_module("model", model)
    n = check_positive_int("n", n)
    start = check_int_in("start", start, 0, model.n_pixels)
    device = model.pixel_bias.device
    x = torch.zeros(n, model.n_pixels, device=device, dtype=model.pixel_bias.dtype)
    if given is not None:
        given = _check_binary("given", given, model.n_pixels)
        if given.shape[0] != n:
            raise ValueError(f"given must have n={n} rows, got shape {tuple(given.shape)}")
        x[:, :start] = given[:, :start].to(x)
    elif start:
        raise ValueError(f"start={start} needs the given images to copy the first pixels from")
    was_training = model.training
    model.eval()
    for i in range(start, model.n_pixels):
        p = torch.sigmoid(model(x)[:, i])  # one network call per pixel
        u = torch.rand(n, generator=generator).to(device)  # drawn on the CPU, like the data
        x[:, i] = (u < p).to(x)  # x_i ~ Bernoulli(σ(ℓ_i))
    model.train(was_training)
    return x


__all__ = [
    "causal_mask",
    "MaskedConv2d",
    "PixelCNN",
    "pixel_nll",
    "nll",
    "pixelcnn_loss",
    "bits_per_pixel",
    "sample",
]
