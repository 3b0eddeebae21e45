"""Tests of the PixelCNN: exact causality, agreement with PyTorch built-ins, known answers."""

import itertools
import math

import pytest
import torch
from torch.nn import functional as F

from survey_models import energy
from survey_models.autoregressive import (
    MaskedConv2d,
    PixelCNN,
    bits_per_pixel,
    causal_mask,
    nll,
    pixel_nll,
    pixelcnn_loss,
    sample,
)


def _model(side=8, channels=8, n_layers=2, first_kernel=5, seed=0):
    torch.manual_seed(seed)
    model = PixelCNN(side, channels, n_layers, first_kernel).double()
    with torch.no_grad():
        model.pixel_bias.normal_()  # nothing starts at zero by construction
    return model


def _jacobian(model, x):
    """d logits / d x for one image: ``(n_pixels, n_pixels)``, row i = logit i."""
    return torch.autograd.functional.jacobian(lambda z: model(z)[0], x)[:, 0, :]


def _all_images(n_pixels):
    return torch.tensor(list(itertools.product([0.0, 1.0], repeat=n_pixels)), dtype=torch.float64)


def test_causal_mask_known_answer():
    a = torch.tensor([[1.0, 1, 1], [1, 0, 0], [0, 0, 0]])
    assert torch.equal(causal_mask(3, "A"), a)
    b = a.clone()
    b[1, 1] = 1
    assert torch.equal(causal_mask(3, "B"), b)
    assert causal_mask(5, "A").sum() == 12  # 2 rows of 5 above, 2 to the left


def test_masked_conv_equals_functional_conv2d_with_masked_weight():
    torch.manual_seed(0)
    conv = MaskedConv2d("B", 3, 4, 5)
    x = torch.randn(2, 3, 6, 7)
    expected = F.conv2d(x, conv.weight * causal_mask(5, "B"), conv.bias, padding=2)
    assert torch.equal(conv(x), expected)
    # the same as nn.Conv2d once its weight is masked by hand
    plain = torch.nn.Conv2d(3, 4, 5, padding=2)
    with torch.no_grad():
        plain.weight.copy_(conv.weight * causal_mask(5, "B"))
        plain.bias.copy_(conv.bias)
    assert torch.equal(conv(x), plain(x))


def test_masked_weights_get_exactly_zero_gradient():
    torch.manual_seed(0)
    conv = MaskedConv2d("A", 2, 3, 3)
    conv(torch.randn(4, 2, 5, 5)).square().sum().backward()
    assert torch.all(conv.weight.grad[..., causal_mask(3, "A") == 0] == 0)
    assert torch.all(conv.weight.grad[..., causal_mask(3, "A") == 1] != 0)


@pytest.mark.parametrize("first_kernel, n_layers", [(5, 2), (3, 4), (7, 1)])
def test_exact_causality_on_every_pixel(first_kernel, n_layers):
    # Mask A then B: the logit of pixel i has exactly zero gradient w.r.t. pixels j >= i
    # (raster order), the current pixel included; the zeros are exact because every path
    # from x_j to logit i multiplies by a masked (exactly 0) weight.
    model = _model(first_kernel=first_kernel, n_layers=n_layers)
    x = torch.rand(1, 64, dtype=torch.float64, generator=torch.Generator().manual_seed(1))
    jac = _jacobian(model, x)
    future = torch.ones(64, 64, dtype=torch.bool).triu()  # j >= i
    assert torch.all(jac[future] == 0)
    # and every pixel after the first is influenced by some earlier pixel
    assert all(bool((jac[i, :i] != 0).any()) for i in range(1, 64))


def test_type_b_first_layer_would_leak_the_current_pixel():
    # the check above can fail: a type-B input layer lets x_i reach logit i
    model = _model()
    model.first = MaskedConv2d("B", 1, 8, 5).double()
    jac = _jacobian(model, torch.rand(1, 64, dtype=torch.float64))
    assert bool((jac.diagonal() != 0).any())


def test_blind_spot_of_stacked_masks():
    # 3×3 masks: whatever the depth, pixel (r, c) never sees (r - d, c + d + 1), d >= 1,
    # although those pixels come earlier in raster order (van den Oord et al. 2016b).
    for n_layers in (1, 2, 4):
        model = _model(first_kernel=3, n_layers=n_layers)
        row = _jacobian(model, torch.rand(1, 64, dtype=torch.float64))[4 * 8 + 3].view(8, 8)
        assert row[3, 5] == 0 and row[2, 6] == 0 and row[1, 7] == 0
        assert row[3, 4] != 0 and row[4, 2] != 0


def test_nll_equals_sum_of_per_pixel_bce():
    model = _model()
    g = torch.Generator().manual_seed(2)
    x = torch.bernoulli(torch.full((5, 64), 0.4, dtype=torch.float64), generator=g)
    logits = model(x)
    per_image = torch.stack(
        [F.binary_cross_entropy_with_logits(logits[b], x[b], reduction="sum") for b in range(5)]
    )
    assert torch.allclose(nll(model, x), per_image, rtol=1e-12, atol=0)
    assert torch.equal(pixel_nll(model, x).sum(1), nll(model, x))
    assert pixelcnn_loss(model, x).item() == pytest.approx(per_image.mean().item(), rel=1e-12)


