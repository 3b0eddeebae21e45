"""Conditional variational autoencoder (Sohn, Lee & Yan 2015; Kingma et al. 2014, model M2
with the label observed).

The VAE of :mod:`~survey_models.autoencoders.variational` with a class label ``y`` fed,
as a one-hot vector, to both networks: the encoder gives ``q(z|x, y)``, the decoder
``p(x|z, y)``, and the prior stays ``p(z) = N(0, I)`` (independent of ``y``). The
conditional evidence lower bound is

.. math::

    \\log p(x|y) \\ge \\mathcal{L}(x, y)
      = \\mathbb{E}_{q(z|x,y)}[\\log p(x|z,y)] - \\mathrm{KL}(q(z|x,y) \\,\\|\\, p(z))
      \\qquad (1)

with the same reparameterisation ``z = μ(x, y) + σ(x, y) ⊙ ε`` (2) and the same
closed-form KL (3) as the unconditional VAE. Because the label is given to the decoder,
``z`` need not encode the class and is left to carry what the label does not say (the
"style": slant, stroke width); generation asks for a class by choosing ``y`` and draws
the style ``z ~ p(z)`` (4):

.. math::

    z \\sim \\mathcal{N}(0, I), \\qquad x \\sim p(x|z, y) .

The bound (1) is computed by the unconditional :func:`~.variational.elbo` applied to the
model with its label fixed (:meth:`ConditionalVAE.given`); with the label columns of both
first layers set to zero the model *is* a :class:`~.variational.VariationalAutoencoder`.
"""

from __future__ import annotations

import torch
from torch import nn
from torch.nn import functional as F

from .._checks import check_index_tensor, check_positive_int, check_tensor
from .core import make_activation
from .variational import elbo, importance_weighted_bound


