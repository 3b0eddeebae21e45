"""Local connectivity and weight sharing (chapter 1): small classifiers and measurements.

A convolution (LeCun et al. 1998) connects each output unit to a small window of the
input (local connectivity) and uses the same weights at every position (weight
sharing). Two exact consequences are measured here and in the chapter's examples:

* **shift equivariance**: shifting the input shifts the feature map, ``conv(S x) = S conv(x)``
  (exact with circular padding; away from the border with zero padding);
* **receptive field**: an output unit of ``L`` stacked ``k×k`` convolutions (stride 1)
  depends on a ``(L(k-1)+1)²`` input window, ``2L+1`` wide for ``k = 3``.

The three classifiers of the translation-invariance example share one interface,
``forward(x: (B, 1, side, side)) -> logits (B, n_classes)``:

* :class:`SmallCNN`: convolutions + global max pooling (invariant to shifts, up to borders);
* :class:`MLPClassifier`: dense layers on the flattened pixels (no notion of position);
* :class:`PatchAttentionClassifier`: a shared linear embedding of non-overlapping
  patches, learned patch positions, Transformer blocks and mean pooling (a tiny Vision
  Transformer, Dosovitskiy et al. 2021).

They are trained with :func:`survey_models.train.classification_loss` and scored with
:func:`survey_models.train.accuracy`, as every classifier of the package is.
"""

from __future__ import annotations

import torch
from torch import nn

from ._checks import (
    check_choice,
    check_index_tensor,
    check_nonnegative_int,
    check_positive_int,
    check_tensor,
)
from .scaling import MLP

# The classifiers here are trained and scored with the package's shared functions; the
# names stay importable from this module for existing callers.
from .train import accuracy, classification_loss  # noqa: F401
from .transformer import TransformerBlock

__all__ = [
    "place_on_canvas",
    "SmallCNN",
    "MLPClassifier",
    "PatchAttentionClassifier",
    "stacked_convolutions",
    "receptive_field_from_gradient",
    "dense_parameters",
    "conv_parameters",
]


def place_on_canvas(images: torch.Tensor, canvas: int, offsets: torch.Tensor) -> torch.Tensor:
    """Paste square images onto blank canvases at the given top-left offsets.

    Args:
        images: ``(n, s, s)`` or ``(n, s*s)`` images.
        canvas: side of the square canvas (``>= s``).
        offsets: ``(n, 2)`` integer (row, column) of each image's top-left corner, each in
            ``[0, canvas - s]``.

    Returns ``(n, 1, canvas, canvas)`` float images.
    """
    canvas = check_positive_int("canvas", canvas)
    check_tensor("images", images, floating=True)
    n = images.shape[0]
    if images.dim() == 2:
        side = int(round(images.shape[1] ** 0.5))
        if side * side != images.shape[1]:
            raise ValueError(f"images of shape {tuple(images.shape)} are not square")
        images = images.view(n, side, side)
    if images.dim() != 3 or images.shape[1] != images.shape[2]:
        raise ValueError(f"images must be (n, s, s) or (n, s*s), got {tuple(images.shape)}")
    side = images.shape[1]
    if side > canvas:
        raise ValueError(f"canvas ({canvas}) must be at least the image side ({side})")
    if not isinstance(offsets, torch.Tensor) or offsets.shape != (n, 2):
        raise ValueError(
            f"offsets must be a ({n}, 2) tensor, got "
            f"{getattr(offsets, 'shape', type(offsets).__name__)}"
        )
    check_index_tensor("offsets", offsets)
    if int(offsets.min()) < 0 or int(offsets.max()) > canvas - side:
        raise ValueError(
            f"offsets must lie in [0, {canvas - side}], got range "
            f"[{int(offsets.min())}, {int(offsets.max())}]"
        )
    out = torch.zeros(n, 1, canvas, canvas, dtype=images.dtype)
    for i, (r, c) in enumerate(offsets.tolist()):
        out[i, 0, r : r + side, c : c + side] = images[i]
    return out


def _check_image(name: str, x: object, side: int) -> torch.Tensor:
    check_tensor(name, x, ndim=4, floating=True)
    assert isinstance(x, torch.Tensor)
    if x.shape[1:] != (1, side, side):
        raise ValueError(f"{name} must have shape (batch, 1, {side}, {side}), got {tuple(x.shape)}")
    return x


