"""Prediction, thinking and reasoning: small algorithmic tasks for a tiny GPT.

Three tasks, each written as token sequences for :class:`survey_models.transformer.GPT`
and trained with :func:`survey_models.transformer.lm_loss` (targets ``-100`` are not
scored, so only the answer, or the answer and its intermediate steps, are learnt):

* **parity** of ``n_bits`` bits, asked directly (``b1 … bn = p``) or with a *chain of
  thought* (Wei et al. 2022): the running parities ``r_1 … r_n`` are written out before
  the last one, ``r_n``, is taken as the answer, so each new token needs only one XOR
  (equation (7.2));
* **addition** of two ``n_digits``-digit numbers, answered directly
  (``a + b = s``) or after a *scratchpad* (Nye et al. 2021) listing, column by column from
  the units, ``a_i b_i c_i s_i c_{i+1}`` with ``s_i = (a_i + b_i + c_i) mod 10`` and
  ``c_{i+1} = ⌊(a_i + b_i + c_i)/10⌋`` (equation (7.3));
* **modular addition** ``a + b mod p`` (Power et al. 2022), every pair ``(a, b)`` one
  example, for grokking experiments.

Every task returns a :class:`SequenceTask`: inputs ``x`` and targets ``y`` for
``lm_loss`` (``y`` is ``x`` shifted left by one, with non-scored positions set to
``-100``), the prompt length, and the true answers for exact-match evaluation by greedy
decoding (:func:`exact_match`).
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass

import torch
from torch import nn

from .._checks import (
    check_index_tensor,
    check_int_in,
    check_module,
    check_positive_int,
    check_probability,
    check_seed,
)

__all__ = [
    "SequenceTask",
    "IGNORE",
    "parity_task",
    "addition_task",
    "addition_scratchpad",
    "modular_addition_task",
    "split_task",
    "exact_match",
    "answer_accuracy",
    "PARITY_VOCAB",
    "ADDITION_VOCAB",
    "decode_addition",
    "random_bits",
]

IGNORE = -100

# Parity tokens: bits 0 and 1, then "=".
PARITY_VOCAB = ("0", "1", "=")
# Addition tokens: digits 0-9, then "+", "=", ";" (end of a scratchpad column) and ">"
# (end of the scratchpad, the answer follows).
ADDITION_VOCAB = tuple("0123456789") + ("+", "=", ";", ">")
_PLUS, _EQ, _SEMI, _ANS = 10, 11, 12, 13
# Up to this many bits, random_bits draws a permutation of all 2**n_bits codes.
_PERMUTE_MAX_BITS = 20


@dataclass(frozen=True)
class SequenceTask:
    """Sequences for next-token training and their answers.

    ``x, y``: ``(n, T)`` int64 inputs and targets (``y[:, t]`` is the token after
    ``x[:, t]``, or ``-100`` if not scored). ``prompt_length``: tokens given at test
    time. ``answers``: ``(n, A)`` int64, the last ``A`` tokens of the full sequence,
    compared by :func:`exact_match`. ``vocab_size``: number of token ids.
    """

    x: torch.Tensor
    y: torch.Tensor
    prompt_length: int
    answers: torch.Tensor
    vocab_size: int

    @property
    def full(self) -> torch.Tensor:
        """The complete sequences ``(n, T + 1)``: prompt, any steps, and the answer."""
        # x holds every token but the last, which is the answer's last token.
        return torch.cat([self.x, self.answers[:, -1:]], dim=1)

    @property
    def generated_length(self) -> int:
        """Tokens the model must write after the prompt (steps plus answer)."""
        return self.x.shape[1] + 1 - self.prompt_length

    def __len__(self) -> int:
        return self.x.shape[0]


def _make_task(
    seqs: torch.Tensor, prompt_length: int, n_answer: int, vocab_size: int
) -> SequenceTask:
    # Inputs are the sequence without its last token; targets are the sequence shifted by
    # one. Target position t predicts token t + 1, so the tokens after the prompt are
    # scored from position prompt_length - 1 on.
    x = seqs[:, :-1].clone()
    y = seqs[:, 1:].clone()
    y[:, : prompt_length - 1] = IGNORE
    return SequenceTask(x, y, prompt_length, seqs[:, -n_answer:].clone(), vocab_size)


def _all_bit_strings(n_bits: int) -> torch.Tensor:
    return torch.tensor(list(itertools.product((0, 1), repeat=n_bits)), dtype=torch.long)


def parity_task(bits: torch.Tensor, chain_of_thought: bool = False) -> SequenceTask:
    """Parity of each row of ``bits`` (``(n, n_bits)`` of 0/1), as token sequences.

    Direct: ``b_1 … b_n = p`` with ``p = (Σ b_i) mod 2`` (equation (7.1)); only ``p`` is
    scored. Chain of thought: ``b_1 … b_n = r_1 … r_n`` with ``r_k = r_{k-1} ⊕ b_k``,
    ``r_0 = 0`` (equation (7.2)); all ``r_k`` are scored and ``r_n = p`` is the answer.
    """
    if not isinstance(bits, torch.Tensor) or bits.dim() != 2:
        raise ValueError("bits must be a 2-D tensor (n, n_bits) of 0/1")
    if bits.shape[1] == 0 or not bool(((bits == 0) | (bits == 1)).all()):
        raise ValueError("bits must hold only 0 and 1, with at least one column")
    bits = bits.long()
    eq = torch.full((bits.shape[0], 1), 2, dtype=torch.long)
    if chain_of_thought:
        running = torch.cumsum(bits, dim=1) % 2  # r_k, equation (7.2)
        seqs = torch.cat([bits, eq, running], dim=1)
    else:
        parity = bits.sum(1, keepdim=True) % 2  # equation (7.1)
        seqs = torch.cat([bits, eq, parity], dim=1)
    return _make_task(seqs, bits.shape[1] + 1, 1, len(PARITY_VOCAB))


def random_bits(n: int, n_bits: int, seed: int = 0) -> torch.Tensor:
    """``n`` distinct random bit strings of length ``n_bits`` (``n ≤ 2**n_bits``)."""
    n = check_positive_int("n", n)
    n_bits = check_positive_int("n_bits", n_bits)
    if n > 2**n_bits:
        raise ValueError(f"n must be at most 2**n_bits = {2**n_bits}, got {n}")
    g = torch.Generator().manual_seed(check_seed(seed))
    if n_bits <= _PERMUTE_MAX_BITS:
        codes = torch.randperm(2**n_bits, generator=g)[:n]
    else:
        codes = torch.unique(torch.randint(0, 2**n_bits, (4 * n,), generator=g))
        while codes.numel() < n:  # only when n is close to 2**n_bits: draw more
            more = torch.randint(0, 2**n_bits, (4 * n,), generator=g)
            codes = torch.unique(torch.cat([codes, more]))
        codes = codes[torch.randperm(codes.numel(), generator=g)][:n]
    shifts = torch.arange(n_bits - 1, -1, -1)
    return (codes.unsqueeze(1) >> shifts) & 1


def _digits(v: torch.Tensor, n: int) -> torch.Tensor:
    # Most significant digit first: (len(v), n).
    powers = 10 ** torch.arange(n - 1, -1, -1)
    return (v.unsqueeze(1) // powers) % 10


def addition_scratchpad(a: int, b: int, n_digits: int) -> list[tuple[int, int, int, int, int]]:
    """The columns ``(a_i, b_i, c_i, s_i, c_{i+1})`` of ``a + b``, units first (eq. (7.3)).

    ``a`` and ``b`` are ints in ``[0, 10**n_digits)``.
    """
    n_digits = check_positive_int("n_digits", n_digits)
    check_int_in("a", a, 0, 10**n_digits)
    check_int_in("b", b, 0, 10**n_digits)
    steps, carry = [], 0
    for i in range(n_digits):
        ai, bi = (a // 10**i) % 10, (b // 10**i) % 10
        total = ai + bi + carry
        steps.append((ai, bi, carry, total % 10, total // 10))
        carry = total // 10
    return steps


def addition_task(
    a: torch.Tensor, b: torch.Tensor, n_digits: int = 3, scratchpad: bool = False
) -> SequenceTask:
    """``a + b`` for integer tensors ``a, b`` (``(n,)``, each in ``[0, 10**n_digits)``).

    Plain: ``a_{k-1}…a_0 + b_{k-1}…b_0 = s_k…s_0`` (the sum with ``n_digits + 1`` digits).
    Scratchpad: after ``=``, for each column from the units ``a_i b_i c_i s_i c_{i+1} ;``,
    then ``>`` and the same sum digits. Everything after ``=`` is scored; the answer is
    the last ``n_digits + 1`` tokens.
    """
    n_digits = check_positive_int("n_digits", n_digits)
    for name, v in (("a", a), ("b", b)):
        if not isinstance(v, torch.Tensor) or v.dim() != 1 or v.dtype != torch.long:
            raise ValueError(f"{name} must be a 1-D int64 tensor")
        if v.numel() and (int(v.min()) < 0 or int(v.max()) >= 10**n_digits):
            raise ValueError(f"{name} must lie in [0, {10**n_digits}) for n_digits={n_digits}")
    if a.shape != b.shape:
        raise ValueError(
            f"a and b must have the same shape, got {tuple(a.shape)} and {tuple(b.shape)}"
        )
    n = a.shape[0]
    plus = torch.full((n, 1), _PLUS, dtype=torch.long)
    eq = torch.full((n, 1), _EQ, dtype=torch.long)
    answer = _digits(a + b, n_digits + 1)
    parts = [_digits(a, n_digits), plus, _digits(b, n_digits), eq]
    if scratchpad:
        pad = torch.tensor(
            [
                [
                    t
                    for col in addition_scratchpad(int(ai), int(bi), n_digits)
                    for t in (*col, _SEMI)
                ]
                + [_ANS]
                for ai, bi in zip(a.tolist(), b.tolist())
            ],
            dtype=torch.long,
        )
        parts.append(pad.reshape(n, -1))
    parts.append(answer)
    seqs = torch.cat(parts, dim=1)
    return _make_task(seqs, 2 * n_digits + 2, n_digits + 1, len(ADDITION_VOCAB))


def decode_addition(tokens: torch.Tensor) -> str:
    """A 1-D tensor of addition tokens as text, e.g. ``"357+486=0843"``."""
    check_index_tensor("tokens", tokens, len(ADDITION_VOCAB), ndim=1)
    return "".join(ADDITION_VOCAB[int(t)] for t in tokens)


def modular_addition_task(p: int) -> SequenceTask:
    """All ``p²`` equations ``a + b = (a + b) mod p`` as sequences ``a b = c``.

    Tokens ``0 … p-1`` are the residues, ``p`` is ``=``; only ``c`` is scored.
    """
    p = check_positive_int("p", p)
    if p < 2:
        raise ValueError(f"p must be at least 2, got {p}")
    pairs = torch.cartesian_prod(torch.arange(p), torch.arange(p))
    eq = torch.full((p * p, 1), p, dtype=torch.long)
    c = (pairs[:, :1] + pairs[:, 1:]) % p
    return _make_task(torch.cat([pairs, eq, c], dim=1), 3, 1, p + 1)


def split_task(
    task: SequenceTask, train_fraction: float, seed: int = 0
) -> tuple[SequenceTask, SequenceTask]:
    """A random split of ``task``'s examples into disjoint train and test tasks."""
    _check_task(task)
    train_fraction = check_probability("train_fraction", train_fraction, open_interval=True)
    n = len(task)
    perm = torch.randperm(n, generator=torch.Generator().manual_seed(seed))
    k = int(round(train_fraction * n))
    if k == 0 or k == n:
        raise ValueError(f"train_fraction={train_fraction} leaves an empty split of {n} examples")

    def take(idx: torch.Tensor) -> SequenceTask:
        return SequenceTask(
            task.x[idx], task.y[idx], task.prompt_length, task.answers[idx], task.vocab_size
        )

    return take(perm[:k]), take(perm[k:])


