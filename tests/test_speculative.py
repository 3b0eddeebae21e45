"""Tests of speculative decoding: the accept/resample rule keeps the target's law exactly.

The closed-form law (3) is compared with ``p`` in float64, where the two differ by a few
ulps (about 1e-16); the tolerance 1e-12 is four orders wider. Sampling tests use seeded
generators, so their verdicts are fixed; each states a chi-square statistic against the
0.999 quantile (level α = 0.001) of its distribution with ``cells − 1`` degrees of freedom.
Greedy decoding is compared in float64, where an argmax flip would need two logits within
rounding of each other, which random weights do not produce.
"""

from __future__ import annotations

import pytest
import torch

from survey_models.speculative import (
    accept_or_resample,
    acceptance_probability,
    expected_tokens_per_pass,
    residual_distribution,
    speculative_generate,
    speculative_output_distribution,
)
from survey_models.transformer import GPT

P = torch.tensor([0.40, 0.25, 0.20, 0.10, 0.05], dtype=torch.float64)
Q_FAR = torch.tensor([0.05, 0.10, 0.15, 0.30, 0.40], dtype=torch.float64)
Q_NEAR = torch.tensor([0.36, 0.28, 0.19, 0.12, 0.05], dtype=torch.float64)
CHI2_999 = {4: 18.467}  # chi-square 0.999 quantiles (scipy.stats.chi2.ppf)


def _chi2(counts: torch.Tensor, probs: torch.Tensor) -> float:
    expected = counts.sum() * probs
    return float(((counts - expected) ** 2 / expected).sum())


@pytest.mark.parametrize("q", [Q_FAR, Q_NEAR, P, torch.tensor([0.0, 0.0, 0.5, 0.5, 0.0])])
def test_closed_form_law_equals_target(q):
    q = q.double()
    law = speculative_output_distribution(P, q)
    torch.testing.assert_close(law, P, rtol=0, atol=1e-12)
    beta = acceptance_probability(P, q)
    assert float(beta) == pytest.approx(float(torch.minimum(P, q).sum()))
    r = residual_distribution(P, q)
    assert float(r.sum()) == pytest.approx(1.0)
    assert bool((r[q >= P] == 0).all()) or torch.equal(q, P)


def test_residual_of_equal_laws_is_the_law():
    assert torch.equal(residual_distribution(P, P), P)
    assert float(acceptance_probability(P, P)) == pytest.approx(1.0)


@pytest.mark.parametrize("q", [Q_FAR, Q_NEAR])
def test_sampled_rule_matches_target_by_chi_square(q):
    g = torch.Generator().manual_seed(0)
    n = 10000
    drafts = torch.multinomial(q, n, replacement=True, generator=g)
    counts = torch.zeros(5, dtype=torch.float64)
    kept = 0
    for x in drafts.tolist():
        y, ok = accept_or_resample(P, q, x, generator=g)
        counts[y] += 1
        kept += ok
    stat = _chi2(counts, P)
    assert stat < CHI2_999[4], f"chi-square {stat:.2f} >= {CHI2_999[4]} (df 4, α = 0.001)"
    # acceptance frequency near β = Σ min(p, q): 6 binomial standard deviations
    beta = float(acceptance_probability(P, q))
    assert abs(kept / n - beta) < 6 * (beta * (1 - beta) / n) ** 0.5


def _gpt(seed: int, n_layer: int = 2, d_model: int = 16, vocab: int = 5) -> GPT:
    torch.manual_seed(seed)
    model = GPT(vocab, 16, n_layer=n_layer, n_head=2, d_model=d_model)
    with torch.no_grad():
        model.head.weight.mul_(40.0)  # sharper, more distinct laws than at init
    return model.double().eval()


