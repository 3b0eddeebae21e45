"""Low-rank adaptation (LoRA, Hu et al. 2022): fine-tune a frozen layer through a rank-r update.

A pretrained weight ``W0: (out, in)`` stays frozen; the change learned for the new task is
constrained to rank ``r`` by writing it as a product of two small matrices,

.. math::

    \\Delta W = \\frac{\\alpha}{r} B A, \\qquad A \\in \\mathbb{R}^{r \\times d_{in}},
    \\quad B \\in \\mathbb{R}^{d_{out} \\times r}, \\qquad r \\le \\min(d_{in}, d_{out})
    \\qquad (1)

.. math::

    h = W_0 x + b + \\frac{\\alpha}{r} B A x \\qquad (2)

``A`` starts random (Gaussian ``N(0, 1/d_in)``, as in the paper, or PyTorch's Kaiming-uniform
``Linear`` initialisation) and ``B`` starts at zero, so at initialisation ``ΔW = 0`` and the
adapted model computes exactly what the pretrained one does. Only ``A`` and ``B`` are trained:
``r (d_in + d_out)`` parameters per layer instead of ``d_in d_out``. The scale ``α/r`` keeps
the size of the update roughly independent of ``r`` (so a learning rate tuned at one rank
carries over to another). After training the update can be folded into the weight,

.. math::

    W = W_0 + \\frac{\\alpha}{r} B A \\qquad (3)

so the deployed model is a plain :class:`torch.nn.Linear` with no extra inference cost.

:class:`LoRALinear` wraps one frozen :class:`torch.nn.Linear`; :func:`apply_lora` freezes a
whole model and wraps the chosen Linear layers in place; :func:`merge_lora` returns a copy with
every :class:`LoRALinear` folded back into a plain Linear by (3); :func:`trainable_parameters`
counts what is trained. ``r`` must lie in ``[1, min(d_in, d_out)]``: a larger ``r`` cannot
raise the rank of ``ΔW`` and only adds parameters, so it is rejected.
"""

from __future__ import annotations

import copy
import math
from collections.abc import Callable, Sequence

import torch
from torch import nn

from ._checks import (
    check_choice,
    check_int_in,
    check_module,
    check_positive_float,
    check_seed,
    check_tensor,
)
from .train import count_parameters

__all__ = ["LoRALinear", "apply_lora", "merge_lora", "trainable_parameters"]


class LoRALinear(nn.Module):
    """A frozen :class:`torch.nn.Linear` plus a trainable rank-``r`` update, equation (2).

    Args:
        base: the pretrained layer; its ``weight`` and ``bias`` are frozen
            (``requires_grad=False``) and kept as they are (not copied).
        r: rank of the update, an int in ``[1, min(in_features, out_features)]``.
        alpha: the constant ``α`` of the scale ``α/r`` (a number > 0); ``None`` means ``α = r``
            (scale 1).
        init: ``"gaussian"`` (``A ~ N(0, 1/in_features)``) or ``"kaiming"`` (the Kaiming-uniform
            initialisation of :class:`torch.nn.Linear`). ``B`` always starts at zero.
        seed: seed of the generator that draws ``A``, or ``None`` for the global generator.

    Shapes: ``x: (..., in_features)`` → ``(..., out_features)``. ``A: (r, in_features)``,
    ``B: (out_features, r)``.
    """

    def __init__(
        self,
        base: nn.Linear,
        r: int,
        alpha: float | None = None,
        *,
        init: str = "gaussian",
        seed: int | None = None,
    ) -> None:
        super().__init__()
        if not isinstance(base, nn.Linear):
            raise TypeError(f"base must be an nn.Linear, got {type(base).__name__}")
        self.in_features, self.out_features = base.in_features, base.out_features
        max_rank = min(self.in_features, self.out_features)
        self.r = check_int_in("r", r, 1, max_rank + 1)
        self.alpha = float(r) if alpha is None else check_positive_float("alpha", alpha)
        self.init = check_choice("init", init, ("gaussian", "kaiming"))
        if seed is not None:
            check_seed(seed)
        self.scale = self.alpha / self.r
        self.base = base
        for p in base.parameters():
            p.requires_grad_(False)
        w = base.weight
        self.A = nn.Parameter(torch.empty(r, self.in_features, dtype=w.dtype, device=w.device))
        self.B = nn.Parameter(torch.zeros(self.out_features, r, dtype=w.dtype, device=w.device))
        g = None if seed is None else torch.Generator(device=w.device).manual_seed(seed)
        with torch.no_grad():
            if init == "gaussian":
                self.A.normal_(0.0, 1.0 / math.sqrt(self.in_features), generator=g)
            else:  # nn.Linear's default: kaiming_uniform_(a=√5) = U(-1/√in, 1/√in)
                bound = 1.0 / math.sqrt(self.in_features)
                self.A.uniform_(-bound, bound, generator=g)

    def delta_weight(self) -> torch.Tensor:
        """The update ``ΔW = (α/r) B A: (out_features, in_features)``, equation (1)."""
        return self.scale * (self.B @ self.A)  # (1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        check_tensor("x", x, last_dim=self.in_features, floating=True)
        # (2): h = W0 x + b + (α/r) B (A x); A x first, so the cost is r (d_in + d_out) per row.
        return self.base(x) + self.scale * ((x @ self.A.T) @ self.B.T)

    @torch.no_grad()
    def merged(self) -> nn.Linear:
        """A new plain :class:`torch.nn.Linear` with ``W = W0 + (α/r) B A``, equation (3)."""
        w = self.base.weight
        out = nn.Linear(
            self.in_features,
            self.out_features,
            bias=self.base.bias is not None,
            dtype=w.dtype,
            device=w.device,
        )
        out.weight.copy_(w + self.delta_weight())  # (3)
        if self.base.bias is not None:
            out.bias.copy_(self.base.bias)
        return out

    def extra_repr(self) -> str:
        return (
            f"in_features={self.in_features}, out_features={self.out_features}, r={self.r}, "
            f"alpha={self.alpha:g}, init={self.init!r}"
        )


