"""Prediction, thinking and reasoning (survey chapter 7): tasks, sampling, and what is
built on sampling.

- :mod:`.tasks` — small algorithmic tasks for a tiny GPT (parity with and without a chain
  of thought, addition with and without a scratchpad, modular addition) and their
  exact-match evaluation.
- :mod:`.sampling` — many sampled completions per prompt, their final answers, whether
  they are right (a *verifiable reward*), and the log-probability of a completion under a
  model: the pieces that self-consistency, verifiers, RL from verifiable rewards and
  preference optimisation share.
- :mod:`.self_consistency` — the (weighted) majority vote over sampled final answers,
  ties to the answer sampled first, and its accuracy over the first ``k`` samples.
- :mod:`.verifiers` — outcome and process verifiers (a causal Transformer with a scalar
  read-out), the exact step labels of the addition scratchpad, and best-of-N selection.

The names of :mod:`.tasks` are re-exported here, so ``from survey_models import
reasoning; reasoning.addition_task(...)`` keeps working; the later methods live in their
own submodules and are imported from there.
"""

from . import tasks
from .tasks import *  # noqa: F403 - the names listed in tasks.__all__, kept in one place

__all__ = list(tasks.__all__)
