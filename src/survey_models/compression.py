"""Making a trained network smaller: magnitude pruning and quantisation.

**Global magnitude pruning** (Han et al. 2015): rank every weight of every prunable layer
together by ``|w|`` and zero the smallest ones, so a fraction ``s`` (the *sparsity*) of
them is removed; optionally retrain the survivors with the pruned ones held at zero.
:func:`global_magnitude_masks` returns the masks, :func:`apply_masks` attaches them as a
parametrisation ``W = W_orig ⊙ M`` (so fine-tuning with :func:`survey_models.train.fit`
keeps pruned weights at exactly zero).

**Uniform symmetric quantisation** (Jacob et al. 2018, in its symmetric form): a tensor is
stored as integers ``q`` and one scale ``Δ`` per tensor (or per output row),

.. math::

    \\Delta = \\frac{\\max|w|}{2^{b-1}-1}, \\qquad
    q = \\operatorname{clamp}\\big(\\operatorname{round}(w/\\Delta), -(2^{b-1}-1), 2^{b-1}-1\\big),
    \\qquad \\hat w = \\Delta q \\qquad (6.3)

so the round-trip error ``|w - ŵ|`` is at most ``Δ/2``. :func:`fake_quantize` returns
``ŵ`` in floating point (to measure accuracy at any bit width); :class:`Int8Linear` really
stores ``int8`` weights and computes the matrix product in integers (activations are
quantised per row on the fly, accumulation in ``int32``), using only plain tensor
operations, so it does not depend on the ``torch.ao.quantization`` API.
"""

from __future__ import annotations

import copy
import io

import torch
from torch import nn
from torch.nn.utils import parametrize

from ._checks import check_module, check_positive_int, check_probability, check_tensor

__all__ = [
    "prunable_weights",
    "global_magnitude_masks",
    "apply_masks",
    "remove_masks",
    "sparsity",
    "fake_quantize",
    "quantization_step",
    "fake_quantize_model",
    "Int8Linear",
    "quantize_int8",
    "state_dict_bytes",
]


def prunable_weights(model: nn.Module) -> dict[str, nn.Linear]:
    """The :class:`torch.nn.Linear` layers of ``model`` by name (their weights are pruned;
    biases are few and kept)."""
    check_module("model", model)
    layers = {name: m for name, m in model.named_modules() if isinstance(m, nn.Linear)}
    if not layers:
        raise ValueError("model has no nn.Linear layers to prune")
    return layers


@torch.no_grad()
def global_magnitude_masks(model: nn.Module, sparsity: float) -> dict[str, torch.Tensor]:
    """Masks (1 = keep) that remove the fraction ``sparsity`` of all Linear weights with the
    smallest magnitude, ranked globally across layers.

    Exactly ``round(sparsity · total)`` weights are removed (ties broken by position).
    """
    sparsity = check_probability("sparsity", sparsity)
    layers = prunable_weights(model)
    weights = {name: _weight(layer) for name, layer in layers.items()}
    flat = torch.cat([w.abs().flatten() for w in weights.values()])
    n_remove = int(round(sparsity * flat.numel()))
    keep = torch.ones_like(flat, dtype=torch.bool)
    if n_remove > 0:
        # Stable sort: among equal magnitudes the earlier weight goes first.
        order = torch.sort(flat, stable=True).indices
        keep[order[:n_remove]] = False
    masks, start = {}, 0
    for name, w in weights.items():
        masks[name] = keep[start : start + w.numel()].view_as(w).float()
        start += w.numel()
    return masks


def _weight(layer: nn.Linear) -> torch.Tensor:
    # The unmasked weight when a mask is attached, else the weight itself.
    if parametrize.is_parametrized(layer, "weight"):
        return layer.parametrizations.weight.original * layer.parametrizations.weight[0].mask
    return layer.weight


class _Mask(nn.Module):
    def __init__(self, mask: torch.Tensor) -> None:
        super().__init__()
        self.register_buffer("mask", mask)

    def forward(self, w: torch.Tensor) -> torch.Tensor:
        return w * self.mask


def apply_masks(model: nn.Module, masks: dict[str, torch.Tensor]) -> nn.Module:
    """Attach ``masks`` in place as ``W = W_orig ⊙ M`` parametrisations; returns ``model``.

    Training afterwards updates ``W_orig`` but the pruned entries of ``W`` stay zero.
    Applying new masks replaces old ones.
    """
    layers = prunable_weights(model)
    if not isinstance(masks, dict):
        raise TypeError(f"masks must be a dict of layer name -> tensor, got {type(masks).__name__}")
    unknown = set(masks) - set(layers)
    if unknown:
        raise ValueError(f"masks names layers not in the model: {sorted(unknown)}")
    for name, mask in masks.items():
        layer = layers[name]
        check_tensor(f"masks[{name!r}]", mask)
        if mask.shape != layer.weight.shape:
            raise ValueError(
                f"masks[{name!r}] must have shape {tuple(layer.weight.shape)}, "
                f"got {tuple(mask.shape)}"
            )
        if parametrize.is_parametrized(layer, "weight"):
            parametrize.remove_parametrizations(layer, "weight", leave_parametrized=True)
        with torch.no_grad():
            layer.weight.mul_(mask)
        parametrize.register_parametrization(layer, "weight", _Mask(mask.detach().clone()))
    return model


def remove_masks(model: nn.Module) -> nn.Module:
    """Bake the masks into plain weights (pruned entries stay zero); returns ``model``."""
    for layer in prunable_weights(model).values():
        if parametrize.is_parametrized(layer, "weight"):
            parametrize.remove_parametrizations(layer, "weight", leave_parametrized=True)
    return model


