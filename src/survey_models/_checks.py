"""Argument checks shared by every module: errors name the argument and what was expected."""

from __future__ import annotations

import math
import numbers
from collections.abc import Callable

import torch
from torch import nn


def check_positive_int(name: str, value: object) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise TypeError(f"{name} must be an int, got {type(value).__name__}")
    if value <= 0:
        raise ValueError(f"{name} must be a positive integer, got {value}")
    return value


def check_nonnegative_int(name: str, value: object) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise TypeError(f"{name} must be an int, got {type(value).__name__}")
    if value < 0:
        raise ValueError(f"{name} must be a non-negative integer, got {value}")
    return value


def check_seed(value: object, name: str = "seed") -> int:
    """A seed every generator accepts: an integer in [0, 2**32) (NumPy's range)."""
    if isinstance(value, bool) or not isinstance(value, numbers.Integral):
        raise TypeError(f"{name} must be an int, got {type(value).__name__}")
    if not 0 <= value < 2**32:
        raise ValueError(f"{name} must be an integer in [0, 2**32), got {value}")
    return int(value)


def check_int_in(name: str, value: object, low: int, high: int) -> int:
    """An int in ``[low, high)``."""
    if isinstance(value, bool) or not isinstance(value, int):
        raise TypeError(f"{name} must be an int, got {type(value).__name__}")
    if not low <= value < high:
        raise ValueError(f"{name} must be an integer in [{low}, {high - 1}], got {value}")
    return value


def _number(name: str, value: object) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise TypeError(f"{name} must be a number, got {type(value).__name__}")
    return float(value)


def check_finite_float(name: str, value: object) -> float:
    if not math.isfinite(_number(name, value)):
        raise ValueError(f"{name} must be a finite number, got {value}")
    return float(value)  # type: ignore[arg-type]


def check_positive_float(name: str, value: object) -> float:
    v = _number(name, value)
    if not (v > 0 and math.isfinite(v)):
        raise ValueError(f"{name} must be a finite number > 0, got {value}")
    return v


def check_nonnegative_float(name: str, value: object) -> float:
    v = _number(name, value)
    if not (v >= 0 and math.isfinite(v)):
        raise ValueError(f"{name} must be a finite number >= 0, got {value}")
    return v


def check_probability(name: str, value: object, *, open_interval: bool = False) -> float:
    """A number in [0, 1] (or in (0, 1) when ``open_interval``)."""
    v = _number(name, value)
    ok = 0 < v < 1 if open_interval else 0 <= v <= 1
    if not ok:
        interval = "(0, 1)" if open_interval else "[0, 1]"
        raise ValueError(f"{name} must lie in {interval}, got {value}")
    return v


def check_choice(name: str, value: object, choices: tuple[str, ...]) -> str:
    if value not in choices:
        raise ValueError(f"{name} must be one of {choices}, got {value!r}")
    return value  # type: ignore[return-value]


def check_callable(name: str, value: object) -> Callable:
    if not callable(value):
        raise TypeError(f"{name} must be callable, got {type(value).__name__}")
    return value


def check_module(name: str, value: object) -> nn.Module:
    if not isinstance(value, nn.Module):
        raise TypeError(f"{name} must be an nn.Module, got {type(value).__name__}")
    return value


def check_tensor(
    name: str,
    x: object,
    *,
    ndim: int | None = None,
    last_dim: int | None = None,
    floating: bool = False,
    min_rows: int = 0,
) -> torch.Tensor:
    """Check a tensor's type, rank, trailing size, dtype and number of rows (first
    dimension) before it meets a matmul. Costs no device synchronisation."""
    if not isinstance(x, torch.Tensor):
        raise TypeError(f"{name} must be a torch.Tensor, got {type(x).__name__}")
    if ndim is not None and x.dim() != ndim:
        raise ValueError(f"{name} must have {ndim} dimensions, got shape {tuple(x.shape)}")
    if last_dim is not None and (x.dim() == 0 or x.shape[-1] != last_dim):
        raise ValueError(f"{name} must have last dimension {last_dim}, got shape {tuple(x.shape)}")
    if floating and not x.is_floating_point():
        raise TypeError(f"{name} must be a floating-point tensor, got dtype {x.dtype}")
    if min_rows and (x.dim() == 0 or x.shape[0] < min_rows):
        raise ValueError(
            f"{name} must have at least {min_rows} row{'s' * (min_rows > 1)}, "
            f"got shape {tuple(x.shape)}"
        )
    return x


def check_index_tensor(
    name: str, x: object, high: int | None = None, *, ndim: int | None = None
) -> torch.Tensor:
    """An integer tensor (class labels, token ids) with values in ``[0, high)``.

    The range check reads the tensor's minimum and maximum (a device synchronisation):
    use it at entry points, not in a per-step ``forward``.
    """
    check_tensor(name, x, ndim=ndim)
    assert isinstance(x, torch.Tensor)
    if x.is_floating_point() or x.is_complex() or x.dtype == torch.bool:
        raise TypeError(f"{name} must be an integer tensor, got dtype {x.dtype}")
    if high is not None and x.numel():
        lo, hi = int(x.min()), int(x.max())
        if lo < 0 or hi >= high:
            raise ValueError(f"{name} must lie in [0, {high - 1}], got values in [{lo}, {hi}]")
    return x


def check_finite_tensor(name: str, x: torch.Tensor) -> torch.Tensor:
    """No NaN or infinity in ``x`` (a device synchronisation: for entry points only)."""
    if x.is_floating_point() and not bool(torch.isfinite(x).all()):
        raise ValueError(f"{name} contains NaN or infinite values")
    return x