class ConditionalVAE(nn.Module):
    """A one-hidden-layer Gaussian-encoder, Bernoulli-decoder VAE conditioned on a class.

    Args:
        n_input: data width (pixels in [0, 1]).
        n_classes: number of classes; a label becomes a one-hot vector of this width,
            concatenated to ``x`` (encoder) and to ``z`` (decoder).
        n_hidden: width of the hidden layer of encoder and decoder.
        n_latent: dimension of ``z``.
        activation: hidden activation.

    Shapes: ``x: (batch, n_input)``, ``labels: (batch,)`` integers in ``[0, n_classes)``;
    ``encode(x, labels)`` → ``μ, log σ²``: ``(batch, n_latent)``;
    ``decode_logits(z, labels)``: ``z: (..., batch, n_latent)`` → ``(..., batch, n_input)``;
    ``forward(x, labels)``: reconstruction probabilities at ``z = μ(x, y)``.
    """

    def __init__(
        self,
        n_input: int = 64,
        n_classes: int = 10,
        n_hidden: int = 128,
        n_latent: int = 2,
        activation: str = "tanh",
    ) -> None:
        super().__init__()
        self.n_input = check_positive_int("n_input", n_input)
        self.n_classes = check_positive_int("n_classes", n_classes)
        self.n_hidden = check_positive_int("n_hidden", n_hidden)
        self.n_latent = check_positive_int("n_latent", n_latent)
        self.encoder = nn.Sequential(
            nn.Linear(n_input + n_classes, n_hidden), make_activation(activation)
        )
        self.mu = nn.Linear(n_hidden, n_latent)
        self.log_var = nn.Linear(n_hidden, n_latent)
        self.decoder = nn.Sequential(
            nn.Linear(n_latent + n_classes, n_hidden),
            make_activation(activation),
            nn.Linear(n_hidden, n_input),
        )

    def one_hot(self, labels: torch.Tensor) -> torch.Tensor:
        """``labels: (batch,)`` → one-hot ``(batch, n_classes)`` in the parameters' dtype."""
        check_index_tensor("labels", labels, self.n_classes, ndim=1)
        dtype = self.mu.weight.dtype
        return F.one_hot(labels, self.n_classes).to(dtype=dtype, device=self.mu.weight.device)

    def _check_pair(self, x: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
        check_tensor("x", x, ndim=2, last_dim=self.n_input, floating=True)
        y = self.one_hot(labels)
        if labels.shape[0] != x.shape[0]:
            raise ValueError(
                f"labels must have shape ({x.shape[0]},) (one per row of x), "
                f"got {tuple(labels.shape)}"
            )
        return y

    def encode(self, x: torch.Tensor, labels: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """``μ(x, y)`` and ``log σ²(x, y)`` of ``q(z|x, y)``."""
        y = self._check_pair(x, labels)
        h = self.encoder(torch.cat([x, y], dim=-1))
        return self.mu(h), self.log_var(h)

    def decode_logits(self, z: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
        """Bernoulli logits of ``p(x|z, y)``; ``z: (..., batch, n_latent)``, one label per
        row of the last-but-one dimension (broadcast over leading sample dimensions)."""
        check_tensor("z", z, last_dim=self.n_latent, floating=True)
        y = self.one_hot(labels)
        if z.dim() < 2 or z.shape[-2] != labels.shape[0]:
            raise ValueError(
                f"z must have shape (..., {labels.shape[0]}, {self.n_latent}) "
                f"(one row per label), got {tuple(z.shape)}"
            )
        return self.decoder(torch.cat([z, y.expand(*z.shape[:-1], self.n_classes)], dim=-1))

    def forward(self, x: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
        mu, _ = self.encode(x, labels)
        return torch.sigmoid(self.decode_logits(mu, labels))

    def given(self, labels: torch.Tensor) -> _GivenLabels:
        """The model with its label fixed: an object with ``encode(x)`` and
        ``decode_logits(z)`` that the unconditional :func:`~.variational.elbo` and
        :func:`~.variational.importance_weighted_bound` accept."""
        return _GivenLabels(self, labels)

    @torch.no_grad()
    def sample(
        self,
        labels: torch.Tensor,
        z: torch.Tensor | None = None,
        generator: torch.Generator | None = None,
        binary: bool = False,
    ) -> torch.Tensor:
        """One image per requested label, ``(batch, n_input)``: ``z ~ N(0, I)`` (or the
        given ``z: (batch, n_latent)``, e.g. the same style for every label), then the
        pixel probabilities of ``p(x|z, y)`` (4), or Bernoulli draws with ``binary=True``."""
        check_index_tensor("labels", labels, self.n_classes, ndim=1)
        if z is None:
            z = torch.randn(
                labels.shape[0],
                self.n_latent,
                generator=generator,
                dtype=self.mu.weight.dtype,
                device=self.mu.weight.device,
            )
        else:
            check_tensor("z", z, ndim=2, last_dim=self.n_latent, floating=True)
        probs = torch.sigmoid(self.decode_logits(z, labels))
        return torch.bernoulli(probs, generator=generator) if binary else probs

    def extra_repr(self) -> str:
        return (
            f"n_input={self.n_input}, n_classes={self.n_classes}, "
            f"n_hidden={self.n_hidden}, n_latent={self.n_latent}"
        )


class _GivenLabels:
    """``ConditionalVAE`` seen as an unconditional VAE for one batch of labels."""

    def __init__(self, model: ConditionalVAE, labels: torch.Tensor) -> None:
        check_index_tensor("labels", labels, model.n_classes, ndim=1)
        self.model, self.labels = model, labels

    def encode(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        return self.model.encode(x, self.labels)

    def decode_logits(self, z: torch.Tensor) -> torch.Tensor:
        return self.model.decode_logits(z, self.labels)


def conditional_elbo(
    model: ConditionalVAE,
    x: torch.Tensor,
    labels: torch.Tensor,
    n_samples: int = 1,
    generator: torch.Generator | None = None,
) -> torch.Tensor:
    """The conditional ELBO (1) of each example, ``(batch,)``: the unconditional
    :func:`~.variational.elbo` (reparameterisation (2), analytic KL (3)) with ``y`` given."""
    return elbo(model.given(labels), x, n_samples=n_samples, generator=generator)  # type: ignore[arg-type]


def conditional_importance_weighted_bound(
    model: ConditionalVAE,
    x: torch.Tensor,
    labels: torch.Tensor,
    k: int = 100,
    generator: torch.Generator | None = None,
) -> torch.Tensor:
    """``log (1/k) Σ_i p(x|z_i, y) p(z_i) / q(z_i|x, y)``, a tighter bound on ``log p(x|y)``."""
    return importance_weighted_bound(model.given(labels), x, k=k, generator=generator)  # type: ignore[arg-type]


def cvae_loss(model: ConditionalVAE, x: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
    """Negative mean conditional ELBO over the batch (a ``fit`` loss: data ``(x, labels)``)."""
    return -conditional_elbo(model, x, labels).mean()


__all__ = [
    "ConditionalVAE",
    "conditional_elbo",
    "conditional_importance_weighted_bound",
    "cvae_loss",
]
