"""Training details of chapter 2: tied weights, the cross-entropy error, k-sparse and L1 codes."""

import copy
import math

import pytest
import torch
from torch.nn import functional as F

from survey_models import train
from survey_models.autoencoders import (
    Autoencoder,
    KSparseLoss,
    L1ActivityLoss,
    SparseLoss,
    TiedAutoencoder,
    k_sparse,
    l1_activity,
    per_example_error,
    reconstruction_errors,
    reconstruction_loss,
    weight_parameter_count,
)

# --- tied weights ------------------------------------------------------------------------


def test_tied_decoder_weight_is_the_encoder_weight_transposed_in_shared_storage():
    model = TiedAutoencoder(6, 4)
    w1 = model.encoder_linear.weight
    w2 = model.decoder_linear.weight
    assert w2.shape == (6, 4)
    assert torch.equal(w2, w1.t())
    assert w2.data_ptr() == w1.data_ptr()  # a view, not a copy
    with torch.no_grad():
        w1[0, 0] = 7.0
    assert model.decoder_linear.weight[0, 0].item() == 7.0
    assert "decoder_linear.weight" not in model.state_dict()


def test_parameter_count_known_answer():
    # untied: 2·64·32 + 32 + 64 = 4192; tied: 64·32 + 32 + 64 = 2144
    assert train.count_parameters(Autoencoder(64, 32)) == 4192
    assert train.count_parameters(TiedAutoencoder(64, 32)) == 2144
    assert weight_parameter_count(64, 32, tied=False) == 4192
    assert weight_parameter_count(64, 32, tied=True) == 2144
    assert len(list(TiedAutoencoder(64, 32).parameters())) == 3  # W, b1, b2


def test_tied_model_starts_from_the_untied_models_encoder_and_decoder_bias():
    torch.manual_seed(0)
    untied = Autoencoder(8, 5)
    torch.manual_seed(0)
    tied = TiedAutoencoder(8, 5)
    assert torch.equal(tied.encoder_linear.weight, untied.encoder_linear.weight)
    assert torch.equal(tied.encoder_linear.bias, untied.encoder_linear.bias)
    assert torch.equal(tied.decoder_linear.bias, untied.decoder_linear.bias)


def test_default_autoencoder_is_unchanged_by_the_tied_module():
    torch.manual_seed(3)
    a = Autoencoder(8, 5)
    torch.manual_seed(3)
    TiedAutoencoder(8, 5)  # constructing a tied model does not alter the class
    torch.manual_seed(3)
    b = Autoencoder(8, 5)
    assert isinstance(a.decoder_linear, torch.nn.Linear)
    for (ka, va), (kb, vb) in zip(a.state_dict().items(), b.state_dict().items()):
        assert ka == kb and torch.equal(va, vb)


def test_tied_gradient_is_the_sum_of_encoder_and_decoder_gradients():
    """Equation (2) of tied.py, against an untied copy with W2 = W1ᵀ computed by autograd."""
    torch.manual_seed(1)
    tied = TiedAutoencoder(5, 3, encoder_activation="tanh").double()
    untied = Autoencoder(5, 3, encoder_activation="tanh").double()
    with torch.no_grad():
        untied.encoder_linear.weight.copy_(tied.encoder_linear.weight)
        untied.encoder_linear.bias.copy_(tied.encoder_linear.bias)
        untied.decoder_linear.weight.copy_(tied.encoder_linear.weight.t())
        untied.decoder_linear.bias.copy_(tied.decoder_linear.bias)
    x = torch.rand(7, 5, dtype=torch.float64)
    assert torch.equal(tied(x), untied(x))  # the same function at this point
    reconstruction_loss(tied, x).backward()
    reconstruction_loss(untied, x).backward()
    expected = untied.encoder_linear.weight.grad + untied.decoder_linear.weight.grad.t()
    # only the order of two float64 additions differs: agreement to ~1e-16 relative
    assert torch.allclose(tied.encoder_linear.weight.grad, expected, rtol=1e-10, atol=1e-12)
    # and the decoder use alone does not account for it
    assert not torch.allclose(tied.encoder_linear.weight.grad, untied.encoder_linear.weight.grad)


def test_tied_gradcheck():
    torch.manual_seed(2)
    model = TiedAutoencoder(4, 3).double()
    x = torch.rand(3, 4, dtype=torch.float64)

    def loss_of_weight(w: torch.Tensor) -> torch.Tensor:
        h = torch.sigmoid(x @ w.t() + model.encoder_linear.bias)
        y = torch.sigmoid(h @ w + model.decoder_linear.bias)  # W2 = Wᵀ: h W
        return ((y - x) ** 2).sum(1).mean()

    w = model.encoder_linear.weight.detach().clone().requires_grad_(True)
    assert torch.autograd.gradcheck(loss_of_weight, (w,))
    model.zero_grad()
    reconstruction_loss(model, x).backward()
    (manual,) = torch.autograd.grad(loss_of_weight(w), w)
    assert torch.allclose(model.encoder_linear.weight.grad, manual, rtol=1e-10, atol=1e-12)


