"""Speculative decoding (Leviathan, Kalman & Matias 2023; Chen et al. 2023).

A small *draft* model proposes ``γ`` tokens ``x_1..x_γ`` one by one from its distributions
``q_i``; the large *target* model scores all of them in **one** forward pass, giving
``p_1..p_{γ+1}``. Token ``x_i`` is kept with probability

.. math::

    a_i = \\min\\bigl(1, p_i(x_i) / q_i(x_i)\\bigr) \\qquad (1)

and at the first rejection the token is instead drawn from the residual distribution

.. math::

    p'(x) = \\frac{\\max(0, p(x) - q(x))}{\\sum_y \\max(0, p(y) - q(y))} \\qquad (2)

after which the step ends. If all ``γ`` are kept, one more token is drawn from
``p_{γ+1}``. The token that results from (1)-(2) has exactly the target's law:

.. math::

    q(x) \\min\\bigl(1, \\tfrac{p(x)}{q(x)}\\bigr) + (1 - \\beta)\\, p'(x) = p(x),
    \\qquad \\beta = \\sum_x \\min(p(x), q(x)) \\qquad (3)

where ``β`` is the acceptance probability. If each draft token is accepted with the same
probability ``α``, a target pass yields on average

.. math::

    \\mathbb{E}[\\text{tokens per target pass}] = \\frac{1 - \\alpha^{\\gamma + 1}}{1 - \\alpha}
    \\qquad (4)

tokens. :func:`speculative_generate` runs the loop with two
:class:`~survey_models.transformer.GPT` models (batch 1, full-context forwards without a
KV cache, for clarity) and counts the target passes.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch

from ._checks import check_positive_float, check_positive_int, check_probability, check_tensor
from .transformer import GPT

__all__ = [
    "acceptance_probability",
    "residual_distribution",
    "speculative_output_distribution",
    "accept_or_resample",
    "expected_tokens_per_pass",
    "SpeculativeOutput",
    "speculative_generate",
]


def _check_pair(p: object, q: object) -> tuple[torch.Tensor, torch.Tensor]:
    check_tensor("p", p, ndim=1, floating=True, min_rows=1)
    check_tensor("q", q, ndim=1, floating=True, min_rows=1)
    assert isinstance(p, torch.Tensor) and isinstance(q, torch.Tensor)
    if p.shape != q.shape:
        raise ValueError(f"q must have the shape of p {tuple(p.shape)}, got {tuple(q.shape)}")
    for name, d in (("p", p.detach()), ("q", q.detach())):
        if not bool(torch.isfinite(d).all()) or bool((d < 0).any()):
            raise ValueError(f"{name} must be a probability vector (finite, non-negative)")
        if abs(float(d.sum()) - 1.0) > 1e-4:
            raise ValueError(f"{name} must sum to 1, got {float(d.sum()):.6f}")
    return p, q


def acceptance_probability(p: torch.Tensor, q: torch.Tensor) -> torch.Tensor:
    """``β = Σ_x min(p(x), q(x)) = 1 − TV(p, q)``: the chance a draft token is kept (3).

    ``p, q: (vocab,)`` probability vectors; returns a scalar tensor.
    """
    p, q = _check_pair(p, q)
    return torch.minimum(p, q).sum()  # β of (3)


def _residual(p: torch.Tensor, q: torch.Tensor) -> torch.Tensor:
    r = torch.clamp(p - q, min=0.0)  # max(0, p − q) of (2)
    total = r.sum()
    if float(total) <= 0.0:  # p == q: nothing is ever rejected; any law will do
        return p
    return r / total  # (2)


def residual_distribution(p: torch.Tensor, q: torch.Tensor) -> torch.Tensor:
    """Equation (2): ``norm(max(0, p − q))``, ``(vocab,)``; ``p`` itself when ``p == q``."""
    p, q = _check_pair(p, q)
    return _residual(p, q)


def speculative_output_distribution(p: torch.Tensor, q: torch.Tensor) -> torch.Tensor:
    """The law of the token that (1)-(2) emit, in closed form (left side of (3)).

    ``P(x) = q(x)·min(1, p(x)/q(x)) + (1 − β)·p'(x)``; equals ``p`` (up to rounding).
    """
    p, q = _check_pair(p, q)
    accept = torch.where(q > 0, torch.minimum(q, p), torch.zeros_like(p))  # q·min(1, p/q)
    beta = accept.sum()
    return accept + (1.0 - beta) * _residual(p, q)  # (3)


def _accept_or_resample(
    p: torch.Tensor, q: torch.Tensor, x: int, generator: torch.Generator | None
) -> tuple[int, bool]:
    u = float(torch.rand((), dtype=p.dtype, generator=generator))
    # accept with probability min(1, p(x)/q(x)), (1); u·q(x) < p(x) avoids a division
    if u * float(q[x]) < float(p[x]):
        return x, True
    r = _residual(p, q)  # (2)
    return int(torch.multinomial(r, 1, generator=generator)), False


def accept_or_resample(
    p: torch.Tensor, q: torch.Tensor, x: int, generator: torch.Generator | None = None
) -> tuple[int, bool]:
    """One verification step: keep draft token ``x`` (drawn from ``q``) with probability (1),
    else draw from the residual (2).

    ``p, q: (vocab,)``; returns ``(token, accepted)``.
    """
    p, q = _check_pair(p, q)
    if not isinstance(x, int) or isinstance(x, bool) or not 0 <= x < p.shape[0]:
        raise ValueError(f"x must be an int token id in [0, {p.shape[0]}), got {x!r}")
    if float(q[x]) <= 0.0:
        raise ValueError(f"x must have q(x) > 0 (a token the draft can propose), got x={x}")
    _check_generator(generator)
    return _accept_or_resample(p, q, x, generator)


def expected_tokens_per_pass(alpha: float, gamma: int) -> float:
    """Equation (4): ``(1 − α^{γ+1}) / (1 − α)`` tokens per target pass (``γ + 1`` at α = 1)."""
    alpha = check_probability("alpha", alpha)
    gamma = check_positive_int("gamma", gamma)
    if alpha == 1.0:
        return float(gamma + 1)
    return (1.0 - alpha ** (gamma + 1)) / (1.0 - alpha)  # (4)


def _check_generator(generator: object) -> None:
    if generator is not None and not isinstance(generator, torch.Generator):
        raise TypeError(
            f"generator must be a torch.Generator or None, got {type(generator).__name__}"
        )


@dataclass
class SpeculativeOutput:
    """What :func:`speculative_generate` returns.

    ``tokens (1, T + max_new_tokens)``; ``target_passes``: target forward passes;
    ``drafted``: draft tokens proposed; ``accepted``: of those, kept by (1);
    ``rejected``: rejected by (1) (at most one per round; the drafts after it are never
    verified); ``prompt_length``: ``T``.
    """

    tokens: torch.Tensor
    target_passes: int
    drafted: int
    accepted: int
    rejected: int
    prompt_length: int

    @property
    def acceptance_rate(self) -> float:
        """``accepted / (accepted + rejected)``: the fraction of verified draft tokens kept,
        an estimate of the ``α`` of (4)."""
        verified = self.accepted + self.rejected
        return self.accepted / verified if verified else float("nan")

    @property
    def passes_per_token(self) -> float:
        """Target forward passes per generated token (1 for ordinary decoding)."""
        return self.target_passes / (self.tokens.shape[1] - self.prompt_length)


def _probs(logits: torch.Tensor, temperature: float) -> torch.Tensor:
    return torch.softmax(logits.double() / temperature, dim=-1)


@torch.no_grad()
def speculative_generate(
    target: GPT,
    draft: GPT,
    idx: torch.Tensor,
    max_new_tokens: int,
    draft_length: int,
    generator: torch.Generator | None = None,
    temperature: float = 1.0,
    greedy: bool = False,
) -> SpeculativeOutput:
    """Extend ``idx (1, T)`` by ``max_new_tokens`` tokens, sampling exactly from ``target``.

    Each round the draft proposes ``γ = draft_length`` tokens (fewer at the end), one
    target forward pass scores them, (1)-(2) keep a prefix and fix the first rejected
    one; if all are kept one more token comes from the target. With ``greedy`` both
    models propose their argmax and a draft token is kept iff it equals the target's, so
    the result is the target's greedy decoding. Probabilities are
    ``softmax(logits / temperature)`` in float64. ``T + max_new_tokens <= block_size``
    of both models (no sliding window). Both models are left in their training modes.
    """
    for name, m in (("target", target), ("draft", draft)):
        if not isinstance(m, GPT):
            raise TypeError(
                f"{name} must be a survey_models.transformer.GPT, got {type(m).__name__}"
            )
    if draft.vocab_size != target.vocab_size:
        raise ValueError(
            f"draft vocab_size ({draft.vocab_size}) must equal target's ({target.vocab_size})"
        )
    target._check_idx(idx)
    draft._check_idx(idx)
    if idx.shape[0] != 1:
        raise ValueError(f"idx must hold one sequence (batch 1), got shape {tuple(idx.shape)}")
    max_new_tokens = check_positive_int("max_new_tokens", max_new_tokens)
    gamma = check_positive_int("draft_length", draft_length)
    temperature = check_positive_float("temperature", temperature)
    if not isinstance(greedy, bool):
        raise TypeError(f"greedy must be a bool, got {type(greedy).__name__}")
    _check_generator(generator)
    limit = min(target.block_size, draft.block_size)
    if idx.shape[1] + max_new_tokens > limit:
        raise ValueError(
            f"idx length + max_new_tokens must be <= block_size={limit}, "
            f"got {idx.shape[1]} + {max_new_tokens}"
        )
    modes = target.training, draft.training
    target.eval()
    draft.eval()
    seq = idx.clone()
    n0 = idx.shape[1]
    passes = drafted = accepted = rejected = 0
    while seq.shape[1] - n0 < max_new_tokens:
        n = seq.shape[1]
        k = min(gamma, max_new_tokens - (n - n0))
        # 1. the draft proposes k tokens autoregressively, x_i ~ q_i
        qs: list[torch.Tensor] = []
        ext = seq
        for _ in range(k):
            q = _probs(draft(ext)[0, -1], temperature)
            x = int(q.argmax()) if greedy else int(torch.multinomial(q, 1, generator=generator))
            qs.append(q)
            ext = torch.cat([ext, ext.new_tensor([[x]])], dim=1)
        # 2. one target pass scores all of them: p_1..p_{k+1}
        logits = target(ext)[0, n - 1 :]
        passes += 1
        drafted += k
        new: list[int] = []
        for i in range(k):
            x = int(ext[0, n + i])
            if greedy:
                y = int(logits[i].argmax())
                ok = y == x
            else:
                y, ok = _accept_or_resample(_probs(logits[i], temperature), qs[i], x, generator)
            new.append(y)  # (1) kept, or (2) the resampled replacement
            if not ok:
                rejected += 1
                break
            accepted += 1
        else:
            # all k kept: one more token from p_{k+1}, if any is still wanted
            if n - n0 + k < max_new_tokens:
                if greedy:
                    new.append(int(logits[k].argmax()))
                else:
                    p = _probs(logits[k], temperature)
                    new.append(int(torch.multinomial(p, 1, generator=generator)))
        seq = torch.cat([seq, seq.new_tensor([new])], dim=1)
    target.train(modes[0])
    draft.train(modes[1])
    return SpeculativeOutput(seq, passes, drafted, accepted, rejected, n0)
