"""Normalizing flows: affine coupling layers and a RealNVP stack (Dinh et al. 2015, 2017).

A flow is an invertible map ``z = f(x)`` onto a simple base density ``p_Z`` (here the
standard normal). The change of variables gives the exact log-likelihood

.. math::

    \\log p_X(x) = \\log p_Z(f(x)) + \\log\\left|\\det \\frac{\\partial f(x)}{\\partial x}\\right|
                                                                        \\qquad (1)

    f = f_K \\circ \\dots \\circ f_1,\\quad
    \\log|\\det J_f(x)| = \\sum_k \\log|\\det J_{f_k}(x_{k-1})|           \\qquad (2)

An affine coupling layer with a binary mask ``m`` keeps the masked part and moves the rest
with a scale and a shift computed from the kept part only (RealNVP):

.. math::

    y = m \\odot x + (1 - m) \\odot \\left(x \\odot e^{s(m \\odot x)} + t(m \\odot x)\\right)
                                                                        \\qquad (3)

    x = m \\odot y + (1 - m) \\odot \\left(y - t(m \\odot y)\\right) \\odot e^{-s(m \\odot y)}
                                                                        \\qquad (4)

    \\log|\\det J(x)| = \\sum_i (1 - m_i)\\, s_i(m \\odot x)                 \\qquad (5)

The Jacobian of (3) is triangular (after sorting the coordinates by the mask) with
diagonal ``1`` on the kept and ``e^{s_i}`` on the moved coordinates, hence (5). With
``s = 0`` (NICE's additive coupling, Dinh et al. 2015) the map preserves volume.
The scale is soft-bounded, ``s = b·tanh(ŝ / b)`` with ``b = max_log_scale``, so one layer
changes a coordinate's scale by at most ``e^{±b}``. Alternating masks (halves or an image
checkerboard and their complements) let every coordinate be moved.

Discrete data (binary digits) are dequantised, ``y = x + u`` with ``u ~ U[0,1)^D``
(Theis et al. 2016): a density ``p`` on ``y`` defines ``P(x) = ∫_{[0,1)^D} p(x + u) du``,
and by Jensen's inequality

.. math::

    -\\log P(x) \\le \\mathbb{E}_{u}\\left[-\\log p(x + u)\\right]          \\qquad (6)

so the dequantised negative log-likelihood is an upper bound on the discrete one (nats).
:class:`LogitTransform` maps the box ``[0, bound)^D`` to the real line first (the RealNVP
pre-processing), ``z = logit(α + (1 - 2α) y / bound)``, with its own log-determinant

.. math::

    \\log|\\det J| = \\sum_i \\left[\\log\\frac{1 - 2\\alpha}{\\text{bound}}
                     - \\log p_i - \\log(1 - p_i)\\right],\\quad
    p_i = \\alpha + (1 - 2\\alpha) y_i / \\text{bound}                       \\qquad (7)

The logit is smooth, and an affine coupling is affine in each moved coordinate, so such a
flow can only approximate the step-shaped density of a dequantised binary pixel. :class:`BinCDFTransform`
is an elementwise alternative made for data on ``K`` unit bins: a learned piecewise-linear
CDF with its knots at the bin edges (bin masses ``q_{i,k}``, a softmax over ``k``; left edges
``C_{i,k} = Σ_{j<k} q_{i,j}``), then the probit ``Φ⁻¹``. With ``k = ⌊y_i⌋``,

.. math::

    w_i = C_{i,k} + q_{i,k} (y_i - k),\\quad z_i = \\Phi^{-1}(\\alpha + (1 - 2\\alpha) w_i),

    \\log|\\det J| = \\sum_i \\left[\\log q_{i,k} + \\log(1 - 2\\alpha)
                     - \\log \\varphi(z_i)\\right]                                  \\qquad (8)

so under the standard-normal base alone ``log p(y) = Σ_i log q_{i,⌊y_i⌋} + D log(1 - 2α)``:
constant on every bin, the independent categorical model, for which (6) is an equality.
"""

from __future__ import annotations

import math

import torch
from torch import nn

from ._checks import (
    check_choice,
    check_finite_tensor,
    check_positive_float,
    check_positive_int,
    check_probability,
    check_tensor,
)

__all__ = [
    "AffineCoupling",
    "LogitTransform",
    "BinCDFTransform",
    "RealNVP",
    "checkerboard_mask",
    "half_mask",
    "dequantize",
    "flow_nll_loss",
    "dequantized_nll_loss",
    "dequantized_nll",
]


