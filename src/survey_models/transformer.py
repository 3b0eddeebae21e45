"""The Transformer (Vaswani et al. 2017) and a tiny GPT (Radford et al. 2018, 2019).

A block, equations (1)-(2) of chapter 4 (``docs/survey/04-transformer.md``), in the
pre-norm form GPT-2 uses:

.. math::

    X' = X + \\operatorname{MultiHead}(\\operatorname{LN}(X)) \\qquad (1)

    Y = X' + \\operatorname{MLP}(\\operatorname{LN}(X')) \\qquad (2)

or, post-norm as in the original Transformer, ``X' = LN(X + MultiHead(X))`` and
``Y = LN(X' + MLP(X'))``. The sinusoidal positional encoding is equation (3):

.. math::

    PE_{(p, 2i)} = \\sin(p / 10000^{2i/d}), \\qquad
    PE_{(p, 2i+1)} = \\cos(p / 10000^{2i/d}) \\qquad (3)

``positional="rope"`` adds nothing to the embeddings and instead rotates every query and
key inside attention (:func:`~survey_models.attention.rotary_embedding`, Su et al. 2024).

:class:`GPT` is a decoder-only Transformer: token embedding + positions, ``n_layer``
causal blocks, a final layer norm and a linear head giving next-token logits. Train it
with :func:`lm_loss` through :func:`survey_models.train.fit`::

    from survey_models.transformer import GPT, lm_loss
    model = GPT(vocab_size=65, block_size=64)
    fit(model, lm_loss, (x, y), steps=400, batch_size=32, lr=3e-3)

Targets equal to ``-100`` are ignored by :func:`lm_loss`, so a task can train on the
answer tokens only.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import nn

from ._checks import (
    check_choice,
    check_positive_float,
    check_positive_int,
    check_probability,
    check_tensor,
)
from .attention import KVCache, MultiHeadAttention

__all__ = [
    "sinusoidal_positional_encoding",
    "TransformerBlock",
    "GPT",
    "lm_loss",
    "IGNORE_INDEX",
]

IGNORE_INDEX = -100
"""Target value that :func:`lm_loss` skips (the same default as :func:`torch.nn.functional.cross_entropy`)."""

POSITIONAL = ("learned", "sinusoidal", "rope", "none")


def sinusoidal_positional_encoding(length: int, d_model: int) -> torch.Tensor:
    """Equation (3) of chapter 4: a ``(length, d_model)`` float32 matrix of sines and cosines.

    Column ``2i`` holds ``sin(p / 10000^{2i/d_model})`` and column ``2i+1`` the cosine of
    the same angle; wavelengths grow geometrically from ``2π`` to ``10000·2π``.
    """
    length = check_positive_int("length", length)
    d_model = check_positive_int("d_model", d_model)
    position = torch.arange(length, dtype=torch.float64).unsqueeze(1)  # p
    two_i = torch.arange(0, d_model, 2, dtype=torch.float64)  # 2i
    angle = position / torch.pow(10000.0, two_i / d_model)  # p / 10000^{2i/d}
    pe = torch.zeros(length, d_model, dtype=torch.float64)
    pe[:, 0::2] = torch.sin(angle)
    pe[:, 1::2] = torch.cos(angle[:, : d_model // 2])
    return pe.float()


def _dropout(layer: nn.Dropout, x: torch.Tensor) -> torch.Tensor:
    # Dropout is the identity in eval mode and at p = 0: skip the call. Its overhead, seven
    # calls per forward, is 3 % of a forward in the token-by-token generation loop.
    return layer(x) if layer.training and layer.p > 0 else x


class TransformerBlock(nn.Module):
    """One Transformer block: multi-head self-attention and an MLP, each with a residual.

    Args:
        d_model: width of the residual stream.
        n_head: attention heads (``d_model`` must be divisible by it).
        d_ff: hidden width of the MLP (default ``4 * d_model``).
        dropout: dropout on attention weights and on each residual branch.
        norm_first: ``True`` for pre-norm (GPT-2, equations (1)-(2)), ``False`` for the
            post-norm of the original Transformer.
        activation: ``"gelu"`` (GPT) or ``"relu"`` (original Transformer).
        fast: use the fused attention kernel when weights are not requested.
        n_kv_head: key/value heads of the attention (default ``n_head``; see
            :class:`~survey_models.attention.MultiHeadAttention`).
        rope: rotary position embedding of queries and keys in the attention.

    Shapes: ``x (B, T, d_model)`` → ``(B, T, d_model)``. The submodules are named like
    :class:`torch.nn.TransformerEncoderLayer`'s (``self_attn``, ``linear1``, ``linear2``,
    ``norm1``, ``norm2``), and :meth:`load_from_torch` copies one.
    """

    def __init__(
        self,
        d_model: int,
        n_head: int,
        d_ff: int | None = None,
        dropout: float = 0.0,
        norm_first: bool = True,
        activation: str = "gelu",
        fast: bool = True,
        n_kv_head: int | None = None,
        rope: bool = False,
    ) -> None:
        super().__init__()
        self.d_model = check_positive_int("d_model", d_model)
        self.d_ff = 4 * d_model if d_ff is None else check_positive_int("d_ff", d_ff)
        self.dropout_p = check_probability("dropout", dropout)
        self.norm_first = bool(norm_first)
        self.activation = check_choice("activation", activation, ("gelu", "relu"))
        self.self_attn = MultiHeadAttention(
            d_model, n_head, dropout=dropout, fast=fast, n_kv_head=n_kv_head, rope=rope
        )
        self.linear1 = nn.Linear(d_model, self.d_ff)
        self.linear2 = nn.Linear(self.d_ff, d_model)
        self.norm1 = nn.LayerNorm(d_model)
        self.norm2 = nn.LayerNorm(d_model)
        self.dropout1 = nn.Dropout(dropout)
        self.dropout2 = nn.Dropout(dropout)
        self.dropout_ff = nn.Dropout(dropout)

    def extra_repr(self) -> str:
        return f"norm_first={self.norm_first}, activation={self.activation!r}, d_ff={self.d_ff}"

    def _attention(
        self, x: torch.Tensor, mask: torch.Tensor | None, is_causal: bool, need_weights: bool
    ) -> tuple[torch.Tensor, torch.Tensor | None]:
        out, weights = self.self_attn(x, mask=mask, is_causal=is_causal, need_weights=need_weights)
        return _dropout(self.dropout1, out), weights

    def _causal(
        self,
        x: torch.Tensor,
        cache: KVCache | None = None,
        layer: int = 0,
        last_only: bool = False,
    ) -> torch.Tensor:
        # Pre-norm causal block on a checked input, optionally reading/writing ``cache``
        # (GPT's forward and generation loop call it: no per-call argument checks).
        # ``last_only``: return the last position only, whose MLP is all that is computed.
        h = self.norm1(x)
        a, _ = self.self_attn._attend(h, h, h, None, False, True, cache, layer)
        x = x + _dropout(self.dropout1, a)  # (1)
        if last_only:
            x = x[:, -1:]
        return x + self._mlp(self.norm2(x))  # (2)

    def _mlp(self, x: torch.Tensor) -> torch.Tensor:
        act = F.gelu if self.activation == "gelu" else F.relu
        return _dropout(
            self.dropout2, self.linear2(_dropout(self.dropout_ff, act(self.linear1(x))))
        )

    def forward(
        self,
        x: torch.Tensor,
        mask: torch.Tensor | None = None,
        is_causal: bool = False,
        need_weights: bool = False,
    ) -> torch.Tensor | tuple[torch.Tensor, torch.Tensor | None]:
        """Apply the block. ``mask``/``is_causal`` as in :class:`MultiHeadAttention`.

        Returns the output, or ``(output, attention weights (B, n_head, T, T))`` when
        ``need_weights``.
        """
        check_tensor("x", x, ndim=3, last_dim=self.d_model, floating=True)
        if self.norm_first:
            a, weights = self._attention(self.norm1(x), mask, is_causal, need_weights)
            x = x + a  # (1)
            x = x + self._mlp(self.norm2(x))  # (2)
        else:
            a, weights = self._attention(x, mask, is_causal, need_weights)
            x = self.norm1(x + a)
            x = self.norm2(x + self._mlp(x))
        return (x, weights) if need_weights else x

    @torch.no_grad()
    def load_from_torch(self, other: nn.TransformerEncoderLayer) -> TransformerBlock:
        """Copy the weights of a :class:`torch.nn.TransformerEncoderLayer` of the same sizes."""
        if not isinstance(other, nn.TransformerEncoderLayer):
            raise TypeError(
                f"other must be a torch.nn.TransformerEncoderLayer, got {type(other).__name__}"
            )
        self.self_attn.load_from_torch(other.self_attn)
        for name in ("linear1", "linear2", "norm1", "norm2"):
            getattr(self, name).load_state_dict(getattr(other, name).state_dict())
        return self


class GPT(nn.Module):
    """A tiny decoder-only Transformer language model (GPT; Radford et al. 2018, 2019).

    Args:
        vocab_size: number of token ids; inputs are integers in ``[0, vocab_size)``.
        block_size: the longest context the model sees (length of the position table).
        n_layer: number of causal :class:`TransformerBlock` s (pre-norm, GELU).
        n_head: attention heads per block.
        d_model: width of the residual stream (divisible by ``n_head``).
        dropout: dropout on embeddings, attention weights and residual branches.
        positional: ``"learned"`` (a trained table, as in GPT), ``"sinusoidal"``
            (equation (3), fixed), ``"rope"`` (rotary position embedding of queries and
            keys in every attention layer, no additive table; the head size
            ``d_model / n_head`` must be even) or ``"none"``.
        n_kv_head: key/value heads per block (default ``n_head``); a divisor of
            ``n_head``: ``1`` is multi-query, values in between grouped-query attention
            (equation (6)); the KV cache shrinks in proportion.

    Shapes: ``idx (B, T)`` int64 with ``T <= block_size`` → logits ``(B, T, vocab_size)``;
    ``logits[:, t]`` scores the token at position ``t + 1`` given tokens ``0..t``.

    :meth:`generate` decodes with a :class:`~survey_models.attention.KVCache` by default
    (equations (4)-(5)): the prompt is run once, then each new token runs through the
    blocks alone, at its own position, attending to the cached keys and values.
    """

    def __init__(
        self,
        vocab_size: int,
        block_size: int,
        n_layer: int = 2,
        n_head: int = 4,
        d_model: int = 128,
        dropout: float = 0.0,
        positional: str = "learned",
        n_kv_head: int | None = None,
    ) -> None:
        super().__init__()
        self.vocab_size = check_positive_int("vocab_size", vocab_size)
        self.block_size = check_positive_int("block_size", block_size)
        self.n_layer = check_positive_int("n_layer", n_layer)
        self.n_head = check_positive_int("n_head", n_head)
        self.d_model = check_positive_int("d_model", d_model)
        if d_model % n_head != 0:
            raise ValueError(f"d_model ({d_model}) must be divisible by n_head ({n_head})")
        check_probability("dropout", dropout)
        self.n_kv_head = n_head if n_kv_head is None else check_positive_int("n_kv_head", n_kv_head)
        if n_head % self.n_kv_head != 0:
            raise ValueError(f"n_kv_head ({n_kv_head}) must divide n_head ({n_head})")
        self.positional = check_choice("positional", positional, POSITIONAL)
        if positional == "rope" and (d_model // n_head) % 2 != 0:
            raise ValueError(
                f"positional='rope' needs an even head size d_model / n_head, got "
                f"{d_model} / {n_head}"
            )
        self.token_embedding = nn.Embedding(vocab_size, d_model)
        if positional == "learned":
            self.position_embedding: nn.Embedding | None = nn.Embedding(block_size, d_model)
        else:
            self.position_embedding = None
        if positional == "sinusoidal":
            self.register_buffer(
                "sinusoidal", sinusoidal_positional_encoding(block_size, d_model), persistent=False
            )
        self.drop = nn.Dropout(dropout)
        self.blocks = nn.ModuleList(
            TransformerBlock(
                d_model,
                n_head,
                dropout=dropout,
                norm_first=True,
                activation="gelu",
                n_kv_head=self.n_kv_head,
                rope=positional == "rope",
            )
            for _ in range(n_layer)
        )
        self.norm = nn.LayerNorm(d_model)
        self.head = nn.Linear(d_model, vocab_size, bias=False)
        self.apply(self._init_weights)
        # GPT-2's scaled initialisation of the projections that write into the residual
        # stream: std 0.02 / sqrt(2 * n_layer).
        for block in self.blocks:
            for lin in (block.self_attn.out_proj, block.linear2):
                nn.init.normal_(lin.weight, std=0.02 / math.sqrt(2 * n_layer))

    @staticmethod
    def _init_weights(module: nn.Module) -> None:
        if isinstance(module, (nn.Linear, nn.Embedding)):
            nn.init.normal_(module.weight, std=0.02)
        if isinstance(module, nn.Linear) and module.bias is not None:
            nn.init.zeros_(module.bias)

    def extra_repr(self) -> str:
        return (
            f"vocab_size={self.vocab_size}, block_size={self.block_size}, "
            f"positional={self.positional!r}, n_kv_head={self.n_kv_head}"
        )

    def num_parameters(self) -> int:
        """Number of trainable parameters."""
        return sum(p.numel() for p in self.parameters() if p.requires_grad)

    def _check_idx(self, idx: object) -> torch.Tensor:
        if not isinstance(idx, torch.Tensor):
            raise TypeError(f"idx must be a torch.Tensor, got {type(idx).__name__}")
        if idx.dtype != torch.long:
            raise TypeError(f"idx must be an int64 (long) tensor of token ids, got {idx.dtype}")
        if idx.dim() != 2:
            raise ValueError(f"idx must have shape (batch, length), got {tuple(idx.shape)}")
        if idx.shape[1] == 0 or idx.shape[1] > self.block_size:
            raise ValueError(
                f"idx length must be in 1..block_size={self.block_size}, got {idx.shape[1]}"
            )
        if idx.numel() and (int(idx.min()) < 0 or int(idx.max()) >= self.vocab_size):
            raise ValueError(
                f"idx values must lie in [0, vocab_size={self.vocab_size}), got "
                f"range [{int(idx.min())}, {int(idx.max())}]"
            )
        return idx

    def embed(
        self, idx: torch.Tensor, prefix: torch.Tensor | None = None, start: int = 0
    ) -> torch.Tensor:
        """Token embeddings plus positions: ``(B, T)`` → ``(B, T, d_model)``.

        With ``prefix: (B, P, d_model)`` (embeddings from elsewhere, e.g. an image) the
        sequence is ``[prefix; tokens]`` and positions ``0..P+T-1`` are added to it:
        ``(B, P + T, d_model)``. ``start`` shifts the positions to ``start ..
        start+T-1`` (the next tokens after ``start`` cached ones).
        """
        if not isinstance(idx, torch.Tensor) or idx.dtype != torch.long or idx.dim() != 2:
            raise TypeError("idx must be an int64 (long) tensor of shape (batch, length)")
        return self._embed(idx, prefix, start)

    def _embed(self, idx: torch.Tensor, prefix: torch.Tensor | None, start: int) -> torch.Tensor:
        x = self.token_embedding(idx)
        if prefix is not None:
            x = torch.cat([prefix, x], dim=1)
        t = x.shape[1]
        if self.position_embedding is not None:
            x = x + self.position_embedding.weight[start : start + t]
        elif self.positional == "sinusoidal":
            x = x + self.sinusoidal[start : start + t]
        return _dropout(self.drop, x)

    def new_cache(self, batch: int) -> KVCache:
        """An empty :class:`~survey_models.attention.KVCache` for ``batch`` sequences of up
        to ``block_size`` positions, in the model's dtype and device."""
        w = self.token_embedding.weight
        return KVCache(
            self.n_layer,
            batch,
            self.n_kv_head,
            self.block_size,
            self.d_model // self.n_head,
            dtype=w.dtype,
            device=w.device,
        )

    def _forward(
        self,
        idx: torch.Tensor,
        prefix: torch.Tensor | None = None,
        cache: KVCache | None = None,
        last_only: bool = False,
    ) -> torch.Tensor:
        # Logits on checked inputs. With ``cache`` the tokens sit at positions
        # cache.length .. and their keys/values are appended. ``last_only`` returns the
        # logits of the last position only (all generation needs): every block but the
        # last still runs at every position (the next block's keys and values need them),
        # the last block's MLP and the output head run at the last position only.
        start = 0 if cache is None else cache.length
        x = self._embed(idx, prefix, start)
        length = x.shape[1]
        for layer, block in enumerate(self.blocks):
            x = block._causal(x, cache, layer, last_only and layer == self.n_layer - 1)
        if cache is not None:
            cache.advance(length)
        if prefix is not None and not last_only:
            x = x[:, prefix.shape[1] :]  # only the token positions are scored
        return self.head(self.norm(x))

    def forward(
        self,
        idx: torch.Tensor,
        return_attention: bool = False,
        prefix: torch.Tensor | None = None,
        cache: KVCache | None = None,
    ) -> torch.Tensor | tuple[torch.Tensor, list[torch.Tensor]]:
        """Next-token logits ``(B, T, vocab_size)``.

        With ``return_attention`` also a list (one per layer) of causal attention weights
        ``(B, n_head, S, S)``, computed by the teaching attention (``S = T`` without a
        prefix).

        ``prefix: (B, P, d_model)``, optional, are embeddings read before the tokens (the
        image tokens of an image-conditioned LM): the blocks see ``[prefix; tokens]``
        (``P + T <= block_size``, positions counted from the first prefix vector) and the
        logits of the ``T`` token positions are returned, so ``logits[:, t]`` still
        scores token ``t + 1``. Without it nothing changes (the same operations as before).

        ``cache`` (from :meth:`new_cache`; not with ``prefix`` or ``return_attention``):
        ``idx`` are the next ``T`` tokens after the ``cache.length`` already cached, at
        positions ``cache.length .. cache.length+T-1`` (at most ``block_size`` in all);
        their keys and values are appended to the cache and ``logits (B, T, vocab_size)``
        equal those of the full sequence at these positions (up to float rounding).
        """
        self._check_idx(idx)
        if cache is not None:
            if not isinstance(cache, KVCache):
                raise TypeError(f"cache must be a KVCache or None, got {type(cache).__name__}")
            if prefix is not None or return_attention:
                raise ValueError("cache cannot be combined with prefix or return_attention")
            if (cache.n_layer, cache.n_kv_head, cache.d_head) != (
                self.n_layer,
                self.n_kv_head,
                self.d_model // self.n_head,
            ):
                raise ValueError(
                    "cache does not fit this model: use model.new_cache(batch), got " + repr(cache)
                )
            if cache.batch != idx.shape[0]:
                raise ValueError(
                    f"cache batch ({cache.batch}) differs from idx batch ({idx.shape[0]})"
                )
            if cache.length + idx.shape[1] > self.block_size:
                raise ValueError(
                    f"cache length + idx length must be <= block_size={self.block_size}, "
                    f"got {cache.length} + {idx.shape[1]}"
                )
            return self._forward(idx, cache=cache)
        p = 0
        if prefix is not None:
            check_tensor("prefix", prefix, ndim=3, last_dim=self.d_model, floating=True)
            p = prefix.shape[1]
            if prefix.shape[0] != idx.shape[0]:
                raise ValueError(
                    f"prefix must have the batch size of idx ({idx.shape[0]}), got "
                    f"shape {tuple(prefix.shape)}"
                )
            if p + idx.shape[1] > self.block_size:
                raise ValueError(
                    f"prefix length + idx length must be <= block_size={self.block_size}, "
                    f"got {p} + {idx.shape[1]}"
                )
        if not return_attention:
            return self._forward(idx, prefix)
        x = self.embed(idx, prefix)
        maps: list[torch.Tensor] = []
        for block in self.blocks:
            x, w = block(x, is_causal=True, need_weights=True)
            maps.append(w)
        if p:
            x = x[:, p:]  # only the token positions are scored
        logits = self.head(self.norm(x))
        return logits, maps

    @torch.no_grad()
    def generate(
        self,
        idx: torch.Tensor,
        max_new_tokens: int,
        temperature: float = 1.0,
        greedy: bool = False,
        generator: torch.Generator | None = None,
        use_cache: bool = True,
    ) -> torch.Tensor:
        """Extend ``idx (B, T)`` by ``max_new_tokens`` tokens, one at a time.

        Each step scores the next token from the last ``block_size`` tokens and picks the
        argmax (``greedy``) or samples from ``softmax(logits / temperature)`` with
        ``generator``. Returns ``(B, T + max_new_tokens)``. The model is left in the
        training mode it had.

        ``use_cache=False`` feeds the whole context through the model at every step
        (``O(T²)`` work per token with attention). ``use_cache=True`` (default) runs the
        prompt once into a :class:`~survey_models.attention.KVCache` and then only the
        new token, at its position, against the cached keys and values (equation (4)).
        Both give the same logits up to float rounding, hence the same tokens. Once the
        sequence is longer than ``block_size`` the window slides, every position shifts
        and the cached keys are stale: from then on each step recomputes the last
        ``block_size`` tokens without a cache, exactly as ``use_cache=False`` does.
        """
        self._check_idx(idx)
        max_new_tokens = check_positive_int("max_new_tokens", max_new_tokens)
        temperature = check_positive_float("temperature", temperature)
        if not isinstance(use_cache, bool):
            raise TypeError(f"use_cache must be a bool, got {type(use_cache).__name__}")
        if generator is not None and not isinstance(generator, torch.Generator):
            raise TypeError(
                f"generator must be a torch.Generator or None, got {type(generator).__name__}"
            )
        was_training = self.training
        self.eval()
        cache = self.new_cache(idx.shape[0]) if use_cache else None
        out = torch.empty(
            idx.shape[0], idx.shape[1] + max_new_tokens, dtype=idx.dtype, device=idx.device
        )
        out[:, : idx.shape[1]] = idx
        n = idx.shape[1]  # tokens so far
        nxt = idx
        for _ in range(max_new_tokens):
            if cache is not None and n <= self.block_size:
                logits = self._forward(nxt, cache=cache, last_only=True)  # (4)
            else:
                context = out[:, max(0, n - self.block_size) : n]
                logits = self._forward(context, last_only=True)
            logits = logits[:, -1]
            if greedy:
                nxt = logits.argmax(dim=-1, keepdim=True)
            else:
                probs = torch.softmax(logits / temperature, dim=-1)
                nxt = torch.multinomial(probs, 1, generator=generator)
            out[:, n : n + 1] = nxt
            n += 1
        self.train(was_training)
        return out


