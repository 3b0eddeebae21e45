"""Tests of survey_models.reasoning.sampling: shapes, determinism, rewards, log-probs."""

import pytest
import torch

from survey_models.reasoning import sampling as S
from survey_models.transformer import GPT


def _model(seed: int = 0) -> GPT:
    torch.manual_seed(seed)
    return GPT(vocab_size=5, block_size=12, n_layer=1, n_head=2, d_model=16).double()


def test_samples_keep_the_prompt_and_repeat_under_a_seed():
    model = _model()
    prompts = torch.tensor([[0, 1, 2], [3, 4, 0]])
    a = S.sample_completions(model, prompts, n_samples=6, max_new_tokens=4, seed=5)
    b = S.sample_completions(model, prompts, n_samples=6, max_new_tokens=4, seed=5)
    assert a.shape == (2, 6, 7)
    assert torch.equal(a, b)
    assert torch.equal(a[:, :, :3], prompts[:, None, :].expand(2, 6, 3))
    assert ((a >= 0) & (a < 5)).all()
    # Another seed gives other samples (6 × 2 × 4 tokens from 5 symbols: a collision of
    # every token is impossible in practice, not by rounding).
    c = S.sample_completions(model, prompts, n_samples=6, max_new_tokens=4, seed=6)
    assert not torch.equal(a, c)


def test_verifiable_reward_compares_only_the_final_answer():
    answers = torch.tensor([[1, 2], [3, 4]])
    seqs = torch.tensor(
        [[[9, 9, 1, 2], [1, 2, 1, 3]], [[0, 0, 3, 4], [3, 4, 0, 0]]]
    )  # (B=2, k=2, T=4)
    assert S.verifiable_reward(seqs, answers).tolist() == [[1.0, 0.0], [1.0, 0.0]]
    assert S.verifiable_reward(seqs[:, 0], answers).tolist() == [1.0, 1.0]
    assert torch.equal(S.final_answers(seqs, 2), seqs[..., 2:])


def test_completion_log_probs_match_stepwise_softmax():
    model = _model(1)
    seqs = torch.tensor([[0, 1, 2, 3, 4, 0], [4, 4, 3, 2, 1, 0]])
    got = S.completion_log_probs(model, seqs, prompt_length=2)
    # Brute force: feed each prefix alone and read off the next token's probability.
    want = torch.zeros(2, dtype=torch.float64)
    with torch.no_grad():
        for n in range(2):
            for t in range(2, 6):
                probs = torch.softmax(model(seqs[n : n + 1, :t])[0, -1], dim=-1)
                want[n] += probs[seqs[n, t]].log()
    torch.testing.assert_close(got.detach(), want, rtol=1e-10, atol=1e-10)
    # Gradients flow to the parameters.
    got.sum().backward()
    assert model.head.weight.grad is not None and model.head.weight.grad.abs().sum() > 0


def test_completion_log_probs_mask_drops_tokens():
    model = _model(2)
    seqs = torch.tensor([[0, 1, 2, 3, 4, 0]])
    full = S.completion_log_probs(model, seqs, 2)
    mask = torch.tensor([[True, True, False, False]])
    part = S.completion_log_probs(model, seqs, 2, mask=mask)
    first_two = S.completion_log_probs(model, seqs[:, :4], 2)
    torch.testing.assert_close(part, first_two, rtol=1e-10, atol=1e-10)
    assert bool(part > full)  # the dropped log-probabilities were negative


def test_bad_input_names_the_argument():
    model = _model()
    prompts = torch.tensor([[0, 1]])
    with pytest.raises(TypeError, match="prompts"):
        S.sample_completions(model, prompts.float(), 2, 2)
    with pytest.raises(ValueError, match="n_samples"):
        S.sample_completions(model, prompts, 0, 2)
    with pytest.raises(ValueError, match="temperature"):
        S.sample_completions(model, prompts, 2, 2, temperature=0.0)
    with pytest.raises(TypeError, match="model"):
        S.sample_completions("gpt", prompts, 2, 2)
    with pytest.raises(ValueError, match="prompt_length"):
        S.completion_log_probs(model, prompts, 2)
    with pytest.raises(ValueError, match="mask"):
        S.completion_log_probs(
            model, torch.tensor([[0, 1, 2]]), 1, mask=torch.ones(1, 3, dtype=bool)
        )
    with pytest.raises(ValueError, match="sequences"):
        S.verifiable_reward(
            torch.zeros(3, 4, dtype=torch.long), torch.zeros(2, 1, dtype=torch.long)
        )
    with pytest.raises(ValueError, match="n_answer"):
        S.final_answers(torch.zeros(2, 3, dtype=torch.long), 4)
