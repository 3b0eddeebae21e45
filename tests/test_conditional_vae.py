import math

import pytest
import torch
from torch.nn import functional as F

from survey_models import data, train
from survey_models.autoencoders import VariationalAutoencoder, elbo, importance_weighted_bound
from survey_models.autoencoders.conditional import (
    ConditionalVAE,
    conditional_elbo,
    conditional_importance_weighted_bound,
    cvae_loss,
)


def _model(dtype=torch.float64, **kw):
    torch.manual_seed(0)
    return ConditionalVAE(**{"n_input": 6, "n_classes": 3, "n_hidden": 5, "n_latent": 2, **kw}).to(
        dtype
    )


def test_shapes():
    model = ConditionalVAE(n_input=64, n_classes=10, n_hidden=16, n_latent=3)
    x, y = torch.rand(7, 64), torch.randint(0, 10, (7,))
    mu, log_var = model.encode(x, y)
    assert mu.shape == log_var.shape == (7, 3)
    assert model.decode_logits(torch.randn(4, 7, 3), y).shape == (4, 7, 64)
    assert model(x, y).shape == (7, 64)
    assert conditional_elbo(model, x, y, n_samples=5).shape == (7,)
    assert conditional_importance_weighted_bound(model, x, y, k=3).shape == (7,)
    s = model.sample(y, generator=torch.Generator().manual_seed(0), binary=True)
    assert s.shape == (7, 64) and set(s.unique().tolist()) <= {0.0, 1.0}
    assert cvae_loss(model, x, y).shape == ()


def _plain_twin(model: ConditionalVAE) -> VariationalAutoencoder:
    """A VAE with the CVAE's weights minus the label columns (which are zeroed in ``model``)."""
    vae = VariationalAutoencoder(model.n_input, model.n_hidden, model.n_latent).to(torch.float64)
    n_in, n_z = model.n_input, model.n_latent
    with torch.no_grad():
        model.encoder[0].weight[:, n_in:] = 0
        model.decoder[0].weight[:, n_z:] = 0
        vae.encoder[0].weight.copy_(model.encoder[0].weight[:, :n_in])
        vae.encoder[0].bias.copy_(model.encoder[0].bias)
        vae.decoder[0].weight.copy_(model.decoder[0].weight[:, :n_z])
        for name in ("mu", "log_var"):
            getattr(vae, name).load_state_dict(getattr(model, name).state_dict())
        vae.decoder[0].bias.copy_(model.decoder[0].bias)
        vae.decoder[2].load_state_dict(model.decoder[2].state_dict())
    return vae


def test_with_the_label_ignored_it_is_the_plain_vae():
    # Zero the label columns of both first layers: the CVAE's bounds must equal those of a
    # VAE with the remaining weights, for every label, with the same noise. The products
    # differ only by added exact zeros; 1e-12 in float64 covers summation order.
    model = _model()
    vae = _plain_twin(model)
    x = torch.rand(4, 6, dtype=torch.float64)
    want = elbo(vae, x, n_samples=3, generator=torch.Generator().manual_seed(1))
    want_iw = importance_weighted_bound(vae, x, k=5, generator=torch.Generator().manual_seed(2))
    for c in range(3):
        y = torch.full((4,), c)
        got = conditional_elbo(model, x, y, n_samples=3, generator=torch.Generator().manual_seed(1))
        got_iw = conditional_importance_weighted_bound(
            model, x, y, k=5, generator=torch.Generator().manual_seed(2)
        )
        assert torch.allclose(got, want, rtol=0, atol=1e-12)
        assert torch.allclose(got_iw, want_iw, rtol=0, atol=1e-12)


def test_elbo_known_answer_by_hand():
    # With n_samples=1 and a fixed noise, equations (1)-(3) computed here by hand.
    model = _model()
    x = torch.tensor([[1.0, 0, 1, 1, 0, 0], [0, 1, 0, 0, 1, 1]], dtype=torch.float64)
    y = torch.tensor([2, 0])
    # elbo draws its noise in the default dtype (float32), shape (n_samples, batch, latent)
    eps = torch.randn((1, 2, 2), generator=torch.Generator().manual_seed(3)).double()
    onehot = torch.eye(3, dtype=torch.float64)[y]
    h = torch.tanh(torch.cat([x, onehot], 1) @ model.encoder[0].weight.T + model.encoder[0].bias)
    mu, log_var = model.mu(h), model.log_var(h)
    z = mu + torch.exp(0.5 * log_var) * eps[0]  # (2)
    hd = torch.tanh(torch.cat([z, onehot], 1) @ model.decoder[0].weight.T + model.decoder[0].bias)
    p = torch.sigmoid(model.decoder[2](hd))
    log_lik = (x * torch.log(p) + (1 - x) * torch.log(1 - p)).sum(1)
    kl = 0.5 * (mu**2 + log_var.exp() - 1 - log_var).sum(1)  # (3)
    got = conditional_elbo(model, x, y, generator=torch.Generator().manual_seed(3))
    assert torch.allclose(got, log_lik - kl, rtol=0, atol=1e-10)  # (1)


