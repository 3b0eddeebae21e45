"""Tests of the posterior-collapse module: an exactly autoregressive decoder, free bits,
KL annealing and the active-units count."""

import pytest
import torch

from survey_models import train
from survey_models.autoencoders.collapse import (
    CollapseLoss,
    CollapseVAE,
    active_units,
    free_bits_kl,
    kl_per_dim,
    kl_weight,
    made_masks,
)


def test_autoregressive_decoder_logit_i_ignores_pixels_from_i_on():
    torch.manual_seed(0)
    model = CollapseVAE(n_input=10, n_hidden=24, n_latent=3, decoder="autoregressive").double()
    z = torch.randn(3, dtype=torch.float64)
    x = torch.bernoulli(torch.full((10,), 0.5, dtype=torch.float64))
    jac = torch.autograd.functional.jacobian(lambda v: model.decode_logits(z, v), x)
    upper = torch.triu(torch.ones(10, 10, dtype=torch.bool))  # j >= i
    assert torch.equal(jac[upper], torch.zeros(int(upper.sum()), dtype=torch.float64))
    # ... and it does depend on every earlier pixel (the mask is not simply all zero)
    assert bool((jac[~upper] != 0).all())


def test_made_masks_known_answer():
    mask_in, mask_out, mask_direct = made_masks(3, 4)  # hidden degrees 0, 1, 2, 0
    assert torch.equal(mask_in, torch.tensor([[0, 0, 0], [1, 0, 0], [1, 1, 0], [0, 0, 0.0]]))
    assert torch.equal(mask_out, torch.tensor([[1, 0, 0, 1], [1, 1, 0, 1], [1, 1, 1, 1.0]]))
    assert torch.equal(mask_direct, torch.tensor([[0, 0, 0], [1, 0, 0], [1, 1, 0.0]]))


def test_factorized_decoder_ignores_x_and_autoregressive_needs_it():
    z = torch.randn(2, 4)
    fact = CollapseVAE(n_input=6, n_hidden=8, n_latent=4)
    assert torch.equal(fact.decode_logits(z), fact.decode_logits(z, torch.ones(2, 6)))
    ar = CollapseVAE(n_input=6, n_hidden=8, n_latent=4, decoder="autoregressive")
    with pytest.raises(ValueError, match="x"):
        ar.decode_logits(z)


def test_free_bits_gradient_is_exactly_zero_below_lambda():
    # batch-mean KL per dimension: 0.1 (below λ = 0.5) and 2.0 (above)
    kl = torch.tensor([[0.05, 1.0], [0.15, 3.0]], requires_grad=True)
    loss = free_bits_kl(kl, 0.5)
    assert loss.item() == pytest.approx(0.5 + 2.0)
    loss.backward()
    assert torch.equal(kl.grad[:, 0], torch.zeros(2))
    assert torch.equal(kl.grad[:, 1], torch.full((2,), 0.5))  # d mean / d entry = 1/batch


def test_free_bits_zero_is_the_plain_kl():
    kl = torch.rand(5, 3)
    assert free_bits_kl(kl, 0.0).item() == pytest.approx(kl.sum(-1).mean().item(), rel=1e-6)


def test_kl_per_dim_matches_torch_distributions():
    mu, log_var = torch.randn(4, 3, dtype=torch.float64), torch.randn(4, 3, dtype=torch.float64)
    q = torch.distributions.Normal(mu, (0.5 * log_var).exp())
    p = torch.distributions.Normal(torch.zeros_like(mu), torch.ones_like(mu))
    torch.testing.assert_close(kl_per_dim(mu, log_var), torch.distributions.kl_divergence(q, p))


def test_annealing_schedule_known_values():
    assert [kl_weight(s, 4) for s in (0, 1, 2, 4, 9)] == [0.0, 0.25, 0.5, 1.0, 1.0]
    assert kl_weight(0, 0) == 1.0


def test_active_units_known_answer():
    n = 100
    t = torch.linspace(-1, 1, n)
    # columns with variance 0 (constant), ~0.0034 (below 0.01), ~0.34 and ~1.36 (above)
    mu = torch.stack([torch.full((n,), 3.0), 0.1 * t, t, 2 * t], dim=1)
    assert active_units(mu) == 2
    assert active_units(mu, threshold=1e-3) == 3


def test_collapse_loss_annealing_and_eval_mode():
    torch.manual_seed(0)
    model = CollapseVAE(n_input=6, n_hidden=8, n_latent=2)
    x = torch.bernoulli(torch.full((5, 6), 0.5))
    loss = CollapseLoss(warmup_steps=10)
    torch.manual_seed(1)
    ll, _ = model.elbo_terms(x)
    torch.manual_seed(1)
    assert loss(model, x).item() == pytest.approx(-ll.mean().item())  # weight 0 at step 0
    assert loss.steps == 1
    model.eval()
    torch.manual_seed(1)
    ll, kl = model.elbo_terms(x)
    torch.manual_seed(1)
    assert loss(model, x).item() == pytest.approx(-(ll - kl.sum(-1)).mean().item())
    assert loss.steps == 1  # evaluation does not count as a training step


def test_iw_bound_is_at_least_the_elbo_on_average():
    torch.manual_seed(0)
    model = CollapseVAE(n_input=8, n_hidden=16, n_latent=2, decoder="autoregressive")
    x = torch.bernoulli(torch.full((20, 8), 0.5))
    g = torch.Generator().manual_seed(0)
    with torch.no_grad():
        ll, kl = model.elbo_terms(x, n_samples=200, generator=g)
    iw = model.iw_bound(x, k=200, generator=g)
    assert iw.mean().item() >= (ll - kl.sum(-1)).mean().item()


def test_training_runs_and_shapes():
    x = torch.bernoulli(torch.full((32, 8), 0.3))
    for decoder in ("factorized", "autoregressive"):
        train.set_seed(0)
        model = CollapseVAE(n_input=8, n_hidden=16, n_latent=3, decoder=decoder)
        train.fit(model, CollapseLoss(free_bits=0.1), x, steps=5, seed=0)
        assert model(x).shape == (32, 8)
        mu, log_var = model.encode(x)
        assert mu.shape == log_var.shape == (32, 3)
        s = model.sample(4, generator=torch.Generator().manual_seed(0))
        assert s.shape == (4, 8) and set(s.unique().tolist()) <= {0.0, 1.0}


def test_bad_input_raises():
    with pytest.raises(ValueError, match="decoder"):
        CollapseVAE(decoder="pixelcnn")
    with pytest.raises(ValueError, match="n_latent"):
        CollapseVAE(n_latent=0)
    with pytest.raises(ValueError, match="x"):
        CollapseVAE(n_input=4).encode(torch.zeros(2, 5))
    with pytest.raises(ValueError, match="free_bits"):
        CollapseLoss(free_bits=-1.0)
    with pytest.raises(ValueError, match="warmup_steps"):
        kl_weight(3, -1)
    with pytest.raises(ValueError, match="mu"):
        active_units(torch.zeros(1, 3))
    with pytest.raises(ValueError, match="kl"):
        free_bits_kl(torch.zeros(3), 0.1)
    with pytest.raises(TypeError, match="model"):
        CollapseLoss()(torch.nn.Linear(2, 2), torch.zeros(2, 2))
