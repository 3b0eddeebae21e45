"""Sparsely-gated mixture of experts (Shazeer et al. 2017; Switch Transformer, Fedus et al. 2022).

A mixture-of-experts (MoE) feed-forward layer replaces the one MLP of a Transformer block
(equation (2) of chapter 4, ``docs/survey/04-transformer.md``) by ``E`` expert MLPs of the
same shape and a router that sends each token to ``k`` of them. Equations (M1)-(M4) below
are ``eq-moe-router``, ``eq-moe-output``, ``eq-moe-balance`` and ``eq-moe-loss`` of chapter 4
(their printed numbers there depend on the sections before). The router is a linear map
followed by a softmax over the experts:

.. math::

    p(x) = \\operatorname{softmax}(W_r x), \\qquad p(x) \\in \\mathbb{R}^E \\qquad (M1)

The token goes to the ``k`` experts with the largest probabilities,
``\\mathcal{T}(x) = \\operatorname{TopK}(p(x), k)``, and the output is their gated sum:

.. math::

    y = \\sum_{i \\in \\mathcal{T}(x)} g_i(x)\\, E_i(x), \\qquad
    g_i(x) = \\frac{p_i(x)}{\\sum_{j \\in \\mathcal{T}(x)} p_j(x)} \\qquad (M2)

with *renormalised* gates (``renormalize=True``, as in Mixtral), or ``g_i = p_i(x)``
(``renormalize=False``, as in the Switch Transformer's top-1 routing, where a renormalised
gate would always be 1 and the router would get no gradient from the task loss). Each
expert ``E_i(x) = W_2^{(i)} \\operatorname{GELU}(W_1^{(i)} x + b_1^{(i)}) + b_2^{(i)}``
is the MLP of :class:`~survey_models.transformer.TransformerBlock`.

The Switch Transformer's auxiliary load-balancing loss over a batch of ``T`` tokens is

.. math::

    \\mathcal{L}_\\text{bal} = \\alpha \\cdot E \\cdot \\sum_{i=1}^{E} f_i P_i,
    \\qquad
    f_i = \\frac{1}{kT} \\sum_{x} \\mathbb{1}\\{i \\in \\mathcal{T}(x)\\}, \\qquad
    P_i = \\frac{1}{T} \\sum_{x} p_i(x) \\qquad (M3)

(``f_i``: the share of the ``kT`` token-to-expert assignments that went to expert ``i``;
for ``k = 1`` exactly Switch's fraction of tokens). It equals ``α`` when either ``f`` or
``P`` is uniform and ``α E`` when every token goes to one expert with probability 1. A
language model trained with it minimises

.. math::

    \\mathcal{L} = \\mathcal{L}_\\text{CE} + \\sum_{\\text{layers}} \\mathcal{L}_\\text{bal}
    \\qquad (M4)

A layer with one expert, or with ``k = E`` identical experts and renormalised gates, is the
dense MLP (the tests check it). :class:`MoEGPT` is :class:`~survey_models.transformer.GPT`
with every block's MLP replaced by a :class:`MoEFeedForward`; with ``k = 1`` and
``d_ff = 4 d_model`` each token uses as many parameters as in the dense GPT (plus the
router's ``E · d_model``). Train it with :func:`moe_lm_loss`::

    model = MoEGPT(vocab_size=65, block_size=64, n_experts=4, k=1)
    fit(model, moe_lm_loss, (x, y), steps=300, lr=3e-3)

There is no expert capacity here: no token is ever dropped (the Switch Transformer's
capacity factor bounds how many tokens an expert may take per batch).
"""

from __future__ import annotations

import math
from typing import NamedTuple

import torch
import torch.nn.functional as F
from torch import nn

from ._checks import (
    check_choice,
    check_nonnegative_float,
    check_positive_int,
    check_tensor,
)
from .attention import MultiHeadAttention
from .transformer import GPT, TransformerBlock, lm_loss

__all__ = [
    "Routing",
    "load_balancing_loss",
    "tokens_per_expert",
    "MoEFeedForward",
    "MoEBlock",
    "MoEGPT",
    "moe_lm_loss",
]


class Routing(NamedTuple):
    """What a :class:`MoEFeedForward` decided for ``n`` tokens.

    ``probs (n, E)``: router probabilities (M1); ``index (n, k)`` int64: the chosen
    experts, most probable first; ``gates (n, k)``: their gates (M2).
    """

    probs: torch.Tensor
    index: torch.Tensor
    gates: torch.Tensor


def _check_index(index: object, n_experts: int) -> torch.Tensor:
    check_tensor("expert_index", index, ndim=2)
    assert isinstance(index, torch.Tensor)
    if index.dtype != torch.long:
        raise TypeError(f"expert_index must be an int64 tensor, got dtype {index.dtype}")
    if index.numel() and (int(index.min()) < 0 or int(index.max()) >= n_experts):
        raise ValueError(
            f"expert_index values must lie in [0, {n_experts - 1}], got "
            f"[{int(index.min())}, {int(index.max())}]"
        )
    return index


