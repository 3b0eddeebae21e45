"""Sample-quality yardsticks shared by every generative example.

A generated picture is not a measurement; these functions turn samples into numbers.

For 2-D data:

* :func:`mmd_rbf` -- the **unbiased** estimate of the squared maximum mean discrepancy
  (Gretton et al. 2012) with a Gaussian (RBF) kernel; it can be slightly negative when the
  two samples come from the same distribution;
* :func:`energy_distance` -- Székely's energy distance (unbiased U-statistic form);
* :func:`ring_mode_coverage` -- modes hit and the share of high-quality samples on a
  mixture of Gaussians (the ring of :func:`survey_models.data.ring_of_gaussians`).

For 8x8 digits (64 pixels in [0, 1]):

* :func:`digits_classifier` -- a small MLP classifier trained deterministically by
  :func:`train_digits_classifier`; its weights ship as ``assets/digits_classifier.pt``
  and load with ``torch.load(weights_only=True)``;
* :func:`digits_features`, :func:`digits_fid` -- the Fréchet distance between Gaussians
  fitted to the classifier's penultimate features ("digits FID", after Heusel et al. 2017),
  with a small ridge added to both covariances;
* :func:`knn_precision_recall` -- k-NN precision and recall (Kynkäänniemi et al. 2019);
* :func:`one_nn_accuracy` -- the leave-one-out 1-NN two-sample test (Lopez-Paz & Oquab
  2017): about 0.5 when the two samples are alike, well below 0.5 when the "generated"
  samples are copies of the real ones;
* :func:`label_accuracy` -- how often the classifier agrees with an intended label.

Always print the real-vs-real floor beside a score: a digits FID of 3 means nothing until
one knows that two halves of the real data already differ by 1.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from functools import lru_cache
from pathlib import Path

import torch
from torch import nn

from ._checks import (
    check_finite_tensor,
    check_index_tensor,
    check_positive_float,
    check_positive_int,
    check_seed,
    check_tensor,
)

DIGITS_CLASSIFIER_FILE = Path(__file__).parent / "assets" / "digits_classifier.pt"
DIGITS_FEATURE_DIM = 64


# ---------------------------------------------------------------------------------------
# helpers
# ---------------------------------------------------------------------------------------


def _two_samples(
    x: object, y: object, xname: str = "x", yname: str = "y", min_rows: int = 2, why: str = ""
) -> tuple[torch.Tensor, torch.Tensor]:
    check_tensor(xname, x, ndim=2, floating=True)
    check_tensor(yname, y, ndim=2, floating=True)
    assert isinstance(x, torch.Tensor) and isinstance(y, torch.Tensor)
    if x.shape[1] != y.shape[1]:
        raise ValueError(
            f"{xname} and {yname} must have the same number of columns, got "
            f"{tuple(x.shape)} and {tuple(y.shape)}"
        )
    for name, t in ((xname, x), (yname, y)):
        if t.shape[0] < min_rows:
            raise ValueError(f"{name} must have at least {min_rows} rows{why}, got {t.shape[0]}")
        if not torch.isfinite(t).all():
            raise ValueError(f"{name} contains NaN or infinite values")
    return x.detach().double(), y.detach().double()


def _offdiag_mean(k: torch.Tensor) -> torch.Tensor:
    n = k.shape[0]
    return (k.sum() - k.diagonal().sum()) / (n * (n - 1))


# ---------------------------------------------------------------------------------------
# distances between two samples
# ---------------------------------------------------------------------------------------


def median_bandwidth(x: torch.Tensor, y: torch.Tensor) -> float:
    """The median heuristic: the median pairwise distance within the pooled sample."""
    x, y = _two_samples(x, y)
    z = torch.cat([x, y])
    d = torch.cdist(z, z)
    off = d[~torch.eye(z.shape[0], dtype=torch.bool)]
    return float(off.median())


def mmd_rbf(x: torch.Tensor, y: torch.Tensor, bandwidth: float | None = None) -> float:
    """Unbiased estimate of the squared MMD with the kernel ``k(a,b)=exp(-|a-b|²/(2σ²))``.

    .. math::

        \\widehat{\\mathrm{MMD}}^2_u = \\frac{1}{n(n-1)}\\sum_{i\\ne j}k(x_i,x_j)
        + \\frac{1}{m(m-1)}\\sum_{i\\ne j}k(y_i,y_j) - \\frac{2}{nm}\\sum_{i,j}k(x_i,y_j)

    ``x: (n, d)``, ``y: (m, d)`` with n, m >= 2. ``bandwidth`` is σ; when ``None`` it is the
    median pairwise distance of the pooled sample (:func:`median_bandwidth`). The estimate
    is unbiased, so it fluctuates around 0 (and may be slightly negative) when x and y come
    from the same distribution.
    """
    x, y = _two_samples(x, y)
    if bandwidth is None:
        bandwidth = median_bandwidth(x, y)
        if bandwidth == 0:
            raise ValueError(
                "median heuristic gave bandwidth 0 (all points equal); pass bandwidth explicitly"
            )
    else:
        bandwidth = check_positive_float("bandwidth", bandwidth)

    def k(a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
        return torch.exp(-(torch.cdist(a, b) ** 2) / (2 * bandwidth**2))

    return float(_offdiag_mean(k(x, x)) + _offdiag_mean(k(y, y)) - 2 * k(x, y).mean())


def mmd_floor(
    real_samples: Sequence[torch.Tensor], reference: torch.Tensor, bandwidth: float | None = None
) -> tuple[float, list[float]]:
    """The real-vs-real level of :func:`mmd_rbf`: what two samples of the data itself reach.

    ``real_samples`` are independent draws from the data distribution (the same size as
    the generated sample they will be compared with); each is compared with
    ``reference``. Returns ``(floor, values)``: the mean absolute MMD² and the values
    themselves. The unbiased estimate scatters around 0 for samples of one distribution,
    so the floor is the size of that scatter — the scale against which a generated
    sample's MMD² is judged ("within 5 × the floor").
    """
    if isinstance(real_samples, torch.Tensor) or not isinstance(real_samples, Sequence):
        raise TypeError("real_samples must be a list of (n, d) tensors")
    if not real_samples:
        raise ValueError("real_samples must hold at least one sample")
    values = [mmd_rbf(x, reference, bandwidth) for x in real_samples]
    return sum(abs(v) for v in values) / len(values), values


def energy_distance(x: torch.Tensor, y: torch.Tensor) -> float:
    """Energy distance ``2 E|X-Y| - E|X-X'| - E|Y-Y'|`` (Székely & Rizzo 2013).

    The within-sample terms exclude the zero diagonal (U-statistics), so the estimate is
    unbiased and close to 0 for two samples of one distribution. ``x: (n, d)``, ``y: (m, d)``.
    """
    x, y = _two_samples(x, y)
    return float(
        2 * torch.cdist(x, y).mean()
        - _offdiag_mean(torch.cdist(x, x))
        - _offdiag_mean(torch.cdist(y, y))
    )


def ring_mode_coverage(
    samples: torch.Tensor, centres: torch.Tensor, std: float, min_count: int | None = None
) -> dict:
    """Modes hit and share of high-quality samples on a mixture of Gaussians.

    A sample is **high quality** when it lies within ``3 * std`` of its nearest centre.
    A mode is **hit** when at least ``min_count`` high-quality samples have it as nearest
    centre; by default ``min_count = max(1, n // (4 * modes))``, a quarter of the share a
    perfect sampler would give each mode.

    Returns ``{"modes_hit": int, "high_quality_fraction": float, "counts": list[int],
    "min_count": int}`` where ``counts[j]`` is the number of high-quality samples at mode j.
    """
    check_tensor("samples", samples, ndim=2, last_dim=2, floating=True)
    check_tensor("centres", centres, ndim=2, last_dim=2, floating=True)
    std = check_positive_float("std", std)
    n, modes = samples.shape[0], centres.shape[0]
    if n == 0:
        raise ValueError("samples must have at least one row")
    if modes == 0:
        raise ValueError("centres must have at least one row")
    if min_count is None:
        min_count = max(1, n // (4 * modes))
    else:
        min_count = check_positive_int("min_count", min_count)
    d = torch.cdist(samples.detach().double(), centres.detach().double())
    nearest_d, nearest = d.min(dim=1)
    good = nearest_d <= 3 * std
    counts = torch.bincount(nearest[good], minlength=modes)
    return {
        "modes_hit": int((counts >= min_count).sum()),
        "high_quality_fraction": float(good.double().mean()),
        "counts": [int(c) for c in counts],
        "min_count": int(min_count),
    }


# ---------------------------------------------------------------------------------------
# the digits classifier
# ---------------------------------------------------------------------------------------


class DigitsClassifier(nn.Module):
    """A two-hidden-layer MLP for 8x8 digits: 64 → 128 → 64 (features) → 10 classes.

    ``x: (batch, 64)`` in [0, 1] → logits ``(batch, 10)``; :meth:`features` gives the
    64-d ReLU activations of the second hidden layer (the penultimate layer).
    """

    def __init__(self) -> None:
        super().__init__()
        self.body = nn.Sequential(
            nn.Linear(64, 128), nn.ReLU(), nn.Linear(128, DIGITS_FEATURE_DIM), nn.ReLU()
        )
        self.head = nn.Linear(DIGITS_FEATURE_DIM, 10)

    def features(self, x: torch.Tensor) -> torch.Tensor:
        check_tensor("x", x, ndim=2, last_dim=64, floating=True)
        return self.body(x)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(self.features(x))


def train_digits_classifier(seed: int = 0, steps: int = 400, lr: float = 1e-2) -> DigitsClassifier:
    """Train the digits classifier deterministically (about a second on one CPU core).

    Full-batch Adam (in float64) on the training part of ``data.digits_split(0.3, seed=0)`` (the split
    is fixed; ``seed`` seeds only the initial weights), cross-entropy plus a weight decay
    of 1e-4. The shipped ``assets/digits_classifier.pt`` is ``train_digits_classifier(0)``
    saved with ``torch.save(model.state_dict(), path)``.
    """
    from .data import digits_split

    check_positive_int("steps", steps)
    check_positive_float("lr", lr)
    split = digits_split(test_fraction=0.3, seed=0)
    g = torch.Generator().manual_seed(check_seed(seed))
    # Trained in float64 so that the result does not depend on the thread count's
    # summation order beyond round-off, then stored in float32.
    model = DigitsClassifier().double()
    x_train = split.x_train.double()
    with torch.no_grad():
        for m in model.modules():
            if isinstance(m, nn.Linear):
                bound = 1 / math.sqrt(m.in_features)
                m.weight.copy_((torch.rand(m.weight.shape, generator=g) * 2 - 1) * bound)
                m.bias.copy_((torch.rand(m.bias.shape, generator=g) * 2 - 1) * bound)
    opt = torch.optim.Adam(model.parameters(), lr=lr, weight_decay=1e-4)
    for _ in range(steps):
        loss = nn.functional.cross_entropy(model.head(model.body(x_train)), split.y_train)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
    model = model.float().eval()
    for p in model.parameters():
        p.requires_grad_(False)
    return model


@lru_cache(maxsize=1)
def _shipped_state() -> dict[str, torch.Tensor] | None:
    if DIGITS_CLASSIFIER_FILE.exists():
        return torch.load(DIGITS_CLASSIFIER_FILE, map_location="cpu", weights_only=True)
    return None


@lru_cache(maxsize=1)
def _cached_classifier() -> DigitsClassifier:
    return digits_classifier()


def digits_classifier() -> DigitsClassifier:
    """The shared digits classifier, in eval mode with frozen weights.

    Loads the shipped weights (``torch.load(..., weights_only=True)``); if the file is
    missing it trains them with :func:`train_digits_classifier` (nothing is written or
    downloaded). Each call returns a fresh module.
    """
    state = _shipped_state()
    if state is None:
        return train_digits_classifier(0)
    model = DigitsClassifier()
    model.load_state_dict(state)
    model.eval()
    for p in model.parameters():
        p.requires_grad_(False)
    return model


def _check_digits(name: str, x: object) -> torch.Tensor:
    check_tensor(name, x, ndim=2, last_dim=64, floating=True)
    assert isinstance(x, torch.Tensor)
    if x.shape[0] == 0:
        raise ValueError(f"{name} must have at least one row")
    if not torch.isfinite(x).all():
        raise ValueError(f"{name} contains NaN or infinite values")
    return x.detach().float()


@torch.no_grad()
def digits_features(x: torch.Tensor) -> torch.Tensor:
    """Penultimate-layer features ``(n, 64)`` of the digits classifier for ``x: (n, 64)``."""
    return _cached_classifier().features(_check_digits("x", x))


def frechet_distance(
    mu1: torch.Tensor, cov1: torch.Tensor, mu2: torch.Tensor, cov2: torch.Tensor
) -> float:
    """``|μ1-μ2|² + tr(Σ1 + Σ2 - 2 (Σ1^{1/2} Σ2 Σ1^{1/2})^{1/2})`` between two Gaussians.

    The trace term uses the symmetric form, whose square root comes from an eigen
    decomposition (negative round-off eigenvalues are clipped to 0). ``mu1, mu2: (d,)``;
    ``cov1, cov2: (d, d)`` symmetric; all finite.
    """
    for name, t in (("mu1", mu1), ("mu2", mu2), ("cov1", cov1), ("cov2", cov2)):
        check_tensor(name, t, ndim=1 if name.startswith("mu") else 2, floating=True)
        check_finite_tensor(name, t)
    d = mu1.shape[0]
    if mu2.shape != (d,):
        raise ValueError(f"mu2 must have the shape of mu1 ({d},), got {tuple(mu2.shape)}")
    for name, c in (("cov1", cov1), ("cov2", cov2)):
        if c.shape != (d, d):
            raise ValueError(f"{name} must have shape ({d}, {d}), got {tuple(c.shape)}")
        if not torch.allclose(c, c.T, rtol=1e-5, atol=1e-8):
            raise ValueError(f"{name} must be symmetric (a covariance matrix)")
    mu1, mu2, cov1, cov2 = (t.double() for t in (mu1, mu2, cov1, cov2))
    evals, evecs = torch.linalg.eigh(cov1)
    s1 = evecs @ torch.diag(evals.clamp_min(0).sqrt()) @ evecs.T
    inner = torch.linalg.eigvalsh(s1 @ cov2 @ s1).clamp_min(0)
    trace = torch.trace(cov1) + torch.trace(cov2) - 2 * inner.sqrt().sum()
    return float(((mu1 - mu2) ** 2).sum() + trace)


def digits_fid(samples: torch.Tensor, reference: torch.Tensor, ridge: float = 1e-6) -> float:
    """Fréchet distance between digits-classifier features of ``samples`` and ``reference``.

    Both are ``(n, 64)`` images in [0, 1] with n >= 2. A ``ridge`` times the identity is
    added to both feature covariances so that the square root is well defined.
    """
    samples = _check_digits("samples", samples)
    reference = _check_digits("reference", reference)
    ridge = check_positive_float("ridge", ridge)
    for name, t in (("samples", samples), ("reference", reference)):
        if t.shape[0] < 2:
            raise ValueError(f"{name} must have at least 2 rows, got {t.shape[0]}")
    f1 = digits_features(samples).double()
    f2 = digits_features(reference).double()
    eye = torch.eye(f1.shape[1], dtype=torch.float64)
    return frechet_distance(
        f1.mean(0), torch.cov(f1.T) + ridge * eye, f2.mean(0), torch.cov(f2.T) + ridge * eye
    )


@torch.no_grad()
def label_accuracy(samples: torch.Tensor, labels: torch.Tensor) -> float:
    """Share of ``samples: (n, 64)`` that the digits classifier assigns ``labels: (n,)``.

    A conditional generator's samples should be classified as the class they were asked
    for. This measures agreement, not quality: confident classes can still look poor.
    """
    samples = _check_digits("samples", samples)
    check_index_tensor("labels", labels, 10)
    if labels.dim() != 1 or labels.shape[0] != samples.shape[0]:
        raise ValueError(f"labels must have shape ({samples.shape[0]},), got {tuple(labels.shape)}")
    pred = _cached_classifier()(samples).argmax(1)
    return float((pred == labels.to(pred.device)).double().mean())


# ---------------------------------------------------------------------------------------
# nearest-neighbour measures
# ---------------------------------------------------------------------------------------


def knn_precision_recall(real: torch.Tensor, fake: torch.Tensor, k: int = 3) -> tuple[float, float]:
    """k-NN precision and recall (Kynkäänniemi et al. 2019) in the space the rows live in.

    Each real point gets a ball whose radius is the distance to its k-th nearest *other*
    real point; **precision** is the share of fake points inside at least one real ball.
    **Recall** swaps the roles: the share of real points inside at least one fake ball.
    Pass features (e.g. :func:`digits_features`) to measure in a feature space.
    ``real: (n, d)``, ``fake: (m, d)`` with n, m > k.
    """
    k = check_positive_int("k", k)
    real, fake = _two_samples(real, fake, "real", "fake", min_rows=k + 1, why=f" (k + 1 for k={k})")

    def radii(a: torch.Tensor) -> torch.Tensor:
        d = torch.cdist(a, a)
        # the k-th nearest other point: index k in the sorted row (index 0 is the point).
        return d.kthvalue(k + 1, dim=1).values

    def inside(points: torch.Tensor, centres: torch.Tensor, r: torch.Tensor) -> float:
        d = torch.cdist(points, centres)
        return float((d <= r[None, :]).any(dim=1).double().mean())

    precision = inside(fake, real, radii(real))
    recall = inside(real, fake, radii(fake))
    return precision, recall


def one_nn_accuracy(real: torch.Tensor, fake: torch.Tensor) -> float:
    """Leave-one-out accuracy of the 1-nearest-neighbour classifier real vs fake.

    Pool the two samples, label them, and classify each point by the label of its nearest
    *other* point. About 0.5 means the samples are indistinguishable; near 1 means they are
    easy to tell apart; well below 0.5 means each fake point sits on a real one -- the
    generator copied its training set. Use equal sizes for a 0.5 baseline.
    ``real: (n, d)``, ``fake: (m, d)``.
    """
    real, fake = _two_samples(real, fake, "real", "fake", min_rows=1)
    z = torch.cat([real, fake])
    labels = torch.cat([torch.ones(real.shape[0]), torch.zeros(fake.shape[0])])
    d = torch.cdist(z, z)
    d.fill_diagonal_(float("inf"))
    nearest = d.argmin(dim=1)
    return float((labels[nearest] == labels).double().mean())
