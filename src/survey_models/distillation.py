"""Knowledge distillation (Hinton, Vinyals and Dean 2015).

A large *teacher* network's class probabilities, softened by a temperature ``T``,

.. math::

    q_i = \\frac{\\exp(z_i / T)}{\\sum_j \\exp(z_j / T)} \\qquad (6.1)

carry "dark knowledge": how much a 2 resembles a 3 and a 7. A small *student* is trained
on a weighted sum of the cross-entropy with these soft targets (at the same ``T``) and the
ordinary cross-entropy with the true labels. Because the gradient of the soft term scales
as ``1/T²``, it is multiplied by ``T²`` so the two terms keep their relative weight when
``T`` changes (equation (6.2)):

.. math::

    \\mathcal{L} = \\alpha\\, T^2\\, \\mathrm{KL}\\big(q^{(T)}_{\\text{teacher}} \\,\\|\\,
    q^{(T)}_{\\text{student}}\\big) + (1-\\alpha)\\, \\mathrm{CE}(y, q^{(1)}_{\\text{student}})
    \\qquad (6.2)

(the KL divergence differs from the soft cross-entropy only by the teacher's entropy,
a constant, so the gradients are those of the paper).
"""

from __future__ import annotations

from collections.abc import Callable

import torch
import torch.nn.functional as F
from torch import nn

from . import train
from ._checks import (
    check_finite_float,
    check_int_in,
    check_module,
    check_positive_float,
    check_positive_int,
    check_probability,
    check_tensor,
)

__all__ = [
    "soften",
    "distillation_loss",
    "make_distillation_loss_fn",
    "teacher_logits",
    "drop_class",
    "class_accuracy",
    "shift_class_bias",
    "best_bias_shift",
]


def soften(logits: torch.Tensor, temperature: float) -> torch.Tensor:
    """Softmax of ``logits / T`` (equation (6.1)); ``logits: (batch, classes)``."""
    check_tensor("logits", logits, ndim=2, floating=True)
    temperature = check_positive_float("temperature", temperature)
    return torch.softmax(logits / temperature, dim=-1)


def distillation_loss(
    student_logits: torch.Tensor,
    teacher_logits: torch.Tensor,
    targets: torch.Tensor | None = None,
    temperature: float = 4.0,
    alpha: float = 0.9,
) -> torch.Tensor:
    """Equation (6.2), averaged over the batch.

    Args:
        student_logits, teacher_logits: ``(batch, classes)``.
        targets: true labels ``(batch,)``; may be ``None`` only when ``alpha == 1``.
        temperature: ``T > 0`` of both softmaxes in the soft term.
        alpha: weight of the soft term in ``[0, 1]``; ``1`` trains on soft targets only.
    """
    check_tensor("student_logits", student_logits, ndim=2, floating=True)
    check_tensor("teacher_logits", teacher_logits, ndim=2, floating=True)
    if teacher_logits.shape != student_logits.shape:
        raise ValueError(
            f"teacher_logits must have the shape of student_logits "
            f"{tuple(student_logits.shape)}, got {tuple(teacher_logits.shape)}"
        )
    t = check_positive_float("temperature", temperature)
    alpha = check_probability("alpha", alpha)
    log_q_student = F.log_softmax(student_logits / t, dim=-1)
    q_teacher = F.softmax(teacher_logits.detach() / t, dim=-1)
    soft = F.kl_div(log_q_student, q_teacher, reduction="batchmean") * t * t
    if alpha == 1.0:
        return soft
    if targets is None:
        raise ValueError("targets must be given when alpha < 1")
    check_tensor("targets", targets, ndim=1)
    if targets.shape[0] != student_logits.shape[0]:
        raise ValueError(
            f"targets must have {student_logits.shape[0]} entries, got {targets.shape[0]}"
        )
    if targets.dtype != torch.long:
        raise TypeError(f"targets must be an int64 tensor of class labels, got {targets.dtype}")
    try:
        hard = F.cross_entropy(student_logits, targets)
    except IndexError as e:  # a label outside [0, classes): named without a device sync
        raise ValueError(f"targets must lie in [0, {student_logits.shape[1] - 1}] ({e})") from e
    return alpha * soft + (1 - alpha) * hard