def tokens_per_expert(expert_index: torch.Tensor, n_experts: int) -> torch.Tensor:
    """How many token-to-expert assignments each expert received: ``(E,)`` int64.

    ``expert_index (n, k)`` from :attr:`Routing.index`; the counts sum to ``n · k``.
    """
    n_experts = check_positive_int("n_experts", n_experts)
    index = _check_index(expert_index, n_experts)
    return torch.bincount(index.reshape(-1), minlength=n_experts)


def load_balancing_loss(
    router_probs: torch.Tensor, expert_index: torch.Tensor, alpha: float = 0.01
) -> torch.Tensor:
    """The Switch Transformer's auxiliary loss (M3): ``α · E · Σ_i f_i P_i`` (a scalar).

    ``router_probs (n, E)`` are the probabilities (M1) of ``n`` tokens, ``expert_index
    (n, k)`` the experts chosen for them. ``f`` (counts) carries no gradient; ``P``
    (mean probabilities) does, so the loss pushes probability away from the experts that
    took more than their share.
    """
    check_tensor("router_probs", router_probs, ndim=2, floating=True, min_rows=1)
    alpha = check_nonnegative_float("alpha", alpha)
    n, e = router_probs.shape
    index = _check_index(expert_index, e)
    if index.shape[0] != n:
        raise ValueError(
            f"expert_index must have {n} rows (one per token of router_probs), got "
            f"shape {tuple(index.shape)}"
        )
    counts = torch.bincount(index.reshape(-1), minlength=e)
    f = counts.to(router_probs.dtype) / index.numel()  # f_i (M3)
    p = router_probs.mean(dim=0)  # P_i (M3)
    return alpha * e * (f * p).sum()  # (M3)


class MoEFeedForward(nn.Module):
    """A top-``k`` routed mixture of ``n_experts`` expert MLPs, equations (M1)-(M2).

    Args:
        d_model: input and output width.
        n_experts: number of experts ``E``.
        k: experts per token (``1 <= k <= n_experts``): 1 in the Switch Transformer,
            2 in Mixtral.
        d_ff: hidden width of each expert (default ``4 * d_model``, the dense MLP's).
        renormalize: gates ``p_i / Σ_{j∈TopK} p_j`` (``True``) or ``p_i`` (``False``), (M2).
        activation: ``"gelu"`` or ``"relu"``.

    Shapes: ``x (..., d_model)`` → ``(..., d_model)``; with ``return_routing`` also a
    :class:`Routing` for the ``n = x.numel() / d_model`` tokens (flattened in order).
    Each expert has the submodules ``linear1``, ``linear2`` of a
    :class:`~survey_models.transformer.TransformerBlock`'s MLP; only the experts a token
    is routed to run on it, so the others get exactly zero gradient from it.
    """

    def __init__(
        self,
        d_model: int,
        n_experts: int,
        k: int = 1,
        d_ff: int | None = None,
        renormalize: bool = True,
        activation: str = "gelu",
    ) -> None:
        super().__init__()
        self.d_model = check_positive_int("d_model", d_model)
        self.n_experts = check_positive_int("n_experts", n_experts)
        self.k = check_positive_int("k", k)
        if k > n_experts:
            raise ValueError(f"k must be <= n_experts ({n_experts}), got {k}")
        self.d_ff = 4 * d_model if d_ff is None else check_positive_int("d_ff", d_ff)
        if not isinstance(renormalize, bool):
            raise TypeError(f"renormalize must be True or False, got {type(renormalize).__name__}")
        self.renormalize = renormalize
        self.activation = check_choice("activation", activation, ("gelu", "relu"))
        self.router = nn.Linear(d_model, n_experts, bias=False)  # W_r (M1)
        self.experts = nn.ModuleList(
            nn.ModuleDict(
                {"linear1": nn.Linear(d_model, self.d_ff), "linear2": nn.Linear(self.d_ff, d_model)}
            )
            for _ in range(n_experts)
        )

    def extra_repr(self) -> str:
        return (
            f"n_experts={self.n_experts}, k={self.k}, d_ff={self.d_ff}, "
            f"renormalize={self.renormalize}, activation={self.activation!r}"
        )

    def expert(self, i: int, x: torch.Tensor) -> torch.Tensor:
        """Expert ``E_i`` applied to ``x (n, d_model)``: ``(n, d_model)``."""
        act = F.gelu if self.activation == "gelu" else F.relu
        e = self.experts[i]
        return e["linear2"](act(e["linear1"](x)))

    def route(self, x: torch.Tensor) -> Routing:
        """Router probabilities (M1), top-``k`` experts and gates (M2) for ``x (n, d_model)``."""
        probs = torch.softmax(self.router(x), dim=-1)  # (M1)
        top_p, index = probs.topk(self.k, dim=-1)  # TopK(p(x), k)
        gates = top_p / top_p.sum(dim=-1, keepdim=True) if self.renormalize else top_p  # (M2)
        return Routing(probs, index, gates)

    def forward(
        self, x: torch.Tensor, return_routing: bool = False
    ) -> torch.Tensor | tuple[torch.Tensor, Routing]:
        """Route each token of ``x (..., d_model)`` and return the gated sum (M2) of its
        experts, ``(..., d_model)``; with ``return_routing`` also its :class:`Routing`."""
        check_tensor("x", x, last_dim=self.d_model, floating=True)
        if x.dim() < 2:
            raise ValueError(f"x must have shape (..., d_model), got {tuple(x.shape)}")
        flat = x.reshape(-1, self.d_model)
        routing = self.route(flat)
        out = torch.zeros_like(flat)
        for i in range(self.n_experts):
            token, slot = torch.nonzero(routing.index == i, as_tuple=True)
            if token.numel() == 0:
                continue  # an expert no token chose does not run (and gets no gradient)
            gate = routing.gates[token, slot].unsqueeze(-1)
            out = out.index_add(0, token, gate * self.expert(i, flat[token]))  # (M2)
        out = out.reshape(x.shape)
        return (out, routing) if return_routing else out