Target = Sequence[str] | Callable[[str, nn.Linear], bool] | None


def _selected(name: str, layer: nn.Linear, target: Target) -> bool:
    if target is None:
        return True
    if callable(target):
        return bool(target(name, layer))
    return name in target


def apply_lora(
    model: nn.Module,
    r: int,
    alpha: float | None = None,
    *,
    target: Target = None,
    init: str = "gaussian",
    seed: int = 0,
) -> nn.Module:
    """Freeze every parameter of ``model`` and wrap chosen Linear layers in :class:`LoRALinear`,
    in place; returns ``model``.

    ``target`` picks the layers: ``None`` (every :class:`torch.nn.Linear`), a sequence of module
    names as in ``model.named_modules()`` (e.g. ``["net.0", "net.2"]``), or a function
    ``(name, layer) -> bool``. Afterwards only the ``A`` and ``B`` matrices are trainable; to
    train another part as well (e.g. a new classifier head), set its ``requires_grad`` back to
    ``True``. Layer ``i`` (in ``named_modules`` order) draws its ``A`` with seed ``seed + i``.
    """
    check_module("model", model)
    check_seed(seed)
    if target is not None and not callable(target):
        if isinstance(target, (str, bytes)) or not isinstance(target, Sequence):
            raise TypeError(
                f"target must be None, a sequence of layer names or a callable, got {target!r}"
            )
    linears = {
        name: m
        for name, m in model.named_modules()
        if isinstance(m, nn.Linear) and not name.endswith(".base")
    }
    if isinstance(target, Sequence):
        unknown = sorted(set(target) - set(linears))
        if unknown:
            raise ValueError(f"target names no nn.Linear layer of the model: {unknown}")
    chosen = [name for name, layer in linears.items() if _selected(name, layer, target)]
    if not chosen:
        raise ValueError("target selects no nn.Linear layer of the model")
    wrapped = {
        name: LoRALinear(linears[name], r, alpha, init=init, seed=seed + i)
        for i, name in enumerate(chosen)
    }
    for p in model.parameters():
        p.requires_grad_(False)
    for name, layer in wrapped.items():
        parent_name, _, child = name.rpartition(".")
        parent = model.get_submodule(parent_name) if parent_name else model
        setattr(parent, child, layer)
    return model


def merge_lora(model: nn.Module) -> nn.Module:
    """A copy of ``model`` with every :class:`LoRALinear` replaced by its merged plain Linear,
    equation (3); the original is not changed."""
    check_module("model", model)
    if isinstance(model, LoRALinear):
        return model.merged()
    out = copy.deepcopy(model)
    for name, m in list(out.named_modules()):
        if isinstance(m, LoRALinear):
            parent_name, _, child = name.rpartition(".")
            parent = out.get_submodule(parent_name) if parent_name else out
            setattr(parent, child, m.merged())
    return out


def trainable_parameters(model: nn.Module) -> tuple[int, int]:
    """``(trainable, total)``: the number of parameters with ``requires_grad`` and of all."""
    check_module("model", model)
    return count_parameters(model), sum(p.numel() for p in model.parameters())