def test_tied_model_survives_deepcopy_and_trains():
    torch.manual_seed(9)
    model = TiedAutoencoder(6, 4)
    clone = copy.deepcopy(model)
    assert clone.decoder_linear.weight.data_ptr() == clone.encoder_linear.weight.data_ptr()
    assert clone.decoder_linear.weight.data_ptr() != model.encoder_linear.weight.data_ptr()
    x = torch.rand(32, 6)
    before = reconstruction_loss(model, x).item()
    train.fit(model, reconstruction_loss, x, epochs=10, lr=1e-2, batch_size=32)
    assert torch.equal(model.decoder_linear.weight, model.encoder_linear.weight.t())
    assert reconstruction_loss(model, x).item() < before


# --- cross-entropy reconstruction error ------------------------------------------------


def test_cross_entropy_equals_binary_cross_entropy_summed_per_image():
    torch.manual_seed(4)
    model = Autoencoder(10, 4).double()
    x = (torch.rand(6, 10, dtype=torch.float64) > 0.5).double()
    y = model(x)
    expected = F.binary_cross_entropy(y, x, reduction="none").sum(1)
    got = reconstruction_errors(model, x, error="cross_entropy")
    assert torch.allclose(got, expected, rtol=1e-12, atol=1e-12)
    # equation (4) written out (no output saturates here, so no clamp is active)
    by_hand = -(x * torch.log(y) + (1 - x) * torch.log(1 - y)).sum(1)
    assert torch.allclose(got, by_hand, rtol=1e-10, atol=1e-12)
    loss = reconstruction_loss(model, x, error="cross_entropy")
    assert torch.allclose(loss, F.binary_cross_entropy(y, x, reduction="sum") / 6, rtol=1e-12)


def test_cross_entropy_known_answers():
    # y = 0.5 everywhere: d · log 2 nats per image, whatever the binary target
    y = torch.full((2, 8), 0.5, dtype=torch.float64)
    x = torch.tensor([[0.0] * 8, [1.0] * 4 + [0.0] * 4], dtype=torch.float64)
    expected = torch.full((2,), 8 * math.log(2), dtype=torch.float64)
    assert torch.allclose(per_example_error(y, x, "cross_entropy"), expected, rtol=1e-12)
    # a perfect binary reconstruction costs 0 nats; a confident wrong pixel costs 100 (clamp)
    t = torch.tensor([[1.0, 0.0, 1.0]])
    assert per_example_error(t, t, "cross_entropy").item() == 0.0
    assert per_example_error(1 - t, t, "cross_entropy").item() == 300.0
    # the squared default is unchanged
    assert per_example_error(y, x).tolist() == [2.0, 2.0]


def test_cross_entropy_gradient_stays_finite_when_the_sigmoid_saturates():
    y = torch.tensor([[0.0, 1.0, 0.5]], requires_grad=True)
    t = torch.tensor([[1.0, 0.0, 1.0]])
    per_example_error(y, t, "cross_entropy").sum().backward()
    assert torch.isfinite(y.grad).all()


def test_cross_entropy_accepts_grey_targets_and_refuses_values_outside_the_unit_interval():
    y = torch.full((1, 2), 0.25)
    grey = torch.tensor([[0.5, 0.5]])
    expected = -2 * (0.5 * math.log(0.25) + 0.5 * math.log(0.75))
    assert per_example_error(y, grey, "cross_entropy").item() == pytest.approx(expected, rel=1e-6)
    with pytest.raises(ValueError, match="target"):
        per_example_error(y, torch.tensor([[1.5, 0.0]]), "cross_entropy")
    with pytest.raises(ValueError, match="reconstruction"):
        per_example_error(torch.tensor([[-0.1, 0.5]]), grey, "cross_entropy")
    linear = Autoencoder(2, 3, decoder_activation="identity")
    with torch.no_grad():
        linear.decoder_linear.bias.fill_(5.0)
        linear.decoder_linear.weight.zero_()
    with pytest.raises(ValueError, match="decoder_activation='sigmoid'"):
        reconstruction_loss(linear, grey, error="cross_entropy")


def test_reconstruction_loss_default_is_bit_identical_to_the_squared_error():
    torch.manual_seed(5)
    model = Autoencoder(8, 3)
    x = torch.rand(4, 8)
    y = model(x)
    assert torch.equal(reconstruction_loss(model, x), ((y - x) ** 2).sum(dim=1).mean())
    assert torch.equal(
        reconstruction_loss(model, x, error="squared"), reconstruction_loss(model, x)
    )


# --- k-sparse codes ----------------------------------------------------------------------


