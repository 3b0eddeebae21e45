"""Tests of the autoencoder variants against hand computations, autograd and PyTorch's
own distributions, plus training-improves checks and argument errors."""

import math

import pytest
import torch

from survey_models import data, train
from survey_models.autoencoders import (
    Autoencoder,
    ContractiveLoss,
    ConvAutoencoder,
    DenoisingLoss,
    SparseLoss,
    StackedEncoder,
    VariationalAutoencoder,
    anomaly_scores,
    contractive_penalty,
    corrupt,
    decoder_subspace,
    elbo,
    gaussian_kl,
    importance_weighted_bound,
    jacobian_norm_sq,
    kl_sparsity,
    linear_autoencoder,
    pca_subspace,
    pretrain_stack,
    principal_angles,
    reconstruction_errors,
    reconstruction_loss,
    reparameterize,
    roc_auc,
    vae_loss,
)
from survey_models.autoencoders.variational import bernoulli_log_likelihood

# --- sparse ------------------------------------------------------------------------------


def test_kl_sparsity_matches_hand_computation():
    rho_hat = torch.tensor([0.05, 0.2, 0.5])
    rho = 0.05
    by_hand = sum(
        rho * math.log(rho / r) + (1 - rho) * math.log((1 - rho) / (1 - r))
        for r in (0.05, 0.2, 0.5)
    )
    assert kl_sparsity(rho, rho_hat).item() == pytest.approx(by_hand, rel=1e-5)
    assert kl_sparsity(rho, torch.full((4,), rho)).item() == pytest.approx(0.0, abs=1e-6)


def test_kl_sparsity_matches_bernoulli_kl_of_torch():
    rho_hat = torch.rand(10, generator=torch.Generator().manual_seed(0)) * 0.9 + 0.05
    expected = torch.distributions.kl_divergence(
        torch.distributions.Bernoulli(probs=torch.full((10,), 0.1)),
        torch.distributions.Bernoulli(probs=rho_hat),
    ).sum()
    assert kl_sparsity(0.1, rho_hat).item() == pytest.approx(expected.item(), rel=1e-5)


def test_sparse_loss_is_reconstruction_plus_weighted_kl():
    torch.manual_seed(0)
    model = Autoencoder(6, 4)
    x = torch.rand(5, 6)
    loss = SparseLoss(sparsity_target=0.1, sparsity_weight=2.0)(model, x)
    h = model.encode(x)
    expected = reconstruction_loss(model, x) + 2.0 * kl_sparsity(0.1, h.mean(0))
    assert loss.item() == pytest.approx(expected.item(), rel=1e-6)


@pytest.mark.parametrize("target", [0.0, 1.0, -0.1, 1.5])
def test_sparsity_target_outside_open_interval_raises(target):
    with pytest.raises(ValueError, match="sparsity_target"):
        SparseLoss(sparsity_target=target)


def test_sparse_loss_needs_sigmoid_encoder():
    with pytest.raises(ValueError, match="sigmoid"):
        SparseLoss()(Autoencoder(4, 3, encoder_activation="relu"), torch.rand(2, 4))


def test_sparse_training_moves_mean_activation_to_target():
    x = data.load_digits()[0][:256]
    train.set_seed(0)
    model = Autoencoder(64, 32)
    before = model.encode(x).mean().item()
    train.fit(model, SparseLoss(0.05, 3.0), x, epochs=30, lr=1e-2, batch_size=128, seed=0)
    with torch.no_grad():
        after = model.encode(x).mean().item()
    assert abs(before - 0.05) > 0.2
    assert abs(after - 0.05) < 0.02


# --- contractive -------------------------------------------------------------------------


@pytest.mark.parametrize("activation", ["sigmoid", "tanh", "relu", "identity"])
def test_contractive_penalty_matches_autograd_jacobian(activation):
    torch.manual_seed(0)
    model = Autoencoder(5, 7, encoder_activation=activation).double()
    x = torch.randn(4, 5, dtype=torch.float64)
    per_example = []
    for row in x:
        jac = torch.autograd.functional.jacobian(lambda v: model.encode(v[None])[0], row)
        assert jac.shape == (7, 5)
        per_example.append((jac**2).sum())
    expected = torch.stack(per_example)
    assert torch.allclose(jacobian_norm_sq(model, x), expected, atol=1e-10)
    assert contractive_penalty(model, x).item() == pytest.approx(expected.mean().item())


