"""Attention: the one implementation every model in the package uses (chapters 1 and 4).

Equation numbers refer to chapter 1 of the survey (``docs/survey/01-attention.md``).
Scaled dot-product attention (Vaswani et al. 2017), equation (5):

.. math::

    \\operatorname{Attention}(Q, K, V) = \\operatorname{softmax}\\!\\Big(
        \\frac{Q K^\\top}{\\sqrt{d_k}} + M\\Big) V \\qquad (5)

additive attention (Bahdanau et al. 2015), equation (4):

.. math::

    e_{ij} = v^\\top \\tanh(W s_i + U h_j), \\qquad
    \\alpha_{ij} = \\operatorname{softmax}_j(e_{ij}) \\qquad (4)

and multi-head attention, equation (6):

.. math::

    \\operatorname{MultiHead}(X_q, X_k, X_v) = \\operatorname{Concat}(
        \\mathrm{head}_1, \\dots, \\mathrm{head}_h) W^O, \\quad
    \\mathrm{head}_i = \\operatorname{Attention}(X_q W_i^Q, X_k W_i^K, X_v W_i^V)
    \\qquad (6)

**Mask convention** (the same as :func:`torch.nn.functional.scaled_dot_product_attention`):
a boolean mask is ``True`` where a query *may* attend to a key and ``False`` where it may
not; a floating-point mask is *added* to the scores (``-inf`` forbids). Note that
:class:`torch.nn.MultiheadAttention` uses the opposite boolean convention (``True`` =
forbidden). A query row whose keys are all forbidden has no defined output (NaN).

:func:`scaled_dot_product_attention` is the teaching version, written as the equation,
and returns the attention weights; :func:`fast_scaled_dot_product_attention` calls
PyTorch's fused kernel and returns only the output. Both take the same arguments and the
tests check that they agree.

Decoding with a cache of keys and values (:class:`KVCache`) and multi-query /
grouped-query attention (``n_kv_head`` of :class:`MultiHeadAttention`) are equations
(4)-(6) of chapter 4 (``docs/survey/04-transformer.md``). With a cache, the ``t`` new
queries at positions ``L .. L+t-1`` attend to the stored and the new keys:

.. math::

    o_{L+i} = \\operatorname{softmax}\\!\\Big(\\frac{q_{L+i} [K_{1:L}; K_{L+1:L+i}]^\\top}
        {\\sqrt{d_k}}\\Big) [V_{1:L}; V_{L+1:L+i}] \\qquad (4)

which costs ``O(L)`` per new token instead of recomputing all ``L`` positions; the cache
holds

.. math::

    2 \\cdot n_\\text{layer} \\cdot n_\\text{kv} \\cdot d_\\text{head} \\cdot T
    \\qquad (5)

numbers per sequence of length ``T``. Grouped-query attention lets query head ``i`` of
``h`` read key/value head ``g(i) = \\lfloor i \\, n_\\text{kv} / h \\rfloor``:

.. math::

    \\mathrm{head}_i = \\operatorname{Attention}(X W_i^Q, X W_{g(i)}^K, X W_{g(i)}^V)
    \\qquad (6)

(``n_kv = h``: multi-head; ``n_kv = 1``: multi-query attention, Shazeer 2019; in between:
grouped-query attention, Ainslie et al. 2023).

Rotary position embedding (RoPE; Su et al. 2024), equations (7)-(8) here (chapter 4's
``eq-rope-rotation`` and ``eq-rope-relative``): the query or key ``x`` at position ``p``
has each pair of dimensions ``(2i, 2i+1)`` rotated by the angle ``p θ_i``,

.. math::

    \\begin{pmatrix} x'_{2i} \\\\ x'_{2i+1} \\end{pmatrix} =
    \\begin{pmatrix} \\cos p\\theta_i & -\\sin p\\theta_i \\\\
                    \\sin p\\theta_i & \\cos p\\theta_i \\end{pmatrix}
    \\begin{pmatrix} x_{2i} \\\\ x_{2i+1} \\end{pmatrix}, \\qquad
    \\theta_i = b^{-2i/d} \\qquad (7)

so that the score of a rotated query at ``m`` and key at ``n`` depends on the positions
only through ``m - n``:

.. math::

    \\langle R_m q, R_n k \\rangle = \\langle q, R_{n-m} k \\rangle \\qquad (8)

(``rope=True`` of :class:`MultiHeadAttention`; with a cache, positions continue at the
cache's length).
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import nn

from ._checks import check_positive_float, check_positive_int, check_probability, check_tensor

__all__ = [
    "causal_mask",
    "scaled_dot_product_attention",
    "fast_scaled_dot_product_attention",
    "MultiHeadAttention",
    "KVCache",
    "repeat_kv",
    "rotary_embedding",
    "AdditiveAttention",
    "key_value_recall",
    "RecallModel",
    "recall_loss",
]


def causal_mask(length: int, device: torch.device | str | None = None) -> torch.Tensor:
    """The causal (look-ahead) mask: a boolean ``(length, length)`` lower-triangular matrix.

    Entry ``[i, j]`` is ``True`` when position ``i`` may attend to position ``j``, i.e.
    when ``j <= i``: no position sees the future.
    """
    length = check_positive_int("length", length)
    return torch.ones(length, length, dtype=torch.bool, device=device).tril()


def _check_qkv(q: object, k: object, v: object) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    q = check_tensor("q", q, floating=True)
    k = check_tensor("k", k, floating=True)
    v = check_tensor("v", v, floating=True)
    for name, t in (("q", q), ("k", k), ("v", v)):
        if t.dim() < 2:
            raise ValueError(f"{name} must have shape (..., length, dim), got {tuple(t.shape)}")
    if q.shape[-1] != k.shape[-1]:
        raise ValueError(
            "q and k must have the same last dimension (the key size d_k), got "
            f"q {tuple(q.shape)} and k {tuple(k.shape)}"
        )
    if k.shape[-2] != v.shape[-2]:
        raise ValueError(
            "k and v must have the same number of positions (dim -2), got "
            f"k {tuple(k.shape)} and v {tuple(v.shape)}"
        )
    if not (q.shape[:-2] == k.shape[:-2] == v.shape[:-2]):
        raise ValueError(
            "q, k and v must have the same leading (batch, head) dimensions, got "
            f"q {tuple(q.shape)}, k {tuple(k.shape)}, v {tuple(v.shape)}"
        )
    if not (q.dtype == k.dtype == v.dtype):
        raise ValueError(f"q, k and v must share a dtype, got {q.dtype}, {k.dtype}, {v.dtype}")
    return q, k, v


def _check_mask(mask: object, q: torch.Tensor, k: torch.Tensor) -> torch.Tensor | None:
    """Validate ``mask``: bool or q's float dtype, broadcastable to (..., Tq, Tk)."""
    if mask is None:
        return None
    if not isinstance(mask, torch.Tensor):
        raise TypeError(f"mask must be a torch.Tensor or None, got {type(mask).__name__}")
    if mask.dtype != torch.bool and mask.dtype != q.dtype:
        raise ValueError(
            "mask must be a bool tensor (True = may attend) or a float tensor of "
            f"the same dtype as q ({q.dtype}) added to the scores, got dtype "
            f"{mask.dtype}"
        )
    scores_shape = (*q.shape[:-1], k.shape[-2])
    try:
        shape = torch.broadcast_shapes(mask.shape, scores_shape)
    except RuntimeError:
        shape = None
    if shape != torch.Size(scores_shape):
        raise ValueError(
            f"mask of shape {tuple(mask.shape)} does not broadcast to the "
            f"attention scores' shape {scores_shape} (..., Tq, Tk)"
        )
    return mask