def test_elbo_known_answer_constructed_case():
    # All weights zero: q(z|x,y) = N(0, I) so KL = 0; the decoder outputs p = 1/2 per pixel
    # whatever z and y are, so the ELBO is exactly -n_input log 2 and the bound is tight.
    model = _model()
    with torch.no_grad():
        for p in model.parameters():
            p.zero_()
    x = torch.bernoulli(torch.full((5, 6), 0.5, dtype=torch.float64))
    y = torch.tensor([0, 1, 2, 0, 1])
    want = torch.full((5,), -6 * math.log(2), dtype=torch.float64)
    assert torch.allclose(conditional_elbo(model, x, y, n_samples=4), want, rtol=0, atol=1e-12)
    iw = conditional_importance_weighted_bound(model, x, y, k=7)
    assert torch.allclose(iw, want, rtol=0, atol=1e-12)
    assert cvae_loss(model, x, y).item() == pytest.approx(6 * math.log(2), abs=1e-12)


def test_changing_the_label_changes_only_the_decoders_conditioning():
    model = _model()
    z = torch.randn(4, 2, dtype=torch.float64)
    a, b = torch.tensor([0, 1, 2, 0]), torch.tensor([1, 1, 0, 2])
    out_a, out_b = model.decode_logits(z, a), model.decode_logits(z, b)
    same = a == b
    assert torch.equal(out_a[same], out_b[same])  # rows whose label is unchanged: identical
    assert (out_a[~same] - out_b[~same]).abs().amax(1).min() > 0
    # the label enters only the decoder's first layer, as the weight column of its one-hot
    # entry: moving from label a to b adds W[:, b] - W[:, a] to the pre-activation
    w_label = model.decoder[0].weight[:, 2:]
    pre_a = model.decoder[0](torch.cat([z, F.one_hot(a, 3).double()], 1))
    pre_b = pre_a + w_label.T[b] - w_label.T[a]
    assert torch.allclose(model.decoder[2](torch.tanh(pre_b)), out_b, rtol=0, atol=1e-12)
    # sample(labels, z): the same z decoded with each label is exactly the decoder's output
    assert torch.equal(model.sample(b, z=z), torch.sigmoid(out_b))


def test_gradcheck_float64():
    # gradients of the bound (1) with respect to the data and to the decoder's label columns
    model = _model()
    x = torch.rand(3, 6, dtype=torch.float64, requires_grad=True)
    y = torch.tensor([0, 2, 1])
    layer = model.decoder[0]

    def bound(x_in, w_dec):  # the decoder's first-layer weight swapped for the input w_dec
        saved = layer.weight
        try:
            del layer.weight
            layer.weight = w_dec
            return conditional_elbo(model, x_in, y, generator=torch.Generator().manual_seed(5))
        finally:
            del layer.weight
            layer.weight = saved

    w0 = layer.weight.detach().clone().requires_grad_(True)
    assert torch.autograd.gradcheck(bound, (x, w0))


def test_training_on_digits_with_fit():
    split = data.digits_split(0.3, seed=0)
    x, y = data.binarize(split.x_train[:300]), split.y_train[:300]
    train.set_seed(0)
    model = ConditionalVAE(n_hidden=32, n_latent=2)
    before = train.evaluate(model, cvae_loss, (x, y))
    history = train.fit(model, cvae_loss, (x, y), epochs=10, lr=3e-3, seed=0)
    # an untrained decoder gives p ≈ 1/2: -ELBO ≈ 64 log 2 ≈ 44 nats; 10 epochs reach < 35
    # (about 26 measured: a wide margin)
    assert before > 40 and history.final_train_loss < 35


def test_bad_arguments_and_labels():
    with pytest.raises(ValueError, match="n_classes"):
        ConditionalVAE(n_classes=0)
    with pytest.raises(TypeError, match="n_latent"):
        ConditionalVAE(n_latent=2.0)
    model = ConditionalVAE(n_input=6, n_classes=3, n_hidden=4, n_latent=2)
    x = torch.rand(2, 6)
    with pytest.raises(ValueError, match="labels"):
        model.encode(x, torch.tensor([0, 3]))
    with pytest.raises(ValueError, match="labels"):
        model.encode(x, torch.tensor([-1, 0]))
    with pytest.raises(TypeError, match="labels"):
        model.encode(x, torch.tensor([0.0, 1.0]))
    with pytest.raises(ValueError, match="labels"):
        model.encode(x, torch.tensor([0, 1, 2]))
    with pytest.raises(ValueError, match="labels"):
        model.encode(x, torch.tensor([[0], [1]]))
    with pytest.raises(ValueError, match="x"):
        model.encode(torch.rand(2, 5), torch.tensor([0, 1]))
    with pytest.raises(ValueError, match="z"):
        model.decode_logits(torch.randn(3, 2), torch.tensor([0, 1]))
    with pytest.raises(ValueError, match="z"):
        model.sample(torch.tensor([0, 1]), z=torch.randn(2, 3))
    with pytest.raises(ValueError, match="labels"):
        model.sample(torch.tensor([5]))
    with pytest.raises(TypeError, match="labels"):
        conditional_elbo(model, x, [0, 1])
