"""Low-bit weights with error compensation: GPTQ and AWQ against round-to-nearest.

All three methods put a trained layer ``y = W x`` (``W: (rows, cols)``) on **the same grid**,
the per-row symmetric grid of :mod:`survey_models.compression` (its equation (6.3), one step
per output row):

.. math::

    \\Delta_i = \\frac{\\max_j |W_{ij}|}{2^{b-1}-1}, \\qquad
    \\operatorname{quant}(w)_i = \\Delta_i\\,
    \\operatorname{clamp}\\big(\\operatorname{round}(w_i/\\Delta_i), -(2^{b-1}-1), 2^{b-1}-1\\big)
    \\qquad (1)

so that only the *choice* of grid points differs. (GPTQ's and AWQ's code use an asymmetric
min–max grid; a symmetric one keeps the book's single quantiser and changes nothing about
the methods.) **Round-to-nearest** (RTN, :func:`rtn_quantize`) rounds every weight on its
own. The data-aware methods keep the layer's outputs on calibration inputs
``X: (n, cols)`` close, i.e. they minimise (:mod:`survey_models.calibration`, equation (1))

.. math::

    E(\\hat W) = \\lVert W X^\\top - \\hat W X^\\top \\rVert_F^2 / n
    = \\operatorname{tr}\\big((W-\\hat W) H (W-\\hat W)^\\top\\big),
    \\qquad H = X^\\top X / n \\qquad (2)

**GPTQ** (Frantar et al. 2023; from Optimal Brain Quantization, Frantar & Alistarh 2022)
quantises the columns one at a time, in a fixed order, and after each one moves the
*not yet quantised* columns ``F`` to cancel the error it made. Equation (2) is quadratic, so
that move is the least-squares optimum over ``F`` with the quantised columns held fixed:

.. math::

    \\delta_F = -\\frac{w_q - \\operatorname{quant}(w_q)}{[H_F^{-1}]_{qq}}\\,
    (H_F^{-1})_{:,q} \\qquad (3)

where ``w_q`` is column ``q`` and ``H_F^{-1}`` the inverse Hessian restricted to the columns
still free (``q`` first). Removing ``q`` from ``F`` is one step of Gaussian elimination on
``H^{-1}``; for the order ``0, 1, 2, …`` all those steps together are the Cholesky
factorisation :math:`H^{-1} = U^\\top U` (``U`` upper triangular): row ``q`` of ``U`` holds
:math:`(H_F^{-1})_{q,:} / \\sqrt{[H_F^{-1}]_{qq}}`, so (3) becomes

.. math::

    e_q = \\frac{w_q - \\operatorname{quant}(w_q)}{U_{qq}}, \\qquad
    W_{:,\\,q:} \\leftarrow W_{:,\\,q:} - e_q\\, U_{q,\\,q:} \\qquad (4)

and ``H^{-1}`` is factorised once, not updated per column. *Lazy batches*: the update (4)
of the columns after a block ``B`` of ``block_size`` columns is deferred and applied at
once, ``W_{:,>B} ← W_{:,>B} − E_B U_{B,>B}`` with ``E_B = [e_q]_{q∈B}`` (5): the same
numbers, fewer passes over ``W``. The grid steps ``Δ_i`` are taken from the original row
before any update.

**AWQ** (Lin et al. 2024) does not change which weights are rounded how, but *which weights
matter*: input channels with large activations carry most of the output, so it scales them
up before rounding (their relative rounding error shrinks) and folds the inverse scale into
the input:

.. math::

    s_j = \\big(\\overline{|x_j|}\\big)^{\\alpha}, \\qquad
    \\hat W = \\operatorname{quant}\\big(W \\operatorname{diag}(s)\\big)\\,
    \\operatorname{diag}(s)^{-1} \\qquad (6)

with :math:`\\overline{|x_j|}` the mean magnitude of input channel ``j`` over the calibration
data and ``α ∈ [0, 1]`` chosen by a grid search on the calibration error,
:math:`\\alpha^* = \\arg\\min_\\alpha E(\\hat W_\\alpha)` (7). ``α = 0`` is RTN. (AWQ searches
on the output of a whole transformer block and folds ``s`` into the previous operator; here the search is on the
layer's own output and ``Ŵ`` carries ``diag(s)^{-1}``, which computes the same function.)

:func:`quantize_linears` applies a method to every :class:`torch.nn.Linear` of a model, in
order; the data-aware methods take each layer's calibration inputs from the model with the
earlier layers already quantised (GPTQ's sequential scheme), collected with
:func:`survey_models.calibration.linear_inputs`.
"""