def test_generated_tokens_follow_target_law():
    # γ = 1, two new tokens: the first is kept or resampled, the second comes from the
    # bonus draw (after a kept one) or from a second round; both marginals must be p's.
    target, draft = _gpt(0), _gpt(1, n_layer=1, d_model=8)
    prompt = torch.tensor([[1, 3, 0]])
    with torch.no_grad():
        p1 = torch.softmax(target(prompt)[0, -1], -1)
        nxt = torch.cat([prompt.repeat(5, 1), torch.arange(5).unsqueeze(1)], 1)
        p2 = p1 @ torch.softmax(target(nxt)[:, -1], -1)  # Σ_a p(a) p(· | a)
        q1 = torch.softmax(draft(prompt)[0, -1], -1)
    assert float(acceptance_probability(p1, q1)) < 0.9  # the draft is really different
    g = torch.Generator().manual_seed(3)
    counts = torch.zeros(2, 5, dtype=torch.float64)
    for _ in range(1000):
        out = speculative_generate(target, draft, prompt, 2, draft_length=1, generator=g)
        a, b = out.tokens[0, 3:].tolist()
        counts[0, a] += 1
        counts[1, b] += 1
    for c, p in zip(counts, (p1, p2)):
        stat = _chi2(c, p)
        assert stat < CHI2_999[4], f"chi-square {stat:.2f} >= {CHI2_999[4]} (df 4, α = 0.001)"


@pytest.mark.parametrize("gamma", [1, 3, 4])
def test_draft_equal_to_target_accepts_everything(gamma):
    target = _gpt(0)
    prompt = torch.tensor([[2, 4]])
    out = speculative_generate(
        target, target, prompt, 10, gamma, generator=torch.Generator().manual_seed(0)
    )
    assert out.accepted == out.drafted
    assert out.rejected == 0
    assert out.acceptance_rate == 1.0
    assert out.target_passes == -(-10 // (gamma + 1))  # ceil(10 / (γ + 1))
    assert out.tokens.shape == (1, 12)
    assert torch.equal(out.tokens[:, :2], prompt)


@pytest.mark.parametrize("gamma", [1, 2, 5])
def test_greedy_speculative_equals_greedy_target(gamma):
    target, draft = _gpt(0), _gpt(1, n_layer=1, d_model=8)
    prompt = torch.tensor([[0, 1, 2]])
    out = speculative_generate(target, draft, prompt, 12, gamma, greedy=True)
    ref = target.generate(prompt, 12, greedy=True, use_cache=False)
    assert torch.equal(out.tokens, ref)
    assert out.target_passes <= 12
    assert out.passes_per_token == out.target_passes / 12


def test_expected_tokens_per_pass():
    assert expected_tokens_per_pass(0.0, 4) == 1.0
    assert expected_tokens_per_pass(1.0, 4) == 5.0
    assert expected_tokens_per_pass(0.6, 3) == pytest.approx(sum(0.6**i for i in range(4)))


def test_bad_input():
    target, draft = _gpt(0), _gpt(1, n_layer=1, d_model=8)
    prompt = torch.tensor([[0, 1]])
    with pytest.raises(ValueError, match="q must have the shape"):
        acceptance_probability(P, P[:4])
    with pytest.raises(ValueError, match="p must sum to 1"):
        residual_distribution(2 * P, P)
    with pytest.raises(ValueError, match="q must be a probability"):
        residual_distribution(P, -P)
    with pytest.raises(TypeError, match="p must be a floating"):
        speculative_output_distribution(torch.ones(5, dtype=torch.long), P)
    with pytest.raises(ValueError, match="x must"):
        accept_or_resample(P, P, 7)
    with pytest.raises(ValueError, match="x must have q"):
        accept_or_resample(P, torch.tensor([0.0, 0.0, 0.5, 0.5, 0.0]).double(), 0)
    with pytest.raises(TypeError, match="generator"):
        accept_or_resample(P, P, 0, generator=3)
    with pytest.raises(ValueError, match="alpha"):
        expected_tokens_per_pass(1.5, 2)
    with pytest.raises(ValueError, match="gamma"):
        expected_tokens_per_pass(0.5, 0)
    with pytest.raises(TypeError, match="draft must be"):
        speculative_generate(target, torch.nn.Linear(2, 2), prompt, 3, 2)
    with pytest.raises(ValueError, match="draft vocab_size"):
        speculative_generate(target, _gpt(1, vocab=6), prompt, 3, 2)
    with pytest.raises(ValueError, match="batch 1"):
        speculative_generate(target, draft, prompt.repeat(2, 1), 3, 2)
    with pytest.raises(ValueError, match="draft_length"):
        speculative_generate(target, draft, prompt, 3, 0)
    with pytest.raises(ValueError, match="max_new_tokens"):
        speculative_generate(target, draft, prompt, 15, 2)
    with pytest.raises(ValueError, match="temperature"):
        speculative_generate(target, draft, prompt, 3, 2, temperature=0.0)
    with pytest.raises(TypeError, match="idx"):
        speculative_generate(target, draft, prompt.float(), 3, 2)
