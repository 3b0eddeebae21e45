"""RMSNorm (Zhang & Sennrich 2019) and the SwiGLU feed-forward layer (Shazeer 2020).

Both are the parts of a LLaMA-style block (Touvron et al. 2023) that differ from the
GPT-2 block of :class:`~survey_models.transformer.TransformerBlock`: pre-norm with RMSNorm
in place of layer norm, and a gated MLP in place of ``W_2 GELU(W_1 x)``. Equations (N1)-(N2)
below are ``eq-norms-rms`` and ``eq-norms-swiglu`` of chapter 4 (``docs/survey/04-transformer.md``).

RMSNorm rescales each vector by its root mean square and a learned gain ``g``, with no
mean subtraction and no bias:

.. math::

    \\operatorname{RMSNorm}(x) = \\frac{x}{\\sqrt{\\frac{1}{d}\\sum_{i=1}^{d} x_i^2 + \\epsilon}}
    \\odot g \\qquad (N1)

so it is invariant to rescaling its input: ``RMSNorm(c x) = RMSNorm(x)`` for ``c > 0``
when ``ε = 0``. SwiGLU is a gated linear unit with the SiLU (swish) gate:

.. math::

    \\operatorname{FFN}_\\text{SwiGLU}(x) = W_2\\bigl(\\operatorname{SiLU}(W_1 x) \\odot W_3 x\\bigr),
    \\qquad \\operatorname{SiLU}(z) = z\\,\\sigma(z) \\qquad (N2)

with three bias-free matrices (``W_1, W_3: d → d_ff``, ``W_2: d_ff → d``); a hidden width
of ``d_ff ≈ (2/3)·4d`` keeps the parameter count of the two-matrix MLP.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from ._checks import check_nonnegative_float, check_positive_int, check_tensor

__all__ = ["RMSNorm", "SwiGLU"]


class RMSNorm(nn.Module):
    """Root-mean-square layer normalisation, equation (N1), over the last dimension.

    Args:
        d: size of the normalised (last) dimension.
        eps: added to the mean square before the square root (``0`` is allowed; then an
            all-zero row gives NaN).

    Shapes: ``x (..., d)`` → ``(..., d)``. ``weight`` is the gain ``g`` (initialised to
    ones); the same parameter name as :class:`torch.nn.RMSNorm`.
    """

    def __init__(self, d: int, eps: float = 1e-6) -> None:
        super().__init__()
        self.d = check_positive_int("d", d)
        self.eps = check_nonnegative_float("eps", eps)
        self.weight = nn.Parameter(torch.ones(self.d))

    def extra_repr(self) -> str:
        return f"{self.d}, eps={self.eps}"

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Normalise ``x (..., d)`` by its root mean square and scale by ``weight``."""
        check_tensor("x", x, last_dim=self.d, floating=True)
        mean_square = x.pow(2).mean(dim=-1, keepdim=True)  # (1/d) Σ x_i², (N1)
        return x * torch.rsqrt(mean_square + self.eps) * self.weight  # (N1)


class SwiGLU(nn.Module):
    """The SwiGLU feed-forward layer, equation (N2).

    Args:
        d: input and output width (the residual stream).
        d_ff: hidden width of the gate and value branches.

    Shapes: ``x (..., d)`` → ``(..., d)``. ``w1`` (gate), ``w3`` (value) and ``w2``
    (output) are bias-free :class:`torch.nn.Linear` layers, named as in LLaMA.
    """

    def __init__(self, d: int, d_ff: int) -> None:
        super().__init__()
        self.d = check_positive_int("d", d)
        self.d_ff = check_positive_int("d_ff", d_ff)
        self.w1 = nn.Linear(self.d, self.d_ff, bias=False)
        self.w3 = nn.Linear(self.d, self.d_ff, bias=False)
        self.w2 = nn.Linear(self.d_ff, self.d, bias=False)

    def extra_repr(self) -> str:
        return f"d={self.d}, d_ff={self.d_ff}"

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Apply ``W_2 (SiLU(W_1 x) ⊙ W_3 x)`` to ``x (..., d)``."""
        check_tensor("x", x, last_dim=self.d, floating=True)
        return self.w2(F.silu(self.w1(x)) * self.w3(x))  # (N2)
