"""Preference optimisation: the DPO loss, its implicit reward, a KL estimate and a toy task.

RLHF (Ouyang et al. 2022) fits a reward model ``r_φ(x, y)`` to human comparisons and then
maximises it with PPO under a KL penalty to the reference (SFT) model ``π_ref``::

    max_π  E_{x, y~π}[ r_φ(x, y) ] − β · KL( π(·|x) ‖ π_ref(·|x) )                  (1)

Its optimum is ``π*(y|x) = π_ref(y|x) exp(r(x, y)/β) / Z(x)``, so a reward can be read off
any policy, up to a term that depends on ``x`` only (the *implicit reward*)::

    r̂(x, y) = β · ( log π(y|x) − log π_ref(y|x) )                                  (2)

Direct preference optimisation (DPO; Rafailov et al. 2023) puts (2) into the
Bradley–Terry likelihood of a preferred answer ``y_w`` over a dispreferred ``y_l``;
``Z(x)`` cancels, and the policy is fitted by a classification loss, with no reward
model and no sampling during training::

    h = (log π(y_w|x) − log π_ref(y_w|x)) − (log π(y_l|x) − log π_ref(y_l|x))
    L_DPO = −log σ(β · h)                                                           (3)

    ∂L_DPO/∂h = −β · σ(−β · h)                                                      (4)

(4) weights each pair by how wrongly the implicit reward orders it. The sequence-level
KL of the policy to the reference is estimated on samples ``y ~ π(·|x)`` from the
log-ratio ``d = log π(y|x) − log π_ref(y|x)`` (Schulman's estimators ``k1`` and ``k3``,
both unbiased; ``k3`` is ≥ 0 for every sample)::

    KL(π ‖ π_ref) = E_{y~π}[ d ] = E_{y~π}[ e^{−d} − 1 + d ]                          (5)

The toy task has a known preference among several correct answers. The prompt is a
total ``s`` (two digits and ``=``); an answer is ``n_digits`` digits that add up to
``s``. Every such answer is correct; the preferred *style* writes the digits in
non-decreasing order. The known score (equation (6)) is 0 for a wrong answer, 1 for a
correct one and 2 for a correct, sorted one; of two answers the one with the higher
score is preferred, and equal scores are not compared. For example ``13=148`` and
``13=841`` are both correct, and ``13=148`` is preferred.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable

import torch
import torch.nn.functional as F
from torch import nn

from .._checks import (
    check_choice,
    check_index_tensor,
    check_module,
    check_positive_float,
    check_positive_int,
    check_seed,
    check_tensor,
)
from .rl import kl_k3
from .sampling import completion_log_probs
from .tasks import SequenceTask, _make_task

__all__ = [
    "PREFERENCE_VOCAB",
    "PROMPT_LENGTH",
    "dpo_loss",
    "implicit_reward",
    "make_dpo_loss_fn",
    "sequence_kl",
    "sum_prompts",
    "correct_answers",
    "random_correct_sequences",
    "preference_score",
    "preference_pairs",
    "sequence_task",
    "decode_preference",
]

# Digits 0-9, then "=".
PREFERENCE_VOCAB = tuple("0123456789") + ("=",)
_EQ = 10
# A prompt is the total as two digits, then "=".
PROMPT_LENGTH = 3


def _check_logps(**tensors: torch.Tensor) -> None:
    shape = None
    for name, t in tensors.items():
        check_tensor(name, t, ndim=1, floating=True)
        if shape is not None and t.shape != shape:
            raise ValueError(f"{name} must have shape {tuple(shape)}, got {tuple(t.shape)}")
        shape = t.shape


def implicit_reward(
    policy_logps: torch.Tensor, reference_logps: torch.Tensor, beta: float
) -> torch.Tensor:
    """``β (log π(y|x) − log π_ref(y|x))`` (equation (2)); inputs and output ``(N,)``."""
    beta = check_positive_float("beta", beta)
    _check_logps(policy_logps=policy_logps, reference_logps=reference_logps)
    return beta * (policy_logps - reference_logps)  # (2)


def dpo_loss(
    policy_chosen: torch.Tensor,
    policy_rejected: torch.Tensor,
    reference_chosen: torch.Tensor,
    reference_rejected: torch.Tensor,
    beta: float = 0.1,
) -> torch.Tensor:
    """The mean DPO loss ``−log σ(β h)`` over ``N`` pairs (equation (3)).

    Each argument is ``(N,)``: the sequence log-probability of the chosen (``y_w``) or
    rejected (``y_l``) completion under the policy or the reference. Returns a scalar;
    it is ``log 2`` when the policy equals the reference (``h = 0``).
    """
    beta = check_positive_float("beta", beta)
    _check_logps(
        policy_chosen=policy_chosen,
        policy_rejected=policy_rejected,
        reference_chosen=reference_chosen,
        reference_rejected=reference_rejected,
    )
    if policy_chosen.numel() == 0:
        raise ValueError("policy_chosen must hold at least one pair, got an empty tensor")
    h = (policy_chosen - reference_chosen) - (policy_rejected - reference_rejected)  # (3)
    return -F.logsigmoid(beta * h).mean()  # (3); its gradient in h is (4)


def make_dpo_loss_fn(
    beta: float = 0.1, prompt_length: int = PROMPT_LENGTH
) -> Callable[..., torch.Tensor]:
    """A ``loss_fn(model, chosen, rejected, ref_chosen, ref_rejected)`` for
    :func:`survey_models.train.fit`.

    Pass ``data=(chosen, rejected, ref_chosen, ref_rejected)``: ``chosen, rejected:
    (N, T)`` token ids (prompt then completion), ``ref_*: (N,)`` their reference
    log-probabilities, computed once beforehand with
    :func:`survey_models.reasoning.sampling.completion_log_probs` under ``torch.no_grad``.
    """
    beta = check_positive_float("beta", beta)
    prompt_length = check_positive_int("prompt_length", prompt_length)

    def loss_fn(
        model: nn.Module,
        chosen: torch.Tensor,
        rejected: torch.Tensor,
        ref_chosen: torch.Tensor,
        ref_rejected: torch.Tensor,
    ) -> torch.Tensor:
        both = completion_log_probs(model, torch.cat([chosen, rejected]), prompt_length)
        policy_chosen, policy_rejected = both.split(chosen.shape[0])
        return dpo_loss(policy_chosen, policy_rejected, ref_chosen, ref_rejected, beta)

    return loss_fn


@torch.no_grad()
def sequence_kl(
    policy: nn.Module,
    reference: nn.Module,
    samples: torch.Tensor,
    prompt_length: int = PROMPT_LENGTH,
    estimator: str = "k1",
) -> float:
    """Estimate ``KL(π ‖ π_ref)`` per sequence from ``samples (N, T)`` drawn from ``policy``.

    ``d = log π(y|x) − log π_ref(y|x)`` of each completion; ``"k1"`` averages ``d``,
    ``"k3"`` averages ``e^{−d} − 1 + d`` (equation (5)), which is ≥ 0 for every sample
    and 0 only where ``d = 0``. Both are unbiased only for samples of ``policy``. In nats.
    """
    check_module("policy", policy)
    check_module("reference", reference)
    check_index_tensor("samples", samples, ndim=2)
    check_choice("estimator", estimator, ("k1", "k3"))
    if samples.shape[0] == 0:
        raise ValueError("samples must hold at least one sequence, got none")
    logp = completion_log_probs(policy, samples, prompt_length)
    ref_logp = completion_log_probs(reference, samples, prompt_length)
    per_sample = logp - ref_logp if estimator == "k1" else kl_k3(logp, ref_logp)  # (5)
    return per_sample.mean().item()


def _check_n_digits(n_digits: int) -> int:
    n_digits = check_positive_int("n_digits", n_digits)
    if n_digits > 11:
        raise ValueError(
            f"n_digits must be at most 11 (a total fits in two digits), got {n_digits}"
        )
    return n_digits


def _check_sums(sums: object, n_digits: int) -> torch.Tensor:
    check_index_tensor("sums", sums, 9 * n_digits + 1, ndim=1)
    assert isinstance(sums, torch.Tensor)
    return sums


def sum_prompts(sums: torch.Tensor, n_digits: int = 3) -> torch.Tensor:
    """Prompts ``s_1 s_0 =`` for totals ``sums: (n,)`` in ``[0, 9·n_digits]``: ``(n, 3)``."""
    n_digits = _check_n_digits(n_digits)
    sums = _check_sums(sums, n_digits).long()
    eq = torch.full_like(sums, _EQ)
    return torch.stack([sums // 10, sums % 10, eq], dim=1)


def correct_answers(total: int, n_digits: int = 3) -> torch.Tensor:
    """Every answer to ``total``: the ``n_digits``-digit tuples that add up to it, ``(k, n_digits)``.

    In lexicographic order; the sorted (preferred) ones are the rows with non-decreasing
    digits.
    """
    n_digits = _check_n_digits(n_digits)
    if isinstance(total, bool) or not isinstance(total, int) or not 0 <= total <= 9 * n_digits:
        raise ValueError(f"total must be an int in [0, {9 * n_digits}], got {total!r}")
    rows = [d for d in itertools.product(range(10), repeat=n_digits) if sum(d) == total]
    return torch.tensor(rows, dtype=torch.long)


def random_correct_sequences(sums: torch.Tensor, n_digits: int = 3, seed: int = 0) -> torch.Tensor:
    """For each total, the prompt and one correct answer drawn uniformly: ``(n, 3 + n_digits)``.

    Every correct answer is equally likely, sorted or not: the "mix" a reference model is
    fine-tuned on.
    """
    n_digits = _check_n_digits(n_digits)
    sums = _check_sums(sums, n_digits)
    g = torch.Generator().manual_seed(check_seed(seed))
    table = {s: correct_answers(s, n_digits) for s in sorted(set(sums.tolist()))}
    rows = []
    for s in sums.tolist():
        options = table[s]
        rows.append(options[int(torch.randint(len(options), (1,), generator=g))])
    return torch.cat([sum_prompts(sums, n_digits), torch.stack(rows)], dim=1)


def preference_score(sequences: torch.Tensor) -> torch.Tensor:
    """The known score of each sequence ``s_1 s_0 = d_1 … d_n`` (equation (6)): ``(..., T) -> (...)``.

    0 if the digits do not add up to the total (or a digit is ``=``), 1 if they do, 2 if
    they do and are non-decreasing (the preferred style). int64.
    """
    check_index_tensor("sequences", sequences, len(PREFERENCE_VOCAB))
    if sequences.dim() == 0 or sequences.shape[-1] <= PROMPT_LENGTH:
        raise ValueError(
            f"sequences must have more than {PROMPT_LENGTH} tokens in the last dimension, "
            f"got shape {tuple(sequences.shape)}"
        )
    total = sequences[..., 0] * 10 + sequences[..., 1]
    digits = sequences[..., PROMPT_LENGTH:]
    valid = (digits < 10).all(-1) & (sequences[..., :2] < 10).all(-1)
    valid &= sequences[..., 2] == _EQ
    correct = valid & (digits.sum(-1) == total)
    ordered = (digits[..., 1:] >= digits[..., :-1]).all(-1)
    return correct.long() + (correct & ordered).long()  # (6)


def preference_pairs(samples: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Labelled pairs from ``samples (B, k, T)`` (``k`` even): ``(chosen, rejected)``, each ``(P, T)``.

    Samples ``2j`` and ``2j + 1`` of each prompt form a pair; the one with the higher
    :func:`preference_score` is chosen, pairs with equal scores are dropped (the
    Bradley–Terry labels of a known preference, without noise).
    """
    check_index_tensor("samples", samples, len(PREFERENCE_VOCAB), ndim=3)
    if samples.shape[1] % 2:
        raise ValueError(f"samples must have an even number k of samples, got k={samples.shape[1]}")
    first, second = samples[:, 0::2].flatten(0, 1), samples[:, 1::2].flatten(0, 1)
    s1, s2 = preference_score(first), preference_score(second)
    keep = s1 != s2
    first_wins = (s1 > s2)[keep, None]
    chosen = torch.where(first_wins, first[keep], second[keep])
    rejected = torch.where(first_wins, second[keep], first[keep])
    return chosen, rejected


def sequence_task(sequences: torch.Tensor) -> SequenceTask:
    """Next-token training data from full sequences ``(n, 3 + n_digits)``: only the answer
    digits are scored (a :class:`~survey_models.reasoning.tasks.SequenceTask`)."""
    check_index_tensor("sequences", sequences, len(PREFERENCE_VOCAB), ndim=2)
    if sequences.shape[0] == 0 or sequences.shape[1] <= PROMPT_LENGTH:
        raise ValueError(
            f"sequences must be (n >= 1, T > {PROMPT_LENGTH}), got {tuple(sequences.shape)}"
        )
    n_answer = sequences.shape[1] - PROMPT_LENGTH
    return _make_task(sequences.long(), PROMPT_LENGTH, n_answer, len(PREFERENCE_VOCAB))


def decode_preference(tokens: torch.Tensor) -> str:
    """A 1-D tensor of tokens as text, e.g. ``"13=148"``."""
    check_index_tensor("tokens", tokens, len(PREFERENCE_VOCAB), ndim=1)
    return "".join(PREFERENCE_VOCAB[int(t)] for t in tokens)
