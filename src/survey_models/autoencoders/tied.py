"""Tied weights: the decoder reuses the encoder's weight matrix, transposed.

The traditional autoencoder (equations (1)-(2) of :mod:`~survey_models.autoencoders.core`)
has two weight matrices. Tying them, as in Vincent et al. (2010, JMLR) and in the k-sparse
autoencoder of Makhzani & Frey (2014), keeps one:

.. math::

    h = \\sigma_e(W x + b_1), \\qquad y = \\sigma_d(W^{\\top} h + b_2) \\qquad (1)

so the model has ``d_h d_x + d_h + d_x`` parameters instead of ``2 d_h d_x + d_h + d_x``.
``W`` is used twice, and its gradient is the sum of the two uses:

.. math::

    \\frac{\\partial J}{\\partial W}
      = \\underbrace{\\frac{\\partial J}{\\partial W_1}}_{\\text{encoder}}
      + \\underbrace{\\left(\\frac{\\partial J}{\\partial W_2}\\right)^{\\top}}_{\\text{decoder}}
      \\quad\\text{at } W_1 = W,\\ W_2 = W^{\\top} \\qquad (2)

Autograd forms (2) by itself because the decoder's weight *is* a transposed view of the
encoder's parameter (shared storage), not a copy.
"""

from __future__ import annotations

import torch
from torch import nn
from torch.nn import functional as F

from .._checks import check_positive_int
from .core import Autoencoder


class TiedLinear(nn.Module):
    """The decoder layer ``h ↦ Wᵀ h + b2`` whose weight is the transpose of ``source.weight``.

    Only the bias ``b2`` is a parameter of its own; ``source`` (the encoder's ``nn.Linear``)
    is held by reference and not registered, so the shared matrix is counted and saved once.
    ``h: (batch, source.out_features)`` → ``(batch, source.in_features)``.
    """

    def __init__(self, source: nn.Linear, bias: torch.Tensor) -> None:
        super().__init__()
        if not isinstance(source, nn.Linear):
            raise TypeError(f"source must be an nn.Linear, got {type(source).__name__}")
        if not isinstance(bias, torch.Tensor) or bias.shape != (source.in_features,):
            raise ValueError(
                f"bias must be a tensor of shape ({source.in_features},), "
                f"got {getattr(bias, 'shape', type(bias).__name__)}"
            )
        self._source = (source,)  # a tuple: not registered as a submodule
        self.bias = nn.Parameter(bias.detach().clone())  # b2

    @property
    def weight(self) -> torch.Tensor:
        """``W2 = W1ᵀ``: a view of the encoder's weight (same storage), ``(d_x, d_h)``."""
        return self._source[0].weight.t()

    def forward(self, h: torch.Tensor) -> torch.Tensor:
        return F.linear(h, self.weight, self.bias)  # Wᵀ h + b2, equation (1)

    def extra_repr(self) -> str:
        s = self._source[0]
        return f"in_features={s.out_features}, out_features={s.in_features}, tied=True"


class TiedAutoencoder(Autoencoder):
    """:class:`~survey_models.autoencoders.Autoencoder` with ``W2 = W1ᵀ`` (equation (1)).

    Same arguments, activations, ``encode``/``decode`` and shapes as
    :class:`~survey_models.autoencoders.Autoencoder`, so every loss of this package applies.
    At the same seed it starts from the same ``W1``, ``b1`` and ``b2`` as the untied model
    (the untied decoder weight is drawn and dropped), which makes paired comparisons fair.

    Shapes: ``x: (batch, n_input)`` → ``h: (batch, n_hidden)`` → ``y: (batch, n_input)``.
    """

    def __init__(
        self,
        n_input: int,
        n_hidden: int,
        encoder_activation: str = "sigmoid",
        decoder_activation: str = "sigmoid",
    ) -> None:
        super().__init__(n_input, n_hidden, encoder_activation, decoder_activation)
        untied = self.decoder_linear
        self.decoder_linear = TiedLinear(self.encoder_linear, untied.bias)  # W2 = W1ᵀ, b2

    def extra_repr(self) -> str:
        return super().extra_repr() + ", tied=True"


def weight_parameter_count(n_input: int, n_hidden: int, tied: bool) -> int:
    """Parameters of a one-hidden-layer autoencoder: ``(1 or 2)·d_h·d_x + d_h + d_x``."""
    if not isinstance(tied, bool):
        raise TypeError(f"tied must be a bool, got {type(tied).__name__}")
    check_positive_int("n_input", n_input)
    check_positive_int("n_hidden", n_hidden)
    return (1 if tied else 2) * n_input * n_hidden + n_hidden + n_input


__all__ = ["TiedAutoencoder", "TiedLinear", "weight_parameter_count"]