def make_distillation_loss_fn(
    temperature: float = 4.0, alpha: float = 0.9
) -> Callable[..., torch.Tensor]:
    """A ``loss_fn(model, x, y, teacher_logits)`` for :func:`survey_models.train.fit`.

    Pass ``data=(x, y, teacher_logits)`` to ``fit``; the teacher's logits are computed once
    beforehand with :func:`teacher_logits`.
    """
    check_positive_float("temperature", temperature)
    check_probability("alpha", alpha)

    def loss_fn(
        model: nn.Module, x: torch.Tensor, y: torch.Tensor, t_logits: torch.Tensor
    ) -> torch.Tensor:
        return distillation_loss(model(x), t_logits, y, temperature, alpha)

    return loss_fn


@torch.no_grad()
def teacher_logits(teacher: nn.Module, x: torch.Tensor, batch_size: int = 1024) -> torch.Tensor:
    """The teacher's logits on ``x`` in evaluation mode, without gradients."""
    check_module("teacher", teacher)
    check_tensor("x", x, min_rows=1)
    check_positive_int("batch_size", batch_size)
    was_training = teacher.training
    teacher.eval()
    out = torch.cat([teacher(x[i : i + batch_size]) for i in range(0, x.shape[0], batch_size)])
    teacher.train(was_training)
    return out


def drop_class(x: torch.Tensor, y: torch.Tensor, omitted: int) -> tuple[torch.Tensor, torch.Tensor]:
    """The examples of ``(x, y)`` whose label is not ``omitted`` (the transfer set of
    Hinton et al.'s omitted-class experiment)."""
    check_tensor("y", y, ndim=1)
    _check_rows(x, y)
    if isinstance(omitted, bool) or not isinstance(omitted, int):
        raise TypeError(f"omitted must be an int class label, got {type(omitted).__name__}")
    if not bool((y == omitted).any()):
        raise ValueError(f"omitted={omitted} is not a label present in y")
    keep = y != omitted
    return x[keep], y[keep]


def _check_rows(x: object, y: torch.Tensor, xname: str = "x", yname: str = "y") -> None:
    check_tensor(xname, x)
    assert isinstance(x, torch.Tensor)
    if x.dim() == 0 or x.shape[0] != y.shape[0]:
        raise ValueError(
            f"{xname} and {yname} must have the same number of rows, got "
            f"{tuple(x.shape)} and {tuple(y.shape)}"
        )


def class_accuracy(
    model: nn.Module,
    x: torch.Tensor,
    y: torch.Tensor,
    cls: int,
    bias_shift: torch.Tensor | None = None,
) -> float:
    """:func:`survey_models.train.accuracy` on the examples of class ``cls`` only;
    ``bias_shift: (classes,)`` is added to the logits (see :func:`shift_class_bias`)."""
    check_tensor("y", y, ndim=1)
    _check_rows(x, y)
    if isinstance(cls, bool) or not isinstance(cls, int):
        raise TypeError(f"cls must be an int class label, got {type(cls).__name__}")
    sel = y == cls
    if not bool(sel.any()):
        raise ValueError(f"cls={cls} has no examples in y")
    return train.accuracy(model, x[sel], y[sel], bias_shift=bias_shift)


def shift_class_bias(n_classes: int, cls: int, amount: float) -> torch.Tensor:
    """A ``(n_classes,)`` logit offset that raises class ``cls`` by ``amount``."""
    check_positive_int("n_classes", n_classes)
    check_int_in("cls", cls, 0, n_classes)
    amount = check_finite_float("amount", amount)
    shift = torch.zeros(n_classes)
    shift[cls] = amount
    return shift


@torch.no_grad()
def best_bias_shift(
    model: nn.Module,
    x_val: torch.Tensor,
    y_val: torch.Tensor,
    cls: int,
    candidates: torch.Tensor | None = None,
) -> float:
    """The logit offset for class ``cls`` that maximises accuracy on a validation set.

    Hinton et al. raised the omitted class's bias by a constant chosen for overall
    accuracy; choosing it here on held-out *validation* data keeps the test set unseen.
    """
    if candidates is None:
        candidates = torch.linspace(0.0, 20.0, 81)
    check_tensor("candidates", candidates, ndim=1, min_rows=1)
    check_tensor("y_val", y_val, ndim=1)
    _check_rows(x_val, y_val, "x_val", "y_val")
    logits = model(x_val)
    n_classes = logits.shape[-1]
    check_int_in("cls", cls, 0, n_classes)
    scores = [
        ((logits + shift_class_bias(n_classes, cls, float(c))).argmax(-1) == y_val)
        .float()
        .mean()
        .item()
        for c in candidates
    ]
    return float(candidates[int(torch.tensor(scores).argmax())])