def test_contractive_loss_adds_weighted_penalty():
    torch.manual_seed(1)
    model = Autoencoder(6, 8)
    x = torch.rand(3, 6)
    got = ContractiveLoss(0.5)(model, x)
    expected = reconstruction_loss(model, x) + 0.5 * contractive_penalty(model, x)
    assert got.item() == pytest.approx(expected.item(), rel=1e-6)


def test_negative_contraction_weight_raises():
    with pytest.raises(ValueError, match="contraction_weight"):
        ContractiveLoss(-1.0)


# --- denoising ---------------------------------------------------------------------------


def test_masking_noise_zeroes_the_requested_share_and_keeps_the_rest():
    x = torch.rand(200, 64) + 0.1
    x_tilde = corrupt(x, "mask", 0.3, generator=torch.Generator().manual_seed(0))
    zeroed = (x_tilde == 0).float().mean().item()
    assert zeroed == pytest.approx(0.3, abs=0.02)
    kept = x_tilde != 0
    assert torch.equal(x_tilde[kept], x[kept])


def test_gaussian_noise_has_the_requested_std():
    x = torch.zeros(200, 64)
    x_tilde = corrupt(x, "gaussian", 0.5, generator=torch.Generator().manual_seed(0))
    assert x_tilde.std().item() == pytest.approx(0.5, rel=0.03)


def test_denoising_loss_targets_the_clean_input():
    torch.manual_seed(0)
    model = Autoencoder(6, 4)
    x = torch.rand(5, 6)
    torch.manual_seed(3)
    got = DenoisingLoss("mask", 0.5)(model, x)
    torch.manual_seed(3)
    x_tilde = corrupt(x, "mask", 0.5)
    assert got.item() == pytest.approx(((model(x_tilde) - x) ** 2).sum(1).mean().item())
    assert DenoisingLoss("mask", 0.0)(model, x).item() == pytest.approx(
        reconstruction_loss(model, x).item()
    )


@pytest.mark.parametrize("noise,level", [("gaussian", -0.1), ("mask", -0.1), ("mask", 1.2)])
def test_bad_noise_level_raises(noise, level):
    with pytest.raises(ValueError, match="noise_level"):
        DenoisingLoss(noise, level)
    with pytest.raises(ValueError, match="noise_level"):
        corrupt(torch.rand(2, 3), noise, level)


def test_unknown_noise_raises():
    with pytest.raises(ValueError, match="noise"):
        DenoisingLoss("salt", 0.1)


# --- linear AE and PCA -------------------------------------------------------------------


def test_principal_angles_known_answer():
    a = torch.tensor([[1.0, 0.0], [0.0, 1.0], [0.0, 0.0]])
    theta = math.radians(30)
    b = torch.tensor([[1.0, 0.0], [0.0, math.cos(theta)], [0.0, math.sin(theta)]])
    angles = principal_angles(a, b)
    assert angles.tolist() == pytest.approx([0.0, 30.0], abs=1e-4)


def test_linear_autoencoder_finds_pca_subspace_on_small_problem():
    g = torch.Generator().manual_seed(0)
    # 3 strong directions in 10-D plus weak isotropic noise: a clear eigen-gap.
    scales = torch.tensor([3.0, 2.0, 1.5] + [0.3] * 7)
    rotation, _ = torch.linalg.qr(torch.randn(10, 10, generator=g))
    x = (torch.randn(200, 10, generator=g) * scales) @ rotation.T + 0.5
    train.set_seed(0)
    model = linear_autoencoder(10, 3)
    train.fit(model, reconstruction_loss, x, epochs=300, batch_size=200, lr=0.1, seed=0)
    angles = principal_angles(decoder_subspace(model), pca_subspace(x, 3))
    assert angles.max().item() < 1.0
    # an untrained model is far from the PCA subspace: the check can fail.
    fresh = linear_autoencoder(10, 3)
    assert principal_angles(decoder_subspace(fresh), pca_subspace(x, 3)).max().item() > 10


def test_pca_subspace_rejects_too_many_components():
    with pytest.raises(ValueError, match="k"):
        pca_subspace(torch.rand(10, 4), 5)


# --- variational -------------------------------------------------------------------------


