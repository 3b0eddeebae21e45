"""One-shot pruning of a trained model: magnitude, Wanda and SparseGPT masks, 50 % and 2:4.

A trained linear layer ``y = W x`` (``W: (rows, d)``) is pruned *without retraining* from a
small calibration batch ``X: (n, d)`` (the inputs the layer sees, recorded by
:func:`survey_models.calibration.linear_inputs`). The goal is the layer-wise problem

.. math::

    \\min_{M,\\,\\hat W} \\lVert W X^\\top - (M \\odot \\hat W) X^\\top \\rVert_F^2,
    \\qquad H = \\tfrac{1}{n} X^\\top X \\qquad (1)

with a binary mask ``M`` of the required sparsity (:func:`survey_models.calibration.input_hessian`
forms ``H`` with a small ridge). Each method scores the weights and removes the lowest
scores. *Unstructured* sparsity ``s`` removes exactly ``round(s·d)`` weights in every output
row; *N:M* sparsity keeps ``N`` of every ``M`` consecutive input weights of a row (2:4 is
what sparse tensor cores accelerate).

**Magnitude**: keep the largest weights, ignoring the data,

.. math:: S_{ij} = |W_{ij}| \\qquad (2)

**Wanda** (Sun et al. 2024): weight the magnitude by the norm of the input it multiplies,
compared within each output row, no weight update,

.. math:: S_{ij} = |W_{ij}| \\cdot \\lVert X_{:,j} \\rVert_2 \\qquad (3)

**Optimal brain surgeon** (Hassibi & Stork 1993) for one row ``w`` of ``W``: removing weight
``q`` and re-fitting the others optimally raises the error (1) by ``ε_q`` and moves the
row by ``δ``,

.. math::

    \\varepsilon_q = \\frac{w_q^2}{[H^{-1}]_{qq}}, \\qquad
    \\delta = -\\frac{w_q}{[H^{-1}]_{qq}}\\, H^{-1}_{:,q} \\qquad (4)

(:func:`obs_prune`). **SparseGPT** (Frantar & Alistarh 2023) makes this affordable for every
row at once: it visits the columns left to right; column ``j``'s pruned entries are set to
zero and their error is spread over the columns ``> j`` only, with the inverse Hessian of
the columns not yet visited, whose rows are those of the upper Cholesky factor
``U = chol(H^{-1})`` (``H^{-1} = UᵀU``),

.. math::

    e = \\frac{w_{:,j} - (M \\odot W)_{:,j}}{U_{jj}}, \\qquad
    W_{:,j+1:} \\leftarrow W_{:,j+1:} - e\\, U_{j,\\,j+1:} \\qquad (5)

and chooses the mask adaptively: at the start of each block of ``block_size`` columns (for
N:M, of each group of ``M``), from the *current, already updated* weights, by the OBS
score of (4) with the same factor,

.. math:: S_{ij} = \\frac{W_{ij}^2}{U_{jj}^2} \\qquad (6)

Simplifications relative to the paper: one column at a time (the paper's lazy batch
updates give the same numbers faster), float64, and in unstructured mode every row of every
block loses the same number of weights (the paper picks the block's lowest scores over all
rows together), so the per-row count is exact. :func:`prune_model` prunes every Linear of a
model in order, each layer calibrated on the outputs of the layers pruned before it.
"""

from __future__ import annotations

import copy
from collections.abc import Callable

import torch
from torch import nn

from ._checks import (
    check_choice,
    check_finite_tensor,
    check_int_in,
    check_module,
    check_positive_int,
    check_probability,
    check_tensor,
)
from .calibration import check_hessian, input_hessian, inverse_hessian, linear_inputs
from .compression import apply_masks, prunable_weights

__all__ = [
    "METHODS",
    "unstructured_mask",
    "n_m_mask",
    "magnitude_scores",
    "wanda_scores",
    "obs_prune",
    "sparsegpt_prune",
    "prune_layer",
    "prune_model",
]

METHODS = ("magnitude", "wanda", "sparsegpt")


def _check_scores(scores: object) -> torch.Tensor:
    check_tensor("scores", scores, ndim=2, floating=True)
    assert isinstance(scores, torch.Tensor)
    check_finite_tensor("scores", scores)
    return scores


def _lowest(scores: torch.Tensor, k: int) -> torch.Tensor:
    """Boolean mask of the ``k`` lowest scores in each row (ties: the earlier column)."""
    drop = torch.zeros_like(scores, dtype=torch.bool)
    if k > 0:
        order = torch.sort(scores, dim=1, stable=True).indices[:, :k]
        drop.scatter_(1, order, True)
    return drop


