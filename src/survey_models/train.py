"""One small training loop shared by every model in the package, and what goes with it.

A model's module defines its loss as a function ``loss_fn(model, *batch) -> Tensor``
(a scalar); :func:`fit` does the rest: seeded mini-batches, an optimiser, an optional
validation loss, and a :class:`History` of what happened.

Every classifier of the package shares :func:`classification_loss` (cross-entropy, a
``loss_fn`` for :func:`fit`) and :func:`accuracy`; :func:`count_parameters` counts a
model's trainable parameters; :func:`set_seed` seeds Python, NumPy and PyTorch;
:func:`select_device` picks the accelerator to train on (``$SURVEY_DEVICE`` overrides it).
"""

from __future__ import annotations

import math
import os
import random
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field

import numpy as np
import torch
from torch import nn

from ._checks import (
    check_callable,
    check_choice,
    check_finite_tensor,
    check_module,
    check_nonnegative_float,
    check_positive_float,
    check_positive_int,
    check_seed,
    check_tensor,
)

LossFn = Callable[..., torch.Tensor]

DEVICE_VARIABLE = "SURVEY_DEVICE"
DEVICE_CHOICES = ("auto", "cpu", "cuda", "mps")


def _mps_available() -> bool:
    mps = getattr(torch.backends, "mps", None)  # absent in some builds
    return bool(mps is not None and mps.is_available())


def select_device() -> torch.device:
    """The device an example trains on: ``cuda`` if available, then ``mps``, else ``cpu``.

    ``$SURVEY_DEVICE`` overrides the choice: ``cpu`` forces the CPU (the docs build sets
    it, so the book's numbers are CPU numbers), ``cuda`` or ``mps`` asks for that
    accelerator and is an error when it is missing; unset, empty or ``auto`` picks.
    """
    wanted = os.environ.get(DEVICE_VARIABLE, "").strip().lower() or "auto"
    if wanted not in DEVICE_CHOICES:
        raise ValueError(f"{DEVICE_VARIABLE} must be one of {DEVICE_CHOICES}, got {wanted!r}")
    available = {"cuda": torch.cuda.is_available(), "mps": _mps_available(), "cpu": True}
    if wanted == "auto":
        wanted = next(name for name in ("cuda", "mps", "cpu") if available[name])
    elif not available[wanted]:
        raise ValueError(
            f"{DEVICE_VARIABLE}={wanted!r} but this PyTorch sees no {wanted} device;"
            f" unset {DEVICE_VARIABLE} (or set it to 'cpu')"
        )
    return torch.device(wanted)


def set_seed(seed: int) -> torch.Generator:
    """Seed Python, NumPy and PyTorch; return a fresh generator seeded the same way."""
    seed = check_seed(seed)
    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)
    return torch.Generator().manual_seed(seed)


@dataclass
class History:
    """What :func:`fit` measured: the mean training loss of each epoch (or of each
    ``log_every`` steps), the validation loss at the same points, and the wall time."""

    steps: list[int] = field(default_factory=list)
    train_loss: list[float] = field(default_factory=list)
    val_loss: list[float] = field(default_factory=list)
    seconds: float = 0.0

    @property
    def final_train_loss(self) -> float:
        if not self.train_loss:
            raise ValueError("the history is empty: train_loss has no entry yet")
        return self.train_loss[-1]


def clear_grads(params: Iterable[torch.Tensor]) -> None:
    """Drop the gradients of ``params``: what ``optimizer.zero_grad(set_to_none=True)`` does,
    without its per-call cost (about 60 µs against 5 µs for a small model on one CPU core,
    some 8 % of a training step of the package's small autoencoders)."""
    for p in params:
        if not isinstance(p, torch.Tensor):
            raise TypeError(f"params must hold tensors, got a {type(p).__name__}")
        p.grad = None


def _as_tuple(data: torch.Tensor | Sequence[torch.Tensor], name: str) -> tuple[torch.Tensor, ...]:
    tensors = (data,) if isinstance(data, torch.Tensor) else tuple(data)
    if not tensors or not all(isinstance(t, torch.Tensor) and t.dim() > 0 for t in tensors):
        raise TypeError(
            f"{name} must be a tensor or a sequence of tensors, each with a "
            "first (example) dimension"
        )
    n = tensors[0].shape[0]
    if any(t.shape[0] != n for t in tensors):
        raise ValueError(
            f"{name}: all tensors must have the same first dimension, got "
            f"{[tuple(t.shape) for t in tensors]}"
        )
    if n == 0:
        raise ValueError(
            f"{name} must have at least one example, got shapes {[tuple(t.shape) for t in tensors]}"
        )
    return tensors