from __future__ import annotations

import copy
from collections.abc import Callable, Sequence
from typing import NamedTuple

import torch
from torch import nn

from ._checks import (
    check_callable,
    check_choice,
    check_finite_tensor,
    check_int_in,
    check_module,
    check_positive_int,
    check_probability,
    check_tensor,
)
from .calibration import check_hessian, input_hessian, inverse_hessian, linear_inputs
from .compression import fake_quantize, quantization_step

__all__ = [
    "round_to_grid",
    "rtn_quantize",
    "output_error",
    "gptq_quantize",
    "awq_scales",
    "AWQResult",
    "awq_quantize",
    "quantize_linears",
]

METHODS = ("rtn", "gptq", "awq")
DEFAULT_ALPHAS = tuple(i / 20 for i in range(21))  # AWQ's grid: 0, 0.05, …, 1


def _check_weight(weight: object) -> torch.Tensor:
    check_tensor("weight", weight, ndim=2, floating=True, min_rows=1)
    assert isinstance(weight, torch.Tensor)
    if weight.shape[1] == 0:
        raise ValueError(f"weight must have at least one column, got shape {tuple(weight.shape)}")
    return check_finite_tensor("weight", weight)


def round_to_grid(w: torch.Tensor, step: torch.Tensor, bits: int) -> torch.Tensor:
    """Round ``w`` onto the symmetric ``bits``-bit grid with step ``step`` (equation (1)).

    ``w: (rows, ...)`` and ``step: (rows, 1)`` or ``(rows,)`` (broadcast against ``w``), e.g.
    one column ``w: (rows,)`` of a weight with its rows' steps.
    """
    check_tensor("w", w, floating=True)
    check_tensor("step", step, floating=True)
    check_int_in("bits", bits, 2, 17)
    qmax = 2 ** (bits - 1) - 1
    return torch.clamp(torch.round(w / step), -qmax, qmax) * step


def rtn_quantize(weight: torch.Tensor, bits: int) -> torch.Tensor:
    """Round-to-nearest: every weight to its nearest point of its row's grid (equation (1)).

    ``weight: (rows, cols)`` → same shape and dtype. This is
    :func:`survey_models.compression.fake_quantize` with one step per row.
    """
    _check_weight(weight)
    return fake_quantize(weight, bits, per_channel=True)


def output_error(weight: torch.Tensor, w_hat: torch.Tensor, hessian: torch.Tensor) -> float:
    """The calibration error ``tr((W − Ŵ) H (W − Ŵ)ᵀ)`` of equation (2), in float64.

    ``weight, w_hat: (rows, cols)``, ``hessian: (cols, cols)`` (e.g. from
    :func:`survey_models.calibration.input_hessian`); with ``H = XᵀX/n`` it is the mean
    squared output difference ``‖(W − Ŵ)Xᵀ‖² / n`` summed over the rows.
    """
    _check_weight(weight)
    check_tensor("w_hat", w_hat, ndim=2, floating=True)
    if w_hat.shape != weight.shape:
        raise ValueError(
            f"w_hat must have the shape of weight {tuple(weight.shape)}, got {tuple(w_hat.shape)}"
        )
    h = check_hessian(hessian, weight.shape[1])
    d = (weight - w_hat).double()
    return float(((d @ h) * d).sum().detach())  # (2)