def scaled_dot_product_attention(
    q: torch.Tensor,
    k: torch.Tensor,
    v: torch.Tensor,
    mask: torch.Tensor | None = None,
    dropout: float = 0.0,
    generator: torch.Generator | None = None,
) -> tuple[torch.Tensor, torch.Tensor]:
    """Equation (5), written out: ``softmax(Q Kᵀ / √d_k + M) V``.

    Args:
        q: queries ``(..., Tq, d_k)``.
        k: keys ``(..., Tk, d_k)``.
        v: values ``(..., Tk, d_v)``.
        mask: ``None``, a bool tensor (``True`` = may attend) or a float tensor added to
            the scores, broadcastable to ``(..., Tq, Tk)``.
        dropout: probability of zeroing an attention weight (training only; the kept
            weights are scaled by ``1 / (1 - dropout)``).
        generator: random generator for the dropout.

    Returns:
        ``(output, weights)``: ``output`` is ``(..., Tq, d_v)``; ``weights`` is
        ``(..., Tq, Tk)``, each row a probability distribution over the keys (before
        dropout).
    """
    q, k, v = _check_qkv(q, k, v)
    mask = _check_mask(mask, q, k)
    dropout = check_probability("dropout", dropout)
    d_k = q.shape[-1]
    scores = q @ k.transpose(-2, -1) / math.sqrt(d_k)  # Q Kᵀ / √d_k
    if mask is not None:
        if mask.dtype == torch.bool:
            scores = scores.masked_fill(~mask, float("-inf"))  # forbidden → -∞
        else:
            scores = scores + mask  # + M
    weights = torch.softmax(scores, dim=-1)  # softmax over keys
    attended = weights
    if dropout > 0:
        keep = torch.rand(weights.shape, generator=generator, device=weights.device) >= dropout
        attended = weights * keep / (1.0 - dropout)
    return attended @ v, weights  # (…) V


def fast_scaled_dot_product_attention(
    q: torch.Tensor,
    k: torch.Tensor,
    v: torch.Tensor,
    mask: torch.Tensor | None = None,
    dropout: float = 0.0,
    is_causal: bool = False,
) -> torch.Tensor:
    """The same computation through :func:`torch.nn.functional.scaled_dot_product_attention`.

    Takes the arguments of :func:`scaled_dot_product_attention` (plus ``is_causal``, which
    applies :func:`causal_mask` without building it) and returns only the output
    ``(..., Tq, d_v)``: fused kernels never form the weight matrix.
    """
    q, k, v = _check_qkv(q, k, v)
    mask = _check_mask(mask, q, k)
    dropout = check_probability("dropout", dropout)
    if is_causal and mask is not None:
        raise ValueError("give either mask or is_causal=True, not both")
    return F.scaled_dot_product_attention(
        q, k, v, attn_mask=mask, dropout_p=dropout, is_causal=bool(is_causal)
    )