def test_gaussian_kl_matches_torch_distributions():
    g = torch.Generator().manual_seed(0)
    mu = torch.randn(6, 3, generator=g)
    log_var = torch.randn(6, 3, generator=g)
    q = torch.distributions.Normal(mu, (0.5 * log_var).exp())
    p = torch.distributions.Normal(torch.zeros(6, 3), torch.ones(6, 3))
    expected = torch.distributions.kl_divergence(q, p).sum(-1)
    assert torch.allclose(gaussian_kl(mu, log_var), expected, atol=1e-5)


def test_reparameterisation_gradient():
    mu = torch.tensor([0.3, -1.0], requires_grad=True)
    log_var = torch.tensor([0.2, -0.4], requires_grad=True)
    eps = torch.tensor([1.5, -0.7])
    z = reparameterize(mu, log_var, eps)
    z.sum().backward()
    # dz/dμ = 1, dz/dlogσ² = ½ σ ε
    assert torch.allclose(mu.grad, torch.ones(2))
    assert torch.allclose(log_var.grad, 0.5 * (0.5 * log_var.detach()).exp() * eps)


def test_reparameterised_gradient_estimates_true_gradient_of_expectation():
    # d/dμ E[z²] = 2μ and d/dlogσ² E[z²] = σ² for z ~ N(μ, σ²); Monte Carlo must agree.
    mu = torch.tensor(0.7, requires_grad=True)
    log_var = torch.tensor(math.log(0.5), requires_grad=True)
    eps = torch.randn(200_000, generator=torch.Generator().manual_seed(0))
    (reparameterize(mu, log_var, eps) ** 2).mean().backward()
    assert mu.grad.item() == pytest.approx(1.4, abs=0.01)
    assert log_var.grad.item() == pytest.approx(0.5, abs=0.01)


def test_bernoulli_log_likelihood_matches_torch():
    g = torch.Generator().manual_seed(0)
    logits = torch.randn(4, 5, generator=g)
    x = torch.bernoulli(torch.full((4, 5), 0.5), generator=g)
    expected = torch.distributions.Bernoulli(logits=logits).log_prob(x).sum(-1)
    assert torch.allclose(bernoulli_log_likelihood(logits, x), expected, atol=1e-5)


def test_iw_bound_with_k_1_is_unbiased_for_elbo_and_grows_with_k():
    torch.manual_seed(0)
    model = VariationalAutoencoder(8, 16, 2)
    x = torch.bernoulli(torch.full((50, 8), 0.3), generator=torch.Generator().manual_seed(1))
    g = torch.Generator().manual_seed(2)
    with torch.no_grad():
        l_elbo = elbo(model, x, n_samples=2000, generator=g).mean().item()
        iw1 = importance_weighted_bound(model, x.repeat(2000, 1), 1, generator=g).mean().item()
        iw100 = importance_weighted_bound(model, x, 100, generator=g).mean().item()
    assert iw1 == pytest.approx(l_elbo, abs=0.05)
    assert iw100 > l_elbo + 0.05


def test_iw_bound_matches_exact_log_likelihood_when_q_is_the_posterior():
    # One latent dim, decoder ignores z: p(x|z) = p(x), so log p(x) = Bernoulli log-lik
    # of the decoder bias, and every bound with any q equals it up to the KL.
    torch.manual_seed(0)
    model = VariationalAutoencoder(4, 3, 1)
    with torch.no_grad():
        model.decoder[2].weight.zero_()
        model.mu.weight.zero_(), model.mu.bias.zero_()
        model.log_var.weight.zero_(), model.log_var.bias.zero_()  # q(z|x) = N(0, 1) = p(z)
    x = torch.tensor([[1.0, 0.0, 1.0, 1.0]])
    exact = bernoulli_log_likelihood(model.decoder[2].bias[None], x)
    with torch.no_grad():
        assert importance_weighted_bound(model, x, 10).item() == pytest.approx(
            exact.item(), abs=1e-5
        )
        assert elbo(model, x, 5).item() == pytest.approx(exact.item(), abs=1e-5)


def test_vae_training_raises_the_elbo():
    x = (data.load_digits()[0][:256] > 0.5).float()
    train.set_seed(0)
    model = VariationalAutoencoder(64, 32, 2)
    g = torch.Generator().manual_seed(0)
    with torch.no_grad():
        before = elbo(model, x, 10, generator=g).mean().item()
    train.fit(model, vae_loss, x, epochs=10, lr=1e-2, batch_size=64, seed=0)
    with torch.no_grad():
        after = elbo(model, x, 10, generator=g).mean().item()
    assert after > before + 10