class MoEBlock(nn.Module):
    """A pre-norm causal Transformer block whose MLP is a :class:`MoEFeedForward`.

    The block structure of :class:`~survey_models.transformer.TransformerBlock` (pre-norm,
    equations (1)-(2) of chapter 4) with ``MLP`` replaced by the routed layer (M2):
    ``X' = X + MultiHead(LN(X))``, ``Y = X' + MoE(LN(X'))``. The submodules are named like
    TransformerBlock's (``self_attn``, ``norm1``, ``norm2``) plus ``moe``.

    Shapes: ``x (B, T, d_model)`` → ``(B, T, d_model)``; with ``return_routing`` also the
    :class:`Routing` of the ``B · T`` tokens.
    """

    def __init__(
        self,
        d_model: int,
        n_head: int,
        n_experts: int,
        k: int = 1,
        d_ff: int | None = None,
        renormalize: bool = True,
        dropout: float = 0.0,
    ) -> None:
        super().__init__()
        self.self_attn = MultiHeadAttention(d_model, n_head, dropout=dropout)
        self.moe = MoEFeedForward(d_model, n_experts, k=k, d_ff=d_ff, renormalize=renormalize)
        self.norm1 = nn.LayerNorm(d_model)
        self.norm2 = nn.LayerNorm(d_model)
        self.dropout1 = nn.Dropout(dropout)
        self.dropout2 = nn.Dropout(dropout)
        self.d_model = d_model

    @torch.no_grad()
    def load_from_dense(self, block: TransformerBlock, expert: int | None = None) -> MoEBlock:
        """Copy a pre-norm GELU :class:`TransformerBlock`'s weights: attention and norms,
        and its MLP into expert ``expert`` (every expert when ``None``)."""
        if not isinstance(block, TransformerBlock):
            raise TypeError(f"block must be a TransformerBlock, got {type(block).__name__}")
        if not block.norm_first or block.activation != "gelu" or block.d_ff != self.moe.d_ff:
            raise ValueError("block must be pre-norm, GELU, with the experts' d_ff")
        for name in ("self_attn", "norm1", "norm2"):
            getattr(self, name).load_state_dict(getattr(block, name).state_dict())
        targets = range(self.moe.n_experts) if expert is None else [expert]
        for i in targets:
            self.moe.experts[i]["linear1"].load_state_dict(block.linear1.state_dict())
            self.moe.experts[i]["linear2"].load_state_dict(block.linear2.state_dict())
        return self

    def forward(
        self, x: torch.Tensor, return_routing: bool = False
    ) -> torch.Tensor | tuple[torch.Tensor, Routing]:
        """The causal block on ``x (B, T, d_model)``; with ``return_routing`` also the
        :class:`Routing` of its ``B · T`` tokens."""
        check_tensor("x", x, ndim=3, last_dim=self.d_model, floating=True)
        a, _ = self.self_attn(self.norm1(x), is_causal=True)
        x = x + self.dropout1(a)  # (1)
        m, routing = self.moe(self.norm2(x), return_routing=True)
        x = x + self.dropout2(m)  # (2) with the MLP replaced by (M2)
        return (x, routing) if return_routing else x