def lm_loss(model: nn.Module, x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    """Mean next-token cross-entropy in nats per token: ``-mean log p(y_t | x_{≤t})``.

    ``x (B, T)`` are inputs, ``y (B, T)`` the targets (usually ``x`` shifted by one);
    positions where ``y == -100`` (:data:`IGNORE_INDEX`) are left out of the mean. Usable
    as the ``loss_fn`` of :func:`survey_models.train.fit`.
    """
    if not isinstance(y, torch.Tensor) or not isinstance(x, torch.Tensor):
        raise TypeError("x and y must be torch.Tensors")
    if y.shape != x.shape:
        raise ValueError(f"y must have the shape of x {tuple(x.shape)}, got {tuple(y.shape)}")
    if y.dtype != torch.long:
        raise TypeError(f"y must be an int64 (long) tensor of target ids, got {y.dtype}")
    if x.dtype != torch.long:
        raise TypeError(f"x must be an int64 (long) tensor of token ids, got {x.dtype}")
    if not bool((y != IGNORE_INDEX).any()):
        raise ValueError("every target in y is the ignore index -100; nothing to score")
    logits = model(x)
    return F.cross_entropy(
        logits.reshape(-1, logits.shape[-1]), y.reshape(-1), ignore_index=IGNORE_INDEX
    )
