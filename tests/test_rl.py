"""Tests of survey_models.reasoning.rl: group advantages, the policy-gradient loss and its
gradient, the k3 KL estimator, the think-or-answer task and its parser, RL on a bandit."""

import copy
import math

import pytest
import torch

from survey_models.reasoning import rl
from survey_models.reasoning.sampling import completion_log_probs, verifiable_reward
from survey_models.transformer import GPT


def _model(seed: int = 0, vocab: int = 5, block: int = 8) -> GPT:
    torch.manual_seed(seed)
    return GPT(vocab_size=vocab, block_size=block, n_layer=1, n_head=2, d_model=16).double()


def test_group_advantages_known_answer():
    rewards = torch.tensor([[1.0, 0.0, 0.0, 1.0], [1.0, 1.0, 1.0, 1.0], [0.0, 0.0, 0.0, 1.0]])
    adv = rl.group_advantages(rewards, eps=1e-12)
    # Row 0: mean 1/2, population std 1/2; row 2: mean 1/4, std √3/4.
    s = math.sqrt(3) / 4
    want = torch.tensor(
        [[1.0, -1.0, -1.0, 1.0], [0.0, 0.0, 0.0, 0.0], [-0.25 / s, -0.25 / s, -0.25 / s, 0.75 / s]]
    )
    torch.testing.assert_close(adv, want, rtol=1e-6, atol=1e-6)
    assert torch.isfinite(adv).all()
    assert torch.equal(adv[1], torch.zeros(4))  # equal rewards: exactly no signal
    torch.testing.assert_close(adv.sum(1), torch.zeros(3), rtol=0, atol=1e-6)
    # Shifting and scaling a group's rewards leaves its advantages unchanged (up to ε).
    torch.testing.assert_close(rl.group_advantages(3 * rewards + 7, eps=1e-12), adv)


def _logp_and_seqs(model: GPT) -> tuple[torch.Tensor, torch.Tensor]:
    seqs = torch.tensor([[0, 1, 2, 3, 4], [2, 2, 0, 1, 3], [4, 3, 2, 1, 0]])
    return completion_log_probs(model, seqs, prompt_length=2), seqs


def test_policy_gradient_is_minus_advantage_times_grad_log_prob():
    model = _model(1)
    adv = torch.tensor([1.5, -0.5, -1.0], dtype=torch.float64)
    logp, _ = _logp_and_seqs(model)
    params = list(model.parameters())
    got = torch.autograd.grad(rl.policy_gradient_loss(logp, adv), params)
    # By hand: −(1/N) Σ_i A_i ∇ log p_i, each ∇ log p_i from its own backward pass.
    want = [torch.zeros_like(p) for p in params]
    for i in range(3):
        logp_i, _ = _logp_and_seqs(model)
        for w, g in zip(want, torch.autograd.grad(logp_i[i], params, allow_unused=True)):
            if g is not None:
                w -= adv[i] * g / 3
    for g, w in zip(got, want):
        torch.testing.assert_close(g, w, rtol=1e-10, atol=1e-12)
    # At π_θ = π_old the clipped surrogate (3) has the same gradient as (2).
    logp, _ = _logp_and_seqs(model)
    clipped = torch.autograd.grad(rl.policy_gradient_loss(logp, adv, logp.detach()), params)
    for g, w in zip(clipped, want):
        torch.testing.assert_close(g, w, rtol=1e-10, atol=1e-12)


def test_clipped_loss_stops_the_gradient_outside_the_trust_region():
    logp = torch.tensor([0.0, 0.0], dtype=torch.float64, requires_grad=True)
    old = torch.tensor([-1.0, 1.0], dtype=torch.float64)  # ratios e and 1/e
    adv = torch.tensor([1.0, -1.0], dtype=torch.float64)
    loss = rl.policy_gradient_loss(logp, adv, old, clip_eps=0.2)
    (grad,) = torch.autograd.grad(loss, logp)
    # ρ = e > 1 + ε with A > 0 and ρ = 1/e < 1 − ε with A < 0: both clipped, no gradient.
    assert torch.equal(grad, torch.zeros(2, dtype=torch.float64))
    torch.testing.assert_close(loss, torch.tensor(-(1.2 - 0.8) / 2, dtype=torch.float64))


def test_kl_k3_known_value_zero_at_equality_and_unbiased():
    got = rl.kl_k3(torch.tensor([math.log(0.5)]), torch.tensor([math.log(0.25)]))
    # d = log(1/2): e^d − d − 1 = 1/2 + log 2 − 1.
    torch.testing.assert_close(got, torch.tensor([0.5 + math.log(2) - 1]))
    x = torch.randn(7, dtype=torch.float64)
    assert torch.equal(rl.kl_k3(x, x), torch.zeros(7, dtype=torch.float64))
    # E_{y∼π}[k3(y)] = KL(π ‖ π_ref) exactly for categorical π, π_ref (equation (4)).
    g = torch.Generator().manual_seed(0)
    logp = torch.log_softmax(torch.randn(6, generator=g, dtype=torch.float64), 0)
    logq = torch.log_softmax(torch.randn(6, generator=g, dtype=torch.float64), 0)
    expected = (logp.exp() * rl.kl_k3(logp, logq)).sum()
    kl = (logp.exp() * (logp - logq)).sum()
    torch.testing.assert_close(expected, kl, rtol=1e-12, atol=1e-14)
    assert (rl.kl_k3(logp, logq) >= 0).all()