@torch.no_grad()
def sparsity(model: nn.Module) -> float:
    """Fraction of Linear weights of ``model`` that are exactly zero."""
    ws = [layer.weight for layer in prunable_weights(model).values()]
    zeros = sum(int((w == 0).sum()) for w in ws)
    return zeros / sum(w.numel() for w in ws)


def _qmax(bits: int) -> int:
    bits = check_positive_int("bits", bits)
    if not 2 <= bits <= 16:
        raise ValueError(f"bits must be between 2 and 16, got {bits}")
    return 2 ** (bits - 1) - 1


def quantization_step(w: torch.Tensor, bits: int, per_channel: bool = False) -> torch.Tensor:
    """The step ``Δ`` of equation (6.3): a scalar, or ``(rows, 1)`` when ``per_channel``."""
    check_tensor("w", w, floating=True)
    qmax = _qmax(bits)
    if per_channel:
        if w.dim() < 2:
            raise ValueError(f"per_channel needs w with at least 2 dimensions, got {w.dim()}")
        amax = w.detach().abs().flatten(1).amax(1).view(-1, *([1] * (w.dim() - 1)))
    else:
        amax = w.detach().abs().max()
    # An all-zero tensor gets step 1 (any step reproduces it exactly); a NaN or infinite
    # maximum gives a NaN or infinite step, so the damage shows instead of being rounded.
    return torch.where(amax == 0, torch.ones_like(amax), amax / qmax)


def fake_quantize(w: torch.Tensor, bits: int, per_channel: bool = False) -> torch.Tensor:
    """Quantise ``w`` to ``bits``-bit symmetric integers and back (equation (6.3))."""
    step = quantization_step(w, bits, per_channel)
    qmax = _qmax(bits)
    q = torch.clamp(torch.round(w / step), -qmax, qmax)
    return q * step


@torch.no_grad()
def fake_quantize_model(model: nn.Module, bits: int, per_channel: bool = True) -> nn.Module:
    """A copy of ``model`` whose Linear weights are fake-quantised to ``bits`` bits
    (biases and activations stay in float32)."""
    _qmax(bits)
    out = copy.deepcopy(model)
    for layer in prunable_weights(out).values():
        layer.weight.copy_(fake_quantize(layer.weight, bits, per_channel))
    return out


class Int8Linear(nn.Module):
    """A Linear layer stored in int8: ``y = (Δ_x Δ_w) · (q_x q_wᵀ) + b``.

    Weights are quantised once per output row; each input row is quantised on the fly
    (dynamic quantisation), the product of the integer matrices is accumulated in int32
    and rescaled to float. Build it with :meth:`from_linear`.

    Shapes: ``x: (batch, in_features)`` → ``(batch, out_features)``.
    """

    def __init__(
        self, q_weight: torch.Tensor, scale: torch.Tensor, bias: torch.Tensor | None
    ) -> None:
        super().__init__()
        if (
            not isinstance(q_weight, torch.Tensor)
            or q_weight.dtype != torch.int8
            or q_weight.dim() != 2
        ):
            raise TypeError("q_weight must be a 2-D int8 tensor")
        self.in_features = q_weight.shape[1]
        self.out_features = q_weight.shape[0]
        for name, t in (("scale", scale), ("bias", bias)):
            if name == "scale" or t is not None:
                check_tensor(name, t, floating=True)
                if t.numel() != self.out_features:
                    raise ValueError(
                        f"{name} must have out_features = {self.out_features} "
                        f"entries, got shape {tuple(t.shape)}"
                    )
        self.register_buffer("q_weight", q_weight)
        self.register_buffer("scale", scale.reshape(-1).float())  # Δ_w per output row
        self.register_buffer("bias", None if bias is None else bias.detach().float().clone())

    @classmethod
    @torch.no_grad()
    def from_linear(cls, layer: nn.Linear) -> Int8Linear:
        if not isinstance(layer, nn.Linear):
            raise TypeError(f"layer must be an nn.Linear, got {type(layer).__name__}")
        w = layer.weight.detach()
        step = quantization_step(w, 8, per_channel=True)
        q = torch.clamp(torch.round(w / step), -127, 127).to(torch.int8)
        return cls(q, step, layer.bias)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        check_tensor("x", x, ndim=2, last_dim=self.in_features, floating=True)
        x_step = quantization_step(x, 8, per_channel=True)  # (batch, 1)
        q_x = torch.clamp(torch.round(x / x_step), -127, 127).to(torch.int32)
        acc = q_x @ self.q_weight.to(torch.int32).T  # int32 sums
        y = acc.float() * x_step * self.scale
        # A row with NaN or infinity has a non-finite step: give NaN, as nn.Linear would,
        # not the integer cast of NaN (without a device synchronisation).
        y = y.masked_fill(~torch.isfinite(x_step), float("nan"))
        return y if self.bias is None else y + self.bias

    def extra_repr(self) -> str:
        return f"in_features={self.in_features}, out_features={self.out_features}"


def quantize_int8(model: nn.Module) -> nn.Module:
    """A copy of ``model`` with every :class:`torch.nn.Linear` replaced by :class:`Int8Linear`."""
    prunable_weights(model)
    out = copy.deepcopy(model)
    remove_masks(out)

    def swap(module: nn.Module) -> None:
        for name, child in module.named_children():
            if isinstance(child, nn.Linear):
                setattr(module, name, Int8Linear.from_linear(child))
            else:
                swap(child)

    swap(out)
    return out


def state_dict_bytes(model: nn.Module) -> int:
    """Size in bytes of ``model``'s state dict serialised by :func:`torch.save`."""
    check_module("model", model)
    buf = io.BytesIO()
    torch.save(model.state_dict(), buf)
    return buf.getbuffer().nbytes
