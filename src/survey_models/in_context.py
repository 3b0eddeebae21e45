"""In-context learning of linear regression (Garg et al. 2022; von Oswald et al. 2023).

A *prompt* is a sequence ``(x_1, y_1, …, x_k, y_k, x_query)`` from one random linear
function (chapter 5, equation (5.icl-task)):

.. math::

    w \\sim \\mathcal N(0, I_d), \\quad x_i \\sim \\mathcal N(0, I_d), \\quad
    y_i = w^\\top x_i + \\sigma \\varepsilon_i, \\ \\varepsilon_i \\sim \\mathcal N(0, 1)
    \\qquad (1)

A model that has learned *in context* predicts ``y_query`` from the prompt alone, without
any weight update. Two baselines read the same prompt:

* least squares, the minimum-norm solution (the pseudo-inverse when ``k < d``):

  .. math::

      \\hat w_{\\mathrm{LS}} = X^{+} y, \\qquad \\hat y = \\hat w_{\\mathrm{LS}}^\\top x_{\\mathrm{query}}
      \\qquad (2)

* one step of gradient descent from ``w = 0`` on the prompt's loss
  ``L(w) = (1/2k) Σ_i (wᵀx_i − y_i)²``, whose gradient at zero is ``−(1/k) Σ_i y_i x_i``:

  .. math::

      w_1 = w_0 - \\eta \\nabla L(w_0) = \\frac{\\eta}{k} \\sum_{i=1}^{k} y_i x_i
      \\qquad (3)

  (von Oswald et al. 2023 show that one linear self-attention layer computes exactly
  this prediction). :func:`best_gd_lr` gives the ``η`` that minimises the squared error
  of (3) on a set of prompts, in closed form, for each prompt length.

:class:`InContextRegressor` is a small causal Transformer (Garg et al. 2022): each
``x_i`` and each ``y_i`` is one token (``x`` token ``[x_i, 0]``, ``y`` token
``[0, …, 0, y_i]``), read in by a linear layer, given a learned position, run through
causal :class:`~survey_models.transformer.TransformerBlock` s; a linear read-out at every
``x`` token predicts the ``y`` that follows it, so position ``i`` sees
``(x_1, y_1, …, x_{i-1}, y_{i-1}, x_i)``. :func:`in_context_loss` is Garg et al.'s
objective, the squared error averaged over every position (every prompt length at once):

.. math::

    \\mathcal L(\\theta) = \\mathbb E \\Big[\\frac1k \\sum_{i=1}^{k}
    \\big(f_\\theta(x_1, y_1, …, x_i) - y_i\\big)^2\\Big] \\qquad (4)
"""

from __future__ import annotations

from collections.abc import Callable

import torch
from torch import nn

from ._checks import (
    check_callable,
    check_nonnegative_float,
    check_positive_int,
    check_probability,
    check_tensor,
)
from .transformer import TransformerBlock

__all__ = [
    "linear_regression_prompts",
    "least_squares_predict",
    "gd_step_predict",
    "zero_predict",
    "prefix_predictions",
    "best_gd_lr",
    "error_by_position",
    "InContextRegressor",
    "in_context_loss",
]


