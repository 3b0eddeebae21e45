"""Calibration data for one-shot compression: what each linear layer sees.

GPTQ, AWQ, SparseGPT and Wanda (chapter 6) compress a *trained* layer ``y = W x`` without
retraining, choosing the compressed ``Ŵ`` to keep the layer's outputs on a few hundred
calibration inputs ``X = [x_1 … x_n]`` (one per row) close to the original's:

.. math::

    \\min_{\\hat W} \\; \\lVert W X^\\top - \\hat W X^\\top \\rVert_F^2
    = \\operatorname{tr}\\big((W-\\hat W)\\, H\\, (W-\\hat W)^\\top\\big) \\cdot n,
    \\qquad H = \\tfrac{1}{n} X^\\top X \\qquad (1)

so the inputs enter only through the (uncentred) second-moment matrix ``H``, the Hessian of
the layer-wise squared error up to a factor 2. :func:`linear_inputs` records ``X`` for every
:class:`torch.nn.Linear` of a model with forward hooks, :func:`input_hessian` forms ``H``
with the small ridge the methods add so that it can be inverted, and
:func:`inverse_hessian` gives ``H⁻¹`` and its upper Cholesky factor ``U`` (``H⁻¹ = UᵀU``),
from which GPTQ and SparseGPT read their column-by-column updates.
"""

from __future__ import annotations

from collections.abc import Callable

import torch
from torch import nn

from ._checks import check_finite_tensor, check_module, check_probability, check_tensor

__all__ = ["linear_inputs", "input_hessian", "check_hessian", "inverse_hessian"]


@torch.no_grad()
def linear_inputs(
    model: nn.Module,
    run: Callable[[nn.Module], object],
    names: list[str] | None = None,
) -> dict[str, torch.Tensor]:
    """The inputs of each :class:`torch.nn.Linear` of ``model`` while ``run(model)`` runs.

    ``run`` is called once (e.g. ``lambda m: m(x_calib)``); every call of a layer adds its
    input rows, flattened to ``(rows, in_features)``. ``names`` limits the layers (names
    from ``model.named_modules()``); default: all of them. Returns ``{name: X}`` in float32
    on the CPU, in the order the layers appear in the model. The model is run in eval
    mode and put back in the mode it had.
    """
    check_module("model", model)
    if not callable(run):
        raise TypeError(f"run must be a callable taking the model, got {type(run).__name__}")
    layers = {n: m for n, m in model.named_modules() if isinstance(m, nn.Linear)}
    if names is not None:
        missing = [n for n in names if n not in layers]
        if missing:
            raise ValueError(f"names must be nn.Linear layers of model; not found: {missing}")
        layers = {n: layers[n] for n in names}
    if not layers:
        raise ValueError("model has no nn.Linear layers")
    seen: dict[str, list[torch.Tensor]] = {n: [] for n in layers}

    def hook(name: str):
        def record(module: nn.Module, args: tuple[torch.Tensor, ...]) -> None:
            x = args[0]
            seen[name].append(x.reshape(-1, x.shape[-1]).detach().float().cpu())

        return record

    handles = [m.register_forward_pre_hook(hook(n)) for n, m in layers.items()]
    was_training = model.training
    model.eval()
    try:
        run(model)
    finally:
        for h in handles:
            h.remove()
        model.train(was_training)
    empty = [n for n, xs in seen.items() if not xs]
    if empty:
        raise ValueError(f"run(model) never called these layers: {empty}")
    return {n: torch.cat(xs) for n, xs in seen.items()}


def input_hessian(inputs: torch.Tensor, damp: float = 0.01) -> torch.Tensor:
    """``H = XᵀX / n + λ·mean(diag(XᵀX / n))·I`` for inputs ``X: (n, d)`` (equation (1)).

    The ridge ``λ = damp`` (GPTQ uses 1 % of the mean diagonal) keeps ``H`` invertible when
    some input is always zero or inputs are collinear. Computed in float64.
    """
    if not isinstance(inputs, torch.Tensor) or inputs.dim() != 2 or inputs.shape[0] == 0:
        raise ValueError("inputs must be a non-empty 2-D tensor (n, d)")
    if not torch.isfinite(inputs).all():
        raise ValueError("inputs must be finite")
    damp = check_probability("damp", damp)
    x = inputs.double()
    h = x.T @ x / x.shape[0]
    mean_diag = h.diagonal().mean()
    # A layer whose inputs are all zero still gets an invertible H.
    ridge = damp * (mean_diag if mean_diag > 0 else torch.ones((), dtype=h.dtype))
    return h + ridge * torch.eye(h.shape[0], dtype=h.dtype)


def check_hessian(hessian: object, size: int) -> torch.Tensor:
    """``hessian`` as float64 after checking it is a finite, symmetric ``(size, size)``
    floating tensor (``size`` = the layer's input width)."""
    check_tensor("hessian", hessian, ndim=2, floating=True)
    assert isinstance(hessian, torch.Tensor)
    if hessian.shape != (size, size):
        raise ValueError(
            f"hessian must have shape ({size}, {size}) for this weight, got {tuple(hessian.shape)}"
        )
    check_finite_tensor("hessian", hessian)
    # XᵀX from a blocked matrix product may differ from its transpose in the last bit.
    scale = float(hessian.abs().max())
    if not torch.allclose(hessian, hessian.T, rtol=0.0, atol=1e-6 * scale):
        raise ValueError("hessian must be symmetric")
    return hessian.double()


def inverse_hessian(hessian: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """``(H⁻¹, U)`` with ``H⁻¹ = UᵀU``, ``U`` upper triangular, for a float64 ``H``.

    Row ``q`` of ``U`` divided by ``U[q, q]`` is row ``q`` of the inverse Hessian of the
    columns ``q, q+1, …`` once the columns before ``q`` are fixed: the update GPTQ and
    SparseGPT apply to the columns not yet visited. ``H`` must be positive definite.
    """
    factor, info = torch.linalg.cholesky_ex(hessian)
    if int(info) != 0:
        raise ValueError("hessian must be positive definite (add damping: input_hessian(damp=...))")
    h_inv = torch.cholesky_inverse(factor)
    return h_inv, torch.linalg.cholesky(h_inv, upper=True)