def _check_data(
    model: nn.Module, data: torch.Tensor | Sequence[torch.Tensor], name: str
) -> tuple[torch.Tensor, ...]:
    """``data`` as a tuple of tensors; floating ones must be finite and of the model's dtype."""
    tensors = _as_tuple(data, name)
    dtypes = {p.dtype for p in model.parameters() if p.is_floating_point()}
    for i, t in enumerate(tensors):
        label = name if isinstance(data, torch.Tensor) else f"{name}[{i}]"
        if t.is_floating_point():
            if dtypes and t.dtype not in dtypes:
                raise TypeError(
                    f"{label} has dtype {t.dtype} but the model's parameters are "
                    f"{sorted(map(str, dtypes))}; convert it (e.g. .float()) "
                    "or the model"
                )
            check_finite_tensor(label, t)
    return tensors


@torch.no_grad()
def evaluate(
    model: nn.Module,
    loss_fn: LossFn,
    data: torch.Tensor | Sequence[torch.Tensor],
    batch_size: int = 512,
) -> float:
    """Mean of ``loss_fn`` over ``data`` in evaluation mode (weighted by batch size)."""
    check_module("model", model)
    check_callable("loss_fn", loss_fn)
    check_positive_int("batch_size", batch_size)
    tensors = _as_tuple(data, "data")
    was_training = model.training
    model.eval()
    total, count = 0.0, 0
    n = tensors[0].shape[0]
    for start in range(0, n, batch_size):
        batch = tuple(t[start : start + batch_size] for t in tensors)
        total += float(loss_fn(model, *batch)) * batch[0].shape[0]
        count += batch[0].shape[0]
    model.train(was_training)
    return total / count


