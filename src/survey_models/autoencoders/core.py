"""The traditional autoencoder of the survey, equations (1)-(2):

.. math::

    h = \\sigma_e(W_1 x + b_1) \\qquad (1)

    y = \\sigma_d(W_2 h + b_2) \\qquad (2)

The reconstruction error is the squared error (3) by default; for inputs in [0, 1]
(binarised digits) the cross-entropy of Vincent et al. (2010, JMLR), the negative
log-likelihood of ``x`` under independent Bernoulli pixels with means ``y``:

.. math::

    L_{\\text{sq}}(x, y) = \\lVert y - x \\rVert^2 \\qquad (3)

    L_{\\text{CE}}(x, y) = -\\sum_i \\left[x_i \\log y_i + (1 - x_i) \\log(1 - y_i)\\right]
    \\qquad (4)
"""

from __future__ import annotations

import torch
from torch import nn
from torch.nn import functional as F

from .._checks import check_choice, check_positive_int, check_tensor

ERRORS = ("squared", "cross_entropy")

ACTIVATIONS = {
    "sigmoid": nn.Sigmoid,
    "tanh": nn.Tanh,
    "relu": nn.ReLU,
    "identity": nn.Identity,
}


def make_activation(name: str, argname: str = "activation") -> nn.Module:
    """A fresh activation module from its name (``sigmoid``, ``tanh``, ``relu``, ``identity``)."""
    check_choice(argname, name, tuple(ACTIVATIONS))
    return ACTIVATIONS[name]()


def structure_of(n_input: int, n_hidden: int) -> str:
    """The survey's name for the hidden layer's form: 压缩结构, 稀疏结构 or 等维结构."""
    check_positive_int("n_input", n_input)
    check_positive_int("n_hidden", n_hidden)
    if n_hidden < n_input:
        return "压缩结构"
    if n_hidden > n_input:
        return "稀疏结构"
    return "等维结构"