def test_likelihood_sums_to_one_over_all_images():
    # equation (1) is a normalised distribution: exact for any weights (3×3 = 512 images)
    model = _model(side=3, channels=4, first_kernel=3)
    images = _all_images(9)
    total = torch.logsumexp(-nll(model, images), dim=0)
    assert total.item() == pytest.approx(0.0, abs=1e-12)


def test_input_blind_network_gives_the_independent_bernoulli_nll():
    # first-layer weights at zero: the logits no longer depend on x, so the model is the
    # independent-Bernoulli model with p_i = σ(ℓ_i); the RBM chapter's baseline is a known
    # answer (binary images with a different rate per pixel stand in for the digits).
    g = torch.Generator().manual_seed(8)
    rates = torch.rand(64, dtype=torch.float64, generator=g)
    x_train = torch.bernoulli(rates.expand(300, 64), generator=g)
    x_test = torch.bernoulli(rates.expand(100, 64), generator=g)
    model = _model()
    with torch.no_grad():
        model.first.weight.zero_()
        model.first.bias.zero_()
        for layer in model.hidden:
            layer.bias.zero_()
        for m in model.head:
            if isinstance(m, torch.nn.Conv2d):
                m.bias.zero_()
        p = (x_train.sum(0) + 1) / (len(x_train) + 2)  # add-one frequencies, as the baseline
        model.pixel_bias.copy_(torch.logit(p))
    baseline = energy.bernoulli_baseline_log_likelihood(x_train, x_test)
    assert nll(model, x_test).mean().item() == pytest.approx(-baseline, abs=1e-9)
    with torch.no_grad():
        model.pixel_bias.zero_()  # p = 1/2 everywhere: 64 ln 2 nats for every image
    assert torch.allclose(
        nll(model, x_test), torch.full((len(x_test),), 64 * math.log(2), dtype=torch.float64)
    )
    assert bits_per_pixel(64 * math.log(2), 64) == pytest.approx(1.0)


def test_sampling_is_deterministic_under_a_seeded_generator():
    model = _model(channels=4).float()
    a = sample(model, 6, generator=torch.Generator().manual_seed(3))
    b = sample(model, 6, generator=torch.Generator().manual_seed(3))
    c = sample(model, 6, generator=torch.Generator().manual_seed(4))
    assert a.shape == (6, 64) and torch.equal(a, b) and not torch.equal(a, c)
    assert set(a.unique().tolist()) <= {0.0, 1.0}


def test_samples_follow_the_model_distribution():
    # 2×2 images: the frequencies of 20,000 draws match exp(-nll) of all 16 images; the
    # standard error of each frequency is below 0.0036, so 0.02 is over 5 standard errors.
    model = _model(side=2, channels=4, first_kernel=3)
    images = _all_images(4)
    probs = torch.exp(-nll(model, images))
    draws = sample(model, 20_000, generator=torch.Generator().manual_seed(5))
    codes = (draws * torch.tensor([8.0, 4, 2, 1], dtype=draws.dtype)).sum(1).long()
    freq = torch.bincount(codes, minlength=16).double() / len(draws)
    assert (freq - probs).abs().max() < 0.02


def test_completion_keeps_the_given_pixels():
    model = _model(channels=4).float()
    given = torch.bernoulli(torch.full((3, 64), 0.5), generator=torch.Generator().manual_seed(6))
    out = sample(model, 3, generator=torch.Generator().manual_seed(7), given=given, start=32)
    assert torch.equal(out[:, :32], given[:, :32])
    model.train()
    sample(model, 1, given=given[:1], start=63)
    assert model.training  # the mode is restored


def test_forward_shapes_and_module_repr():
    model = PixelCNN(side=4, channels=6, n_layers=3, first_kernel=3)
    assert model(torch.zeros(2, 16)).shape == (2, 16)
    assert "mask_type='A'" in repr(model.first) and "side=4" in repr(model)


def test_bad_input():
    with pytest.raises(ValueError, match="mask_type"):
        MaskedConv2d("C", 1, 1, 3)
    with pytest.raises(ValueError, match="kernel_size"):
        MaskedConv2d("A", 1, 1, 4)
    with pytest.raises(TypeError, match="in_channels"):
        MaskedConv2d("A", 1.0, 1, 3)
    with pytest.raises(ValueError, match="channels"):
        MaskedConv2d("A", 2, 1, 3)(torch.zeros(1, 1, 4, 4))
    with pytest.raises(ValueError, match="side"):
        PixelCNN(side=0)
    with pytest.raises(ValueError, match="first_kernel"):
        PixelCNN(first_kernel=2)
    model = PixelCNN(side=4, channels=2, n_layers=1, first_kernel=3)
    with pytest.raises(ValueError, match="x must have last dimension 16"):
        model(torch.zeros(2, 64))
    with pytest.raises(TypeError, match="x must be a floating"):
        model(torch.zeros(2, 16, dtype=torch.long))
    with pytest.raises(ValueError, match="x must be binary"):
        nll(model, torch.full((2, 16), 0.5))
    with pytest.raises(ValueError, match="n must be"):
        sample(model, 0)
    with pytest.raises(ValueError, match="start"):
        sample(model, 1, start=3)
    with pytest.raises(ValueError, match="start"):
        sample(model, 1, given=torch.zeros(1, 16), start=16)
    with pytest.raises(ValueError, match="given must have n=2"):
        sample(model, 2, given=torch.zeros(1, 16), start=1)
    with pytest.raises(TypeError, match="model"):
        nll("model", torch.zeros(1, 16))
