"""Tests of survey_models.reasoning.preference: the DPO loss, its gradient, the KL
estimate and the toy task's exact preference labels."""

import copy
import math

import pytest
import torch

from survey_models.reasoning import preference as P
from survey_models.reasoning.sampling import completion_log_probs, sample_completions
from survey_models.transformer import GPT


def _model(seed: int = 0) -> GPT:
    torch.manual_seed(seed)
    return GPT(len(P.PREFERENCE_VOCAB), 6, n_layer=1, n_head=2, d_model=16).double()


def test_dpo_loss_is_log_2_when_the_policy_is_the_reference():
    logps = torch.tensor([-1.5, -0.2, -7.0], dtype=torch.float64)
    other = torch.tensor([-3.0, -0.1, -2.0], dtype=torch.float64)
    # h = 0 exactly (the same numbers are subtracted), so the loss is -log σ(0) = log 2.
    assert P.dpo_loss(logps, other, logps, other, beta=0.7).item() == pytest.approx(
        math.log(2), rel=1e-15
    )


def test_dpo_loss_and_implicit_reward_on_hand_numbers():
    # Chosen: log π = -1, log π_ref = -2 (ratio +1); rejected: -3 vs -2 (ratio -1).
    # h = 2, β h = 1: loss = -log σ(1) = log(1 + e^{-1}).
    pc, pr = torch.tensor([-1.0]), torch.tensor([-3.0])
    rc, rr = torch.tensor([-2.0]), torch.tensor([-2.0])
    assert P.dpo_loss(pc, pr, rc, rr, beta=0.5).item() == pytest.approx(math.log1p(math.exp(-1)))
    assert P.implicit_reward(pc, rc, beta=0.5).tolist() == [0.5]
    assert P.implicit_reward(pr, rr, beta=0.5).tolist() == [-0.5]
    # Two pairs average: h = 2 and h = -2 give (log(1+e^-1) + log(1+e)) / 2.
    two = P.dpo_loss(
        torch.tensor([-1.0, -3.0]), torch.tensor([-3.0, -1.0]), rc.repeat(2), rr.repeat(2), beta=0.5
    )
    want = (math.log1p(math.exp(-1)) + math.log1p(math.e)) / 2
    assert two.item() == pytest.approx(want)


def test_dpo_gradient_in_the_log_ratio_is_minus_beta_sigmoid():
    beta = 0.3
    h = torch.tensor([-4.0, -0.5, 0.0, 1.0, 6.0], dtype=torch.float64, requires_grad=True)
    zero = torch.zeros_like(h)
    # Put the whole margin in the chosen log-ratio; the loss is the mean over 5 pairs.
    loss = P.dpo_loss(h, zero, zero, zero, beta=beta) * h.numel()
    (grad,) = torch.autograd.grad(loss, h)
    torch.testing.assert_close(grad, -beta * torch.sigmoid(-beta * h.detach()))  # (4)
    h2 = h.detach().clone().requires_grad_()
    assert torch.autograd.gradcheck(lambda x: P.dpo_loss(x, zero, zero, zero, beta=beta), (h2,))


def test_dpo_loss_fn_trains_through_completion_log_probs():
    model = _model(1)
    chosen = torch.tensor([[1, 3, 10, 1, 2, 9], [0, 5, 10, 0, 2, 3]])
    rejected = torch.tensor([[1, 3, 10, 9, 2, 1], [0, 5, 10, 3, 2, 0]])
    with torch.no_grad():
        rc = completion_log_probs(model, chosen, 3)
        rr = completion_log_probs(model, rejected, 3)
    loss = P.make_dpo_loss_fn(beta=2.0)(model, chosen, rejected, rc, rr)
    assert loss.item() == pytest.approx(math.log(2), rel=1e-12)
    loss.backward()
    assert model.head.weight.grad.abs().sum() > 0