def linear_regression_prompts(
    n_prompts: int,
    n_points: int,
    dim: int,
    generator: torch.Generator,
    noise: float = 0.0,
    dtype: torch.dtype = torch.float32,
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """Prompts of equation (1): one ``w ~ N(0, I)`` per prompt, ``x ~ N(0, I)``.

    Returns ``x: (n_prompts, n_points, dim)``, ``y: (n_prompts, n_points)`` and the true
    ``w: (n_prompts, dim)``; ``noise`` is the standard deviation ``σ`` added to ``y``.
    The same ``generator`` state gives the same prompts.
    """
    n_prompts = check_positive_int("n_prompts", n_prompts)
    n_points = check_positive_int("n_points", n_points)
    dim = check_positive_int("dim", dim)
    if not isinstance(generator, torch.Generator):
        raise TypeError(f"generator must be a torch.Generator, got {type(generator).__name__}")
    noise = check_nonnegative_float("noise", noise)
    if not dtype.is_floating_point:
        raise TypeError(f"dtype must be a floating-point dtype, got {dtype}")
    w = torch.randn(n_prompts, dim, generator=generator, dtype=torch.float64)
    x = torch.randn(n_prompts, n_points, dim, generator=generator, dtype=torch.float64)
    eps = torch.randn(n_prompts, n_points, generator=generator, dtype=torch.float64)
    y = torch.einsum("bkd,bd->bk", x, w) + noise * eps  # (1)
    return x.to(dtype), y.to(dtype), w.to(dtype)


def _check_prompt(
    x: object, y: object, x_query: object
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    check_tensor("x", x, ndim=3, floating=True)
    assert isinstance(x, torch.Tensor)
    check_tensor("y", y, ndim=2, floating=True)
    assert isinstance(y, torch.Tensor)
    check_tensor("x_query", x_query, ndim=2, last_dim=x.shape[-1], floating=True)
    assert isinstance(x_query, torch.Tensor)
    if y.shape != x.shape[:2]:
        raise ValueError(
            f"y must have shape {tuple(x.shape[:2])} (x's first two), got {tuple(y.shape)}"
        )
    if x_query.shape[0] != x.shape[0]:
        raise ValueError(
            f"x_query must have {x.shape[0]} rows (one per prompt), got shape {tuple(x_query.shape)}"
        )
    return x, y, x_query


def least_squares_predict(x: torch.Tensor, y: torch.Tensor, x_query: torch.Tensor) -> torch.Tensor:
    """Equation (2): minimum-norm least squares fitted to each prompt, evaluated at its query.

    Shapes: ``x: (B, k, d)``, ``y: (B, k)``, ``x_query: (B, d)`` → ``(B,)``. With ``k < d``
    points the fit is the pseudo-inverse (the interpolating ``w`` of smallest norm); with
    ``k = 0`` it is ``w = 0``.
    """
    x, y, x_query = _check_prompt(x, y, x_query)
    if x.shape[1] == 0:
        return torch.zeros(x.shape[0], dtype=x.dtype)
    w = torch.linalg.pinv(x) @ y.unsqueeze(-1)  # (2): X⁺ y, (B, d, 1)
    return (x_query.unsqueeze(1) @ w).reshape(-1)


def gd_step_predict(
    x: torch.Tensor, y: torch.Tensor, x_query: torch.Tensor, lr: float | torch.Tensor
) -> torch.Tensor:
    """Equation (3): one gradient step from ``w = 0`` with step size ``lr``, at the query.

    Shapes: ``x: (B, k, d)``, ``y: (B, k)``, ``x_query: (B, d)`` → ``(B,)``; ``lr`` is a
    number ``>= 0`` (or a tensor broadcastable to ``(B,)``). With ``k = 0`` the step is zero.
    """
    x, y, x_query = _check_prompt(x, y, x_query)
    if not isinstance(lr, torch.Tensor):
        lr = check_nonnegative_float("lr", lr)
    k = x.shape[1]
    if k == 0:
        return torch.zeros(x.shape[0], dtype=x.dtype)
    w1 = torch.einsum("bk,bkd->bd", y, x) / k  # (3) with η = 1: (1/k) Σ y_i x_i
    return lr * (w1 * x_query).sum(-1)  # (3): η · w₁ᵀ x_query


def zero_predict(x: torch.Tensor, y: torch.Tensor, x_query: torch.Tensor) -> torch.Tensor:
    """The zero predictor (``E[y] = 0`` under equation (1)): ``(B,)`` zeros, the prompt unread."""
    x, y, x_query = _check_prompt(x, y, x_query)
    return torch.zeros(x.shape[0], dtype=x.dtype)


Predictor = Callable[[torch.Tensor, torch.Tensor, torch.Tensor], torch.Tensor]


def prefix_predictions(predict: Predictor, x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    """Run ``predict`` at every prompt length: column ``i`` predicts ``y_i`` from the first ``i`` points.

    Shapes: ``x: (B, n, d)``, ``y: (B, n)`` → ``(B, n)``, the same layout as the output of
    :class:`InContextRegressor`, so :func:`error_by_position` compares the two directly.
    """
    check_callable("predict", predict)
    check_tensor("x", x, ndim=3, floating=True)
    x, y, _ = _check_prompt(x, y, x[:, 0])
    return torch.stack([predict(x[:, :i], y[:, :i], x[:, i]) for i in range(x.shape[1])], dim=1)


def best_gd_lr(x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    """The step size ``η`` of equation (3) with the least squared error on these prompts, per length.

    The prediction is linear in ``η`` (``η a`` with ``a`` the ``η = 1`` prediction), so the
    best ``η`` is ``Σ a y / Σ a²`` over the prompts. Shapes: ``x: (B, n, d)``, ``y: (B, n)``
    → ``(n,)``; entry ``i`` is for ``i`` in-context points (entry 0, no points, is 0).
    """
    a = prefix_predictions(lambda xs, ys, xq: gd_step_predict(xs, ys, xq, 1.0), x, y)
    den = (a * a).sum(0)
    return torch.where(den > 0, (a * y).sum(0) / den.clamp_min(torch.finfo(a.dtype).tiny), 0.0)


def error_by_position(prediction: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    """Mean squared error at each position: ``(B, n)`` and ``(B, n)`` → ``(n,)``.

    Entry ``i`` is the in-context error with ``i`` examples in the prompt.
    """
    check_tensor("prediction", prediction, ndim=2, floating=True)
    check_tensor("y", y, ndim=2, floating=True)
    if prediction.shape != y.shape:
        raise ValueError(
            f"prediction must have y's shape {tuple(y.shape)}, got {tuple(prediction.shape)}"
        )
    return ((prediction - y) ** 2).mean(0)


class InContextRegressor(nn.Module):
    """A causal Transformer that reads ``(x_1, y_1, …, x_n, y_n)`` and predicts each ``y_i``.

    Args:
        dim: dimension ``d`` of the inputs ``x``.
        max_points: the most ``(x, y)`` pairs in a prompt (length of the position table is
            ``2 · max_points``).
        n_layer: causal :class:`~survey_models.transformer.TransformerBlock` s (pre-norm).
        n_head: attention heads per block.
        d_model: width of the residual stream (divisible by ``n_head``).
        dropout: dropout in the blocks.
        fast: use PyTorch's fused attention kernel.

    Shapes: ``x: (B, n, dim)``, ``y: (B, n)`` with ``n <= max_points`` → ``(B, n)``;
    output ``[:, i]`` predicts ``y_i`` from ``x_1, y_1, …, x_{i-1}, y_{i-1}, x_i`` only
    (``y_i`` and later points are masked out), so one pass scores every prompt length.
    """

    def __init__(
        self,
        dim: int,
        max_points: int,
        n_layer: int = 2,
        n_head: int = 4,
        d_model: int = 64,
        dropout: float = 0.0,
        fast: bool = True,
    ) -> None:
        super().__init__()
        self.dim = check_positive_int("dim", dim)
        self.max_points = check_positive_int("max_points", max_points)
        self.n_layer = check_positive_int("n_layer", n_layer)
        check_positive_int("n_head", n_head)
        self.d_model = check_positive_int("d_model", d_model)
        if d_model % n_head != 0:
            raise ValueError(f"d_model ({d_model}) must be divisible by n_head ({n_head})")
        check_probability("dropout", dropout)
        self.read_in = nn.Linear(dim + 1, d_model)
        self.position = nn.Embedding(2 * max_points, d_model)
        self.blocks = nn.ModuleList(
            TransformerBlock(d_model, n_head, dropout=dropout, norm_first=True, fast=fast)
            for _ in range(n_layer)
        )
        self.norm = nn.LayerNorm(d_model)
        self.read_out = nn.Linear(d_model, 1)

    def extra_repr(self) -> str:
        return f"dim={self.dim}, max_points={self.max_points}"

    def tokens(self, x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        """Interleave ``x (B, n, d)`` and ``y (B, n)`` into tokens ``(B, 2n, d + 1)``.

        Token ``2i`` is ``[x_i, 0]``, token ``2i + 1`` is ``[0, …, 0, y_i]``.
        """
        b, n, d = x.shape
        z = x.new_zeros(b, n, 2, d + 1)
        z[:, :, 0, :d] = x
        z[:, :, 1, d] = y
        return z.reshape(b, 2 * n, d + 1)

    def forward(self, x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        check_tensor("x", x, ndim=3, last_dim=self.dim, floating=True)
        check_tensor("y", y, ndim=2, floating=True)
        if y.shape != x.shape[:2]:
            raise ValueError(
                f"y must have shape {tuple(x.shape[:2])} (x's first two), got {tuple(y.shape)}"
            )
        n = x.shape[1]
        if not 1 <= n <= self.max_points:
            raise ValueError(f"x must have between 1 and {self.max_points} points, got {n}")
        z = self.tokens(x, y)
        h = self.read_in(z) + self.position.weight[: 2 * n]
        for block in self.blocks:
            h = block(h, is_causal=True)
        return self.read_out(self.norm(h[:, 0::2])).squeeze(-1)  # one prediction per x token


def in_context_loss(model: InContextRegressor, x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    """Equation (4): squared error averaged over every position of every prompt (a scalar).

    A ``loss_fn`` for :func:`survey_models.train.fit` with data ``(x, y)``.
    """
    return ((model(x, y) - y) ** 2).mean()  # (4)