def fit(
    model: nn.Module,
    loss_fn: LossFn,
    data: torch.Tensor | Sequence[torch.Tensor],
    *,
    epochs: int | None = None,
    steps: int | None = None,
    batch_size: int = 64,
    lr: float = 1e-3,
    optimizer: str = "adam",
    weight_decay: float = 0.0,
    val_data: torch.Tensor | Sequence[torch.Tensor] | None = None,
    log_every: int | None = None,
    seed: int = 0,
    device: str | torch.device = "cpu",
    grad_clip: float | None = None,
    callback: Callable[[int, nn.Module], None] | None = None,
) -> History:
    """Train ``model`` by minimising ``loss_fn(model, *batch)`` over mini-batches of ``data``.

    Give exactly one of ``epochs`` (passes over shuffled data) or ``steps`` (mini-batches
    drawn with replacement of order, useful for language models). ``optimizer`` is
    ``"adam"``, ``"adamw"`` (PyTorch's fused kernels: one pass over all parameters
    instead of a Python loop over them, the same update up to rounding) or ``"sgd"``.
    The loss is logged every epoch, or every ``log_every`` steps when training by steps.
    ``callback(steps_done, model)``, if given, is called at each of those points (e.g. to
    measure accuracy during training; the model is put back in training mode afterwards).
    Returns a :class:`History`.

    Floating-point ``data`` must be finite and have the dtype of the model's parameters.
    ``grad_clip``, if given, is the largest gradient norm (a finite number > 0). If the
    loss becomes NaN or infinite, ``fit`` stops with a ``FloatingPointError`` that names
    the step, before that step's update, so the model keeps its last finite weights.
    """
    check_module("model", model)
    check_callable("loss_fn", loss_fn)
    if (epochs is None) == (steps is None):
        raise ValueError("give exactly one of epochs or steps")
    if epochs is not None:
        check_positive_int("epochs", epochs)
    if steps is not None:
        check_positive_int("steps", steps)
    check_positive_int("batch_size", batch_size)
    check_positive_float("lr", lr)
    check_nonnegative_float("weight_decay", weight_decay)
    check_choice("optimizer", optimizer, ("adam", "adamw", "sgd"))
    if grad_clip is not None:
        check_positive_float("grad_clip", grad_clip)
    if log_every is not None:
        check_positive_int("log_every", log_every)
    if callback is not None:
        check_callable("callback", callback)
    check_seed(seed)
    tensors = tuple(t.to(device) for t in _check_data(model, data, "data"))
    val = (
        None
        if val_data is None
        else tuple(t.to(device) for t in _check_data(model, val_data, "val_data"))
    )
    model.to(device)

    params = [p for p in model.parameters() if p.requires_grad]
    if optimizer == "adam":
        opt: torch.optim.Optimizer = torch.optim.Adam(
            params, lr=lr, weight_decay=weight_decay, fused=True
        )
    elif optimizer == "adamw":
        opt = torch.optim.AdamW(params, lr=lr, weight_decay=weight_decay, fused=True)
    else:
        opt = torch.optim.SGD(params, lr=lr, momentum=0.9, weight_decay=weight_decay)

    g = torch.Generator().manual_seed(seed)
    n = tensors[0].shape[0]
    history = History()
    start_time = time.perf_counter()
    model.train()

    taken = 0

    def step(idx: torch.Tensor) -> float:
        nonlocal taken
        taken += 1
        batch = tuple(t[idx] for t in tensors)
        loss = loss_fn(model, *batch)
        if not isinstance(loss, torch.Tensor) or loss.dim() != 0:
            raise ValueError(
                "loss_fn must return a scalar tensor, got "
                f"{tuple(loss.shape) if isinstance(loss, torch.Tensor) else loss!r}"
            )
        value = loss.item()
        if not math.isfinite(value):
            raise FloatingPointError(
                f"the loss became {value} at step {taken} (the model "
                "keeps the weights of the step before)"
            )
        clear_grads(params)
        loss.backward()
        if grad_clip is not None:
            nn.utils.clip_grad_norm_(params, grad_clip)
        opt.step()
        return value

    def log(step_count: int, losses: list[float]) -> None:
        history.steps.append(step_count)
        history.train_loss.append(sum(losses) / len(losses))
        if val is not None:
            history.val_loss.append(evaluate(model, loss_fn, val))
            model.train()
        if callback is not None:
            callback(step_count, model)
            model.train()

    done = 0
    if epochs is not None:
        for _ in range(epochs):
            perm = torch.randperm(n, generator=g)
            losses = [step(perm[i : i + batch_size]) for i in range(0, n, batch_size)]
            done += len(losses)
            log(done, losses)
    else:
        assert steps is not None
        every = log_every or max(1, steps // 10)
        losses = []
        for _ in range(steps):
            losses.append(step(torch.randint(n, (min(batch_size, n),), generator=g)))
            done += 1
            if done % every == 0 or done == steps:
                log(done, losses)
                losses = []
    history.seconds = time.perf_counter() - start_time
    model.eval()
    return history


def count_parameters(model: nn.Module) -> int:
    """Number of trainable parameters of ``model`` (those with ``requires_grad``)."""
    check_module("model", model)
    return sum(p.numel() for p in model.parameters() if p.requires_grad)


def _check_labels(x: object, y: object) -> None:
    check_tensor("x", x)
    check_tensor("y", y, ndim=1)
    assert isinstance(x, torch.Tensor) and isinstance(y, torch.Tensor)
    if y.dtype != torch.long:
        raise TypeError(f"y must be an int64 tensor of class labels, got dtype {y.dtype}")
    if x.dim() == 0:
        raise ValueError("x must have a first (example) dimension, got a 0-d tensor")
    if y.shape[0] != x.shape[0]:
        raise ValueError(
            f"y must have one label per row of x ({x.shape[0]},), got {tuple(y.shape)}"
        )


def classification_loss(model: nn.Module, x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    """Cross-entropy of the logits ``model(x): (batch, classes)`` against integer labels
    ``y: (batch,)`` (int64), averaged over the batch: a ``loss_fn`` for :func:`fit`."""
    _check_labels(x, y)
    return nn.functional.cross_entropy(model(x), y)


@torch.no_grad()
def accuracy(
    model: nn.Module,
    x: torch.Tensor,
    y: torch.Tensor,
    *,
    batch_size: int = 512,
    bias_shift: torch.Tensor | None = None,
) -> float:
    """Fraction of the rows of ``x`` whose arg-max logit equals the label ``y`` (int64).

    The model is evaluated in evaluation mode (dropout off, batch-norm on its running
    statistics), under ``torch.no_grad``, ``batch_size`` rows at a time; afterwards it is
    put back in the training or evaluation mode it was in, so calling ``accuracy`` in the
    middle of training (e.g. from a :func:`fit` callback) changes nothing about the next
    step. ``bias_shift: (classes,)``, if given, is added to the logits before the arg-max
    (e.g. :func:`survey_models.distillation.shift_class_bias`). The result is the exact
    fraction ``correct / len(x)`` as a Python float.
    """
    check_module("model", model)
    _check_labels(x, y)
    if len(x) == 0:
        raise ValueError("x must have at least one example")
    check_positive_int("batch_size", batch_size)
    if bias_shift is not None:
        check_tensor("bias_shift", bias_shift, ndim=1)
    was_training = model.training
    model.eval()
    try:
        correct = 0
        for start in range(0, len(x), batch_size):
            logits = model(x[start : start + batch_size])
            if bias_shift is not None:
                check_tensor("bias_shift", bias_shift, last_dim=logits.shape[-1])
                logits = logits + bias_shift
            correct += int((logits.argmax(-1) == y[start : start + batch_size]).sum())
    finally:
        model.train(was_training)
    return correct / len(x)