class MoEGPT(GPT):
    """:class:`~survey_models.transformer.GPT` with a mixture-of-experts MLP in every block.

    Arguments: those of :class:`~survey_models.transformer.GPT` (``n_kv_head`` aside);
    ``n_experts``, ``k``, ``d_ff`` and ``renormalize`` as for :class:`MoEFeedForward`;
    ``balance_coef`` is ``α`` of the load-balancing loss (M3) that :func:`moe_lm_loss` adds
    for every layer during training (0 turns it off).

    Shapes: ``idx (B, T)`` → logits ``(B, T, vocab_size)``; with ``return_aux`` also the
    summed loss (M3) over layers (a scalar) and the tokens per expert of every layer
    ``(n_layer, n_experts)`` int64. :meth:`generate` runs without a KV cache.
    """

    def __init__(
        self,
        vocab_size: int,
        block_size: int,
        n_experts: int = 4,
        k: int = 1,
        n_layer: int = 2,
        n_head: int = 4,
        d_model: int = 128,
        d_ff: int | None = None,
        renormalize: bool = True,
        balance_coef: float = 0.01,
        dropout: float = 0.0,
        positional: str = "learned",
    ) -> None:
        super().__init__(
            vocab_size, block_size, n_layer, n_head, d_model, dropout=dropout, positional=positional
        )
        self.balance_coef = check_nonnegative_float("balance_coef", balance_coef)
        self.blocks = nn.ModuleList(
            MoEBlock(d_model, n_head, n_experts, k, d_ff, renormalize, dropout)
            for _ in range(n_layer)
        )
        self.n_experts, self.k = n_experts, k
        self.blocks.apply(self._init_weights)
        for block in self.blocks:  # GPT-2's scaled init of the residual projections
            outs = [block.self_attn.out_proj] + [e["linear2"] for e in block.moe.experts]
            for lin in outs:
                nn.init.normal_(lin.weight, std=0.02 / math.sqrt(2 * n_layer))

    def extra_repr(self) -> str:
        return (
            f"vocab_size={self.vocab_size}, block_size={self.block_size}, "
            f"n_experts={self.n_experts}, k={self.k}, balance_coef={self.balance_coef}"
        )

    def num_active_parameters(self) -> int:
        """Parameters one token uses: all but the ``E - k`` unchosen experts of each block."""
        moe = self.blocks[0].moe
        per_expert = sum(p.numel() for p in moe.experts[0].parameters())
        return self.num_parameters() - self.n_layer * (moe.n_experts - moe.k) * per_expert

    def _run(self, idx: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        x = self._embed(idx, None, 0)
        aux = x.new_zeros(())
        counts = []
        for block in self.blocks:
            x, r = block(x, return_routing=True)
            aux = aux + load_balancing_loss(r.probs, r.index, self.balance_coef)  # (M3)
            counts.append(torch.bincount(r.index.reshape(-1), minlength=self.n_experts))
        return self.head(self.norm(x)), aux, torch.stack(counts)

    def _forward(self, idx, prefix=None, cache=None, last_only=False) -> torch.Tensor:  # noqa: ANN001
        if prefix is not None or cache is not None:
            raise ValueError("MoEGPT supports neither prefix nor a KV cache")
        logits = self._run(idx)[0]
        return logits[:, -1:] if last_only else logits

    def forward(  # type: ignore[override]
        self, idx: torch.Tensor, return_aux: bool = False
    ) -> torch.Tensor | tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        self._check_idx(idx)
        logits, aux, counts = self._run(idx)
        return (logits, aux, counts) if return_aux else logits

    def generate(self, idx: torch.Tensor, max_new_tokens: int, **kwargs) -> torch.Tensor:  # noqa: ANN003
        """:meth:`GPT.generate <survey_models.transformer.GPT.generate>` without a KV cache."""
        kwargs["use_cache"] = False
        return super().generate(idx, max_new_tokens, **kwargs)


def moe_lm_loss(model: nn.Module, x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    """Loss (M4) in training mode: next-token cross-entropy plus the balancing loss (M3) of
    every layer; in evaluation mode (``train.evaluate``) the cross-entropy alone, so that
    validation losses compare directly with a dense model's :func:`~survey_models.
    transformer.lm_loss`. ``x, y (B, T)`` as in ``lm_loss``."""
    if not isinstance(model, MoEGPT):
        raise TypeError(f"model must be a MoEGPT, got {type(model).__name__}")
    if not model.training or model.balance_coef == 0:
        return lm_loss(model, x, y)
    aux: list[torch.Tensor] = []

    def logits_keeping_aux(idx: torch.Tensor) -> torch.Tensor:  # lm_loss calls model(x)
        logits, a, _ = model(idx, return_aux=True)
        aux.append(a)
        return logits

    ce = lm_loss(logits_keeping_aux, x, y)  # type: ignore[arg-type]
    return ce + aux[0]  # (M4)
