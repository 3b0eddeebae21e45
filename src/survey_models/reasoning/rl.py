"""Reinforcement learning from verifiable rewards: REINFORCE with a group baseline (GRPO).

For each prompt ``x`` the policy ``π_θ`` (a language model) writes ``k`` completions
``y_1 … y_k``; each gets a *verifiable* reward ``r_i`` (1 if its final answer is right,
else 0: nothing else about the completion is judged). GRPO (Shao et al. 2024) needs no
learned value function: the baseline of a completion is the mean reward of its own
group, and the advantage is that difference in units of the group's spread::

    A_i = (r_i − mean(r_1 … r_k)) / (std(r_1 … r_k) + ε)                         (1)

(``std`` is the population standard deviation; a group whose rewards are all equal
carries no signal and gets ``A_i = 0``). The policy-gradient loss is REINFORCE (Williams
1992) with these advantages, on whole sequences::

    L(θ) = −(1/N) Σ_i A_i · log π_θ(y_i | x_i)                                   (2)

with ``log π_θ(y | x) = Σ_t log π_θ(y_t | x, y_<t)`` from
:func:`survey_models.reasoning.sampling.completion_log_probs`, so
``∇L = −(1/N) Σ_i A_i ∇ log π_θ(y_i | x_i)``. It is *per sequence*: the sum of the
token log-probabilities, not their mean. GRPO averages over a completion's tokens
(``1/|y_i|``), which weights the tokens of short completions more and so, with a
negative advantage, pushes wrong answers to grow longer (Liu et al. 2025); since this
module is used to *measure* whether RL lengthens the chain, the unbiased sum is used.
When samples are reused for several updates, PPO's clipped surrogate (Schulman et al.
2017) bounds how far one update moves the policy, with the sequence ratio
``ρ_i = π_θ(y_i | x_i) / π_old(y_i | x_i)``::

    L_clip(θ) = −(1/N) Σ_i min(ρ_i A_i, clip(ρ_i, 1 − ε_c, 1 + ε_c) A_i)           (3)

(at ``π_θ = π_old``, ``ρ_i = 1`` and the gradient of (3) equals that of (2)). An optional
penalty keeps the policy near a frozen reference ``π_ref`` with GRPO's "k3" estimator of
``KL(π_θ ‖ π_ref)`` on a sample ``y ~ π_θ``, ``d = log π_ref(y | x) − log π_θ(y | x)``::

    k3 = e^d − d − 1 ≥ 0,     E_{y∼π_θ}[k3] = KL(π_θ ‖ π_ref)                   (4)

(unbiased because ``E_{π_θ}[e^d] = 1``; it is 0 exactly where ``π_θ = π_ref``).
The loss of one step is ``L + β · mean(k3)``.

The task of the chapter's example lets the policy choose how long to think:
:func:`think_or_answer_parity` writes the parity of ``n`` bits either directly,
``b_1 … b_n = > p``, or after the running parities, ``b_1 … b_n = r_1 … r_n > p``
(equation (7.2) of the chapter); ``>`` announces the answer. :func:`read_answers`
parses any completion (the answer is the token after the first ``>``; the *chain length*
is the number of tokens before it), and :func:`answer_reward` is the verifiable reward.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import torch
from torch import nn

from .._checks import (
    check_callable,
    check_finite_tensor,
    check_module,
    check_nonnegative_float,
    check_positive_float,
    check_positive_int,
    check_probability,
    check_seed,
    check_tensor,
)
from .sampling import completion_log_probs, sample_completions
from .tasks import IGNORE

__all__ = [
    "THINK_VOCAB",
    "ThinkTask",
    "think_or_answer_parity",
    "read_answers",
    "answer_reward",
    "answer_mask",
    "group_advantages",
    "policy_gradient_loss",
    "kl_k3",
    "RLStep",
    "rl_step",
    "sampled_accuracy",
]

# Bits 0 and 1, "=" (end of the question), ">" (the answer follows) and "." (padding
# after the answer, never scored).
THINK_VOCAB = ("0", "1", "=", ">", ".")
_EQ, _ANS, _PAD = 2, 3, 4


@dataclass(frozen=True)
class ThinkTask:
    """Parity questions answered directly or after a chain, for next-token training.

    ``x, y``: ``(n, T)`` inputs and targets for :func:`survey_models.transformer.lm_loss`
    (everything after ``=`` up to the answer is scored; padding is ``-100``).
    ``prompts``: ``(n, n_bits + 1)`` the bits and ``=``. ``answers``: ``(n, 1)`` the parity.
    ``chain``: ``(n,)`` bool, whether the example writes the chain. ``max_new_tokens``:
    the longest completion (chain, ``>`` and answer), ``n_bits + 2``.
    """

    x: torch.Tensor
    y: torch.Tensor
    prompts: torch.Tensor
    answers: torch.Tensor
    chain: torch.Tensor
    max_new_tokens: int
    vocab_size: int = len(THINK_VOCAB)

    @property
    def full(self) -> torch.Tensor:
        """The complete sequences ``(n, T + 1)``, padding included."""
        last = torch.where(self.y[:, -1:] == IGNORE, _PAD, self.y[:, -1:])
        return torch.cat([self.x, last], dim=1)

    def __len__(self) -> int:
        return self.x.shape[0]


def think_or_answer_parity(bits: torch.Tensor, chain_fraction: float, seed: int = 0) -> ThinkTask:
    """Parity of each row of ``bits`` (``(n, n_bits)`` of 0/1), a ``chain_fraction`` of
    them (chosen at random with ``seed``) with the running parities written out.

    Direct: ``b_1 … b_n = > p . … .``; chain: ``b_1 … b_n = r_1 … r_n > p`` with
    ``r_k = r_{k-1} ⊕ b_k`` and ``p = r_n``. Both are padded with ``.`` to the same length.
    """
    if not isinstance(bits, torch.Tensor) or bits.dim() != 2 or bits.shape[1] == 0:
        raise ValueError("bits must be a 2-D tensor (n, n_bits) of 0/1 with n_bits >= 1")
    if not bool(((bits == 0) | (bits == 1)).all()):
        raise ValueError("bits must hold only 0 and 1")
    chain_fraction = check_probability("chain_fraction", chain_fraction)
    seed = check_seed(seed)
    bits = bits.long()
    n, n_bits = bits.shape
    g = torch.Generator().manual_seed(seed)
    chain = torch.rand(n, generator=g) < chain_fraction
    running = torch.cumsum(bits, dim=1) % 2  # r_k, equation (7.2) of the chapter
    parity = running[:, -1:]
    length = 2 * n_bits + 3  # bits, "=", up to n_bits chain tokens, ">", p
    seqs = torch.full((n, length), _PAD, dtype=torch.long)
    seqs[:, :n_bits] = bits
    seqs[:, n_bits] = _EQ
    scored = torch.zeros(n, length, dtype=torch.bool)
    for i in range(n):
        body = [*running[i].tolist()] if chain[i] else []
        body += [_ANS, int(parity[i])]
        seqs[i, n_bits + 1 : n_bits + 1 + len(body)] = torch.tensor(body)
        scored[i, n_bits + 1 : n_bits + 1 + len(body)] = True
    x = seqs[:, :-1].clone()
    y = torch.where(scored[:, 1:], seqs[:, 1:], torch.full_like(seqs[:, 1:], IGNORE))
    return ThinkTask(x, y, seqs[:, : n_bits + 1].clone(), parity.clone(), chain, n_bits + 2)


def _check_completions(completions: object) -> torch.Tensor:
    check_tensor("completions", completions)
    assert isinstance(completions, torch.Tensor)
    if completions.dtype != torch.long or completions.dim() < 1 or completions.shape[-1] == 0:
        raise TypeError("completions must be an int64 tensor (..., m) of token ids, m >= 1")
    return completions


def read_answers(completions: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """Parse completions ``(..., m)`` (the tokens after the prompt) of the think task.

    Returns ``(answer, found, chain_length)``, each ``(...)``: the token after the first
    ``>`` (``-1`` where there is none), whether a ``>`` followed by a token exists, and
    the number of tokens before the first ``>`` (``m`` where there is none).
    """
    completions = _check_completions(completions)
    m = completions.shape[-1]
    is_ans = completions == _ANS
    positions = torch.arange(m, device=completions.device).expand_as(completions)
    first = torch.where(is_ans, positions, torch.full_like(positions, m)).min(dim=-1).values
    found = first < m - 1  # a ">" with a token after it
    nxt = completions.gather(-1, (first + 1).clamp(max=m - 1).unsqueeze(-1)).squeeze(-1)
    answer = torch.where(found, nxt, torch.full_like(nxt, -1))
    return answer, found, first


def answer_reward(completions: torch.Tensor, answers: torch.Tensor) -> torch.Tensor:
    """The verifiable reward: 1.0 where the parsed answer equals the true one, else 0.0.

    ``completions: (B, k, m)``, ``answers: (B, 1)`` int64; returns ``(B, k)`` float32.
    A completion without an answer gets 0.
    """
    completions = _check_completions(completions)
    check_tensor("answers", answers, ndim=2)
    if completions.dim() != 3 or answers.shape != (completions.shape[0], 1):
        raise ValueError(
            f"completions must be (B, k, m) and answers (B, 1), got {tuple(completions.shape)} "
            f"and {tuple(answers.shape)}"
        )
    answer, found, _ = read_answers(completions)
    return (found & (answer == answers)).float()


def answer_mask(completions: torch.Tensor) -> torch.Tensor:
    """``(N, m)`` bool: the tokens up to and including the answer (the rest is ignored)."""
    completions = _check_completions(completions)
    _, found, first = read_answers(completions)
    last = torch.where(found, first + 1, first)  # the answer's index (or the end)
    positions = torch.arange(completions.shape[-1], device=completions.device)
    return positions <= last.unsqueeze(-1)


def group_advantages(rewards: torch.Tensor, eps: float = 1e-6) -> torch.Tensor:
    """Group-relative advantages (equation (1)): ``rewards (B, k) -> (B, k)``.

    Each row is one prompt's ``k`` samples; the result has zero mean in every row, and a
    row of equal rewards gives zeros (not NaN).
    """
    check_tensor("rewards", rewards, ndim=2)
    if not rewards.is_floating_point():
        raise TypeError(f"rewards must be a floating tensor, got dtype {rewards.dtype}")
    check_finite_tensor("rewards", rewards)
    eps = check_positive_float("eps", eps)
    if rewards.shape[1] < 2:
        raise ValueError(f"rewards must have k >= 2 samples per prompt, got {rewards.shape[1]}")
    centred = rewards - rewards.mean(dim=1, keepdim=True)
    std = rewards.std(dim=1, unbiased=False, keepdim=True)
    return centred / (std + eps)  # (1)


def _same_shape(name: str, x: torch.Tensor, like: torch.Tensor) -> None:
    if x.shape != like.shape:
        raise ValueError(
            f"{name} must have the shape of log_probs {tuple(like.shape)}, got {tuple(x.shape)}"
        )


def policy_gradient_loss(
    log_probs: torch.Tensor,
    advantages: torch.Tensor,
    old_log_probs: torch.Tensor | None = None,
    clip_eps: float = 0.2,
) -> torch.Tensor:
    """REINFORCE (equation (2)) or, with ``old_log_probs``, the clipped surrogate (3).

    ``log_probs: (N,)`` sequence log-probabilities with gradients; ``advantages: (N,)``
    (treated as constants); ``old_log_probs: (N,)`` those of the sampling policy.
    Returns a scalar.
    """
    check_tensor("log_probs", log_probs, ndim=1)
    check_tensor("advantages", advantages, ndim=1)
    _same_shape("advantages", advantages, log_probs)
    clip_eps = check_positive_float("clip_eps", clip_eps)
    adv = advantages.detach()
    if old_log_probs is None:
        return -(adv * log_probs).mean()  # (2)
    check_tensor("old_log_probs", old_log_probs, ndim=1)
    _same_shape("old_log_probs", old_log_probs, log_probs)
    ratio = torch.exp(log_probs - old_log_probs.detach())
    clipped = ratio.clamp(1 - clip_eps, 1 + clip_eps)
    return -torch.minimum(ratio * adv, clipped * adv).mean()  # (3)


def kl_k3(log_probs: torch.Tensor, ref_log_probs: torch.Tensor) -> torch.Tensor:
    """GRPO's ``k3`` estimate of ``KL(π_θ ‖ π_ref)`` per sample (equation (4)).

    ``log_probs, ref_log_probs: (N,)`` of samples drawn from ``π_θ``; returns ``(N,)``,
    each ``≥ 0`` and ``0`` where the two are equal.
    """
    check_tensor("log_probs", log_probs)
    check_tensor("ref_log_probs", ref_log_probs)
    _same_shape("ref_log_probs", ref_log_probs, log_probs)
    d = ref_log_probs - log_probs
    return torch.expm1(d) - d  # (4): e^d − 1 − d, accurate for small d


@dataclass(frozen=True)
class RLStep:
    """What one :func:`rl_step` did: the loss, the mean reward and ``k3`` of its samples,
    the samples' completions ``(B, k, m)``, their rewards ``(B, k)``, and the token
    passes it cost (tokens run forward while sampling, forward and backward through the
    loss, and forward through the reference)."""

    loss: float
    reward: float
    kl: float
    completions: torch.Tensor
    rewards: torch.Tensor
    token_passes: int


RewardFn = Callable[[torch.Tensor, torch.Tensor], torch.Tensor]
MaskFn = Callable[[torch.Tensor], torch.Tensor]


def rl_step(
    model: nn.Module,
    optimizer: torch.optim.Optimizer,
    prompts: torch.Tensor,
    answers: torch.Tensor,
    *,
    n_samples: int,
    max_new_tokens: int,
    seed: int,
    reward_fn: RewardFn = answer_reward,
    mask_fn: MaskFn | None = answer_mask,
    temperature: float = 1.0,
    ref_model: nn.Module | None = None,
    beta: float = 0.0,
    grad_clip: float | None = 1.0,
) -> RLStep:
    """One on-policy update: sample, reward, advantages (1), loss (2) (+ ``β`` k3 (4)), step.

    ``prompts: (B, P)``; ``answers: (B, A)``; ``n_samples`` completions of
    ``max_new_tokens`` tokens per prompt are drawn with
    :func:`~survey_models.reasoning.sampling.sample_completions` (``seed``), scored by
    ``reward_fn(completions (B, k, m), answers) -> (B, k)``, and their log-probabilities
    (tokens kept by ``mask_fn``; ``None`` keeps all) are taken with
    :func:`~survey_models.reasoning.sampling.completion_log_probs`. A non-finite loss
    raises ``FloatingPointError`` before the update.
    """
    check_module("model", model)
    if not isinstance(optimizer, torch.optim.Optimizer):
        raise TypeError(
            f"optimizer must be a torch.optim.Optimizer, got {type(optimizer).__name__}"
        )
    check_tensor("answers", answers, ndim=2)
    check_callable("reward_fn", reward_fn)
    if mask_fn is not None:
        check_callable("mask_fn", mask_fn)
    beta = check_nonnegative_float("beta", beta)
    if beta > 0 and ref_model is None:
        raise ValueError("beta > 0 needs a ref_model (the frozen reference policy)")
    if ref_model is not None:
        check_module("ref_model", ref_model)
    if grad_clip is not None:
        grad_clip = check_positive_float("grad_clip", grad_clip)
    n_samples = check_positive_int("n_samples", n_samples)
    if n_samples < 2:
        raise ValueError(f"n_samples must be >= 2 (a group needs a baseline), got {n_samples}")
    seqs = sample_completions(model, prompts, n_samples, max_new_tokens, temperature, seed)
    if answers.shape[0] != prompts.shape[0]:
        raise ValueError(
            f"answers must have one row per prompt ({prompts.shape[0]}), got {answers.shape[0]}"
        )
    b, k, t = seqs.shape
    p = prompts.shape[1]
    completions = seqs[:, :, p:]
    rewards = reward_fn(completions, answers).float()
    adv = group_advantages(rewards).reshape(-1)  # (1)
    flat = seqs.reshape(b * k, t)
    mask = None if mask_fn is None else mask_fn(completions.reshape(b * k, -1))
    model.train()
    logp = completion_log_probs(model, flat, p, mask)
    loss = policy_gradient_loss(logp, adv)  # (2)
    passes = b * k * (t - 1) + 2 * b * k * (t - 1)  # sampling; loss forward + backward
    kl = torch.zeros(())
    if ref_model is not None:
        with torch.no_grad():
            ref_logp = completion_log_probs(ref_model, flat, p, mask)
        kl = kl_k3(logp, ref_logp).mean()  # (4)
        loss = loss + beta * kl
        passes += b * k * (t - 1)
    value = loss.item()
    if not torch.isfinite(loss):
        raise FloatingPointError(f"the RL loss became {value} (the model keeps its weights)")
    optimizer.zero_grad(set_to_none=True)
    loss.backward()
    if grad_clip is not None:
        nn.utils.clip_grad_norm_(model.parameters(), grad_clip)
    optimizer.step()
    model.eval()
    return RLStep(value, rewards.mean().item(), kl.item(), completions, rewards, passes)


@torch.no_grad()
def sampled_accuracy(
    model: nn.Module, task: ThinkTask, n_samples: int = 1, seed: int = 0
) -> tuple[float, float]:
    """Accuracy and mean chain length of completions sampled at temperature 1.

    Every prompt of ``task`` gets ``n_samples`` completions; returns the fraction whose
    answer (:func:`read_answers`) is right, and their mean number of tokens before ``>``.
    """
    check_module("model", model)
    if not isinstance(task, ThinkTask):
        raise TypeError(f"task must be a ThinkTask, got {type(task).__name__}")
    seqs = sample_completions(model, task.prompts, n_samples, task.max_new_tokens, seed=seed)
    completions = seqs[:, :, task.prompts.shape[1] :]
    reward = answer_reward(completions, task.answers)
    _, _, length = read_answers(completions)
    return reward.mean().item(), length.float().mean().item()