def test_k_sparse_keeps_exactly_the_k_largest_units_per_row():
    h = torch.tensor([[0.1, -3.0, 2.0, 0.5, 1.0], [5.0, 4.0, -1.0, -2.0, 3.0]])
    out = k_sparse(h, 2)
    assert out.tolist() == [[0.0, 0.0, 2.0, 0.0, 1.0], [5.0, 4.0, 0.0, 0.0, 0.0]]
    torch.manual_seed(6)
    g = torch.randn(50, 20)
    for k in (1, 5, 20):
        kept = k_sparse(g, k)
        assert ((kept != 0).sum(1) == k).all()
        # every kept value is at least every dropped value in its row
        dropped_max = g.masked_fill(kept != 0, -math.inf).amax(1)
        kept_min = g.masked_fill(kept == 0, math.inf).amin(1)
        if k < 20:
            assert (kept_min >= dropped_max).all()
        assert torch.equal(kept[kept != 0], g[kept != 0])


def test_k_sparse_gradient_flows_only_through_the_kept_units():
    h = torch.tensor([[0.3, 0.9, -0.2, 0.7]], requires_grad=True)
    (k_sparse(h, 2) * torch.tensor([[1.0, 2.0, 3.0, 4.0]])).sum().backward()
    assert h.grad.tolist() == [[0.0, 2.0, 0.0, 4.0]]


def test_k_sparse_loss_decodes_the_sparse_code():
    torch.manual_seed(7)
    model = TiedAutoencoder(6, 8, encoder_activation="identity")
    loss = KSparseLoss(k=3)
    x = torch.rand(5, 6)
    code = loss.encode(model, x)
    assert ((code != 0).sum(1) == 3).all()
    y = model.decode(k_sparse(model.encode(x), 3))
    assert torch.equal(loss.reconstruct(model, x), y)
    assert torch.equal(loss(model, x), ((y - x) ** 2).sum(1).mean())
    ce = KSparseLoss(k=3, error="cross_entropy")(model, x)
    assert torch.allclose(ce, F.binary_cross_entropy(y, x, reduction="sum") / 5, rtol=1e-5)
    # k = n_hidden is the plain autoencoder
    assert torch.equal(KSparseLoss(k=8)(model, x), reconstruction_loss(model, x))


# --- L1 activity penalty --------------------------------------------------------------------


def test_l1_activity_known_answer():
    h = torch.tensor([[1.0, -2.0, 0.0], [0.5, 0.5, -1.0]])
    assert l1_activity(h).item() == 2.5  # (3 + 2) / 2
    model = Autoencoder(3, 2, encoder_activation="identity")
    x = torch.rand(4, 3)
    h = model.encode(x)
    recon = ((model.decode(h) - x) ** 2).sum(1).mean()
    got = L1ActivityLoss(activity_weight=0.5)(model, x)
    assert torch.allclose(got, recon + 0.5 * h.abs().sum(1).mean(), rtol=1e-6)
    assert torch.equal(L1ActivityLoss(activity_weight=0.0)(model, x), reconstruction_loss(model, x))


def test_l1_penalty_makes_codes_smaller():
    torch.manual_seed(8)
    x = torch.rand(64, 6)
    sizes = {}
    for weight in (0.0, 1.0):
        train.set_seed(0)
        model = Autoencoder(6, 12, encoder_activation="relu")
        train.fit(model, L1ActivityLoss(weight), x, epochs=40, lr=1e-2, batch_size=64)
        with torch.no_grad():
            sizes[weight] = l1_activity(model.encode(x)).item()
    assert sizes[1.0] < 0.5 * sizes[0.0]


# --- bad input ---------------------------------------------------------------------------------


def test_bad_input():
    h = torch.rand(3, 4)
    with pytest.raises(ValueError, match="k must be at most"):
        k_sparse(h, 5)
    with pytest.raises(ValueError, match="k"):
        k_sparse(h, 0)
    with pytest.raises(TypeError, match="k"):
        KSparseLoss(k=2.0)
    with pytest.raises(ValueError, match="error"):
        KSparseLoss(k=2, error="l1")
    with pytest.raises(ValueError, match="error"):
        reconstruction_loss(Autoencoder(4, 2), h, error="bce")
    with pytest.raises(ValueError, match="activity_weight"):
        L1ActivityLoss(activity_weight=-1.0)
    with pytest.raises(ValueError, match="h"):
        l1_activity(torch.rand(4))
    with pytest.raises(TypeError, match="h"):
        k_sparse(torch.ones(2, 3, dtype=torch.long), 1)
    with pytest.raises(TypeError, match="model"):
        L1ActivityLoss()(torch.nn.Linear(4, 4), h)
    with pytest.raises(ValueError, match="x"):
        TiedAutoencoder(4, 2)(torch.rand(3, 5))
    with pytest.raises(ValueError, match="n_hidden"):
        TiedAutoencoder(4, 0)
    with pytest.raises(TypeError, match="tied"):
        weight_parameter_count(4, 2, tied=1)
    with pytest.raises(ValueError, match="target"):
        per_example_error(torch.rand(2, 3), torch.rand(2, 4))
    # the KL loss still refuses a non-sigmoid encoder, tied or not
    with pytest.raises(ValueError, match="sigmoid"):
        SparseLoss()(TiedAutoencoder(4, 2, encoder_activation="relu"), h)
