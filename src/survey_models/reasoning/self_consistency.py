"""Self-consistency: sample several chains of thought, answer with the most frequent answer.

Wang et al. (2023) replace the one greedy chain of thought by ``k`` sampled ones,
``y^(1), …, y^(k) ~ p_θ(· | x)``, and answer with the final answer ``a(y)`` that the most
chains reach (a *majority vote*); with weights ``w_j`` (e.g. a verifier's score, or the
model's probability of the chain) the vote is weighted::

    â = argmax_a Σ_{j=1}^{k} w_j · 1[a(y^(j)) = a]          (w_j = 1: majority vote)   (1)

Ties are broken deterministically: among the answers with the largest (exactly equal)
vote, the one sampled first wins, i.e. the answer of the smallest ``j`` (equation (2)).
With integer (or unweighted) votes a tie is exact; with float weights, sums that are
equal on paper may differ in their last bit, and then the larger one wins.

The accuracy of the vote over the first ``k`` samples, for growing ``k``, is the
self-consistency curve: :func:`vote_accuracy`. The samples themselves come from
:func:`survey_models.reasoning.sampling.sample_completions` and their answers from
:func:`survey_models.reasoning.sampling.final_answers`.
"""

from __future__ import annotations

import torch

from .._checks import check_finite_tensor, check_positive_int

__all__ = ["majority_vote", "vote_accuracy"]


def _check_answers(answers: object) -> torch.Tensor:
    if not isinstance(answers, torch.Tensor) or answers.dtype != torch.long:
        raise TypeError("answers must be an int64 (long) torch.Tensor of answer tokens")
    if answers.dim() != 3 or answers.shape[1] == 0 or answers.shape[2] == 0:
        raise ValueError(
            "answers must have shape (batch, k, answer_length) with k >= 1 and "
            f"answer_length >= 1, got {tuple(answers.shape)}"
        )
    return answers


def majority_vote(answers: torch.Tensor, weights: torch.Tensor | None = None) -> torch.Tensor:
    """The (weighted) majority answer of each row (equation (1)), ties to the first sampled.

    ``answers: (B, k, A)`` int64, ``k`` sampled answers of ``A`` tokens per problem;
    ``weights: (B, k)`` finite, non-negative floats or ``None`` (every vote counts 1).
    Returns ``(B, A)``: for each problem the answer with the largest total weight; among
    tied answers the one whose first occurrence has the smallest sample index (2).
    """
    answers = _check_answers(answers)
    b, k, _ = answers.shape
    same = (answers[:, :, None, :] == answers[:, None, :, :]).all(dim=-1)  # (B, k, k)
    if weights is None:
        votes = same.sum(dim=-1)  # integer counts: ties are exact
    else:
        if not isinstance(weights, torch.Tensor) or not weights.is_floating_point():
            raise TypeError("weights must be a floating-point torch.Tensor or None")
        if weights.shape != (b, k):
            raise ValueError(
                f"weights must have shape (batch, k) = {(b, k)}, got {tuple(weights.shape)}"
            )
        check_finite_tensor("weights", weights)
        if bool((weights < 0).any()):
            raise ValueError("weights must be non-negative")
        # Rows j with the same answer hold the same mask, so their sums are identical.
        votes = (same * weights[:, None, :]).sum(dim=-1)  # Σ_j w_j 1[a_j = a_i], (1)
    # argmax returns the first maximal index: the earliest sample of a winning answer (2).
    winner = votes.argmax(dim=1)
    return answers[torch.arange(b), winner]


def vote_accuracy(
    answers: torch.Tensor,
    truth: torch.Tensor,
    k: int,
    weights: torch.Tensor | None = None,
) -> float:
    """Fraction of problems whose vote over the first ``k`` samples is the true answer.

    ``answers: (B, K, A)`` with ``K >= k``; ``truth: (B, A)``; ``weights: (B, K)`` or
    ``None`` (see :func:`majority_vote`). ``k = 1`` is the accuracy of one sample.
    """
    answers = _check_answers(answers)
    k = check_positive_int("k", k)
    if k > answers.shape[1]:
        raise ValueError(f"k={k} exceeds the {answers.shape[1]} samples per problem in answers")
    if not isinstance(truth, torch.Tensor) or truth.dtype != torch.long:
        raise TypeError("truth must be an int64 (long) torch.Tensor of answer tokens")
    if truth.shape != (answers.shape[0], answers.shape[2]):
        raise ValueError(
            f"truth must have shape (batch, answer_length) = "
            f"{(answers.shape[0], answers.shape[2])}, got {tuple(truth.shape)}"
        )
    w = None
    if weights is not None:
        if not isinstance(weights, torch.Tensor):
            raise TypeError("weights must be a floating-point torch.Tensor or None")
        if weights.shape != answers.shape[:2]:
            raise ValueError(
                f"weights must have shape (batch, K) = {tuple(answers.shape[:2])}, "
                f"got {tuple(weights.shape)}"
            )
        w = weights[:, :k]
    chosen = majority_vote(answers[:, :k], w)
    return (chosen == truth).all(dim=1).float().mean().item()
