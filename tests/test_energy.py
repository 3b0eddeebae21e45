"""Tests of the RBM and the DBN against brute force and exact answers."""

import itertools

import pytest
import torch

from survey_models import data, energy


def _random_rbm(n_visible=5, n_hidden=3, seed=0, scale=1.0):
    torch.manual_seed(seed)
    rbm = energy.RBM(n_visible, n_hidden)
    with torch.no_grad():
        rbm.W.copy_(scale * torch.randn(n_visible, n_hidden))
        rbm.b.copy_(0.5 * torch.randn(n_visible))
        rbm.c.copy_(0.5 * torch.randn(n_hidden))
    return rbm.double()


def _all_states(n):
    return torch.tensor(list(itertools.product([0.0, 1.0], repeat=n)), dtype=torch.float64)


def test_free_energy_matches_brute_force():
    rbm = _random_rbm()
    vs, hs = _all_states(5), _all_states(3)
    for v in vs:
        v = v[None].expand(len(hs), -1)
        brute = -torch.logsumexp(-rbm.energy(v, hs), dim=0)
        assert rbm.free_energy(v[:1]).item() == pytest.approx(brute.item(), abs=1e-10)


def test_log_partition_matches_brute_force_and_probabilities_sum_to_one():
    rbm = _random_rbm()
    vs, hs = _all_states(5), _all_states(3)
    v = vs.repeat_interleave(len(hs), 0)
    h = hs.repeat(len(vs), 1)
    brute = torch.logsumexp(-rbm.energy(v, h), dim=0)
    assert rbm.log_partition().item() == pytest.approx(brute.item(), abs=1e-10)
    assert torch.logsumexp(rbm.log_likelihood(vs), 0).item() == pytest.approx(0.0, abs=1e-10)


def test_conditionals_match_brute_force():
    rbm = _random_rbm()
    v = torch.tensor([[1.0, 0.0, 1.0, 1.0, 0.0]], dtype=torch.float64)
    hs = _all_states(3)
    logp = -rbm.energy(v.expand(len(hs), -1), hs)
    p = torch.softmax(logp, 0)
    assert torch.allclose((p[:, None] * hs).sum(0), rbm.p_h(v)[0], atol=1e-12)


def test_cd_gradient_with_long_chains_matches_exact_gradient():
    rbm = _random_rbm(4, 3, seed=1)
    g = torch.Generator().manual_seed(0)
    v = torch.bernoulli(torch.full((8, 4), 0.5, dtype=torch.float64), generator=g)
    exact = rbm.exact_gradient(v)
    start = v.repeat(4000, 1)
    negative = rbm.gibbs(start, k=30, generator=g)
    est = rbm.cd_gradient(v, negative)
    for name in ("W", "b", "c"):
        assert torch.allclose(est[name], exact[name], atol=0.03), name
    # a negative phase at the data itself gives zero: the estimate depends on the chains
    zero = rbm.cd_gradient(v, v)
    assert max(float(t.abs().max()) for t in zero.values()) == 0.0
    assert max(float((zero[n] - exact[n]).abs().max()) for n in zero) > 0.05


def test_exact_gradient_matches_enumerated_model_expectation():
    rbm = _random_rbm(4, 3, seed=2)
    v = torch.tensor([[1.0, 0.0, 1.0, 0.0], [0.0, 1.0, 1.0, 1.0]], dtype=torch.float64)
    vs, hs = _all_states(4), _all_states(3)
    vv, hh = vs.repeat_interleave(len(hs), 0), hs.repeat(len(vs), 1)
    p = torch.softmax(-rbm.energy(vv, hh), 0)
    model_vh = (p[:, None, None] * vv[:, :, None] * hh[:, None, :]).sum(0)
    data_vh = v.T @ rbm.p_h(v) / 2
    assert torch.allclose(rbm.exact_gradient(v)["W"], data_vh - model_vh, atol=1e-10)


@pytest.fixture(scope="module")
def binary_digits():
    s = data.digits_split(0.3, seed=0)
    return (s.x_train > 0.5).float(), (s.x_test > 0.5).float()


def test_training_beats_independent_pixels(binary_digits):
    xtr, xte = binary_digits
    torch.manual_seed(0)
    rbm = energy.RBM(64, 8)
    before = rbm.log_likelihood(xte).mean().item()
    hist = energy.train_rbm(
        rbm, xtr, method="cd", k=1, epochs=15, lr=0.1, eval_data=xte, eval_every=15, seed=0
    )
    base = energy.bernoulli_baseline_log_likelihood(xtr, xte)
    assert hist.log_likelihood[-1] > base + 2.0
    assert hist.log_likelihood[-1] > before + 15


def test_pcd_runs_and_improves(binary_digits):
    xtr, xte = binary_digits
    torch.manual_seed(0)
    rbm = energy.RBM(64, 8)
    hist = energy.train_rbm(
        rbm, xtr, method="pcd", epochs=10, lr=0.05, eval_data=xte, eval_every=10, seed=0
    )
    assert hist.log_likelihood[-1] > energy.bernoulli_baseline_log_likelihood(xtr, xte)


def test_dbn_greedy_pretraining_and_sampling(binary_digits):
    xtr, _ = binary_digits
    torch.manual_seed(0)
    dbn = energy.DBN([64, 32, 16])
    hists = dbn.pretrain(xtr, epochs=3, lr=0.05, seed=0)
    assert len(hists) == 2
    assert dbn.up(xtr[:5]).shape == (5, 16)
    s = dbn.sample(7, gibbs_steps=5, generator=torch.Generator().manual_seed(0))
    assert s.shape == (7, 64) and float(s.min()) >= 0 and float(s.max()) <= 1
    # the second RBM was trained on the first one's hidden probabilities, not on pixels
    assert dbn.rbms[1].n_visible == 32


@pytest.mark.parametrize(
    "call, exc, match",
    [
        (lambda: energy.RBM(0, 3), ValueError, "n_visible"),
        (lambda: energy.RBM(4, 2.5), TypeError, "n_hidden"),
        (lambda: energy.RBM(4, 3).free_energy(torch.zeros(2, 5)), ValueError, "v must have last"),
        (lambda: energy.RBM(4, 3).gibbs(torch.zeros(2, 4), k=0), ValueError, "k"),
        (lambda: energy.RBM(4, 30).log_partition(), ValueError, "n_hidden must be <= 20"),
        (
            lambda: energy.train_rbm(energy.RBM(4, 3), torch.zeros(5, 4), method="sgd"),
            ValueError,
            "method",
        ),
        (lambda: energy.train_rbm(energy.RBM(4, 3), torch.zeros(5, 3)), ValueError, "data"),
        (lambda: energy.DBN([64]), ValueError, "sizes"),
        (lambda: energy.DBN([64, 0]), ValueError, r"sizes\[1\]"),
    ],
)
def test_bad_arguments_raise(call, exc, match):
    with pytest.raises(exc, match=match):
        call()