class SmallCNN(nn.Module):
    """Two or more 3×3 convolutions with ReLU, then global max pooling and a linear layer.

    Args:
        n_classes: number of outputs.
        channels: output channels of each convolution, e.g. ``(16, 32)``.
        pool_every: apply 2×2 max pooling after every ``pool_every``-th convolution
            (``0``: never).

    Global max pooling takes the largest response of each feature map wherever it
    occurs, which turns the convolutions' shift *equivariance* into (approximate)
    shift *invariance* of the output.
    """

    def __init__(
        self, n_classes: int = 10, channels: tuple[int, ...] = (16, 32), pool_every: int = 1
    ) -> None:
        super().__init__()
        check_positive_int("n_classes", n_classes)
        if (
            not isinstance(channels, (tuple, list))
            or not channels
            or not all(isinstance(c, int) and not isinstance(c, bool) and c > 0 for c in channels)
        ):
            raise ValueError(f"channels must be a non-empty tuple of positive ints, got {channels}")
        check_nonnegative_int("pool_every", pool_every)
        layers: list[nn.Module] = []
        c_in = 1
        self.min_side = 1  # the smallest input side every pooling can still halve
        for i, c in enumerate(channels, start=1):
            layers += [nn.Conv2d(c_in, c, 3, padding=1), nn.ReLU()]
            if pool_every and i % pool_every == 0 and i < len(channels):
                layers.append(nn.MaxPool2d(2))
                self.min_side *= 2
            c_in = c
        self.features = nn.Sequential(*layers)
        self.head = nn.Linear(c_in, n_classes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        check_tensor("x", x, ndim=4, floating=True)
        if x.shape[1] != 1 or min(x.shape[2:]) < self.min_side:
            raise ValueError(
                f"x must have shape (batch, 1, H, W) with H, W >= {self.min_side}, "
                f"got {tuple(x.shape)}"
            )
        h = self.features(x)
        return self.head(h.amax(dim=(2, 3)))  # global max pooling


class MLPClassifier(nn.Module):
    """Dense layers on the flattened image: every pixel has its own weights.

    Args:
        side: image side; the input has ``side*side`` pixels.
        n_classes: number of outputs.
        hidden: widths of the hidden layers.
    """

    def __init__(
        self, side: int, n_classes: int = 10, hidden: tuple[int, ...] = (256, 128)
    ) -> None:
        super().__init__()
        self.side = check_positive_int("side", side)
        # the package's one ReLU perceptron, applied to the flattened pixels
        self.mlp = MLP(side * side, hidden, n_classes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        _check_image("x", x, self.side)
        return self.mlp(x.flatten(start_dim=1))


class PatchAttentionClassifier(nn.Module):
    """A tiny Vision Transformer: patches → shared linear embedding → attention → mean pool.

    Args:
        side: image side (divisible by ``patch``).
        patch: side of the non-overlapping square patches.
        n_classes: number of outputs.
        d_model, n_head, n_layer: size of the Transformer blocks.
        positional: ``"learned"`` (one trained vector per patch position) or ``"none"``
            (the model then sees the *set* of patches: permutation invariant).

    The patch embedding is shared by all patches (weight sharing, as in a convolution
    with kernel = stride = ``patch``), but a shift that is not a multiple of ``patch``
    changes what each patch contains, and a patch position never seen in training has an
    untrained position vector.
    """

    def __init__(
        self,
        side: int,
        patch: int = 4,
        n_classes: int = 10,
        d_model: int = 64,
        n_head: int = 4,
        n_layer: int = 2,
        positional: str = "learned",
    ) -> None:
        super().__init__()
        self.side = check_positive_int("side", side)
        self.patch = check_positive_int("patch", patch)
        if side % patch != 0:
            raise ValueError(f"side ({side}) must be divisible by patch ({patch})")
        check_positive_int("n_classes", n_classes)
        check_positive_int("d_model", d_model)
        check_positive_int("n_layer", n_layer)
        self.positional = check_choice("positional", positional, ("learned", "none"))
        n_patches = (side // patch) ** 2
        # kernel = stride = patch: each patch is flattened and multiplied by one shared matrix
        self.embed = nn.Conv2d(1, d_model, kernel_size=patch, stride=patch)
        self.position = (
            nn.Parameter(0.02 * torch.randn(n_patches, d_model))
            if positional == "learned"
            else None
        )
        self.blocks = nn.ModuleList(
            TransformerBlock(d_model, n_head, d_ff=2 * d_model) for _ in range(n_layer)
        )
        self.norm = nn.LayerNorm(d_model)
        self.head = nn.Linear(d_model, n_classes)

    def forward(
        self, x: torch.Tensor, return_attention: bool = False
    ) -> torch.Tensor | tuple[torch.Tensor, list[torch.Tensor]]:
        _check_image("x", x, self.side)
        h = self.embed(x).flatten(2).transpose(1, 2)  # (B, n_patches, d_model)
        if self.position is not None:
            h = h + self.position
        maps = []
        for block in self.blocks:
            if return_attention:
                h, w = block(h, need_weights=True)
                maps.append(w)
            else:
                h = block(h)
        logits = self.head(self.norm(h).mean(dim=1))  # mean over patches
        return (logits, maps) if return_attention else logits


def stacked_convolutions(
    n_layers: int,
    kernel_size: int = 3,
    channels: int = 1,
    activation: str = "tanh",
    padding_mode: str = "zeros",
) -> nn.Sequential:
    """``n_layers`` stride-1 ``kernel_size`` convolutions (same padding) with ``activation``."""
    check_positive_int("n_layers", n_layers)
    check_positive_int("kernel_size", kernel_size)
    check_positive_int("channels", channels)
    check_choice("padding_mode", padding_mode, ("zeros", "reflect", "replicate", "circular"))
    if kernel_size % 2 == 0:
        raise ValueError(f"kernel_size must be odd for 'same' padding, got {kernel_size}")
    act = {"tanh": nn.Tanh, "relu": nn.ReLU, "identity": nn.Identity}[
        check_choice("activation", activation, ("tanh", "relu", "identity"))
    ]
    layers: list[nn.Module] = []
    for i in range(n_layers):
        layers.append(
            nn.Conv2d(
                1 if i == 0 else channels,
                channels,
                kernel_size,
                padding=kernel_size // 2,
                padding_mode=padding_mode,
            )
        )
        layers.append(act())
    return nn.Sequential(*layers)


def receptive_field_from_gradient(
    model: nn.Module, side: int, in_channels: int = 1
) -> tuple[int, int, torch.Tensor]:
    """Measure the receptive field of the centre output unit from input gradients.

    Back-propagates from the centre pixel of the first output channel to a random input
    ``(1, in_channels, side, side)`` and returns ``(height, width, |grad|)``: the extent
    of the rows and columns where the gradient is non-zero, and the ``(side, side)``
    gradient magnitude (summed over input channels).
    """
    if not callable(model):
        raise TypeError(f"model must be callable (an nn.Module), got {type(model).__name__}")
    side = check_positive_int("side", side)
    check_positive_int("in_channels", in_channels)
    x = torch.randn(
        1, in_channels, side, side, generator=torch.Generator().manual_seed(0), requires_grad=True
    )
    out = model(x)
    out[0, 0, out.shape[2] // 2, out.shape[3] // 2].backward()
    g = x.grad[0].abs().sum(0)
    rows = torch.nonzero(g.sum(1) > 0).flatten()
    cols = torch.nonzero(g.sum(0) > 0).flatten()
    if len(rows) == 0:
        return 0, 0, g
    return int(rows.max() - rows.min() + 1), int(cols.max() - cols.min() + 1), g


def dense_parameters(n_in: int, n_out: int) -> int:
    """Weights and biases of a dense layer from ``n_in`` to ``n_out`` units."""
    check_positive_int("n_in", n_in)
    check_positive_int("n_out", n_out)
    return n_in * n_out + n_out


def conv_parameters(c_in: int, c_out: int, kernel_size: int) -> int:
    """Weights and biases of a ``kernel_size×kernel_size`` convolution, independent of image size."""
    check_positive_int("c_in", c_in)
    check_positive_int("c_out", c_out)
    check_positive_int("kernel_size", kernel_size)
    return c_in * c_out * kernel_size * kernel_size + c_out