def test_sequence_kl_is_zero_for_identical_models_and_positive_otherwise():
    policy = _model(2)
    prompts = P.sum_prompts(torch.tensor([4, 13, 27]))
    samples = sample_completions(policy, prompts, 8, 3, seed=0).flatten(0, 1)
    twin = copy.deepcopy(policy)
    for est in ("k1", "k3"):
        assert P.sequence_kl(policy, twin, samples, estimator=est) == 0.0
    other = _model(3)
    with torch.no_grad():
        other.head.weight.mul_(50.0)  # a far sharper, different distribution
    assert P.sequence_kl(policy, other, samples, estimator="k3") > 0.0
    # k1 is the mean log-ratio, by definition.
    with torch.no_grad():
        d = completion_log_probs(policy, samples, 3) - completion_log_probs(other, samples, 3)
    assert P.sequence_kl(policy, other, samples, estimator="k1") == pytest.approx(d.mean().item())


def test_preference_scores_and_pairs_are_exact():
    seqs = torch.tensor(
        [
            [1, 3, 10, 1, 4, 8],  # 13 = 1+4+8, sorted: 2
            [1, 3, 10, 8, 4, 1],  # correct, not sorted: 1
            [1, 3, 10, 1, 4, 9],  # wrong: 0
            [0, 0, 10, 0, 0, 0],  # 0 = 0+0+0, sorted: 2
            [1, 3, 10, 10, 4, 8],  # "=" as a digit: 0
        ]
    )
    assert P.preference_score(seqs).tolist() == [2, 1, 0, 2, 0]
    # Brute force over every answer to every total: score 2 exactly on the sorted rows.
    for total in range(28):
        ans = P.correct_answers(total)
        assert (ans.sum(1) == total).all()
        assert len(ans) == sum(
            1 for a in range(10) for b in range(10) for c in range(10) if a + b + c == total
        )
        full = torch.cat([P.sum_prompts(torch.full((len(ans),), total)), ans], dim=1)
        sorted_rows = (ans[:, 1:] >= ans[:, :-1]).all(1)
        assert torch.equal(P.preference_score(full), 1 + sorted_rows.long())
    samples = seqs[:4].reshape(2, 2, 6)  # pairs (2 vs 1) and (0 vs 2)
    chosen, rejected = P.preference_pairs(samples)
    assert torch.equal(chosen, seqs[[0, 3]]) and torch.equal(rejected, seqs[[1, 2]])
    tied = torch.stack([seqs[:2], seqs[:2]], dim=1)  # (2, 2, 6): each pair equal scores
    assert P.preference_pairs(tied)[0].shape == (0, 6)


def test_random_correct_sequences_and_task():
    sums = torch.tensor([0, 5, 13, 27, 13])
    seqs = P.random_correct_sequences(sums, seed=3)
    assert seqs.shape == (5, 6)
    assert (P.preference_score(seqs) >= 1).all()
    assert torch.equal(seqs, P.random_correct_sequences(sums, seed=3))
    assert P.decode_preference(seqs[0]) == "00=000"
    task = P.sequence_task(seqs)
    assert task.prompt_length == 3 and torch.equal(task.full, seqs)
    assert (task.y[:, :2] == -100).all() and torch.equal(task.y[:, 2:], seqs[:, 3:])


def test_bad_input():
    one = torch.tensor([0.0])
    with pytest.raises(ValueError, match="beta"):
        P.dpo_loss(one, one, one, one, beta=0.0)
    with pytest.raises(ValueError, match="policy_rejected"):
        P.dpo_loss(one, torch.zeros(2), one, one)
    with pytest.raises(TypeError, match="reference_chosen"):
        P.dpo_loss(one, one, torch.tensor([0]), one)
    with pytest.raises(ValueError, match="sums"):
        P.sum_prompts(torch.tensor([28]))
    with pytest.raises(ValueError, match="total"):
        P.correct_answers(28)
    with pytest.raises(ValueError, match="n_digits"):
        P.sum_prompts(torch.tensor([1]), n_digits=12)
    with pytest.raises(ValueError, match="samples"):
        P.preference_pairs(torch.zeros(2, 3, 6, dtype=torch.long))
    with pytest.raises(ValueError, match="sequences"):
        P.preference_score(torch.full((2, 6), 11))
    with pytest.raises(ValueError, match="estimator"):
        model = _model()
        P.sequence_kl(model, model, torch.zeros(1, 6, dtype=torch.long), estimator="k2")
    with pytest.raises(TypeError, match="reference"):
        P.sequence_kl(_model(), "ref", torch.zeros(1, 6, dtype=torch.long))
