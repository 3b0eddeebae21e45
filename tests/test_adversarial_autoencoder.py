"""Tests of the adversarial autoencoder: losses, the phases' separation, the prior, training."""

import math

import pytest
import torch
from torch import nn

from survey_models.autoencoders import adversarial as aae
from survey_models.autoencoders.adversarial import (
    AdversarialAutoencoder,
    GaussianMixturePrior,
    aae_reconstruction_loss,
    code_discriminator_loss,
    encoder_adversarial_loss,
    make_optimizers,
    train_aae,
)


class FirstCoordinate(nn.Module):
    """A stand-in discriminator whose logit is the code's first coordinate."""

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        return z[:, 0]


def _model(seed: int = 0, **kw) -> AdversarialAutoencoder:
    torch.manual_seed(seed)
    return AdversarialAutoencoder(n_input=6, n_hidden=8, n_latent=2, disc_hidden=5, **kw)


def _data(n: int = 12, seed: int = 1) -> torch.Tensor:
    return torch.rand(n, 6, generator=torch.Generator().manual_seed(seed))


def _params(module: nn.Module) -> list[torch.Tensor]:
    return [p.detach().clone() for p in module.parameters()]


def _same(module: nn.Module, before: list[torch.Tensor]) -> bool:
    return all(torch.equal(p, q) for p, q in zip(module.parameters(), before, strict=True))


# --- losses: known answers -------------------------------------------------------------


def test_losses_with_a_constant_discriminator_have_closed_forms():
    model = _model()
    for layer in model.discriminator.net:
        if isinstance(layer, nn.Linear):
            nn.init.zeros_(layer.weight)
            nn.init.zeros_(layer.bias)
    x, z = _data(), torch.randn(7, 2)
    # D ≡ 0: σ = 1/2 everywhere, (2) = 2 log 2, (3) = log 2
    assert code_discriminator_loss(model, x, z).item() == pytest.approx(2 * math.log(2), rel=1e-6)
    assert encoder_adversarial_loss(model, x).item() == pytest.approx(math.log(2), rel=1e-6)
    # D ≡ log 3: σ = 3/4, (2) = -log(3/4) - log(1/4) = log(16/3), (3) = log(4/3)
    nn.init.constant_(model.discriminator.net[-1].bias, math.log(3))
    assert code_discriminator_loss(model, x, z).item() == pytest.approx(math.log(16 / 3), rel=1e-6)
    assert encoder_adversarial_loss(model, x).item() == pytest.approx(math.log(4 / 3), rel=1e-6)


def test_losses_match_a_hand_computation_on_constructed_logits():
    model = _model().double()
    model.discriminator = FirstCoordinate()
    x = _data().double()
    z_prior = torch.tensor([[2.0, 0.0], [-1.0, 5.0], [0.5, -3.0]], dtype=torch.float64)
    codes = model.encode(x).detach()
    sig = torch.sigmoid
    expected_d = -torch.log(sig(z_prior[:, 0])).mean() - torch.log(1 - sig(codes[:, 0])).mean()
    expected_g = -torch.log(sig(codes[:, 0])).mean()
    assert code_discriminator_loss(model, x, z_prior).item() == pytest.approx(
        expected_d.item(), rel=1e-12
    )
    assert encoder_adversarial_loss(model, x).item() == pytest.approx(expected_g.item(), rel=1e-12)


def test_reconstruction_loss_is_the_bernoulli_cross_entropy():
    model = _model().double()
    x = _data().double()
    p = model(x)
    expected = -(x * torch.log(p) + (1 - x) * torch.log(1 - p)).sum(1).mean()
    assert aae_reconstruction_loss(model, x).item() == pytest.approx(expected.item(), rel=1e-10)


def test_discriminator_loss_sends_no_gradient_to_the_encoder():
    model = _model()
    code_discriminator_loss(model, _data(), torch.randn(5, 2)).backward()
    assert all(p.grad is None for p in model.encoder.parameters())
    assert all(p.grad is not None for p in model.discriminator.parameters())


# --- each phase moves only its own weights (exact) ---------------------------------------


def test_each_step_moves_only_its_own_networks():
    model = _model()
    opt = make_optimizers(model)
    x, z = _data(), torch.randn(12, 2)
    enc, dec, disc = model.encoder, model.decoder, model.discriminator
    for _ in range(2):  # the second round has Adam state and stale gradients from the first
        e0, d0, D0 = _params(enc), _params(dec), _params(disc)
        aae.discriminator_step(model, opt, x, z)
        assert _same(enc, e0) and _same(dec, d0) and not _same(disc, D0)

        e0, d0, D0 = _params(enc), _params(dec), _params(disc)
        aae.encoder_step(model, opt, x)
        assert _same(dec, d0) and _same(disc, D0) and not _same(enc, e0)

        e0, d0, D0 = _params(enc), _params(dec), _params(disc)
        aae.reconstruction_step(model, opt, x)
        assert _same(disc, D0) and not _same(enc, e0) and not _same(dec, d0)


