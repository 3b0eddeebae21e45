"""Parameter scale and generalisation: double descent and power-law scaling.

Two small laboratories for chapter 5:

* **double descent** (Belkin et al. 2019): a random-features model
  ``φ(x) = relu(x W / sqrt(d))`` with a fixed Gaussian ``W`` of ``n_features`` columns,
  fitted by *minimum-norm* least squares. Below the interpolation threshold
  (``n_features < n_train``) it is ordinary least squares; above it, among the infinitely
  many interpolating solutions it picks the one of smallest norm (equation (5.2)),

  .. math::

      \\hat\\beta = \\Phi^{+} Y = V \\Sigma^{-1} U^\\top Y \\qquad (5.2)

  where ``Φ = U Σ Vᵀ`` is the thin SVD with the near-zero singular values dropped;
* **scaling laws** (Kaplan et al. 2020): a power law ``L(N) = a · N^(-α)`` fitted to
  loss against parameter count ``N`` by least squares in log-log space (equation (5.1)),
  and an MLP family whose width sets ``N``;
* **memorisation** (Zhang et al. 2017): train a classifier on partly or wholly random labels
  (:func:`with_label_noise`) until its training accuracy on those labels reaches a target,

  .. math::

      \\mathrm{acc}_{\\text{train}}(f_t) = \\frac{1}{n}\\sum_{i=1}^{n}
      \\mathbb{1}\\bigl[\\arg\\max_k f_t(x_i)_k = \\tilde y_i\\bigr] \\ge a^{\\ast} \\qquad (5.3)

  with ``ỹ`` the (noisy) training labels, and count the epochs ``t`` it took
  (:func:`fit_until_accuracy`);
* **compute-optimal scaling** (Hoffmann et al. 2022, "IsoFLOP profiles"): the training
  compute of a dense model with ``N`` parameters on ``D`` tokens (examples) is about

  .. math::

      C \\approx 6 N D \\qquad (5.4)

  (two FLOPs per parameter and example forward, four backward). For each budget ``C``
  the final loss of models of several sizes, each trained on ``D = C / (6N)``, is fitted
  by a parabola in ``log N`` whose vertex is the compute-optimal size,

  .. math::

      L \\approx p_0 + p_1 \\log N + p_2 (\\log N)^2,\\qquad
      \\log N_{\\mathrm{opt}}(C) = -\\frac{p_1}{2 p_2}\\quad (p_2 > 0) \\qquad (5.5)

  (:func:`fit_isoflop_parabola`), and the optima across budgets by power laws
  ``N_opt ∝ C^a``, ``D_opt ∝ C^b`` (least squares in log-log space, with the standard
  error of the slope; :func:`fit_compute_exponent`),

  .. math::

      \\log N_{\\mathrm{opt}} = \\log k + a \\log C,\\qquad
      \\mathrm{se}(a) = \\sqrt{\\frac{\\sum_i r_i^2 / (m - 2)}
      {\\sum_i (\\log C_i - \\overline{\\log C})^2}} \\qquad (5.6)

  over ``m`` budgets with residuals ``r_i``. Because ``D_opt = C / (6 N_opt)``, ``b = 1 - a``.
"""

from __future__ import annotations

import math
import numbers
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import torch
from torch import nn

from ._checks import (
    check_index_tensor,
    check_module,
    check_nonnegative_float,
    check_positive_float,
    check_positive_int,
    check_probability,
    check_seed,
    check_tensor,
)
from .train import accuracy, classification_loss, fit

__all__ = [
    "RandomFeatures",
    "min_norm_least_squares",
    "random_features_error",
    "double_descent_curve",
    "with_label_noise",
    "PowerLawFit",
    "fit_power_law",
    "MLP",
    "teacher_regression_data",
    "MemorizationRun",
    "fit_until_accuracy",
    "flops_estimate",
    "IsoFlopFit",
    "fit_isoflop_parabola",
    "ExponentFit",
    "fit_compute_exponent",
]