def _check_task(task: object) -> SequenceTask:
    if not isinstance(task, SequenceTask):
        raise TypeError(f"task must be a SequenceTask, got {type(task).__name__}")
    return task


@torch.no_grad()
def exact_match(model: nn.Module, task: SequenceTask, batch_size: int = 1024) -> float:
    """Fraction of examples whose greedily generated answer is exactly right.

    The model sees only the prompt and writes every following token itself (steps
    included); only the final answer tokens are compared.
    """
    if not hasattr(model, "generate"):
        raise TypeError("model must have a generate(idx, max_new_tokens, greedy=True) method")
    _check_task(task)
    check_positive_int("batch_size", batch_size)
    n_answer = task.answers.shape[1]
    correct = 0
    for start in range(0, len(task), batch_size):
        prompt = task.x[start : start + batch_size, : task.prompt_length]
        out = model.generate(prompt, task.generated_length, greedy=True)
        correct += int(
            (out[:, -n_answer:] == task.answers[start : start + batch_size]).all(1).sum()
        )
    return correct / len(task)


@torch.no_grad()
def answer_accuracy(model: nn.Module, task: SequenceTask) -> float:
    """Accuracy of the single answer token predicted from the full (teacher-forced) input.

    For one-token answers right after the prompt (modular addition, direct parity) this
    equals :func:`exact_match` and needs one forward pass.
    """
    check_module("model", model)
    _check_task(task)
    was_training = model.training
    model.eval()
    logits = model(task.x)[:, -1, :]
    model.train(was_training)
    return (logits.argmax(-1) == task.answers[:, -1]).float().mean().item()
