"""Tests of survey_models.reasoning.self_consistency: votes on hand-made answers."""

import itertools

import pytest
import torch

from survey_models.reasoning import self_consistency as S


def _answers(rows: list[list[int]]) -> torch.Tensor:
    """One-token answers ``(B, k)`` as ``(B, k, 1)``."""
    return torch.tensor(rows, dtype=torch.long)[..., None]


def test_majority_vote_known_answers():
    answers = _answers([[3, 5, 3, 7, 3], [1, 2, 2, 9, 9], [4, 4, 4, 4, 4]])
    # 3 has 3 votes; 2 and 9 tie with 2 votes and 2 comes first; all agree on 4.
    assert S.majority_vote(answers).tolist() == [[3], [2], [4]]


def test_answers_of_several_tokens_are_compared_whole():
    # (1, 2) and (1, 3) share a first token but are different answers.
    answers = torch.tensor([[[1, 2], [1, 3], [1, 3], [1, 2], [1, 3]]])
    assert S.majority_vote(answers).tolist() == [[1, 3]]


def test_tie_goes_to_the_answer_sampled_first():
    # Every permutation of a 2-2-1 vote: the winner is whichever tied answer occurs first.
    base = [5, 5, 8, 8, 1]
    for perm in set(itertools.permutations(base)):
        first_tied = next(a for a in perm if a in (5, 8))
        assert S.majority_vote(_answers([list(perm)])).item() == first_tied
    # All different: the first sample wins.
    assert S.majority_vote(_answers([[6, 2, 9, 0]])).item() == 6


def test_weighted_vote_brute_force():
    # Integer-valued weights: sums and ties are exact.
    g = torch.Generator().manual_seed(0)
    answers = torch.randint(0, 4, (50, 7, 1), generator=g)
    weights = torch.randint(0, 5, (50, 7), generator=g).double()
    got = S.majority_vote(answers, weights)
    for b in range(50):
        totals: dict[int, float] = {}
        for a, w in zip(answers[b, :, 0].tolist(), weights[b].tolist()):
            totals[a] = totals.get(a, 0.0) + w
        best = max(totals.values())
        # dicts keep insertion order: the first answer reaching the best total wins.
        want = next(a for a, t in totals.items() if t == best)
        assert got[b, 0].item() == want


def test_weights_of_one_equal_the_plain_vote_and_weights_can_overturn_it():
    g = torch.Generator().manual_seed(1)
    answers = torch.randint(0, 3, (40, 9, 2), generator=g)
    ones = torch.ones(40, 9)
    assert torch.equal(S.majority_vote(answers, ones), S.majority_vote(answers))
    # One confident vote (weight 3) beats two plain ones.
    answers = _answers([[1, 1, 2]])
    assert S.majority_vote(answers, torch.tensor([[1.0, 1.0, 3.0]])).item() == 2


def test_vote_accuracy_over_the_first_k():
    answers = _answers([[1, 2, 2], [0, 0, 3], [5, 4, 4]])
    truth = torch.tensor([[2], [0], [5]])
    assert S.vote_accuracy(answers, truth, 1) == pytest.approx(2 / 3)  # first samples: 1, 0, 5
    assert S.vote_accuracy(answers, truth, 2) == pytest.approx(2 / 3)  # ties to the first
    assert S.vote_accuracy(answers, truth, 3) == pytest.approx(2 / 3)  # 2, 0, 4
    w = torch.tensor([[1.0, 1.0, 1.0], [1.0, 1.0, 1.0], [3.0, 1.0, 1.0]])
    assert S.vote_accuracy(answers, truth, 3, weights=w) == pytest.approx(1.0)


def test_bad_input():
    answers = _answers([[1, 2, 3]])
    with pytest.raises(TypeError, match="answers"):
        S.majority_vote(answers.float())
    with pytest.raises(ValueError, match="answers"):
        S.majority_vote(answers[..., 0])
    with pytest.raises(ValueError, match="weights"):
        S.majority_vote(answers, torch.ones(1, 2))
    with pytest.raises(ValueError, match="weights"):
        S.majority_vote(answers, torch.tensor([[1.0, -1.0, 1.0]]))
    with pytest.raises(ValueError, match="weights"):
        S.majority_vote(answers, torch.tensor([[1.0, float("nan"), 1.0]]))
    with pytest.raises(TypeError, match="weights"):
        S.majority_vote(answers, torch.ones(1, 3, dtype=torch.long))
    with pytest.raises(ValueError, match="k=4"):
        S.vote_accuracy(answers, torch.tensor([[1]]), 4)
    with pytest.raises(ValueError, match="k must be a positive"):
        S.vote_accuracy(answers, torch.tensor([[1]]), 0)
    with pytest.raises(ValueError, match="truth"):
        S.vote_accuracy(answers, torch.tensor([[1, 2]]), 1)
    with pytest.raises(ValueError, match="weights"):
        S.vote_accuracy(answers, torch.tensor([[1]]), 1, weights=torch.ones(1, 2))