def test_a_non_finite_loss_raises_before_any_weight_moves():
    model = _model()
    opt = make_optimizers(model)
    before = _params(model)
    x = _data()
    x[0, 0] = float("nan")
    with pytest.raises(FloatingPointError, match="loss"):
        aae.reconstruction_step(model, opt, x)
    assert _same(model, before)


# --- the prior ----------------------------------------------------------------------------


def test_ring_prior_moments_match_equation_4_and_the_samples():
    prior = GaussianMixturePrior.ring(n_components=10, radius=4.0, std=0.5)
    # evenly spaced centres: mean 0, covariance (s² + R²/2) I
    assert torch.allclose(prior.mean, torch.zeros(2), atol=1e-6)
    assert torch.allclose(prior.covariance, (0.25 + 8.0) * torch.eye(2), atol=1e-5)
    n = 200_000
    z, k = prior.sample(n, generator=torch.Generator().manual_seed(0), return_components=True)
    assert z.shape == (n, 2) and k.shape == (n,) and k.dtype == torch.int64
    # Monte Carlo error: sd of the mean ≈ sqrt(8.25 / n) ≈ 0.0064; of a variance ≈ 0.02;
    # of a share ≈ 0.0007. The tolerances are 5-10 times those.
    assert torch.allclose(z.mean(0), prior.mean, atol=0.04)
    assert torch.allclose(torch.cov(z.T), prior.covariance, atol=0.15)
    assert torch.allclose(torch.bincount(k, minlength=10) / n, torch.full((10,), 0.1), atol=0.005)


def test_prior_draws_sit_on_their_centres_when_std_is_zero():
    centres = torch.tensor([[1.0, 2.0], [-3.0, 0.5], [0.0, -1.0]])
    prior = GaussianMixturePrior(centres, std=0.0)
    z, k = prior.sample(50, generator=torch.Generator().manual_seed(0), return_components=True)
    assert torch.equal(z, centres[k])
    d = centres - centres.mean(0)
    assert torch.equal(prior.covariance, d.T @ d / 3)


def test_prior_log_prob_matches_torch_mixture():
    prior = GaussianMixturePrior.ring(n_components=5, radius=2.0, std=0.7)
    mix = torch.distributions.MixtureSameFamily(
        torch.distributions.Categorical(torch.ones(5)),
        torch.distributions.Independent(torch.distributions.Normal(prior.centres, 0.7), 1),
    )
    z = torch.randn(20, 2, generator=torch.Generator().manual_seed(0)) * 2
    assert torch.allclose(prior.log_prob(z), mix.log_prob(z), atol=1e-5)


# --- shapes, sampling, training -----------------------------------------------------------


def test_shapes_and_sampling():
    model = _model()
    x = _data(4)
    assert model.encode(x).shape == (4, 2)
    assert model(x).shape == (4, 6)
    assert model.discriminate(torch.randn(3, 2)).shape == (3,)
    prior = GaussianMixturePrior.ring(4, 1.0, 0.1)
    s = model.sample(prior, 9, generator=torch.Generator().manual_seed(0))
    assert s.shape == (9, 6) and bool(((s >= 0) & (s <= 1)).all())


def test_train_aae_logs_and_is_deterministic():
    prior = GaussianMixturePrior.ring(4, 1.0, 0.1)
    runs = []
    for _ in range(2):
        model = _model()
        hist = train_aae(model, _data(30), prior, steps=6, batch_size=8, log_every=3, seed=2)
        runs.append(_params(model))
    assert hist.steps == [3, 6]
    assert len(hist.reconstruction) == len(hist.d_loss) == len(hist.g_loss) == 2
    assert all(torch.equal(a, b) for a, b in zip(*runs, strict=True))


# --- bad input ----------------------------------------------------------------------------


def test_bad_input_names_the_argument():
    model = _model()
    prior = GaussianMixturePrior.ring(4, 1.0, 0.1)
    with pytest.raises(ValueError, match="n_latent"):
        AdversarialAutoencoder(n_latent=0)
    with pytest.raises(ValueError, match="activation"):
        AdversarialAutoencoder(activation="gelu")
    with pytest.raises(ValueError, match="x"):
        model.encode(torch.rand(3, 5))
    with pytest.raises(ValueError, match="z_prior"):
        code_discriminator_loss(model, _data(), torch.randn(3, 3))
    with pytest.raises(TypeError, match="model"):
        aae_reconstruction_loss(nn.Linear(6, 6), _data())
    with pytest.raises(ValueError, match="prior"):
        model.sample(GaussianMixturePrior(torch.zeros(2, 3), 1.0), 4)
    with pytest.raises(TypeError, match="prior"):
        train_aae(model, _data(), "ring", steps=1)
    with pytest.raises(ValueError, match="data"):
        train_aae(model, torch.full((4, 6), float("inf")), prior, steps=1)
    with pytest.raises(ValueError, match="std"):
        GaussianMixturePrior.ring(std=-1.0)
    with pytest.raises(ValueError, match="n_components"):
        GaussianMixturePrior.ring(n_components=0)
    with pytest.raises(ValueError, match="std"):
        GaussianMixturePrior(torch.zeros(2, 2), 0.0).log_prob(torch.zeros(1, 2))
    with pytest.raises(ValueError, match="lr"):
        make_optimizers(model, lr=0.0)