def unstructured_mask(scores: torch.Tensor, sparsity: float) -> torch.Tensor:
    """Keep-mask (1 = keep) removing the ``round(sparsity · d)`` lowest scores of every row.

    ``scores: (rows, d)`` → float mask ``(rows, d)``; every row has exactly
    ``d - round(sparsity · d)`` ones. Ties are broken by position (the earlier one goes).
    """
    scores = _check_scores(scores)
    sparsity = check_probability("sparsity", sparsity)
    k = int(round(sparsity * scores.shape[1]))
    return (~_lowest(scores, k)).to(scores.dtype)


def n_m_mask(scores: torch.Tensor, n: int, m: int) -> torch.Tensor:
    """Keep-mask with ``n`` ones in every group of ``m`` consecutive columns of each row.

    ``scores: (rows, d)`` with ``d`` divisible by ``m`` → float mask ``(rows, d)``; the ``n``
    highest scores of each group are kept (2:4: ``n=2, m=4``).
    """
    scores = _check_scores(scores)
    m = check_positive_int("m", m)
    n = check_int_in("n", n, 1, m + 1)
    rows, d = scores.shape
    if d % m:
        raise ValueError(f"scores must have a number of columns divisible by m={m}, got {d}")
    groups = scores.reshape(rows * d // m, m)
    return (~_lowest(groups, m - n)).reshape(rows, d).to(scores.dtype)


def magnitude_scores(weight: torch.Tensor) -> torch.Tensor:
    """``|W_ij|`` (equation (2)); ``weight: (rows, d)``."""
    check_tensor("weight", weight, ndim=2, floating=True)
    return weight.detach().abs()  # (2)


def wanda_scores(weight: torch.Tensor, inputs: torch.Tensor) -> torch.Tensor:
    """``|W_ij| · ||X_{:,j}||₂`` (equation (3)); ``weight: (rows, d)``, ``inputs: (n, d)``."""
    check_tensor("weight", weight, ndim=2, floating=True)
    check_tensor("inputs", inputs, ndim=2, last_dim=weight.shape[1], floating=True, min_rows=1)
    check_finite_tensor("inputs", inputs)
    norms = torch.linalg.vector_norm(inputs.detach().to(weight.dtype), dim=0)  # ||X_j||_2
    return weight.detach().abs() * norms  # (3)


def obs_prune(
    weight: torch.Tensor, hessian: torch.Tensor, index: int
) -> tuple[torch.Tensor, torch.Tensor]:
    """Remove input ``index`` from every row and re-fit the rest (equation (4)).

    ``weight: (rows, d)``, ``hessian: (d, d)`` positive definite. Returns the updated
    weights (float64, column ``index`` exactly zero) and ``ε: (rows,)``, the increase of
    ``(w - ŵ)ᵀ H (w - ŵ)`` for each row.
    """
    check_tensor("weight", weight, ndim=2, floating=True)
    d = weight.shape[1]
    h = check_hessian(hessian, d)
    index = check_int_in("index", index, 0, d)
    h_inv, _ = inverse_hessian(h)
    w = weight.detach().double()
    wq, hqq = w[:, index], h_inv[index, index]
    out = w - (wq / hqq)[:, None] * h_inv[:, index][None, :]  # δ of (4)
    out[:, index] = 0.0  # exactly zero (it is w_q - w_q up to rounding)
    return out, wq**2 / hqq  # ε_q of (4)


def sparsegpt_prune(
    weight: torch.Tensor,
    hessian: torch.Tensor,
    sparsity: float = 0.5,
    n_m: tuple[int, int] | None = None,
    block_size: int = 32,
    mask: torch.Tensor | None = None,
) -> tuple[torch.Tensor, torch.Tensor]:
    """SparseGPT: prune ``weight`` column by column with OBS updates (equations (5), (6)).

    ``weight: (rows, d)``, ``hessian: (d, d)`` positive definite (damped). ``n_m=(n, m)``
    asks for N:M sparsity, otherwise ``sparsity`` per row; the mask is chosen at the start
    of each block of ``block_size`` columns (of each group of ``m``) from the updated
    weights. A given ``mask`` (1 = keep, ``(rows, d)``) is used as is and only the weights
    are updated. Returns ``(pruned weight (float64), mask (float64))``.
    """
    check_tensor("weight", weight, ndim=2, floating=True)
    rows, d = weight.shape
    h = check_hessian(hessian, d)
    sparsity = check_probability("sparsity", sparsity)
    block_size = check_positive_int("block_size", block_size)
    if n_m is not None:
        if not (isinstance(n_m, tuple) and len(n_m) == 2):
            raise TypeError(f"n_m must be a tuple (n, m), got {n_m!r}")
        n_m_mask(torch.zeros(1, d), *n_m)  # validates n, m and d % m
    if mask is not None:
        check_tensor("mask", mask, ndim=2)
        if mask.shape != weight.shape:
            raise ValueError(
                f"mask must have the shape of weight {tuple(weight.shape)}, got {tuple(mask.shape)}"
            )
    # H^{-1} = Uᵀ U with U upper triangular: row j of U is row j of the inverse Hessian
    # of the columns j, j+1, … (the ones not yet visited), divided by sqrt of its pivot.
    h_inv, u = inverse_hessian(h)
    diag = u.diagonal()
    w = weight.detach().double().clone()
    keep = torch.ones(rows, d, dtype=torch.bool) if mask is None else mask.detach().to(torch.bool)
    step = n_m[1] if n_m is not None else block_size
    for j in range(d):
        if mask is None and j % step == 0:
            cols = slice(j, min(j + step, d))
            score = w[:, cols] ** 2 / diag[cols] ** 2  # (6)
            if n_m is not None:
                keep[:, cols] = n_m_mask(score, *n_m).bool()
            else:
                # Cumulative rounding: the blocks add up to exactly round(s·d) per row.
                k = int(round(sparsity * cols.stop)) - int(round(sparsity * cols.start))
                keep[:, cols] = ~_lowest(score, k)
        col = w[:, j]
        err = torch.where(keep[:, j], torch.zeros_like(col), col) / u[j, j]  # e of (5)
        w[:, j] = torch.where(keep[:, j], col, torch.zeros_like(col))
        w[:, j + 1 :] -= err[:, None] * u[j, j + 1 :][None, :]  # (5)
    return w, keep.double()


def prune_layer(
    layer: nn.Linear,
    inputs: torch.Tensor,
    method: str,
    sparsity: float = 0.5,
    n_m: tuple[int, int] | None = None,
    damp: float = 0.01,
    block_size: int = 32,
) -> torch.Tensor:
    """Prune ``layer`` in place from its calibration ``inputs: (n, in_features)``.

    ``method`` is one of :data:`METHODS`. Magnitude and Wanda zero the weights their mask
    removes; SparseGPT also updates the kept ones. Returns the keep-mask (float,
    ``(out_features, in_features)``).
    """
    if not isinstance(layer, nn.Linear):
        raise TypeError(f"layer must be an nn.Linear, got {type(layer).__name__}")
    method = check_choice("method", method, METHODS)
    w = layer.weight
    check_tensor("inputs", inputs, ndim=2, last_dim=w.shape[1], floating=True, min_rows=1)
    with torch.no_grad():
        if method == "sparsegpt":
            h = input_hessian(inputs, damp)
            new, mask = sparsegpt_prune(w, h, sparsity, n_m, block_size)
            w.copy_(new.to(w.dtype))
            return mask.to(w.dtype)
        scores = magnitude_scores(w) if method == "magnitude" else wanda_scores(w, inputs)
        mask = unstructured_mask(scores, sparsity) if n_m is None else n_m_mask(scores, *n_m)
        w.mul_(mask)
        return mask


def prune_model(
    model: nn.Module,
    run: Callable[[nn.Module], object],
    method: str,
    sparsity: float = 0.5,
    n_m: tuple[int, int] | None = None,
    names: list[str] | None = None,
    damp: float = 0.01,
    block_size: int = 32,
) -> nn.Module:
    """A pruned copy of ``model``: every Linear (or those in ``names``), one after another.

    ``run(model)`` runs the calibration batch (e.g. ``lambda m: m(x_calib)``). Layers are
    pruned in the order of ``model.named_modules()``; each one's inputs are recorded on
    the copy *after* the layers before it were pruned, so later layers are fitted to what
    they will see. The masks are attached with :func:`survey_models.compression.apply_masks`
    (fine-tuning keeps pruned weights at zero; :func:`survey_models.compression.remove_masks`
    bakes them in). ``model`` itself is not changed.
    """
    check_module("model", model)
    if not callable(run):
        raise TypeError(f"run must be a callable taking the model, got {type(run).__name__}")
    check_choice("method", method, METHODS)
    out = copy.deepcopy(model)
    layers = prunable_weights(out)
    if names is not None:
        missing = [n for n in names if n not in layers]
        if missing:
            raise ValueError(f"names must be nn.Linear layers of model; not found: {missing}")
        layers = {n: layer for n, layer in layers.items() if n in names}
    masks = {}
    for name, layer in layers.items():
        x = linear_inputs(out, run, names=[name])[name]
        masks[name] = prune_layer(layer, x, method, sparsity, n_m, damp, block_size)
    return apply_masks(out, masks)
