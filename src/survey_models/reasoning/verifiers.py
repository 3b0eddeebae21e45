"""Verifiers and best-of-N: score whole solutions (outcome) or each step (process).

A *verifier* is a model that reads a problem ``x`` and a candidate solution ``y`` and
estimates whether the solution is right (Cobbe et al. 2021). Best-of-N sampling draws
``N`` solutions ``y^(1), …, y^(N)`` from the generator and returns the one the verifier
scores highest. Lightman et al. (2024) compare two kinds of verifier:

* an **outcome** verifier (outcome reward model, ORM) is trained on one label per
  solution, whether its final answer is right (the verifiable reward of
  :func:`survey_models.reasoning.sampling.verifiable_reward`), and reads its estimate at
  the solution's last token ``T``::

      r_O(x, y) = σ(f_θ(x, y)_T) ≈ P(final answer right | x, y)                    (1)

* a **process** verifier (process reward model, PRM) is trained on one label per step,
  whether that step is right, and reads an estimate at the last token ``t_j`` of each
  step ``j``, seeing only the solution up to there (the model is causal)::

      p_j(x, y) = σ(f_θ(x, y)_{t_j}) ≈ P(step j right | x, y_{≤ t_j})              (2)

  and the score of a solution is the probability that every step is right, the product
  of the step scores (Lightman et al.), or, more cautiously, the weakest step::

      r_P(x, y) = Π_j p_j(x, y)        or        r_P(x, y) = min_j p_j(x, y)        (3)

Both are trained by binary cross-entropy on the logits (equation (4)), and best-of-N
returns ``ŷ = argmax_n r(x, y^(n))``, ties to the first sample (equation (5)).

How well a verifier separates right from wrong solutions, whatever its threshold, is
its ROC AUC: the probability that a right solution ``y⁺`` scores above a wrong one
``y⁻``, ties counted one half (the Mann–Whitney statistic, :func:`roc_auc`)::

      AUC = P(r(y⁺) > r(y⁻)) + ½ P(r(y⁺) = r(y⁻))                              (8)

Here ``f_θ`` is a small causal Transformer, :class:`survey_models.transformer.GPT`
whose vocabulary head is replaced by one scalar per position (:class:`Verifier`).

**Step labels of the addition scratchpad.** On the scratchpad of
:func:`survey_models.reasoning.addition_task`, ``a+b=`` then, for each column ``i`` from
the units, ``a_i b_i c_i s_i c_{i+1} ;`` and finally ``>`` and the sum's digits, every
step can be checked exactly (:func:`scratchpad_step_labels`). Step ``i < n`` is right
(*locally*) if it copies the digits ``a_i, b_i`` of the prompt, copies the carry ``c_i``
written by step ``i - 1`` (``c_0 = 0``), and computes from them (equation (7.3) of
:mod:`survey_models.reasoning.tasks`)::

      s_i = (a_i + b_i + c_i) mod 10,    c_{i+1} = ⌊(a_i + b_i + c_i) / 10⌋       (6)

with ``;`` at its end; the answer step ``n`` is right if it reads ``>`` then the digits
``c_n s_{n-1} … s_0`` written above. A step that faithfully copies a wrong carry is
locally right: its error is not its own. The *prefix* label of step ``j`` is the product
of the local labels of steps ``0 … j``: right only if nothing before it went wrong, so a
wrong carry written in step ``i`` makes steps ``≥ i`` wrong (equation (7)). A solution
whose local labels are all right is exactly the true scratchpad, hence has the true
answer; a solution with the true answer may still contain wrong steps.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
import torch.nn.functional as F
from torch import nn

from .._checks import (
    check_choice,
    check_finite_tensor,
    check_index_tensor,
    check_module,
    check_positive_int,
    check_tensor,
)
from ..transformer import GPT
from .tasks import ADDITION_VOCAB

__all__ = [
    "scratchpad_step_labels",
    "scratchpad_step_ends",
    "Verifier",
    "verifier_loss",
    "score_candidates",
    "best_of_n",
    "roc_auc",
]

_SEMI, _ANS = ADDITION_VOCAB.index(";"), ADDITION_VOCAB.index(">")


def _scratchpad_length(n_digits: int) -> int:
    # prompt (2n + 2) + n columns of 6 tokens + ">" + n + 1 answer digits
    return 9 * n_digits + 4


def scratchpad_step_ends(n_digits: int) -> torch.Tensor:
    """Positions of the last token of each of the ``n_digits + 1`` scratchpad steps.

    Column ``i`` ends at its ``;`` (position ``2n + 2 + 6i + 5``), the answer step at the
    last token (``9n + 3``). Returns ``(n_digits + 1,)`` int64: the ``t_j`` of equation (2).
    """
    n = check_positive_int("n_digits", n_digits)
    prompt = 2 * n + 2
    ends = [prompt + 6 * i + 5 for i in range(n)] + [_scratchpad_length(n) - 1]
    return torch.tensor(ends, dtype=torch.long)


def scratchpad_step_labels(
    sequences: torch.Tensor, n_digits: int, prefix: bool = False
) -> torch.Tensor:
    """Exact labels of the steps of addition scratchpads (equations (6) and (7)).

    ``sequences: (N, 9 n + 4)`` int64, full scratchpad sequences of
    :func:`~survey_models.reasoning.addition_task` with ``n = n_digits`` (prompt written
    by the task, the rest by anyone). Returns ``(N, n_digits + 1)`` bool: column steps
    ``0 … n-1`` (units first), then the answer step. ``prefix=False``: each step judged
    locally, given what was written before it; ``prefix=True``: a step is right only if
    it and every step before it are locally right.
    """
    n = check_positive_int("n_digits", n_digits)
    check_index_tensor("sequences", sequences, len(ADDITION_VOCAB), ndim=2)
    if sequences.dtype != torch.long:
        raise TypeError(f"sequences must be int64 (long) token ids, got {sequences.dtype}")
    length = _scratchpad_length(n)
    if sequences.shape[1] != length:
        raise ValueError(
            f"sequences must have length 9 * n_digits + 4 = {length} for n_digits={n}, "
            f"got shape {tuple(sequences.shape)}"
        )
    p = 2 * n + 2
    a = sequences[:, :n].flip(1)  # prompt digits, units first: a_0 … a_{n-1}
    b = sequences[:, n + 1 : 2 * n + 1].flip(1)
    cols = sequences[:, p : p + 6 * n].reshape(-1, n, 6)  # (N, n, 6)
    digits_ok = (cols[..., :5] <= 9).all(-1) & (cols[..., 5] == _SEMI)
    wa, wb, wc, ws, wc1 = cols[..., :5].unbind(-1)
    carry_in = torch.cat([torch.zeros_like(wc1[:, :1]), wc1[:, :-1]], dim=1)  # c_0 = 0
    total = wa + wb + wc
    local_cols = (
        digits_ok
        & (wa == a)
        & (wb == b)
        & (wc == carry_in)
        & (ws == total % 10)  # (6)
        & (wc1 == total // 10)  # (6)
    )
    written_sum = torch.cat([wc1[:, -1:], ws.flip(1)], dim=1)  # c_n s_{n-1} … s_0
    answer_ok = (sequences[:, p + 6 * n] == _ANS) & (
        sequences[:, p + 6 * n + 1 :] == written_sum
    ).all(1)
    labels = torch.cat([local_cols, answer_ok[:, None]], dim=1)
    if prefix:
        labels = labels.long().cumprod(dim=1).bool()  # (7)
    return labels


def _check_positions(positions: object, block_size: int) -> torch.Tensor:
    if isinstance(positions, torch.Tensor):
        pos = positions
    elif isinstance(positions, Sequence) and all(
        isinstance(p, int) and not isinstance(p, bool) for p in positions
    ):
        pos = torch.tensor(list(positions), dtype=torch.long)
    else:
        raise TypeError("positions must be a 1-D int64 tensor or a sequence of ints")
    if pos.dtype != torch.long or pos.dim() != 1 or pos.numel() == 0:
        raise ValueError(
            f"positions must be a non-empty 1-D int64 tensor, got dtype {pos.dtype} "
            f"and shape {tuple(pos.shape)}"
        )
    if int(pos.min()) < 0 or int(pos.max()) >= block_size:
        raise ValueError(
            f"positions must lie in [0, block_size={block_size}), got "
            f"[{int(pos.min())}, {int(pos.max())}]"
        )
    return pos.clone()


class Verifier(nn.Module):
    """A causal Transformer that scores a solution at given token positions.

    Args:
        vocab_size: number of token ids.
        block_size: length of the sequences scored (prompt and solution).
        positions: the token positions read out: ``[block_size - 1]`` for an outcome
            verifier (equation (1)), the last token of every step for a process verifier
            (equation (2), e.g. :func:`scratchpad_step_ends`).
        n_layer, n_head, d_model: size of the :class:`~survey_models.transformer.GPT`
            trunk, whose vocabulary head is replaced by one scalar per position.
        reduce: ``"prod"`` or ``"min"``, how :meth:`score` combines the scores read at
            several positions (equation (3)).

    Shapes: ``sequences (N, block_size)`` int64 → logits ``(N, len(positions))``.
    """

    def __init__(
        self,
        vocab_size: int,
        block_size: int,
        positions: torch.Tensor | Sequence[int],
        n_layer: int = 1,
        n_head: int = 4,
        d_model: int = 32,
        reduce: str = "prod",
    ) -> None:
        super().__init__()
        self.trunk = GPT(vocab_size, block_size, n_layer=n_layer, n_head=n_head, d_model=d_model)
        self.trunk.head = nn.Linear(d_model, 1)  # a scalar f_θ(x, y)_t per position
        nn.init.zeros_(self.trunk.head.weight)
        nn.init.zeros_(self.trunk.head.bias)
        self.register_buffer("positions", _check_positions(positions, block_size))
        self.reduce = check_choice("reduce", reduce, ("prod", "min"))

    @classmethod
    def from_generator(
        cls, generator: GPT, positions: torch.Tensor | Sequence[int], reduce: str = "prod"
    ) -> Verifier:
        """A verifier whose trunk starts as a copy of a trained generator's (Cobbe et al.
        2021 initialise their verifiers from the generator); the generator is unchanged.

        The verifier scores sequences of the generator's ``block_size``, so that must be
        the length of a whole solution (prompt included)."""
        if not isinstance(generator, GPT):
            raise TypeError(f"generator must be a GPT, got {type(generator).__name__}")
        verifier = cls(
            generator.vocab_size,
            generator.block_size,
            positions,
            n_layer=generator.n_layer,
            n_head=generator.n_head,
            d_model=generator.d_model,
            reduce=reduce,
        )
        state = {k: v for k, v in generator.state_dict().items() if not k.startswith("head.")}
        verifier.trunk.load_state_dict(state, strict=False)
        return verifier

    @property
    def block_size(self) -> int:
        return self.trunk.block_size

    def extra_repr(self) -> str:
        return f"positions={self.positions.tolist()}, reduce={self.reduce!r}"

    def forward(self, sequences: torch.Tensor) -> torch.Tensor:
        """Logits ``f_θ(x, y)_t`` at :attr:`positions`: ``(N, T)`` → ``(N, S)``."""
        if not isinstance(sequences, torch.Tensor) or sequences.dim() != 2:
            raise ValueError("sequences must be a 2-D int64 tensor (N, block_size)")
        if sequences.shape[1] != self.block_size:
            raise ValueError(
                f"sequences must have length block_size={self.block_size}, "
                f"got shape {tuple(sequences.shape)}"
            )
        logits = self.trunk(sequences)[..., 0]  # (N, T); position t sees tokens ≤ t
        return logits[:, self.positions]

    @torch.no_grad()
    def score(self, sequences: torch.Tensor) -> torch.Tensor:
        """The verifier's score of each sequence in ``[0, 1]``: ``(N, T)`` → ``(N,)``.

        One position: ``σ(logit)`` (equation (1)); several: the product (``reduce="prod"``,
        computed as ``exp Σ log σ``) or the minimum of the ``σ(logit_j)`` (equation (3)).
        """
        was_training = self.training
        self.eval()
        logits = self(sequences)
        self.train(was_training)
        if self.reduce == "prod":
            return F.logsigmoid(logits).sum(dim=1).exp()  # Π_j p_j, (3)
        return torch.sigmoid(logits).amin(dim=1)  # min_j p_j, (3)


def verifier_loss(model: nn.Module, sequences: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
    """Binary cross-entropy of a verifier's logits against 0/1 labels (equation (4)).

    ``labels: (N, S)`` floats in ``{0, 1}``, one per read-out position (the outcome for an
    outcome verifier, the step labels for a process verifier). A ``loss_fn`` for
    :func:`survey_models.train.fit`.
    """
    check_module("model", model)
    check_tensor("labels", labels, ndim=2, floating=True)
    logits = model(sequences)
    if logits.shape != labels.shape:
        raise ValueError(
            f"labels must have the shape of the verifier's logits {tuple(logits.shape)}, "
            f"got {tuple(labels.shape)}"
        )
    return F.binary_cross_entropy_with_logits(logits, labels)  # (4)


def _check_candidates(candidates: object) -> torch.Tensor:
    if not isinstance(candidates, torch.Tensor) or candidates.dtype != torch.long:
        raise TypeError("candidates must be an int64 (long) torch.Tensor of token ids")
    if candidates.dim() != 3 or candidates.shape[1] == 0:
        raise ValueError(
            f"candidates must have shape (batch, N, length) with N >= 1, got "
            f"{tuple(candidates.shape)}"
        )
    return candidates


@torch.no_grad()
def score_candidates(
    verifier: Verifier, candidates: torch.Tensor, batch_size: int = 1024
) -> torch.Tensor:
    """:meth:`Verifier.score` of every candidate: ``(B, N, T)`` → ``(B, N)``."""
    if not isinstance(verifier, Verifier):
        raise TypeError(f"verifier must be a Verifier, got {type(verifier).__name__}")
    candidates = _check_candidates(candidates)
    batch_size = check_positive_int("batch_size", batch_size)
    flat = candidates.reshape(-1, candidates.shape[2])
    scores = torch.cat(
        [verifier.score(flat[i : i + batch_size]) for i in range(0, flat.shape[0], batch_size)]
    )
    return scores.reshape(candidates.shape[:2])


def best_of_n(candidates: torch.Tensor, scores: torch.Tensor) -> torch.Tensor:
    """The highest-scored candidate of each problem (equation (5)), ties to the first.

    ``candidates: (B, N, T)`` int64, ``scores: (B, N)`` floats (a verifier's, or any
    scorer's). Returns ``(B, T)``. Best-of-1 is the first sample.
    """
    candidates = _check_candidates(candidates)
    check_tensor("scores", scores, ndim=2, floating=True)
    if scores.shape != candidates.shape[:2]:
        raise ValueError(
            f"scores must have shape (batch, N) = {tuple(candidates.shape[:2])}, "
            f"got {tuple(scores.shape)}"
        )
    if bool(torch.isnan(scores).any()):
        raise ValueError("scores contains NaN")
    best = scores.argmax(dim=1)  # the first maximal index, (5)
    return candidates[torch.arange(candidates.shape[0]), best]


def roc_auc(scores: torch.Tensor, labels: torch.Tensor) -> float:
    """ROC AUC of ``scores`` for 0/1 ``labels`` (equation (8)), ties counted one half.

    ``scores: (N,)`` floats (higher means "right"), ``labels: (N,)`` in ``{0, 1}`` (bool
    or numbers), with at least one of each. Computed by scikit-learn's
    :func:`sklearn.metrics.roc_auc_score` (the area under the ROC curve, which equals the
    count over all (right, wrong) pairs of equation (8)); this function only checks the
    input and names what is wrong.
    """
    check_tensor("scores", scores, ndim=1, floating=True)
    check_finite_tensor("scores", scores)
    if not isinstance(labels, torch.Tensor) or labels.shape != scores.shape:
        raise ValueError(
            f"labels must be a tensor of the shape of scores {tuple(scores.shape)}, got "
            f"{tuple(labels.shape) if isinstance(labels, torch.Tensor) else type(labels).__name__}"
        )
    if not bool(((labels == 0) | (labels == 1)).all()):
        raise ValueError("labels must be 0 or 1")
    pos = labels.bool()
    n_pos, n_neg = int(pos.sum()), int((~pos).sum())
    if n_pos == 0 or n_neg == 0:
        raise ValueError(f"labels must contain both classes, got {n_pos} ones and {n_neg} zeros")
    # imported here: scikit-learn takes a second to load, and importing this module (as
    # the API pages do) should not pay for it
    from sklearn.metrics import roc_auc_score

    return float(roc_auc_score(pos.cpu().numpy(), scores.detach().double().cpu().numpy()))  # (8)
