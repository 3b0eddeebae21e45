"""Exact tiled attention: the online-softmax recurrence of FlashAttention (chapter 4).

Equation numbers refer to the section on tiled attention in chapter 4 of the survey
(``docs/survey/04-transformer.md``). Scaled dot-product attention (chapter 1, equation (5))
for one query row ``q_i`` is

.. math::

    o_i = \\sum_j \\frac{e^{s_{ij}}}{\\sum_{j'} e^{s_{ij'}}} v_j, \\qquad
    s_{ij} = \\frac{q_i^\\top k_j}{\\sqrt{d_k}}.

Split the keys and values into blocks ``K^{(1)}, K^{(2)}, \\dots`` of ``block_size`` rows.
After block ``b`` keep, per query row, the running maximum ``m``, the running normaliser
``\\ell`` and the unnormalised output ``a`` (Milakov & Gimelshein 2018; Rabe & Staats 2021;
Dao et al. 2022):

.. math::

    m^{(b)} = \\max\\big(m^{(b-1)}, \\max_{j \\in b} s_{ij}\\big) \\qquad (1)

.. math::

    \\ell^{(b)} = e^{m^{(b-1)} - m^{(b)}} \\ell^{(b-1)}
        + \\sum_{j \\in b} e^{s_{ij} - m^{(b)}} \\qquad (2)

.. math::

    a^{(b)} = e^{m^{(b-1)} - m^{(b)}} a^{(b-1)}
        + \\sum_{j \\in b} e^{s_{ij} - m^{(b)}} v_j \\qquad (3)

with ``m^{(0)} = -\\infty``, ``\\ell^{(0)} = 0``, ``a^{(0)} = 0``; after the last block

.. math::

    o_i = a^{(B)} / \\ell^{(B)} \\qquad (4)

is exactly the softmax-weighted sum: the factor ``e^{m^{(b-1)} - m^{(b)}}`` rescales what
was accumulated under the old maximum whenever the maximum grows. Only a ``(T_q,
\\text{block\\_size})`` block of scores exists at any time, never the ``T_q \\times T_k``
matrix, and every exponent is ``\\le 0``, so huge logits cannot overflow.

The causal mask follows :func:`torch.nn.functional.scaled_dot_product_attention` with
``is_causal=True``: query ``i`` may attend to key ``j`` when ``j <= i`` (top-left aligned).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

import torch
from torch.utils._python_dispatch import TorchDispatchMode

from ._checks import check_callable, check_positive_int
from .attention import _check_qkv

__all__ = ["tiled_attention", "largest_intermediate"]


def tiled_attention(
    q: torch.Tensor,
    k: torch.Tensor,
    v: torch.Tensor,
    block_size: int,
    causal: bool = False,
) -> torch.Tensor:
    """Exact scaled dot-product attention computed one key/value block at a time.

    q: ``(..., T_q, d_k)``; k: ``(..., T_k, d_k)``; v: ``(..., T_k, d_v)``; the leading
    (batch, head) dimensions must match. ``block_size`` is the number of keys per block
    (any positive int; the last block may be shorter, and ``block_size >= T_k`` is one
    block, i.e. ordinary attention). ``causal=True`` lets query ``i`` see keys ``j <= i``.
    Returns ``(..., T_q, d_v)``, equal (up to rounding) to
    ``F.scaled_dot_product_attention(q, k, v, is_causal=causal)``. Differentiable: autograd
    runs through the loop.
    """
    q, k, v = _check_qkv(q, k, v)
    block_size = check_positive_int("block_size", block_size)
    if not isinstance(causal, bool):
        raise TypeError(f"causal must be a bool, got {type(causal).__name__}")
    t_q, t_k = q.shape[-2], k.shape[-2]
    if t_k == 0:
        raise ValueError(f"k must have at least one position (dim -2), got {tuple(k.shape)}")

    scale = 1.0 / math.sqrt(q.shape[-1])
    lead = q.shape[:-2]
    m = q.new_full((*lead, t_q, 1), -math.inf)  # running max, m^(0) = -inf
    ell = q.new_zeros((*lead, t_q, 1))  # running normaliser, l^(0) = 0
    acc = q.new_zeros((*lead, t_q, v.shape[-1]))  # unnormalised output, a^(0) = 0
    rows = torch.arange(t_q, device=q.device).unsqueeze(-1)  # (T_q, 1)
    for start in range(0, t_k, block_size):
        if causal and start > t_q - 1:
            break  # every later key lies in the future of every query
        stop = min(start + block_size, t_k)
        s = (q @ k[..., start:stop, :].transpose(-2, -1)) * scale  # (..., T_q, block)
        if causal:
            cols = torch.arange(start, stop, device=q.device)  # (block,)
            s = s.masked_fill(cols > rows, -math.inf)
        # The first block always holds key 0, which every query may see, so m is finite
        # from the first block on and no exponent below is (-inf) - (-inf).
        m_new = torch.maximum(m, s.amax(dim=-1, keepdim=True))  # eq. (1)
        rescale = torch.exp(m - m_new)  # e^{m^(b-1) - m^(b)}, 0 on the first block
        p = torch.exp(s - m_new)  # every exponent <= 0
        ell = rescale * ell + p.sum(dim=-1, keepdim=True)  # eq. (2)
        acc = rescale * acc + p @ v[..., start:stop, :]  # eq. (3)
        m = m_new
    return acc / ell  # eq. (4)


class _LargestTensor(TorchDispatchMode):
    """Records the largest number of elements of any tensor an aten op returns."""

    def __init__(self) -> None:
        super().__init__()
        self.largest = 0

    def __torch_dispatch__(self, func, types, args=(), kwargs=None):
        out = func(*args, **(kwargs or {}))
        for t in out if isinstance(out, (tuple, list)) else (out,):
            if isinstance(t, torch.Tensor):
                self.largest = max(self.largest, t.numel())
        return out


def largest_intermediate(fn: Callable[..., Any], *args: Any, **kwargs: Any) -> tuple[Any, int]:
    """Run ``fn(*args, **kwargs)`` and return ``(result, n)``: ``n`` is the largest number of
    elements of any tensor that a PyTorch operator returned during the call (the biggest
    intermediate result held at once, e.g. ``T_q * T_k`` per head for full attention)."""
    fn = check_callable("fn", fn)
    with _LargestTensor() as rec:
        result = fn(*args, **kwargs)
    return result, rec.largest
