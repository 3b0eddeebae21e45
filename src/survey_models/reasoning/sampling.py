"""Many sampled completions per prompt, their answers, and their log-probabilities.

Self-consistency, best-of-N with a verifier, RL from verifiable rewards and preference
optimisation all start the same way: for each prompt ``x`` draw ``k`` completions
``y ~ p_θ(· | x)``, read off each one's final answer, check it, and (to learn) score
``log p_θ(y | x)``. This module holds those shared steps, so each method's module holds
only what is its own.

The log-probability of a completion ``y = (y_1, …, y_m)`` after a prompt ``x`` is the
sum of next-token log-probabilities (equation (7.1) of the chapter, restricted to the
completion)::

    log p_θ(y | x) = Σ_{t=1}^{m} log p_θ(y_t | x, y_{<t})                     (1)

The *verifiable reward* of a completion is 1 if its final answer tokens equal the true
answer and 0 otherwise (equation (2)); nothing else about the completion is judged.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from .._checks import check_module, check_positive_float, check_positive_int, check_seed

__all__ = [
    "sample_completions",
    "final_answers",
    "verifiable_reward",
    "completion_log_probs",
]


def _check_long(name: str, value: object, ndim: int | None = None) -> torch.Tensor:
    if not isinstance(value, torch.Tensor) or value.dtype != torch.long:
        raise TypeError(f"{name} must be an int64 (long) torch.Tensor of token ids")
    if ndim is not None and value.dim() != ndim:
        raise ValueError(f"{name} must have {ndim} dimensions, got shape {tuple(value.shape)}")
    return value


@torch.no_grad()
def sample_completions(
    model: nn.Module,
    prompts: torch.Tensor,
    n_samples: int,
    max_new_tokens: int,
    temperature: float = 1.0,
    seed: int = 0,
) -> torch.Tensor:
    """``n_samples`` sampled continuations of every prompt.

    ``prompts: (B, P)`` token ids; returns ``(B, n_samples, P + max_new_tokens)``, each
    row the prompt followed by ``max_new_tokens`` tokens drawn from
    ``softmax(logits / temperature)`` by ``model.generate`` with a generator seeded by
    ``seed`` (the same arguments give the same samples).
    """
    check_module("model", model)
    if not hasattr(model, "generate"):
        raise TypeError("model must have a generate(idx, max_new_tokens, ...) method")
    prompts = _check_long("prompts", prompts, ndim=2)
    n_samples = check_positive_int("n_samples", n_samples)
    max_new_tokens = check_positive_int("max_new_tokens", max_new_tokens)
    temperature = check_positive_float("temperature", temperature)
    seed = check_seed(seed)
    generator = torch.Generator(device=prompts.device).manual_seed(seed)
    repeated = prompts.repeat_interleave(n_samples, dim=0)
    out = model.generate(repeated, max_new_tokens, temperature=temperature, generator=generator)
    return out.reshape(prompts.shape[0], n_samples, -1)


def final_answers(sequences: torch.Tensor, n_answer: int) -> torch.Tensor:
    """The last ``n_answer`` tokens of each sequence: ``(..., T) -> (..., n_answer)``."""
    sequences = _check_long("sequences", sequences)
    n_answer = check_positive_int("n_answer", n_answer)
    if n_answer > sequences.shape[-1]:
        raise ValueError(f"n_answer={n_answer} exceeds the sequence length {sequences.shape[-1]}")
    return sequences[..., -n_answer:]


def verifiable_reward(sequences: torch.Tensor, answers: torch.Tensor) -> torch.Tensor:
    """1.0 where a sequence's final answer equals the true one, else 0.0 (equation (2)).

    ``sequences: (B, k, T)`` (or ``(B, T)``) and ``answers: (B, A)``; returns ``(B, k)``
    (or ``(B,)``) float32. Only the last ``A`` tokens are compared.
    """
    sequences = _check_long("sequences", sequences)
    answers = _check_long("answers", answers, ndim=2)
    if sequences.dim() not in (2, 3) or sequences.shape[0] != answers.shape[0]:
        raise ValueError(
            "sequences must be (B, T) or (B, k, T) with the B of answers "
            f"{tuple(answers.shape)}, got {tuple(sequences.shape)}"
        )
    got = final_answers(sequences, answers.shape[1])
    want = answers if sequences.dim() == 2 else answers[:, None, :]
    return (got == want).all(dim=-1).float()


def completion_log_probs(
    model: nn.Module,
    sequences: torch.Tensor,
    prompt_length: int,
    mask: torch.Tensor | None = None,
) -> torch.Tensor:
    """``log p_θ(y | x)`` of every sequence's completion (equation (1)), with gradients.

    ``sequences: (N, T)`` are prompt (the first ``prompt_length`` tokens) then
    completion. Returns ``(N,)``: the sum over completion tokens of the model's
    next-token log-probability. ``mask: (N, T - prompt_length)`` (bool), if given, keeps
    only the completion tokens where it is true (e.g. to stop at an end token).
    """
    check_module("model", model)
    sequences = _check_long("sequences", sequences, ndim=2)
    prompt_length = check_positive_int("prompt_length", prompt_length)
    if prompt_length >= sequences.shape[1]:
        raise ValueError(
            f"prompt_length={prompt_length} leaves no completion in sequences of length "
            f"{sequences.shape[1]}"
        )
    n_completion = sequences.shape[1] - prompt_length
    if mask is not None:
        if not isinstance(mask, torch.Tensor) or mask.dtype != torch.bool:
            raise TypeError("mask must be a bool torch.Tensor or None")
        if mask.shape != (sequences.shape[0], n_completion):
            raise ValueError(
                f"mask must have shape {(sequences.shape[0], n_completion)}, "
                f"got {tuple(mask.shape)}"
            )
    logits = model(sequences[:, :-1])[:, prompt_length - 1 :]  # predicts y_1 … y_m
    logp = F.log_softmax(logits, dim=-1)
    token_logp = logp.gather(-1, sequences[:, prompt_length:, None]).squeeze(-1)  # (1)
    if mask is not None:
        token_logp = token_logp * mask
    return token_logp.sum(dim=1)