@torch.no_grad()
def gptq_quantize(
    weight: torch.Tensor,
    hessian: torch.Tensor,
    bits: int,
    *,
    block_size: int = 128,
    n_columns: int | None = None,
) -> torch.Tensor:
    """GPTQ: quantise the columns of ``weight`` in order, compensating each column's error
    on the columns not yet quantised (equations (3)–(5)).

    Args:
        weight: ``(rows, cols)``, the layer's weight (``y = W x``).
        hessian: ``(cols, cols)``, symmetric positive definite: ``H = XᵀX/n`` of the layer's
            calibration inputs, damped (:func:`survey_models.calibration.input_hessian`).
        bits: bits per weight, 2–16; the grid is the per-row grid of equation (1), with
            steps from the original ``weight``.
        block_size: columns per lazy batch (equation (5)); any value gives the same result
            up to rounding.
        n_columns: quantise only the first ``n_columns`` columns (default: all); the
            remaining columns come back with the compensating update but unrounded, to
            inspect the algorithm one step at a time.

    Returns ``Ŵ: (rows, cols)`` in the dtype of ``weight`` (computed in float64). With
    ``H = I`` no column can compensate another and GPTQ is RTN.
    """
    _check_weight(weight)
    rows, cols = weight.shape
    h = check_hessian(hessian, cols)
    check_positive_int("block_size", block_size)
    stop = cols if n_columns is None else check_positive_int("n_columns", n_columns)
    if stop > cols:
        raise ValueError(f"n_columns must be at most cols = {cols}, got {stop}")
    step = quantization_step(weight, bits, per_channel=True).double().view(rows)  # (1)
    # H⁻¹ = UᵀU with U upper triangular: the per-column inverse-Hessian updates in one go (4).
    _, u = inverse_hessian(h)
    w = weight.detach().double().clone()
    for start in range(0, stop, block_size):
        end = min(start + block_size, stop)
        errors = torch.zeros(rows, end - start, dtype=w.dtype)
        for q in range(start, end):
            quantized = round_to_grid(w[:, q], step, bits)  # (1)
            e = (w[:, q] - quantized) / u[q, q]  # e_q of (4)
            errors[:, q - start] = e
            w[:, q:end] -= e[:, None] * u[q, q:end][None, :]  # (4) inside the block
            w[:, q] = quantized  # exact: the update above left it equal up to rounding
        w[:, end:] -= errors @ u[start:end, end:]  # (5) the deferred update
    return w.to(weight.dtype)


def awq_scales(inputs: torch.Tensor, alpha: float) -> torch.Tensor:
    """AWQ's per-input-channel scales ``s_j = mean_n(|x_nj|)^α`` (equation (6)).

    ``inputs: (n, cols)`` → ``s: (cols,)`` in float64. A channel that is always zero gets
    the smallest magnitude ``10⁻⁵ · max_j mean|x_j|`` instead of 0 (its weights do not
    matter; they must not be divided by zero). ``α = 0`` gives ``s = 1``.
    """
    check_tensor("inputs", inputs, ndim=2, floating=True, min_rows=1)
    check_finite_tensor("inputs", inputs)
    alpha = check_probability("alpha", alpha)
    magnitude = inputs.detach().double().abs().mean(0)
    top = magnitude.max()
    floor = 1e-5 * top if top > 0 else torch.ones((), dtype=magnitude.dtype)
    return magnitude.clamp_min(floor) ** alpha  # (6)


class AWQResult(NamedTuple):
    """What :func:`awq_quantize` chose: ``weight`` is ``Ŵ = quant(W diag(s)) diag(s)⁻¹``."""

    weight: torch.Tensor  # (rows, cols), the dtype of the input weight
    scales: torch.Tensor  # s: (cols,), the dtype of the input weight
    alpha: float  # the α of the grid with the smallest calibration error
    errors: tuple[float, ...]  # E(Ŵ_α) of equation (2) for each α of the grid