def test_think_task_formats_and_parser():
    bits = torch.tensor([[1, 0, 1], [0, 1, 1]])
    task = rl.think_or_answer_parity(bits, chain_fraction=1.0)
    text = ["".join(rl.THINK_VOCAB[int(t)] for t in row) for row in task.full]
    assert text == ["101=110>0", "011=010>0"]
    direct = rl.think_or_answer_parity(bits, chain_fraction=0.0)
    assert "".join(rl.THINK_VOCAB[int(t)] for t in direct.full[0]) == "101=>0..."
    assert direct.y[0].tolist() == [-100, -100, -100, 3, 0, -100, -100, -100]
    assert task.answers.tolist() == [[0], [0]] and task.max_new_tokens == 5
    assert torch.equal(task.prompts, torch.tensor([[1, 0, 1, 2], [0, 1, 1, 2]]))
    completions = torch.tensor([[1, 1, 0, 3, 0], [3, 1, 4, 4, 4], [0, 1, 0, 1, 3], [0, 0, 0, 0, 0]])
    answer, found, length = rl.read_answers(completions)
    assert answer.tolist() == [0, 1, -1, -1]
    assert found.tolist() == [True, True, False, False]
    assert length.tolist() == [3, 0, 4, 5]
    assert rl.answer_mask(completions).sum(1).tolist() == [5, 2, 5, 5]
    reward = rl.answer_reward(completions.reshape(2, 2, 5), torch.tensor([[0], [1]]))
    assert reward.tolist() == [[1.0, 0.0], [0.0, 0.0]]


def test_rl_steps_raise_the_reward_on_a_bandit():
    # One prompt token, one answer token out of 4; only token 3 is rewarded.
    model = _model(2, vocab=4, block=2).float()
    prompts = torch.zeros(8, 1, dtype=torch.long)
    answers = torch.full((8, 1), 3, dtype=torch.long)

    def p_right() -> float:
        with torch.no_grad():
            return torch.softmax(model(prompts[:1])[0, -1], -1)[3].item()

    before = p_right()
    opt = torch.optim.Adam(model.parameters(), lr=0.05)
    for step in range(25):
        out = rl.rl_step(
            model, opt, prompts, answers, n_samples=8, max_new_tokens=1, seed=step,
            reward_fn=verifiable_reward, mask_fn=None,
        )  # fmt: skip
        assert out.completions.shape == (8, 8, 1) and out.token_passes == 3 * 64
    # Wide margin: about 1/4 at the start, close to 1 after 25 steps.
    assert before < 0.5 and p_right() > 0.9


def test_kl_penalty_and_nonfinite_loss():
    model = _model(3, vocab=4, block=2).float()
    prompts = torch.zeros(2, 1, dtype=torch.long)
    answers = torch.full((2, 1), 3, dtype=torch.long)
    opt = torch.optim.SGD(model.parameters(), lr=0.1)
    kw = {"n_samples": 4, "max_new_tokens": 1, "reward_fn": verifiable_reward, "mask_fn": None}
    same = rl.rl_step(model, opt, prompts, answers, seed=0, ref_model=copy.deepcopy(model),
                      beta=0.1, **kw)  # fmt: skip
    assert same.kl == 0.0  # policy = reference before the step
    bad = copy.deepcopy(model)
    with torch.no_grad():
        for p in bad.parameters():
            p.fill_(float("nan"))
    before = [p.clone() for p in model.parameters()]
    with pytest.raises(FloatingPointError, match="loss"):
        rl.rl_step(model, opt, prompts, answers, seed=1, ref_model=bad, beta=0.1, **kw)
    assert all(torch.equal(a, b) for a, b in zip(before, model.parameters()))


def test_sampled_accuracy_of_a_model_that_always_answers():
    bits = torch.tensor([[1, 0, 1], [0, 1, 0]])
    task = rl.think_or_answer_parity(bits, 0.0)
    acc, length = rl.sampled_accuracy(_model(4), task, n_samples=3, seed=0)
    assert 0.0 <= acc <= 1.0 and 0.0 <= length <= task.max_new_tokens


def test_bad_input():
    with pytest.raises(ValueError, match="k >= 2"):
        rl.group_advantages(torch.ones(3, 1))
    with pytest.raises(TypeError, match="rewards"):
        rl.group_advantages(torch.ones(3, 2, dtype=torch.long))
    with pytest.raises(ValueError, match="rewards"):
        rl.group_advantages(torch.tensor([[0.0, float("nan")]]))
    with pytest.raises(ValueError, match="advantages"):
        rl.policy_gradient_loss(torch.zeros(3), torch.zeros(2))
    with pytest.raises(ValueError, match="ref_log_probs"):
        rl.kl_k3(torch.zeros(3), torch.zeros(2))
    with pytest.raises(ValueError, match="chain_fraction"):
        rl.think_or_answer_parity(torch.zeros(2, 3, dtype=torch.long), 1.5)
    with pytest.raises(ValueError, match="bits"):
        rl.think_or_answer_parity(torch.full((2, 3), 2), 0.5)
    with pytest.raises(TypeError, match="completions"):
        rl.read_answers(torch.zeros(2, 3))
    model = _model(5, vocab=4, block=2)
    opt = torch.optim.SGD(model.parameters(), lr=0.1)
    prompts, answers = torch.zeros(2, 1, dtype=torch.long), torch.zeros(2, 1, dtype=torch.long)
    with pytest.raises(ValueError, match="ref_model"):
        rl.rl_step(model, opt, prompts, answers, n_samples=2, max_new_tokens=1, seed=0, beta=0.1)
    with pytest.raises(ValueError, match="n_samples"):
        rl.rl_step(model, opt, prompts, answers, n_samples=1, max_new_tokens=1, seed=0)
    with pytest.raises(TypeError, match="optimizer"):
        rl.rl_step(model, None, prompts, answers, n_samples=2, max_new_tokens=1, seed=0)
    with pytest.raises(TypeError, match="task"):
        rl.sampled_accuracy(model, "task")