def test_vae_sample_shapes_and_range():
    model = VariationalAutoencoder(64, 16, 2)
    s = model.sample(7, generator=torch.Generator().manual_seed(0))
    assert s.shape == (7, 64) and s.min() >= 0 and s.max() <= 1
    b = model.sample(7, generator=torch.Generator().manual_seed(0), binary=True)
    assert set(b.unique().tolist()) <= {0.0, 1.0}


# --- stacked, convolutional, anomaly -----------------------------------------------------


def test_stacked_encoder_loads_pretrained_layers():
    x = torch.rand(64, 6)
    aes = pretrain_stack(x, [6, 5, 3], epochs=2, lr=1e-2, seed=0)
    net = StackedEncoder([6, 5, 3], n_classes=2).load_pretrained(aes)
    with torch.no_grad():
        expected = aes[1].encode(aes[0].encode(x))
        assert torch.allclose(net.encode(x), expected)
        assert net(x).shape == (64, 2)


def test_stacked_encoder_rejects_mismatched_autoencoders():
    with pytest.raises(ValueError, match="autoencoders"):
        StackedEncoder([6, 5, 3]).load_pretrained([Autoencoder(6, 5)])
    with pytest.raises(ValueError, match=r"autoencoders\[1\]"):
        StackedEncoder([6, 5, 3]).load_pretrained([Autoencoder(6, 5), Autoencoder(5, 4)])
    with pytest.raises(ValueError, match="widths"):
        StackedEncoder([6])


def test_conv_autoencoder_shapes_and_training_beats_the_mean_image():
    x = data.load_digits()[0][:256]
    train.set_seed(0)
    model = ConvAutoencoder((8, 8))
    assert model.encode(x).shape == (256, 8, 2, 2)
    assert model(x).shape == (256, 64)
    train.fit(model, reconstruction_loss, x, epochs=40, lr=1e-2, batch_size=32, seed=0)
    with torch.no_grad():
        after = reconstruction_loss(model, x).item()
    mean_image_error = ((x - x.mean(0)) ** 2).sum(1).mean().item()
    assert after < 0.6 * mean_image_error


def test_conv_layer_count_matches_hand_count():
    model = ConvAutoencoder((8, 4))
    # conv 1->8, 8->4, 4->8, 8->1 with 3x3 kernels and biases
    expected = (9 * 8 + 8) + (8 * 9 * 4 + 4) + (4 * 9 * 8 + 8) + (8 * 9 + 1)
    assert sum(p.numel() for p in model.parameters()) == expected


def test_roc_auc_matches_sklearn_with_ties():
    from sklearn.metrics import roc_auc_score

    g = torch.Generator().manual_seed(0)
    normal = torch.randint(0, 5, (30,), generator=g).float()
    anomalous = torch.randint(2, 8, (20,), generator=g).float()
    labels = torch.cat([torch.zeros(30), torch.ones(20)])
    expected = roc_auc_score(labels.numpy(), torch.cat([normal, anomalous]).numpy())
    assert roc_auc(normal, anomalous) == pytest.approx(expected)
    assert roc_auc(torch.tensor([0.0, 1.0]), torch.tensor([2.0, 3.0])) == 1.0


def test_anomaly_scores_are_per_example_errors():
    torch.manual_seed(0)
    model = Autoencoder(5, 2)
    x = torch.rand(4, 5)
    with torch.no_grad():
        assert torch.allclose(anomaly_scores(model, x), reconstruction_errors(model, x))
        assert reconstruction_errors(model, x).mean().item() == pytest.approx(
            reconstruction_loss(model, x).item()
        )


# --- wrong input width -------------------------------------------------------------------


@pytest.mark.parametrize(
    "make,loss",
    [
        (lambda: Autoencoder(64, 16), SparseLoss()),
        (lambda: Autoencoder(64, 16), DenoisingLoss()),
        (lambda: Autoencoder(64, 16), ContractiveLoss()),
        (lambda: ConvAutoencoder(), reconstruction_loss),
        (lambda: VariationalAutoencoder(64, 16, 2), vae_loss),
    ],
)
def test_wrong_input_width_raises_naming_x(make, loss):
    with pytest.raises(ValueError, match="x must have last dimension 64"):
        loss(make(), torch.rand(3, 63))