@torch.no_grad()
def awq_quantize(
    weight: torch.Tensor,
    inputs: torch.Tensor,
    bits: int,
    alphas: Sequence[float] = DEFAULT_ALPHAS,
) -> AWQResult:
    """AWQ: scale input channels by ``s = mean|x|^α`` before rounding, pick ``α`` on the
    calibration error (equations (6)–(7)).

    ``weight: (rows, cols)``, ``inputs: (n, cols)`` the layer's calibration inputs,
    ``alphas`` the grid searched (default ``0, 0.05, …, 1``; ties go to the first). The
    error of each ``α`` is equation (2) with the undamped ``H = XᵀX/n``. ``Ŵ·diag(s)`` lies
    on the per-row grid of ``W·diag(s)`` (equation (1)).
    """
    _check_weight(weight)
    check_tensor("inputs", inputs, ndim=2, last_dim=weight.shape[1], floating=True, min_rows=1)
    if isinstance(alphas, (str, bytes)) or not isinstance(alphas, Sequence) or not alphas:
        raise TypeError(f"alphas must be a non-empty sequence of numbers, got {alphas!r}")
    alphas = [check_probability(f"alphas[{i}]", a) for i, a in enumerate(alphas)]
    h = input_hessian(inputs, damp=0.0)
    w = weight.detach()
    errors, best = [], None
    for alpha in alphas:
        # Rounded in the weight's own dtype, so that α = 0 (s = 1) is RTN exactly.
        s = awq_scales(inputs, alpha).to(w.dtype)
        w_hat = fake_quantize(w * s, bits, per_channel=True) / s  # (6)
        errors.append(output_error(w, w_hat, h))  # (2)
        if best is None or errors[-1] < min(errors[:-1]):  # (7); ties keep the earlier α
            best = (w_hat, s, alpha)
    w_hat, s, alpha = best
    return AWQResult(w_hat, s, alpha, tuple(errors))


@torch.no_grad()
def quantize_linears(
    model: nn.Module,
    method: str,
    bits: int,
    run: Callable[[nn.Module], object] | None = None,
    *,
    damp: float = 0.01,
    block_size: int = 128,
    alphas: Sequence[float] = DEFAULT_ALPHAS,
) -> nn.Module:
    """A copy of ``model`` with the weight of every :class:`torch.nn.Linear` quantised to
    ``bits`` bits by ``method`` (``"rtn"``, ``"gptq"`` or ``"awq"``); biases stay.

    ``run(model)`` runs the model on the calibration batch (e.g. ``lambda m: m(x_calib)``);
    the data-aware methods need it, RTN ignores it. Layers are quantised in the order of
    ``model.named_modules()``; each layer's inputs are recorded on the copy, with the layers
    before it already quantised, so later layers compensate what earlier ones lost. GPTQ
    uses the Hessian :func:`survey_models.calibration.input_hessian` with ridge ``damp``.
    The original ``model`` is not changed.
    """
    check_module("model", model)
    method = check_choice("method", method, METHODS)
    fake_quantize(torch.zeros(1), bits)  # checks bits before any work
    if method != "rtn":
        check_callable("run", run)
        damp = check_probability("damp", damp)
    out = copy.deepcopy(model)
    layers = [(n, m) for n, m in out.named_modules() if isinstance(m, nn.Linear)]
    if not layers:
        raise ValueError("model has no nn.Linear layers")
    for name, layer in layers:
        w = layer.weight
        if method == "rtn":
            w_hat = rtn_quantize(w, bits)
        else:
            x = linear_inputs(out, run, names=[name])[name]  # type: ignore[arg-type]
            if method == "gptq":
                h = input_hessian(x, damp=damp)
                w_hat = gptq_quantize(w, h, bits, block_size=block_size)
            else:
                w_hat = awq_quantize(w, x, bits, alphas).weight
        w.copy_(w_hat)
    return out
