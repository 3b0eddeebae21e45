"""Stacked autoencoders and greedy layer-wise pre-training (Hinton & Salakhutdinov 2006;
Bengio et al. 2007).

Train a first :class:`Autoencoder` on the data, encode the data with it, train a second one
on those codes, and so on: each layer learns to reconstruct the layer below, without labels.
The encoders, stacked, initialise a deep network that is then fine-tuned on the (few)
labels. :class:`StackedEncoder` is that deep network; the same class with fresh weights is
the randomly initialised baseline.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import nn

from .. import train
from .._checks import check_positive_int, check_tensor
from .core import Autoencoder, make_activation, reconstruction_loss


def _check_widths(widths: Sequence[int]) -> list[int]:
    if isinstance(widths, (str, bytes)) or not isinstance(widths, Sequence) or len(widths) < 2:
        raise ValueError(
            f"widths must be a sequence of at least two layer widths (input first), got {widths!r}"
        )
    return [check_positive_int(f"widths[{i}]", w) for i, w in enumerate(widths)]


class StackedEncoder(nn.Module):
    """A deep encoder ``x → h1 → h2 → …`` made of the encoders of stacked autoencoders,
    with an optional linear classifier on top.

    Args:
        widths: ``[n_input, n_hidden1, n_hidden2, …]``.
        n_classes: if given, a linear output layer of that many logits is added.
        activation: the hidden activation (as in :class:`Autoencoder`).

    Shapes: ``x: (batch, widths[0])`` → ``encode``: ``(batch, widths[-1])``;
    ``forward``: logits ``(batch, n_classes)`` (or the code when ``n_classes`` is None).
    """

    def __init__(
        self, widths: Sequence[int], n_classes: int | None = None, activation: str = "sigmoid"
    ) -> None:
        super().__init__()
        self.widths = _check_widths(widths)
        self.layers = nn.ModuleList(nn.Linear(a, b) for a, b in zip(self.widths, self.widths[1:]))
        self.activations = nn.ModuleList(make_activation(activation) for _ in self.layers)
        self.head = (
            None
            if n_classes is None
            else nn.Linear(self.widths[-1], check_positive_int("n_classes", n_classes))
        )

    def encode(self, x: torch.Tensor) -> torch.Tensor:
        check_tensor("x", x, ndim=2, last_dim=self.widths[0], floating=True)
        for layer, act in zip(self.layers, self.activations):
            x = act(layer(x))  # h_l = σ(W_l h_{l-1} + b_l), equation (1)
        return x

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        h = self.encode(x)
        return h if self.head is None else self.head(h)

    @torch.no_grad()
    def load_pretrained(self, autoencoders: Sequence[Autoencoder]) -> StackedEncoder:
        """Copy ``W1, b1`` of each pre-trained autoencoder into the matching layer."""
        if not isinstance(autoencoders, Sequence) or not all(
            isinstance(a, Autoencoder) for a in autoencoders
        ):
            raise TypeError(
                f"autoencoders must be a sequence of Autoencoder, got {autoencoders!r:.80}"
            )
        if len(autoencoders) != len(self.layers):
            raise ValueError(
                f"autoencoders must hold {len(self.layers)} models, one per "
                f"layer, got {len(autoencoders)}"
            )
        for i, (layer, ae) in enumerate(zip(self.layers, autoencoders)):
            if (ae.n_input, ae.n_hidden) != (layer.in_features, layer.out_features):
                raise ValueError(
                    f"autoencoders[{i}] is {ae.n_input}->{ae.n_hidden}, layer {i} "
                    f"needs {layer.in_features}->{layer.out_features}"
                )
            layer.weight.copy_(ae.encoder_linear.weight)
            layer.bias.copy_(ae.encoder_linear.bias)
        return self


def pretrain_stack(
    x: torch.Tensor,
    widths: Sequence[int],
    *,
    activation: str = "sigmoid",
    loss_fn=reconstruction_loss,
    seed: int = 0,
    **fit_kwargs,
) -> list[Autoencoder]:
    """Greedy layer-wise pre-training: one :class:`Autoencoder` per pair of widths.

    Layer ``l`` is trained with :func:`survey_models.train.fit` on the codes of layers
    ``1 … l-1`` (which stay fixed). ``loss_fn`` may be any autoencoder loss of the package
    (e.g. a :class:`~survey_models.autoencoders.denoising.DenoisingLoss` gives stacked
    denoising autoencoders); ``fit_kwargs`` go to ``fit`` (``epochs``, ``lr``, …).
    """
    widths = _check_widths(widths)
    check_tensor("x", x, ndim=2, last_dim=widths[0], floating=True)
    decoder = "sigmoid" if activation == "sigmoid" else "identity"
    autoencoders: list[Autoencoder] = []
    codes = x
    for i, (n_in, n_out) in enumerate(zip(widths, widths[1:])):
        torch.manual_seed(seed + i)
        # The first layer reconstructs pixels in [0, 1]; upper layers reconstruct codes.
        ae = Autoencoder(
            n_in,
            n_out,
            encoder_activation=activation,
            decoder_activation="sigmoid" if i == 0 else decoder,
        )
        train.fit(ae, loss_fn, codes, seed=seed + i, **fit_kwargs)
        autoencoders.append(ae)
        with torch.no_grad():
            codes = ae.encode(codes)
    return autoencoders


__all__ = ["StackedEncoder", "pretrain_stack"]