class KVCache:
    """Keys and values of the positions seen so far, one pair of buffers per layer.

    Autoregressive decoding with a KV cache (equation (4) of chapter 4): the keys and
    values of past positions do not change when a token is appended (causal attention),
    so they are computed once, stored here and read by every later step. The buffers are
    allocated once for ``max_length`` positions: ``keys[l], values[l]: (batch, n_kv_head,
    max_length, d_head)``; the first :attr:`length` positions are filled.

    Memory, equation (5): ``2 · n_layer · batch · n_kv_head · length · d_head`` numbers
    (:attr:`nbytes`); with grouped-query attention ``n_kv_head < n_head`` shrinks it.
    """

    def __init__(
        self,
        n_layer: int,
        batch: int,
        n_kv_head: int,
        max_length: int,
        d_head: int,
        dtype: torch.dtype = torch.float32,
        device: torch.device | str | None = None,
    ) -> None:
        self.n_layer = check_positive_int("n_layer", n_layer)
        self.batch = check_positive_int("batch", batch)
        self.n_kv_head = check_positive_int("n_kv_head", n_kv_head)
        self.max_length = check_positive_int("max_length", max_length)
        self.d_head = check_positive_int("d_head", d_head)
        shape = (batch, n_kv_head, max_length, d_head)
        self.keys = [torch.zeros(shape, dtype=dtype, device=device) for _ in range(n_layer)]
        self.values = [torch.zeros(shape, dtype=dtype, device=device) for _ in range(n_layer)]
        self.length = 0

    def __repr__(self) -> str:
        return (
            f"KVCache(n_layer={self.n_layer}, batch={self.batch}, n_kv_head={self.n_kv_head}, "
            f"length={self.length}/{self.max_length}, d_head={self.d_head})"
        )

    @property
    def nbytes(self) -> int:
        """Bytes held by the filled positions: equation (5) times the element size."""
        item = self.keys[0].element_size()
        return 2 * self.n_layer * self.batch * self.n_kv_head * self.length * self.d_head * item

    def update(
        self, layer: int, k: torch.Tensor, v: torch.Tensor
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """Write ``k, v: (batch, n_kv_head, t, d_head)`` at positions ``length .. length+t-1``
        of ``layer`` and return all keys and values so far, ``(batch, n_kv_head, length+t,
        d_head)`` (views). :attr:`length` moves on only with :meth:`advance`, once every
        layer has been updated."""
        end = self.length + k.shape[2]
        if end > self.max_length:
            raise ValueError(
                f"the cache holds max_length={self.max_length} positions; {self.length} are "
                f"filled and {k.shape[2]} more were given"
            )
        self.keys[layer][:, :, self.length : end] = k
        self.values[layer][:, :, self.length : end] = v
        return self.keys[layer][:, :, :end], self.values[layer][:, :, :end]

    def advance(self, t: int) -> None:
        """Mark ``t`` more positions as filled (after all layers were updated)."""
        self.length += t


def repeat_kv(x: torch.Tensor, n_rep: int) -> torch.Tensor:
    """Share each key/value head among ``n_rep`` query heads (equation (6) of chapter 4).

    ``x: (B, n_kv_head, T, d_head)`` → ``(B, n_kv_head · n_rep, T, d_head)``; query head
    ``i`` reads key/value head ``i // n_rep`` (as ``torch.repeat_interleave`` on dim 1).
    """
    if n_rep == 1:
        return x
    b, h, t, d = x.shape
    return x[:, :, None].expand(b, h, n_rep, t, d).reshape(b, h * n_rep, t, d)


def rotary_embedding(
    x: torch.Tensor, positions: torch.Tensor, base: float = 10000.0
) -> torch.Tensor:
    """Rotary position embedding, equation (7): rotate dims ``(2i, 2i+1)`` by ``p θ_i``.

    Args:
        x: queries or keys ``(..., T, d)`` with an even ``d`` (per head).
        positions: ``(T,)`` positions ``p`` of the ``T`` rows (integers or floats).
        base: ``b`` in ``θ_i = b^{-2i/d}``; the wavelengths run from ``2π`` to about
            ``2π b``.

    Returns the rotated ``x``, same shape and dtype. The angles are computed in float64.
    Position ``0`` is the identity, norms are preserved and, by equation (8),
    ``⟨R_m q, R_n k⟩`` depends only on ``m - n``.
    """
    x = check_tensor("x", x, floating=True)
    if x.dim() < 2 or x.shape[-1] % 2 != 0:
        raise ValueError(
            f"x must have shape (..., length, dim) with an even dim, got {tuple(x.shape)}"
        )
    if not isinstance(positions, torch.Tensor):
        raise TypeError(f"positions must be a torch.Tensor, got {type(positions).__name__}")
    if positions.dim() != 1 or positions.shape[0] != x.shape[-2]:
        raise ValueError(
            f"positions must have shape (length,) = ({x.shape[-2]},), got {tuple(positions.shape)}"
        )
    if positions.is_complex() or positions.dtype == torch.bool:
        raise TypeError(f"positions must be integer or real, got dtype {positions.dtype}")
    base = check_positive_float("base", base)
    if base <= 1:
        raise ValueError(f"base must be > 1, got {base}")
    d = x.shape[-1]
    two_i = torch.arange(0, d, 2, dtype=torch.float64, device=x.device)  # 2i
    theta = base ** (-two_i / d)  # θ_i = b^{-2i/d}
    angle = positions.to(torch.float64).unsqueeze(-1) * theta  # (T, d/2): p θ_i
    cos, sin = angle.cos().to(x.dtype), angle.sin().to(x.dtype)
    x1, x2 = x[..., 0::2], x[..., 1::2]  # pairs (x_{2i}, x_{2i+1})
    out = torch.stack((x1 * cos - x2 * sin, x1 * sin + x2 * cos), dim=-1)  # (7)
    return out.flatten(-2)


def _init_like_linear(weight: torch.Tensor, bias: torch.Tensor | None) -> None:
    # What nn.Linear.reset_parameters draws: Kaiming-uniform weights, biases uniform in
    # ±1/sqrt(fan_in); here on a block of rows of a larger layer.
    with torch.no_grad():
        nn.init.kaiming_uniform_(weight, a=math.sqrt(5))
        if bias is not None:
            bound = 1 / math.sqrt(weight.shape[1])
            nn.init.uniform_(bias, -bound, bound)


class MultiHeadAttention(nn.Module):
    """Multi-head attention, equation (6), batch first; optionally grouped-query.

    Args:
        d_model: width of the queries and of the output; must be divisible by ``n_head``.
        n_head: number of heads ``h``; each head works in ``d_model / n_head`` dimensions.
        dropout: dropout on the attention weights during training.
        bias: whether the four projections have biases.
        kdim, vdim: widths of the key and value inputs (default ``d_model``), for
            cross-attention from a sequence of another width.
        fast: compute with PyTorch's fused kernel (no weights returned) unless weights
            are requested; ``False`` always uses the teaching version.
        n_kv_head: number of key/value heads (default ``n_head``: standard multi-head
            attention). It must divide ``n_head``; each key/value head is shared by
            ``n_head / n_kv_head`` query heads: ``1`` is multi-query attention (Shazeer
            2019), values in between grouped-query attention (Ainslie et al. 2023).
        rope: rotate queries and keys per head with :func:`rotary_embedding` (equation
            (7); ``d_model / n_head`` must be even): query ``i`` sits at position ``i``
            and key ``j`` at ``j`` (after ``cache.length`` cached positions with a cache).
        rope_base: the base ``b`` of the rotation frequencies.

    Shapes: ``query (B, Tq, d_model)``, ``key (B, Tk, kdim)``, ``value (B, Tk, vdim)`` →
    output ``(B, Tq, d_model)``; weights ``(B, n_head, Tq, Tk)``. ``mask`` (bool, ``True``
    = may attend, or float added to the scores) has shape ``(Tq, Tk)``, ``(B, Tq, Tk)`` or
    ``(B, n_head, Tq, Tk)``.

    The per-head matrices are stacked, all heads side by side: ``W^Q`` has ``d_model``
    outputs, ``W^K`` and ``W^V`` have ``n_kv_head · d_head``, and ``out_proj`` is ``W^O``.
    When ``kdim == vdim == d_model`` the three input projections are one layer, ``in_proj``,
    whose rows are ``[W^Q; W^K; W^V]`` (as in :class:`torch.nn.MultiheadAttention`):
    self-attention then projects ``X`` with one matrix product, and the optimiser updates
    one tensor instead of three. Otherwise they are three layers ``q_proj, k_proj, v_proj``.
    Either way :meth:`projection_weights` gives the three ``(weight, bias)`` pairs,
    :meth:`project` applies them, and :meth:`load_from_torch` copies a
    :class:`torch.nn.MultiheadAttention`.
    """

    def __init__(
        self,
        d_model: int,
        n_head: int,
        dropout: float = 0.0,
        bias: bool = True,
        kdim: int | None = None,
        vdim: int | None = None,
        fast: bool = True,
        n_kv_head: int | None = None,
        rope: bool = False,
        rope_base: float = 10000.0,
    ) -> None:
        super().__init__()
        self.d_model = check_positive_int("d_model", d_model)
        self.n_head = check_positive_int("n_head", n_head)
        if not isinstance(rope, bool):
            raise TypeError(f"rope must be a bool, got {type(rope).__name__}")
        self.rope = rope
        self.rope_base = check_positive_float("rope_base", rope_base)
        if self.rope_base <= 1:
            raise ValueError(f"rope_base must be > 1, got {rope_base}")
        if rope and (d_model // n_head) % 2 != 0:
            raise ValueError(
                f"rope needs an even head size d_model / n_head, got {d_model} / {n_head}"
            )
        if d_model % n_head != 0:
            raise ValueError(f"d_model ({d_model}) must be divisible by n_head ({n_head})")
        self.n_kv_head = n_head if n_kv_head is None else check_positive_int("n_kv_head", n_kv_head)
        if n_head % self.n_kv_head != 0:
            raise ValueError(f"n_kv_head ({n_kv_head}) must divide n_head ({n_head})")
        self.kdim = d_model if kdim is None else check_positive_int("kdim", kdim)
        self.vdim = d_model if vdim is None else check_positive_int("vdim", vdim)
        self.dropout = check_probability("dropout", dropout)
        self.d_head = d_model // n_head
        self.fast = bool(fast)
        d_kv = self.n_kv_head * self.d_head
        self._widths = (d_model, d_kv, d_kv)  # outputs of W^Q, W^K, W^V
        self.packed = self.kdim == self.vdim == d_model
        if self.packed:
            # [W^Q; W^K; W^V] in one layer. Each block of rows is initialised as its own
            # nn.Linear would be, in the same order: the same numbers as three layers.
            self.in_proj = nn.utils.skip_init(nn.Linear, d_model, sum(self._widths), bias=bias)
            for weight, b in self.projection_weights():
                _init_like_linear(weight, b)
        else:
            self.q_proj = nn.Linear(d_model, d_model, bias=bias)  # W^Q (all heads)
            self.k_proj = nn.Linear(self.kdim, d_kv, bias=bias)  # W^K (n_kv_head heads)
            self.v_proj = nn.Linear(self.vdim, d_kv, bias=bias)  # W^V
        self.out_proj = nn.Linear(d_model, d_model, bias=bias)  # W^O

    def projection_weights(
        self,
    ) -> tuple[tuple[torch.Tensor, torch.Tensor | None], ...]:
        """``((W^Q, b^Q), (W^K, b^K), (W^V, b^V))``, each weight ``(outputs, inputs)``.

        With ``in_proj`` these are views of its rows (writing into them under
        :func:`torch.no_grad` changes the layer); biases are ``None`` without biases.
        """
        if not self.packed:
            return tuple((lin.weight, lin.bias) for lin in (self.q_proj, self.k_proj, self.v_proj))
        weights = self.in_proj.weight.split(self._widths)
        if self.in_proj.bias is None:
            return tuple((w, None) for w in weights)
        return tuple(zip(weights, self.in_proj.bias.split(self._widths)))

    def project(
        self,
        query: torch.Tensor,
        key: torch.Tensor | None = None,
        value: torch.Tensor | None = None,
    ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """``(X_q W^Q, X_k W^K, X_v W^V)`` for all heads at once, before the split into
        heads: ``(B, Tq, d_model)``, ``(B, Tk, n_kv_head · d_head)`` twice."""
        check_tensor("query", query, ndim=3, last_dim=self.d_model, floating=True)
        key, value = self._keys_and_values(query, key, value)
        return self._project(query, key, value)

    def _keys_and_values(
        self, query: torch.Tensor, key: torch.Tensor | None, value: torch.Tensor | None
    ) -> tuple[torch.Tensor, torch.Tensor]:
        # Omitted key/value mean self-attention; both are checked against the query.
        key = query if key is None else key
        value = key if value is None else value
        check_tensor("key", key, ndim=3, last_dim=self.kdim, floating=True)
        check_tensor("value", value, ndim=3, last_dim=self.vdim, floating=True)
        if key.shape[:2] != value.shape[:2] or key.shape[0] != query.shape[0]:
            raise ValueError(
                "query, key and value must share the batch size and key/value "
                f"the length, got query {tuple(query.shape)}, key "
                f"{tuple(key.shape)}, value {tuple(value.shape)}"
            )
        return key, value

    def _project(
        self, query: torch.Tensor, key: torch.Tensor, value: torch.Tensor
    ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        if self.packed and key is query and value is query:
            return self.in_proj(query).split(self._widths, dim=-1)  # X [W^Q; W^K; W^V]
        (wq, bq), (wk, bk), (wv, bv) = self.projection_weights()
        return F.linear(query, wq, bq), F.linear(key, wk, bk), F.linear(value, wv, bv)

    def extra_repr(self) -> str:
        kv = f", n_kv_head={self.n_kv_head}" if self.n_kv_head != self.n_head else ""
        kv += ", rope=True" if self.rope else ""
        return (
            f"d_model={self.d_model}, n_head={self.n_head}{kv}, d_head={self.d_head}, "
            f"dropout={self.dropout}, fast={self.fast}"
        )

    def _split(self, x: torch.Tensor, heads: int | None = None) -> torch.Tensor:
        # (B, T, heads · d_head) → (B, heads, T, d_head)
        b, t, _ = x.shape
        return x.view(b, t, heads or self.n_head, self.d_head).transpose(1, 2)

    def forward(
        self,
        query: torch.Tensor,
        key: torch.Tensor | None = None,
        value: torch.Tensor | None = None,
        mask: torch.Tensor | None = None,
        need_weights: bool = False,
        is_causal: bool = False,
        cache: KVCache | None = None,
        layer: int = 0,
    ) -> tuple[torch.Tensor, torch.Tensor | None]:
        """Attend from ``query`` to ``key``/``value`` (self-attention when they are omitted).

        ``is_causal=True`` applies :func:`causal_mask` (self-attention only, no ``mask``).
        With ``cache`` (self-attention only, no ``mask``), ``query (B, t, d_model)`` are
        the next ``t`` positions: their keys and values are appended to ``cache`` at
        ``layer`` and the queries attend to all cached positions (causally inside the
        ``t`` new ones when ``is_causal``); the caller then calls ``cache.advance(t)``.
        Returns ``(output, weights)``; ``weights`` is ``None`` unless ``need_weights`` or
        the module was built with ``fast=False``.
        """
        check_tensor("query", query, ndim=3, last_dim=self.d_model, floating=True)
        if cache is not None:
            if not isinstance(cache, KVCache):
                raise TypeError(f"cache must be a KVCache or None, got {type(cache).__name__}")
            if key is not None or value is not None or mask is not None:
                raise ValueError("cache is for self-attention: give no key, value or mask")
            if cache.n_kv_head != self.n_kv_head or cache.d_head != self.d_head:
                raise ValueError(
                    f"cache has n_kv_head={cache.n_kv_head}, d_head={cache.d_head}; this "
                    f"module needs {self.n_kv_head}, {self.d_head}"
                )
            if cache.batch != query.shape[0]:
                raise ValueError(
                    f"cache batch ({cache.batch}) differs from query batch ({query.shape[0]})"
                )
            if not 0 <= int(layer) < cache.n_layer:
                raise ValueError(f"layer must be in 0..{cache.n_layer - 1}, got {layer}")
            return self._attend(query, query, query, None, need_weights, is_causal, cache, layer)
        key, value = self._keys_and_values(query, key, value)
        if is_causal:
            if mask is not None:
                raise ValueError("give either mask or is_causal=True, not both")
            if key.shape[1] != query.shape[1]:
                raise ValueError(
                    "is_causal=True needs as many keys as queries, got "
                    f"{query.shape[1]} queries and {key.shape[1]} keys"
                )
        if mask is not None:
            if not isinstance(mask, torch.Tensor):
                raise TypeError(f"mask must be a torch.Tensor or None, got {type(mask).__name__}")
            if mask.dim() == 3:
                mask = mask.unsqueeze(1)  # (B, 1, Tq, Tk): all heads
            elif mask.dim() not in (2, 4):
                raise ValueError(
                    "mask must have shape (Tq, Tk), (B, Tq, Tk) or "
                    f"(B, n_head, Tq, Tk), got {tuple(mask.shape)}"
                )
        return self._attend(query, key, value, mask, need_weights, is_causal, None, 0)

    def _attend(
        self,
        query: torch.Tensor,
        key: torch.Tensor,
        value: torch.Tensor,
        mask: torch.Tensor | None,
        need_weights: bool,
        is_causal: bool,
        cache: KVCache | None,
        layer: int,
    ) -> tuple[torch.Tensor, torch.Tensor | None]:
        # The computation, on checked inputs (GPT's generation loop calls it directly).
        b, tq, _ = query.shape
        q, k, v = self._project(query, key, value)  # X_q W^Q, X_k W^K, X_v W^V
        q = self._split(q)  # per head
        k, v = self._split(k, self.n_kv_head), self._split(v, self.n_kv_head)
        if self.rope:
            start = 0 if cache is None else cache.length  # positions continue after the cache
            pos_q = torch.arange(start, start + tq, device=q.device)
            pos_k = pos_q if k.shape[2] == tq else torch.arange(k.shape[2], device=k.device)
            q = rotary_embedding(q, pos_q, self.rope_base)  # (7): R_m q
            k = rotary_embedding(k, pos_k, self.rope_base)  # (7): R_n k, cached rotated
        if cache is not None:
            past = cache.length
            k, v = cache.update(layer, k, v)  # (4): reuse the stored keys and values
            if is_causal and tq > 1 and past > 0:
                # new query i sits at position past + i and sees keys 0 .. past + i
                mask = torch.ones(tq, past + tq, dtype=torch.bool, device=query.device).tril(past)
                is_causal = False
            elif tq == 1 or past > 0:
                is_causal = False  # one new query sees every cached key
        n_rep = self.n_head // self.n_kv_head
        k, v = repeat_kv(k, n_rep), repeat_kv(v, n_rep)  # (6): shared K/V heads
        p = self.dropout if self.training else 0.0
        weights = None
        if mask is not None:
            mask = _check_mask(mask, q, k)
        if self.fast and not need_weights:
            out = F.scaled_dot_product_attention(
                q, k, v, attn_mask=mask, dropout_p=p, is_causal=is_causal
            )
        else:
            if is_causal:
                mask = causal_mask(tq, device=query.device)
            out, weights = scaled_dot_product_attention(q, k, v, mask=mask, dropout=p)
        out = out.transpose(1, 2).reshape(b, tq, self.d_model)  # Concat(head_1..head_h)
        return self.out_proj(out), weights  # … W^O

    @torch.no_grad()
    def load_from_torch(self, other: nn.MultiheadAttention) -> MultiHeadAttention:
        """Copy the weights of a :class:`torch.nn.MultiheadAttention` with the same sizes."""
        if not isinstance(other, nn.MultiheadAttention):
            raise TypeError(
                f"other must be a torch.nn.MultiheadAttention, got {type(other).__name__}"
            )
        if other.embed_dim != self.d_model or other.num_heads != self.n_head:
            raise ValueError(
                f"other has embed_dim={other.embed_dim}, num_heads="
                f"{other.num_heads}; expected {self.d_model}, {self.n_head}"
            )
        if self.n_kv_head != self.n_head:
            raise ValueError(
                f"load_from_torch needs n_kv_head == n_head ({self.n_head}), got n_kv_head="
                f"{self.n_kv_head}: torch.nn.MultiheadAttention has one K/V head per query head"
            )
        d = self.d_model
        if other.in_proj_weight is not None:
            theirs = other.in_proj_weight.split(d, dim=0)
        else:
            theirs = (other.q_proj_weight, other.k_proj_weight, other.v_proj_weight)
        ours = self.projection_weights()
        for (w, _), w_other in zip(ours, theirs):
            if w.shape != w_other.shape:
                raise ValueError(
                    f"weight shapes differ: ours {tuple(w.shape)}, other {tuple(w_other.shape)}"
                )
            w.copy_(w_other)
        # A module without biases computes what ours does with zero biases: copy zeros,
        # so that after loading both compute the same function.
        if other.in_proj_bias is not None:
            if ours[0][1] is None:
                raise ValueError("other has biases but this module was built with bias=False")
            for (_, bias), b_other in zip(ours, other.in_proj_bias.split(d, dim=0)):
                bias.copy_(b_other)
        elif ours[0][1] is not None:
            for _, bias in ours:
                bias.zero_()
        self.out_proj.weight.copy_(other.out_proj.weight)
        if other.out_proj.bias is not None:
            if self.out_proj.bias is None:
                raise ValueError(
                    "other has an output bias but this module was built with bias=False"
                )
            self.out_proj.bias.copy_(other.out_proj.bias)
        elif self.out_proj.bias is not None:
            self.out_proj.bias.zero_()
        return self


class AdditiveAttention(nn.Module):
    """Additive (Bahdanau) attention, equation (4): ``e_ij = vᵀ tanh(W s_i + U h_j)``.

    Args:
        query_dim: width of a query ``s_i`` (in the original, the decoder state).
        key_dim: width of a key ``h_j`` (the encoder annotations).
        hidden_dim: width of the hidden layer inside the score.

    Shapes: ``query (B, Tq, query_dim)`` or ``(B, query_dim)`` (one query per example),
    ``keys (B, Tk, key_dim)``, ``values (B, Tk, d_v)`` (default: the keys), ``mask``
    bool ``(B, Tk)`` or ``(B, Tq, Tk)`` with ``True`` = may attend. Returns ``(context,
    weights)``: ``context (B, Tq, d_v)`` and ``weights (B, Tq, Tk)`` (the query's
    ``Tq`` axis dropped when a single query per example was given).
    """

    def __init__(self, query_dim: int, key_dim: int, hidden_dim: int) -> None:
        super().__init__()
        self.query_dim = check_positive_int("query_dim", query_dim)
        self.key_dim = check_positive_int("key_dim", key_dim)
        self.hidden_dim = check_positive_int("hidden_dim", hidden_dim)
        self.W = nn.Linear(query_dim, hidden_dim, bias=False)  # W s_i
        self.U = nn.Linear(key_dim, hidden_dim, bias=True)  # U h_j (+ bias)
        self.v = nn.Linear(hidden_dim, 1, bias=False)  # vᵀ

    def extra_repr(self) -> str:
        return f"query_dim={self.query_dim}, key_dim={self.key_dim}, hidden_dim={self.hidden_dim}"

    def forward(
        self,
        query: torch.Tensor,
        keys: torch.Tensor,
        values: torch.Tensor | None = None,
        mask: torch.Tensor | None = None,
    ) -> tuple[torch.Tensor, torch.Tensor]:
        check_tensor("query", query, last_dim=self.query_dim, floating=True)
        single = query.dim() == 2
        if single:
            query = query.unsqueeze(1)
        check_tensor("query", query, ndim=3)
        check_tensor("keys", keys, ndim=3, last_dim=self.key_dim, floating=True)
        values = keys if values is None else check_tensor("values", values, ndim=3, floating=True)
        if keys.shape[0] != query.shape[0] or values.shape[:2] != keys.shape[:2]:
            raise ValueError(
                "query, keys and values must share the batch size and keys/values "
                f"the length, got query {tuple(query.shape)}, keys "
                f"{tuple(keys.shape)}, values {tuple(values.shape)}"
            )
        # (B, Tq, 1, H) + (B, 1, Tk, H) → tanh → vᵀ → scores (B, Tq, Tk)
        scores = self.v(torch.tanh(self.W(query).unsqueeze(2) + self.U(keys).unsqueeze(1)))
        scores = scores.squeeze(-1)
        if mask is not None:
            if not isinstance(mask, torch.Tensor) or mask.dtype != torch.bool:
                raise ValueError(
                    "mask must be a bool tensor (True = may attend), got "
                    f"{getattr(mask, 'dtype', type(mask).__name__)}"
                )
            if mask.dim() == 2:
                mask = mask.unsqueeze(1)
            if (
                mask.dim() != 3
                or mask.shape[0] != scores.shape[0]
                or mask.shape[-1] != scores.shape[-1]
            ):
                raise ValueError(
                    f"mask must have shape (B, Tk) or (B, Tq, Tk) = "
                    f"{tuple(scores.shape)}, got {tuple(mask.shape)}"
                )
            scores = scores.masked_fill(~mask, float("-inf"))
        weights = torch.softmax(scores, dim=-1)  # α_ij
        context = weights @ values  # c_i = Σ_j α_ij h_j
        if single:
            return context.squeeze(1), weights.squeeze(1)
        return context, weights


# --- a small task where the answer depends on one distant token ----------------------------


def key_value_recall(
    n: int,
    n_pairs: int = 16,
    n_keys: int = 32,
    n_values: int = 10,
    generator: torch.Generator | None = None,
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor]:
    """Associative recall: ``n_pairs`` (key, value) pairs, then a query key; answer its value.

    Keys within a sequence are distinct (drawn without replacement from ``n_keys``);
    values are uniform on ``n_values``. Returns ``keys (n, n_pairs)``, ``values (n,
    n_pairs)``, ``query (n,)``, ``target (n,)`` and ``where (n,)``, the index of the pair
    holding the answer (so the distance from the query is ``n_pairs - where``).
    """
    n = check_positive_int("n", n)
    n_pairs = check_positive_int("n_pairs", n_pairs)
    n_keys = check_positive_int("n_keys", n_keys)
    n_values = check_positive_int("n_values", n_values)
    if n_keys < n_pairs:
        raise ValueError(
            f"n_keys ({n_keys}) must be at least n_pairs ({n_pairs}) for distinct keys"
        )
    keys = torch.rand(n, n_keys, generator=generator).argsort(dim=1)[:, :n_pairs]
    values = torch.randint(n_values, (n, n_pairs), generator=generator)
    where = torch.randint(n_pairs, (n,), generator=generator)
    rows = torch.arange(n)
    return keys, values, keys[rows, where], values[rows, where], where


class RecallModel(nn.Module):
    """One attention step from a query key to a sequence of (key, value) pair tokens.

    Each pair is embedded as ``E_k[key] + E_v[value]`` (no positions: the order carries no
    information in this task), the query as ``E_q[query]``; one attention layer reads a
    weighted average of the pairs and a small MLP decodes the value.

    Args:
        n_keys, n_values: vocabulary sizes.
        d_model: embedding width.
        kind: ``"dot"`` (:class:`MultiHeadAttention` with one head), ``"additive"``
            (:class:`AdditiveAttention`) or ``"uniform"`` (a fixed average over all
            pairs: input-independent weights, the baseline).

    ``forward(keys (B, P), values (B, P), query (B,)) -> (logits (B, n_values), weights
    (B, P))``.
    """

    def __init__(self, n_keys: int, n_values: int, d_model: int = 32, kind: str = "dot") -> None:
        super().__init__()
        self.n_keys = check_positive_int("n_keys", n_keys)
        self.n_values = check_positive_int("n_values", n_values)
        self.d_model = check_positive_int("d_model", d_model)
        if kind not in ("dot", "additive", "uniform"):
            raise ValueError(f"kind must be one of ('dot', 'additive', 'uniform'), got {kind!r}")
        self.kind = kind
        self.key_embedding = nn.Embedding(n_keys, d_model)
        self.value_embedding = nn.Embedding(n_values, d_model)
        self.query_embedding = nn.Embedding(n_keys, d_model)
        if kind == "dot":
            self.attention: nn.Module | None = MultiHeadAttention(d_model, 1, fast=False)
        elif kind == "additive":
            self.attention = AdditiveAttention(d_model, d_model, d_model)
        else:
            self.attention = None
        self.readout = nn.Sequential(
            nn.Linear(d_model, 2 * d_model), nn.ReLU(), nn.Linear(2 * d_model, n_values)
        )

    def forward(
        self, keys: torch.Tensor, values: torch.Tensor, query: torch.Tensor
    ) -> tuple[torch.Tensor, torch.Tensor]:
        for name, t in (("keys", keys), ("values", values), ("query", query)):
            check_tensor(name, t)
            if t.dtype != torch.long:
                raise TypeError(f"{name} must be an int64 tensor of ids, got dtype {t.dtype}")
        if keys.shape != values.shape or keys.dim() != 2 or query.shape != keys.shape[:1]:
            raise ValueError(
                "keys and values must be (B, P) and query (B,), got "
                f"{tuple(keys.shape)}, {tuple(values.shape)}, {tuple(query.shape)}"
            )
        pairs = self.key_embedding(keys) + self.value_embedding(values)  # (B, P, d)
        q = self.query_embedding(query).unsqueeze(1)  # (B, 1, d)
        if self.kind == "dot":
            context, w = self.attention(q, pairs, pairs, need_weights=True)
            context, w = context[:, 0], w[:, 0, 0]
        elif self.kind == "additive":
            context, w = self.attention(q[:, 0], pairs)
        else:
            w = torch.full(keys.shape, 1.0 / keys.shape[1])
            context = pairs.mean(dim=1)
        return self.readout(context), w


def recall_loss(
    model: RecallModel,
    keys: torch.Tensor,
    values: torch.Tensor,
    query: torch.Tensor,
    target: torch.Tensor,
) -> torch.Tensor:
    """Cross-entropy of the recalled value (a ``loss_fn`` for :func:`survey_models.train.fit`)."""
    return F.cross_entropy(model(keys, values, query)[0], target)