def half_mask(dim: int, parity: int = 0) -> torch.Tensor:
    """The first half of the coordinates kept (``parity=0``) or the second half (``1``).

    Returns a float mask ``(dim,)`` of 0s and 1s; for odd ``dim`` the first part is the
    larger one.
    """
    dim = check_positive_int("dim", dim)
    if dim < 2:
        raise ValueError(f"dim must be at least 2 for a coupling mask, got {dim}")
    if parity not in (0, 1):
        raise ValueError(f"parity must be 0 or 1, got {parity!r}")
    mask = (torch.arange(dim) < (dim + 1) // 2).float()
    return mask if parity == 0 else 1 - mask


def checkerboard_mask(side: int, parity: int = 0) -> torch.Tensor:
    """The checkerboard mask of a ``side × side`` image, flattened row-major to ``(side²,)``.

    Pixel ``(i, j)`` is kept when ``(i + j) % 2 == parity``.
    """
    side = check_positive_int("side", side)
    if side < 2:
        raise ValueError(f"side must be at least 2 for a checkerboard mask, got {side}")
    if parity not in (0, 1):
        raise ValueError(f"parity must be 0 or 1, got {parity!r}")
    i = torch.arange(side)
    return (((i[:, None] + i[None, :]) % 2) == parity).float().reshape(-1)


def _check_mask(mask: object) -> torch.Tensor:
    check_tensor("mask", mask, ndim=1, floating=True)
    assert isinstance(mask, torch.Tensor)
    if not bool(((mask == 0) | (mask == 1)).all()):
        raise ValueError("mask must contain only 0s and 1s")
    kept = int(mask.sum())
    if kept == 0 or kept == mask.numel():
        raise ValueError(
            f"mask must keep some coordinates and move the others, got {kept} of {mask.numel()} kept"
        )
    return mask


class AffineCoupling(nn.Module):
    """One affine coupling layer, equations (3)-(5).

    Args:
        mask: ``(dim,)`` float tensor of 0s and 1s; 1 marks a kept coordinate.
        hidden: width of the hidden layers of the scale-and-shift network.
        n_hidden_layers: number of hidden layers of that network.
        max_log_scale: the bound ``b`` of the soft-clamped log-scale ``s = b·tanh(ŝ/b)``.

    One MLP reads ``m ⊙ x`` and outputs ``(ŝ, t)``, both ``(batch, dim)``. Its last layer
    starts at zero, so a fresh layer is the identity with ``log_det = 0``.

    Shapes: ``x: (batch, dim)``; ``forward(x)`` returns ``(y, log_det)`` with ``y`` like
    ``x`` and ``log_det: (batch,)``; ``inverse(y)`` returns ``x``.
    """

    def __init__(
        self,
        mask: torch.Tensor,
        hidden: int = 64,
        n_hidden_layers: int = 2,
        max_log_scale: float = 2.0,
    ) -> None:
        super().__init__()
        mask = _check_mask(mask)
        self.dim = mask.numel()
        self.hidden = check_positive_int("hidden", hidden)
        self.n_hidden_layers = check_positive_int("n_hidden_layers", n_hidden_layers)
        self.max_log_scale = check_positive_float("max_log_scale", max_log_scale)
        self.register_buffer("mask", mask.detach().clone())
        layers: list[nn.Module] = []
        width = self.dim
        for _ in range(self.n_hidden_layers):
            layers += [nn.Linear(width, self.hidden), nn.SiLU()]
            width = self.hidden
        self.out = nn.Linear(width, 2 * self.dim)
        nn.init.zeros_(self.out.weight)
        nn.init.zeros_(self.out.bias)
        self.net = nn.Sequential(*layers, self.out)

    def extra_repr(self) -> str:
        kept = int(self.mask.sum())
        return (
            f"dim={self.dim}, kept={kept}, hidden={self.hidden}, max_log_scale={self.max_log_scale}"
        )

    def _check(self, name: str, x: object) -> torch.Tensor:
        return check_tensor(name, x, ndim=2, last_dim=self.dim, floating=True)

    def scale_shift(self, kept: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """``(s, t)`` for the moved coordinates, each ``(batch, dim)`` and zero where kept."""
        raw_s, t = self.net(kept).chunk(2, dim=-1)
        b = self.max_log_scale
        free = 1 - self.mask
        s = b * torch.tanh(raw_s / b)  # soft bound |s| < b
        return s * free, t * free

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """``(y, log_det)``: equation (3) and its log-determinant (5)."""
        x = self._check("x", x)
        kept = x * self.mask
        s, t = self.scale_shift(kept)
        y = kept + (1 - self.mask) * (x * torch.exp(s) + t)  # (3)
        return y, s.sum(dim=-1)  # (5)

    def inverse(self, y: torch.Tensor) -> torch.Tensor:
        """Equation (4): the ``x`` with ``forward(x)[0] == y``."""
        y = self._check("y", y)
        kept = y * self.mask
        s, t = self.scale_shift(kept)
        return kept + (1 - self.mask) * ((y - t) * torch.exp(-s))  # (4)


class LogitTransform(nn.Module):
    """The fixed bijection ``[0, bound)^D → ℝ^D`` of equation (7) (RealNVP pre-processing).

    Args:
        bound: the upper end of the data box (2 for binary pixels plus ``U[0,1)`` noise).
        alpha: keeps the logit away from ``±∞``: ``p = α + (1 - 2α) y / bound``.

    Shapes: ``y: (batch, dim)``; ``forward(y)`` returns ``(z, log_det)``, ``log_det: (batch,)``.
    """

    def __init__(self, bound: float = 1.0, alpha: float = 0.05) -> None:
        super().__init__()
        self.bound = check_positive_float("bound", bound)
        self.alpha = check_probability("alpha", alpha)
        if not self.alpha < 0.5:
            raise ValueError(f"alpha must lie in [0, 0.5), got {alpha}")

    def extra_repr(self) -> str:
        return f"bound={self.bound}, alpha={self.alpha}"

    def forward(self, y: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """``(z, log_det)`` of equation (7); ``y`` must lie in ``[0, bound]``."""
        check_tensor("y", y, ndim=2, floating=True)
        if y.numel() and not bool(((y >= 0) & (y <= self.bound)).all()):
            raise ValueError(
                f"y must lie in [0, bound] = [0, {self.bound}] (dequantise and scale the data "
                f"first), got values in [{float(y.min())}, {float(y.max())}]"
            )
        a = self.alpha
        p = a + (1 - 2 * a) * y / self.bound
        z = torch.log(p) - torch.log1p(-p)
        log_det = (math.log((1 - 2 * a) / self.bound) - torch.log(p) - torch.log1p(-p)).sum(-1)
        return z, log_det  # (7)

    def inverse(self, z: torch.Tensor) -> torch.Tensor:
        """``y = bound · (σ(z) - α) / (1 - 2α)``."""
        check_tensor("z", z, ndim=2, floating=True)
        a = self.alpha
        return self.bound * (torch.sigmoid(z) - a) / (1 - 2 * a)


class BinCDFTransform(nn.Module):
    """Elementwise piecewise-linear CDF on unit bins, then the probit: equation (8).

    Args:
        dim: D, the number of coordinates.
        n_bins: K; the data (dequantised integers ``0..K-1``) lie in ``[0, K]``.
        alpha: keeps the probit finite: ``Φ⁻¹`` is taken of ``α + (1 - 2α) w``.

    The bin masses start equal; :meth:`init_from_data` sets them to the smoothed bin
    frequencies of the data (a data-dependent initialisation, as Glow's ActNorm).
    Shapes: ``y: (batch, dim)``; ``forward(y)`` returns ``(z, log_det)``, ``log_det: (batch,)``.
    """

    def __init__(self, dim: int, n_bins: int = 2, alpha: float = 1e-4) -> None:
        super().__init__()
        self.dim = check_positive_int("dim", dim)
        self.n_bins = check_positive_int("n_bins", n_bins)
        self.alpha = check_probability("alpha", alpha, open_interval=True)
        if not self.alpha < 0.5:
            raise ValueError(f"alpha must lie in (0, 0.5), got {alpha}")
        self.logits = nn.Parameter(torch.zeros(dim, n_bins))

    def extra_repr(self) -> str:
        return f"dim={self.dim}, n_bins={self.n_bins}, alpha={self.alpha}"

    @torch.no_grad()
    def init_from_data(self, x: torch.Tensor, smoothing: float = 1.0) -> BinCDFTransform:
        """Set the bin masses to the frequencies of the integers ``x: (n, dim)`` plus
        ``smoothing`` counts; returns ``self``."""
        check_tensor("x", x, ndim=2, last_dim=self.dim, min_rows=1)
        smoothing = check_positive_float("smoothing", smoothing)
        k = x.round().long()
        if not bool(((k >= 0) & (k < self.n_bins) & (k == x)).all()):
            raise ValueError(f"x must hold integers in [0, {self.n_bins - 1}]")
        counts = torch.nn.functional.one_hot(k, self.n_bins).sum(0).to(self.logits.dtype)
        self.logits.copy_(torch.log(counts + smoothing))
        return self

    def _bins(self) -> tuple[torch.Tensor, torch.Tensor]:
        log_q = torch.log_softmax(self.logits, dim=-1)  # (dim, K)
        q = log_q.exp()
        return log_q, torch.cumsum(q, dim=-1) - q  # left edges C_{i,k}

    def forward(self, y: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """``(z, log_det)`` of equation (8); ``y`` must lie in ``[0, n_bins]``."""
        check_tensor("y", y, ndim=2, last_dim=self.dim, floating=True)
        if y.numel() and not bool(((y >= 0) & (y <= self.n_bins)).all()):
            raise ValueError(
                f"y must lie in [0, n_bins] = [0, {self.n_bins}] (dequantised integers), "
                f"got values in [{float(y.min())}, {float(y.max())}]"
            )
        log_q, left = self._bins()
        k = y.detach().floor().clamp(max=self.n_bins - 1).long()
        cols = torch.arange(self.dim, device=y.device)
        log_qk = log_q[cols, k]
        w = left[cols, k] + log_qk.exp() * (y - k)
        a = self.alpha
        z = torch.special.ndtri(a + (1 - 2 * a) * w)
        log_phi = -0.5 * z**2 - 0.5 * math.log(2 * math.pi)
        return z, (log_qk + math.log(1 - 2 * a) - log_phi).sum(-1)  # (8)

    def inverse(self, z: torch.Tensor) -> torch.Tensor:
        """``y = k + (w - C_{i,k}) / q_{i,k}`` with ``w = (Φ(z) - α) / (1 - 2α)``."""
        check_tensor("z", z, ndim=2, last_dim=self.dim, floating=True)
        log_q, left = self._bins()
        a = self.alpha
        w = ((torch.special.ndtr(z) - a) / (1 - 2 * a)).clamp(0, 1)
        k = (w.detach()[..., None] >= left[None, :, 1:]).sum(-1)  # the bin that holds w
        cols = torch.arange(self.dim, device=z.device)
        return k + (w - left[cols, k]) / log_q[cols, k].exp()


class RealNVP(nn.Module):
    """A stack of affine couplings with alternating masks and a standard-normal base.

    Args:
        dim: D, the data dimension.
        n_couplings: number of coupling layers; layer ``k`` uses mask parity ``k % 2``.
        hidden: width of every coupling's network.
        n_hidden_layers: hidden layers per coupling network.
        mask: ``"half"`` (:func:`half_mask`) or ``"checkerboard"`` (:func:`checkerboard_mask`,
            needs ``dim`` to be a square: the image is ``√D × √D``).
        max_log_scale: the soft bound on every coupling's log-scale.
        preprocess: an optional fixed bijection applied first (e.g. :class:`LogitTransform`),
            with the same ``forward → (z, log_det)`` and ``inverse`` interface.

    Shapes: ``x: (batch, dim)``. ``forward(x)`` returns ``(z, log_det)`` (equations (1)-(2));
    ``inverse(z)`` returns ``x``; ``log_prob(x)`` is ``(batch,)`` in nats;
    ``sample(n)`` is ``(n, dim)``.
    """

    def __init__(
        self,
        dim: int,
        n_couplings: int = 6,
        hidden: int = 64,
        n_hidden_layers: int = 2,
        mask: str = "half",
        max_log_scale: float = 2.0,
        preprocess: nn.Module | None = None,
    ) -> None:
        super().__init__()
        self.dim = check_positive_int("dim", dim)
        self.n_couplings = check_positive_int("n_couplings", n_couplings)
        self.mask_kind = check_choice("mask", mask, ("half", "checkerboard"))
        if preprocess is not None and not isinstance(preprocess, nn.Module):
            raise TypeError(
                f"preprocess must be an nn.Module or None, got {type(preprocess).__name__}"
            )
        if mask == "checkerboard":
            side = math.isqrt(dim)
            if side * side != dim:
                raise ValueError(f"mask='checkerboard' needs dim to be a square number, got {dim}")

            def make(parity: int) -> torch.Tensor:
                return checkerboard_mask(side, parity)
        else:

            def make(parity: int) -> torch.Tensor:
                return half_mask(dim, parity)

        self.preprocess = preprocess
        self.couplings = nn.ModuleList(
            AffineCoupling(make(k % 2), hidden, n_hidden_layers, max_log_scale)
            for k in range(self.n_couplings)
        )

    def extra_repr(self) -> str:
        return f"dim={self.dim}, n_couplings={self.n_couplings}, mask={self.mask_kind!r}"

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """``(z, log_det)``: ``z = f(x)`` and the summed log-determinant of equation (2)."""
        z = check_tensor("x", x, ndim=2, last_dim=self.dim, floating=True)
        log_det = torch.zeros(z.shape[0], dtype=z.dtype, device=z.device)
        if self.preprocess is not None:
            z, ld = self.preprocess(z)
            log_det = log_det + ld
        for layer in self.couplings:
            z, ld = layer(z)
            log_det = log_det + ld  # (2)
        return z, log_det

    def inverse(self, z: torch.Tensor) -> torch.Tensor:
        """``x = f⁻¹(z)``: the couplings' inverses (4) in reverse order."""
        x = check_tensor("z", z, ndim=2, last_dim=self.dim, floating=True)
        for layer in reversed(self.couplings):
            x = layer.inverse(x)
        if self.preprocess is not None:
            x = self.preprocess.inverse(x)
        return x

    def log_prob(self, x: torch.Tensor) -> torch.Tensor:
        """Equation (1): ``log p(x) = log N(f(x); 0, I) + log|det J_f(x)|``, ``(batch,)`` nats."""
        z, log_det = self(x)
        log_pz = -0.5 * (z**2).sum(-1) - 0.5 * self.dim * math.log(2 * math.pi)
        return log_pz + log_det  # (1)

    @torch.no_grad()
    def sample(self, n: int, generator: torch.Generator | None = None) -> torch.Tensor:
        """``n`` samples ``f⁻¹(z)`` with ``z ~ N(0, I)``, shape ``(n, dim)``."""
        n = check_positive_int("n", n)
        p = next(self.parameters())
        z = torch.randn(n, self.dim, generator=generator, dtype=p.dtype)
        return self.inverse(z.to(p.device))


def dequantize(x: torch.Tensor, generator: torch.Generator | None = None) -> torch.Tensor:
    """Uniform dequantisation ``x + u``, ``u ~ U[0,1)`` elementwise (integer-valued ``x``)."""
    check_tensor("x", x, floating=True)
    u = torch.rand(x.shape, generator=generator, dtype=x.dtype)
    return x + u.to(x.device)


def flow_nll_loss(model: RealNVP, x: torch.Tensor) -> torch.Tensor:
    """Mean ``-log p(x)`` over the batch (nats): a ``loss_fn`` for :func:`survey_models.train.fit`."""
    return -model.log_prob(x).mean()


def dequantized_nll_loss(model: RealNVP, x: torch.Tensor) -> torch.Tensor:
    """Mean ``-log p(x + u)`` with fresh ``u ~ U[0,1)`` (PyTorch's global generator): the
    right side of (6) estimated with one noise draw, a ``loss_fn`` for ``fit``."""
    return -model.log_prob(dequantize(x)).mean()


@torch.no_grad()
def dequantized_nll(
    model: RealNVP,
    x: torch.Tensor,
    n_samples: int = 10,
    generator: torch.Generator | None = None,
) -> torch.Tensor:
    """Per-row Monte Carlo estimate of the bound (6), ``E_u[-log p(x + u)]``, ``(batch,)`` nats.

    Averages ``n_samples`` independent noise draws; an upper bound (in expectation) on the
    negative log-probability of the discrete ``x``.
    """
    check_tensor("x", x, ndim=2, floating=True, min_rows=1)
    check_finite_tensor("x", x)
    n_samples = check_positive_int("n_samples", n_samples)
    total = torch.zeros(x.shape[0], dtype=x.dtype, device=x.device)
    for _ in range(n_samples):
        total += -model.log_prob(dequantize(x, generator))
    return total / n_samples