class Autoencoder(nn.Module):
    """A one-hidden-layer autoencoder ``x → h → y`` (survey equations (1)-(2)).

    Args:
        n_input: width of the input ``x`` and of the reconstruction ``y``.
        n_hidden: width of the code ``h``; smaller than ``n_input`` gives the compressed
            structure, larger the sparse (over-complete) one, equal the equal-dimension one.
        encoder_activation: σ_e, one of ``sigmoid``, ``tanh``, ``relu``, ``identity``.
        decoder_activation: σ_d, same choices; ``sigmoid`` suits inputs in [0, 1].

    Shapes: ``x: (batch, n_input)`` → ``h: (batch, n_hidden)`` → ``y: (batch, n_input)``.
    """

    def __init__(
        self,
        n_input: int,
        n_hidden: int,
        encoder_activation: str = "sigmoid",
        decoder_activation: str = "sigmoid",
    ) -> None:
        super().__init__()
        self.n_input = check_positive_int("n_input", n_input)
        self.n_hidden = check_positive_int("n_hidden", n_hidden)
        self.encoder_linear = nn.Linear(n_input, n_hidden)  # W1, b1
        self.encoder_activation = make_activation(encoder_activation, "encoder_activation")
        self.decoder_linear = nn.Linear(n_hidden, n_input)  # W2, b2
        self.decoder_activation = make_activation(decoder_activation, "decoder_activation")

    @property
    def structure(self) -> str:
        """压缩结构, 稀疏结构 or 等维结构, from the layer widths."""
        return structure_of(self.n_input, self.n_hidden)

    def encode(self, x: torch.Tensor) -> torch.Tensor:
        """Equation (1): ``h = σ_e(W1 x + b1)``; ``x: (batch, n_input)``."""
        check_tensor("x", x, ndim=2, last_dim=self.n_input, floating=True)
        return self.encoder_activation(self.encoder_linear(x))

    def decode(self, h: torch.Tensor) -> torch.Tensor:
        """Equation (2): ``y = σ_d(W2 h + b2)``; ``h: (batch, n_hidden)``."""
        check_tensor("h", h, ndim=2, last_dim=self.n_hidden, floating=True)
        return self.decoder_activation(self.decoder_linear(h))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Reconstruction ``y`` of ``x``, both ``(batch, n_input)``."""
        return self.decode(self.encode(x))

    def extra_repr(self) -> str:
        return f"n_input={self.n_input}, n_hidden={self.n_hidden}, structure={self.structure}"


def check_autoencoder(model: object, name: str = "model") -> Autoencoder:
    if not isinstance(model, Autoencoder):
        raise TypeError(f"{name} must be an Autoencoder, got {type(model).__name__}")
    return model


def activation_derivative(activation: nn.Module, h: torch.Tensor) -> torch.Tensor:
    """``σ'(a)`` written through the activation's own output ``h = σ(a)``.

    sigmoid: ``h(1-h)``; tanh: ``1-h²``; relu: ``1[h>0]``; identity: ``1``. Used by the
    contractive penalty, whose Jacobian is ``diag(σ'(a)) W1``.
    """
    if isinstance(activation, nn.Sigmoid):
        return h * (1 - h)
    if isinstance(activation, nn.Tanh):
        return 1 - h**2
    if isinstance(activation, nn.ReLU):
        return (h > 0).to(h.dtype)
    if isinstance(activation, nn.Identity):
        return torch.ones_like(h)
    raise TypeError(f"activation must be one of {tuple(ACTIVATIONS)}, got {activation!r}")


def per_example_error(
    y: torch.Tensor, target: torch.Tensor, error: str = "squared"
) -> torch.Tensor:
    """Per-example error between a reconstruction ``y`` and ``target``, shape ``(batch,)``.

    ``error="squared"``: equation (3), ``Σ_i (y_i - x_i)²``. ``error="cross_entropy"``:
    equation (4), the Bernoulli negative log-likelihood in nats, summed over features; it
    needs ``y`` in [0, 1] (a sigmoid decoder) and ``target`` in [0, 1] (binary pixels, or
    grey levels read as probabilities, as in Vincent et al. 2010); values outside raise.
    Each log is clamped at -100 as in :func:`torch.nn.functional.binary_cross_entropy`.
    ``y, target: (batch, dim)``.
    """
    check_choice("error", error, ERRORS)
    if target.shape != y.shape:
        raise ValueError(f"target must have shape {tuple(y.shape)}, got {tuple(target.shape)}")
    if error == "squared":
        return ((y - target) ** 2).sum(dim=1)  # equation (3)
    if y.numel() and not bool(((y >= 0) & (y <= 1)).all()):
        raise ValueError(
            "the reconstruction must lie in [0, 1] for error='cross_entropy' "
            "(use decoder_activation='sigmoid')"
        )
    if target.numel() and not bool(((target >= 0) & (target <= 1)).all()):
        raise ValueError("target must lie in [0, 1] for error='cross_entropy'")
    # equation (4), -Σ_i [x_i log y_i + (1 - x_i) log(1 - y_i)], through PyTorch's
    # built-in: it clamps each log at -100 and keeps the gradient finite where a sigmoid
    # output saturates at exactly 0 or 1 (a hand-written clamp would give 0 · ∞ = NaN)
    return F.binary_cross_entropy(y, target, reduction="none").sum(dim=1)


def reconstruction_errors(
    model: nn.Module,
    x: torch.Tensor,
    target: torch.Tensor | None = None,
    *,
    error: str = "squared",
) -> torch.Tensor:
    """Per-example reconstruction error, shape ``(batch,)``: ``‖y - target‖²`` by default.

    ``target`` defaults to ``x``. ``error`` is ``"squared"`` (equation (3)) or
    ``"cross_entropy"`` (equation (4), for targets in [0, 1] and a sigmoid decoder; see
    :func:`per_example_error`). The mean of this is :func:`reconstruction_loss`; the
    per-example values are the anomaly scores of :mod:`survey_models.autoencoders.anomaly`.
    """
    check_choice("error", error, ERRORS)
    y = model(x)
    target = x if target is None else check_tensor("target", target)
    return per_example_error(y, target, error)


def reconstruction_loss(
    model: nn.Module,
    x: torch.Tensor,
    target: torch.Tensor | None = None,
    *,
    error: str = "squared",
) -> torch.Tensor:
    """Mean reconstruction error, summed over features and averaged over the batch.

    ``target`` defaults to ``x`` (plain autoencoder); a denoising autoencoder passes the
    clean input as ``target`` and a corrupted one as ``x``. ``error`` is ``"squared"``
    (default, equation (3)) or ``"cross_entropy"`` (equation (4)). Usable directly as the
    ``loss_fn`` of :func:`survey_models.train.fit`; for the cross-entropy pass
    ``functools.partial(reconstruction_loss, error="cross_entropy")``.
    """
    return reconstruction_errors(model, x, target, error=error).mean()  # equation (3) or (4)