class RandomFeatures(nn.Module):
    """Fixed random ReLU features ``φ(x) = relu(x W / sqrt(n_input))``.

    Args:
        n_input: width of the input ``x``.
        n_features: number of random features (columns of ``W``).
        seed: seed of the Gaussian ``W``; the features are not trained.

    Shapes: ``x: (batch, n_input)`` → ``φ(x): (batch, n_features)``.
    """

    def __init__(self, n_input: int, n_features: int, seed: int = 0) -> None:
        super().__init__()
        self.n_input = check_positive_int("n_input", n_input)
        self.n_features = check_positive_int("n_features", n_features)
        g = torch.Generator().manual_seed(check_seed(seed))
        self.register_buffer(
            "weight", torch.randn(n_input, n_features, generator=g, dtype=torch.float64)
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        check_tensor("x", x, ndim=2, last_dim=self.n_input, floating=True)
        return torch.relu(x.double() @ self.weight / math.sqrt(self.n_input))

    def extra_repr(self) -> str:
        return f"n_input={self.n_input}, n_features={self.n_features}"


def min_norm_least_squares(
    phi: torch.Tensor, y: torch.Tensor, rcond: float = 1e-10
) -> torch.Tensor:
    """Minimum-norm least-squares solution ``β = Φ⁺ Y`` through the SVD (equation (5.2)).

    Args:
        phi: design matrix ``Φ``, ``(n, p)`` floating point.
        y: targets ``(n,)`` or ``(n, k)``.
        rcond: singular values below ``rcond · σ_max`` are treated as zero.

    Returns ``β`` of shape ``(p,)`` or ``(p, k)``. For ``p < n`` (full column rank) this is
    the ordinary least-squares solution; for ``p > n`` it is the interpolating solution of
    smallest Euclidean norm.
    """
    check_tensor("phi", phi, ndim=2, floating=True, min_rows=1)
    check_tensor("y", y, floating=True)
    if y.dim() not in (1, 2) or y.shape[0] != phi.shape[0]:
        raise ValueError(
            f"y must be (n,) or (n, k) with n = phi.shape[0] = {phi.shape[0]}, "
            f"got shape {tuple(y.shape)}"
        )
    rcond = check_nonnegative_float("rcond", rcond)
    u, s, vh = torch.linalg.svd(phi, full_matrices=False)
    keep = s > rcond * s.max()
    # β = V Σ⁻¹ Uᵀ Y over the kept singular directions only.
    uty = u[:, keep].T @ y
    coef = uty / (s[keep].unsqueeze(-1) if y.dim() == 2 else s[keep])
    return vh[keep].T @ coef


def with_label_noise(
    y: torch.Tensor, fraction: float, n_classes: int = 10, seed: int = 0
) -> torch.Tensor:
    """Copy of integer labels ``y`` with a ``fraction`` of them replaced by random classes.

    A replaced label is drawn uniformly from the *other* classes, so exactly
    ``round(fraction · n)`` labels are wrong.
    """
    fraction = check_probability("fraction", fraction)
    n_classes = check_positive_int("n_classes", n_classes)
    if n_classes < 2:
        raise ValueError(f"n_classes must be at least 2 to draw a wrong label, got {n_classes}")
    check_index_tensor("y", y, n_classes, ndim=1)
    g = torch.Generator().manual_seed(check_seed(seed))
    n = y.shape[0]
    idx = torch.randperm(n, generator=g)[: int(round(fraction * n))]
    shift = torch.randint(1, n_classes, (idx.numel(),), generator=g)
    noisy = y.clone()
    noisy[idx] = (y[idx] + shift) % n_classes
    return noisy


def random_features_error(
    x_train: torch.Tensor,
    y_train: torch.Tensor,
    x_test: torch.Tensor,
    y_test: torch.Tensor,
    n_features: int,
    seed: int = 0,
    n_classes: int = 10,
) -> tuple[float, float]:
    """Fit min-norm least squares on one-hot targets with ``n_features`` random features.

    Returns ``(test_mse, test_error)``: the mean squared error per example on the one-hot
    targets, and the classification error rate of the arg-max prediction.
    """
    check_tensor("x_train", x_train, ndim=2, floating=True)
    check_tensor("x_test", x_test, ndim=2, last_dim=x_train.shape[1], floating=True)
    n_classes = check_positive_int("n_classes", n_classes)
    for name, y, x in (("y_train", y_train, x_train), ("y_test", y_test, x_test)):
        check_index_tensor(name, y, n_classes, ndim=1)
        if y.shape[0] != x.shape[0]:
            raise ValueError(
                f"{name} must have one label per row ({x.shape[0]},), got {tuple(y.shape)}"
            )
    features = RandomFeatures(x_train.shape[1], n_features, seed=seed)
    targets = torch.nn.functional.one_hot(y_train, n_classes).double()
    beta = min_norm_least_squares(features(x_train), targets)
    pred = features(x_test) @ beta
    onehot_test = torch.nn.functional.one_hot(y_test, n_classes).double()
    mse = ((pred - onehot_test) ** 2).sum(1).mean().item()
    err = (pred.argmax(1) != y_test).double().mean().item()
    return mse, err


def double_descent_curve(
    x_train: torch.Tensor,
    y_train: torch.Tensor,
    x_test: torch.Tensor,
    y_test: torch.Tensor,
    feature_counts: Sequence[int],
    seeds: Sequence[int],
) -> tuple[np.ndarray, np.ndarray]:
    """Test MSE and test error for every ``(seed, n_features)``: two arrays ``(seeds, counts)``."""
    if len(feature_counts) == 0:
        raise ValueError("feature_counts must not be empty")
    if len(seeds) == 0:
        raise ValueError("seeds must not be empty")
    for j, p in enumerate(feature_counts):
        if isinstance(p, bool) or not isinstance(p, numbers.Integral) or p <= 0:
            raise ValueError(
                f"feature_counts must hold positive integers, got feature_counts[{j}] = {p!r}"
            )
    mse = np.zeros((len(seeds), len(feature_counts)))
    err = np.zeros_like(mse)
    for i, seed in enumerate(seeds):
        for j, p in enumerate(feature_counts):
            mse[i, j], err[i, j] = random_features_error(
                x_train, y_train, x_test, y_test, int(p), seed=seed
            )
    return mse, err


@dataclass(frozen=True)
class PowerLawFit:
    """``L(N) = coefficient · N^(-exponent)``, fitted in log-log space with its R²."""

    coefficient: float
    exponent: float
    r2: float

    def __call__(self, n: np.ndarray | float) -> np.ndarray:
        return self.coefficient * np.asarray(n, dtype=float) ** (-self.exponent)


def fit_power_law(n: Sequence[float], loss: Sequence[float]) -> PowerLawFit:
    """Least-squares fit of ``log L = log a - α log N`` (equation (5.1)).

    Returns the fit with ``exponent = α`` (positive when loss falls with ``N``) and the
    coefficient of determination R² of the straight line in log-log space.
    """
    n_arr = np.asarray(n, dtype=float)
    l_arr = np.asarray(loss, dtype=float)
    if n_arr.ndim != 1 or n_arr.shape != l_arr.shape:
        raise ValueError(
            f"n and loss must be 1-D of equal length, got {n_arr.shape} and {l_arr.shape}"
        )
    if n_arr.size < 3:
        raise ValueError(f"n must hold at least 3 sizes to fit and judge a line, got {n_arr.size}")
    if not np.all(np.isfinite(n_arr) & (n_arr > 0)):
        raise ValueError(f"n must be positive and finite, got {n_arr.tolist()}")
    if not np.all(np.isfinite(l_arr) & (l_arr > 0)):
        raise ValueError(f"loss must be positive and finite, got {l_arr.tolist()}")
    lx, ly = np.log(n_arr), np.log(l_arr)
    slope, intercept = np.polyfit(lx, ly, 1)
    resid = ly - (slope * lx + intercept)
    r2 = 1.0 - float(resid @ resid) / float(((ly - ly.mean()) ** 2).sum())
    return PowerLawFit(coefficient=float(np.exp(intercept)), exponent=float(-slope), r2=r2)


class MLP(nn.Module):
    """A ReLU multilayer perceptron classifier: ``n_input → hidden… → n_classes`` logits.

    Args:
        n_input: input width (64 for 8×8 digits).
        hidden: widths of the hidden layers, e.g. ``(128, 128)``; may be empty.
        n_classes: number of output logits.

    Shapes: ``x: (batch, n_input)`` → logits ``(batch, n_classes)``.
    """

    def __init__(
        self, n_input: int = 64, hidden: Sequence[int] = (128,), n_classes: int = 10
    ) -> None:
        super().__init__()
        self.n_input = check_positive_int("n_input", n_input)
        self.n_classes = check_positive_int("n_classes", n_classes)
        if isinstance(hidden, (str, bytes)) or not isinstance(hidden, Sequence):
            raise TypeError(f"hidden must be a sequence of layer widths, got {hidden!r}")
        hidden = tuple(hidden)
        for i, h in enumerate(hidden):
            check_positive_int(f"hidden[{i}]", h)
        self.hidden = hidden
        widths = (n_input, *hidden)
        layers: list[nn.Module] = []
        for a, b in zip(widths[:-1], widths[1:]):
            layers += [nn.Linear(a, b), nn.ReLU()]
        layers.append(nn.Linear(widths[-1], n_classes))
        self.net = nn.Sequential(*layers)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        check_tensor("x", x, ndim=2, last_dim=self.n_input, floating=True)
        return self.net(x)


def teacher_regression_data(
    n: int, n_input: int = 8, teacher_width: int = 256, seed: int = 0
) -> tuple[torch.Tensor, torch.Tensor]:
    """A regression task with as much data as asked for: ``y = f(x)``, ``x ~ N(0, I)``.

    ``f`` is a fixed random one-hidden-layer tanh network of ``teacher_width`` units (the
    "teacher"); targets are scaled to unit standard deviation, so a constant predictor
    has mean squared error about 1. Because new samples cost nothing, a student's loss is
    limited by its size and its training steps, not by the data, the regime in which
    Kaplan et al. (2020) measured loss against parameters.

    Returns ``x: (n, n_input)`` and ``y: (n, 1)``, both float32.
    """
    n = check_positive_int("n", n)
    if n < 2:
        raise ValueError(f"n must be at least 2 (targets are scaled by their std), got {n}")
    n_input = check_positive_int("n_input", n_input)
    teacher_width = check_positive_int("teacher_width", teacher_width)
    g = torch.Generator().manual_seed(check_seed(seed))
    w1 = torch.randn(n_input, teacher_width, generator=g) / math.sqrt(n_input)
    b1 = 0.5 * torch.randn(teacher_width, generator=g)
    w2 = torch.randn(teacher_width, 1, generator=g) / math.sqrt(teacher_width)
    x = torch.randn(n, n_input, generator=g)
    y = torch.tanh(x @ w1 + b1) @ w2
    return x, (y - y.mean()) / y.std()


# ---------------------------------------------------------------------------
# Memorisation: fitting random labels (Zhang et al. 2017)
# ---------------------------------------------------------------------------


@dataclass(frozen=True)
class MemorizationRun:
    """What :func:`fit_until_accuracy` measured.

    ``epochs_to_target`` is the first epoch after which the training accuracy reached the
    target (``None`` if ``max_epochs`` ran out first); ``train_accuracy[e]`` and
    ``eval_accuracy[e]`` are the accuracies after epoch ``e + 1`` (``eval_accuracy`` is
    empty when no evaluation data was given).
    """

    epochs_to_target: int | None
    steps_to_target: int | None
    train_accuracy: list[float]
    eval_accuracy: list[float]

    @property
    def reached(self) -> bool:
        return self.epochs_to_target is not None


class _TargetReached(Exception):
    """Raised from the :func:`~survey_models.train.fit` callback to stop training."""


def fit_until_accuracy(
    model: nn.Module,
    x: torch.Tensor,
    y: torch.Tensor,
    *,
    target_accuracy: float = 1.0,
    max_epochs: int = 1000,
    eval_data: tuple[torch.Tensor, torch.Tensor] | None = None,
    batch_size: int = 64,
    lr: float = 1e-3,
    seed: int = 0,
    device: str | torch.device = "cpu",
) -> MemorizationRun:
    """Train a classifier with :func:`~survey_models.train.fit` until it fits ``(x, y)``.

    After every epoch the training accuracy on the labels ``y`` (which may be random) is
    measured with :func:`~survey_models.train.accuracy`; training stops as soon as it is at
    least ``target_accuracy`` (equation (5.3)), or after ``max_epochs``. The optimiser is
    Adam with no weight decay, as in the shared loop's defaults.

    Args:
        model: a classifier, ``x: (n, ...)`` → logits ``(n, classes)``; trained in place.
        x: training inputs ``(n, ...)``; y: labels ``(n,)`` int64.
        target_accuracy: in ``(0, 1]``; 1.0 asks for every training label to be fitted.
        max_epochs: cap on the number of passes over the data.
        eval_data: optional ``(x_eval, y_eval)``, e.g. the test set with its true labels,
            whose accuracy is recorded after every epoch.

    Returns a :class:`MemorizationRun`; the model is left in evaluation mode.
    """
    check_module("model", model)
    check_tensor("x", x, floating=True, min_rows=1)
    check_index_tensor("y", y, None, ndim=1)
    if y.shape[0] != x.shape[0]:
        raise ValueError(
            f"y must have one label per row of x ({x.shape[0]},), got {tuple(y.shape)}"
        )
    target = check_probability("target_accuracy", target_accuracy)
    if target == 0.0:
        raise ValueError("target_accuracy must be in (0, 1], got 0.0 (reached before training)")
    max_epochs = check_positive_int("max_epochs", max_epochs)
    batch_size = check_positive_int("batch_size", batch_size)
    if eval_data is not None:
        if not isinstance(eval_data, (tuple, list)) or len(eval_data) != 2:
            raise TypeError("eval_data must be a pair (x_eval, y_eval) of tensors")
        check_tensor("eval_data[0]", eval_data[0], floating=True, min_rows=1)
        check_index_tensor("eval_data[1]", eval_data[1], None, ndim=1)
    steps_per_epoch = math.ceil(x.shape[0] / batch_size)
    x_dev, y_dev = x.to(device), y.to(device)
    ev = None if eval_data is None else (eval_data[0].to(device), eval_data[1].to(device))
    train_acc: list[float] = []
    eval_acc: list[float] = []

    def measure(steps_done: int, net: nn.Module) -> None:
        train_acc.append(accuracy(net, x_dev, y_dev))  # (5.3)
        if ev is not None:
            eval_acc.append(accuracy(net, *ev))
        if train_acc[-1] >= target:
            raise _TargetReached

    try:
        fit(
            model,
            classification_loss,
            (x, y),
            epochs=max_epochs,
            batch_size=batch_size,
            lr=lr,
            seed=seed,
            device=device,
            callback=measure,
        )
    except _TargetReached:
        model.eval()
        epochs = len(train_acc)
        return MemorizationRun(epochs, epochs * steps_per_epoch, train_acc, eval_acc)
    return MemorizationRun(None, None, train_acc, eval_acc)


# ---------------------------------------------------------------------------
# Compute-optimal scaling: IsoFLOP profiles (Hoffmann et al. 2022)
# ---------------------------------------------------------------------------


def _positive_finite_array(name: str, values: object, min_size: int) -> np.ndarray:
    """``values`` as a 1-D float array of at least ``min_size`` positive finite numbers."""
    if isinstance(values, (str, bytes)):
        raise TypeError(f"{name} must be a sequence of numbers, got {values!r}")
    try:
        arr = np.asarray(values, dtype=float)
    except (TypeError, ValueError) as err:
        raise TypeError(f"{name} must be a sequence of numbers, got {values!r}") from err
    if arr.ndim != 1 or arr.size < min_size:
        raise ValueError(
            f"{name} must be 1-D with at least {min_size} values, got shape {arr.shape}"
        )
    if not np.all(np.isfinite(arr) & (arr > 0)):
        raise ValueError(f"{name} must be positive and finite, got {arr.tolist()}")
    return arr


def flops_estimate(n_params: float, n_tokens: float) -> float:
    """Training compute ``C = 6 N D`` in FLOPs (equation (5.4)).

    Args:
        n_params: number of parameters ``N`` (> 0).
        n_tokens: number of training tokens (or examples) ``D`` (> 0).
    """
    n = check_positive_float("n_params", n_params)
    d = check_positive_float("n_tokens", n_tokens)
    return 6.0 * n * d  # (5.4)


@dataclass(frozen=True)
class IsoFlopFit:
    """The parabola ``L = p0 + p1 log N + p2 (log N)²`` fitted to one IsoFLOP profile.

    ``n_opt`` is its vertex (equation (5.5)), ``loss_opt`` the parabola's value there and
    ``interior`` whether the vertex lies inside the range of sizes that were measured
    (outside it, the optimum is an extrapolation).
    """

    coefficients: tuple[float, float, float]
    n_opt: float
    loss_opt: float
    interior: bool

    def __call__(self, n: np.ndarray | float) -> np.ndarray:
        p0, p1, p2 = self.coefficients
        t = np.log(np.asarray(n, dtype=float))
        return p0 + p1 * t + p2 * t**2


def fit_isoflop_parabola(n_params: Sequence[float], loss: Sequence[float]) -> IsoFlopFit:
    """Least-squares parabola in ``log N`` through one budget's losses; its vertex (5.5).

    Args:
        n_params: model sizes ``N`` trained with the same compute, ``(k,)`` with ``k ≥ 3``
            distinct positive values.
        loss: their final losses, ``(k,)``, finite.

    Raises ``ValueError`` when the parabola opens downwards (``p2 ≤ 0``): the profile then
    has no minimum to call compute-optimal.
    """
    n_arr = _positive_finite_array("n_params", n_params, 3)
    l_arr = np.asarray(loss, dtype=float)
    if l_arr.shape != n_arr.shape:
        raise ValueError(
            f"loss must have one value per size, shape {n_arr.shape}, got {l_arr.shape}"
        )
    if not np.all(np.isfinite(l_arr)):
        raise ValueError(f"loss must be finite, got {l_arr.tolist()}")
    t = np.log(n_arr)
    if np.unique(t).size < 3:
        raise ValueError(f"n_params must hold at least 3 distinct sizes, got {n_arr.tolist()}")
    # Centre log N before fitting, for a well-conditioned Vandermonde system.
    centre = float(t.mean())
    q2, q1, q0 = np.polyfit(t - centre, l_arr, 2)
    if not q2 > 0:
        raise ValueError(
            f"loss against log n_params curves downwards (p2 = {q2:.3g}); no minimum to fit"
        )
    t_opt = centre - q1 / (2.0 * q2)  # (5.5)
    # Back to coefficients in t = log N itself.
    p2 = q2
    p1 = q1 - 2.0 * q2 * centre
    p0 = q0 - q1 * centre + q2 * centre**2
    loss_opt = q0 - q1**2 / (4.0 * q2)
    interior = bool(t.min() <= t_opt <= t.max())
    return IsoFlopFit(
        (float(p0), float(p1), float(p2)), float(np.exp(t_opt)), float(loss_opt), interior
    )


@dataclass(frozen=True)
class ExponentFit:
    """``y = coefficient · C^exponent`` fitted in log-log space, with the slope's standard error."""

    coefficient: float
    exponent: float
    stderr: float

    def __call__(self, c: np.ndarray | float) -> np.ndarray:
        return self.coefficient * np.asarray(c, dtype=float) ** self.exponent


def fit_compute_exponent(compute: Sequence[float], values: Sequence[float]) -> ExponentFit:
    """Least-squares fit of ``log y = log k + a log C`` and the standard error of ``a`` (5.6).

    Args:
        compute: budgets ``C``, ``(m,)`` with ``m ≥ 3`` distinct positive values (with
            ``m = 3`` the error rests on a single degree of freedom: treat it as rough).
        values: the quantity to scale, e.g. ``N_opt`` or ``D_opt``, ``(m,)`` positive.
    """
    c_arr = _positive_finite_array("compute", compute, 3)
    y_arr = _positive_finite_array("values", values, 3)
    if y_arr.shape != c_arr.shape:
        raise ValueError(
            f"values must have one entry per budget, shape {c_arr.shape}, got {y_arr.shape}"
        )
    lx, ly = np.log(c_arr), np.log(y_arr)
    sxx = float(((lx - lx.mean()) ** 2).sum())
    if np.unique(lx).size < 2 or sxx == 0.0:
        raise ValueError(f"compute must hold distinct budgets, got {c_arr.tolist()}")
    slope = float(((lx - lx.mean()) * (ly - ly.mean())).sum() / sxx)
    intercept = float(ly.mean() - slope * lx.mean())
    resid = ly - (intercept + slope * lx)
    stderr = math.sqrt(float(resid @ resid) / (lx.size - 2) / sxx)  # (5.6)
    return ExponentFit(coefficient=math.exp(intercept), exponent=slope, stderr=stderr)
