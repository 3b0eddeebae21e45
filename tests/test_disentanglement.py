"""Tests of the β-VAE loss, the mutual information gap and the shapes data set with known
factors: exact equalities and invariants, known answers with wide margins, bad input."""

import math

import numpy as np
import pytest
import torch

from survey_models import data
from survey_models.autoencoders import (
    BetaVAELoss,
    VariationalAutoencoder,
    discretize_codes,
    gaussian_kl,
    latent_traversal,
    mutual_info_gap,
    mutual_information_matrix,
    vae_loss,
)

# --- β-VAE loss --------------------------------------------------------------------------


def _model_and_batch():
    torch.manual_seed(0)
    model = VariationalAutoencoder(n_input=144, n_hidden=16, n_latent=3)
    x, _ = data.shapes(8, seed=0)
    return model, x


def test_beta_one_is_the_vae_loss_exactly():
    model, x = _model_and_batch()
    torch.manual_seed(5)
    expected = vae_loss(model, x)
    torch.manual_seed(5)
    got = BetaVAELoss(beta=1.0)(model, x)
    assert torch.equal(got, expected)


def test_beta_weights_the_kl_term_and_capacity_is_eq_2():
    model, x = _model_and_batch()
    loss4, loss1, loss_c = BetaVAELoss(4.0), BetaVAELoss(1.0), BetaVAELoss(4.0, capacity=2.0)
    torch.manual_seed(1)
    ll, kl = loss1.terms(model, x)
    torch.manual_seed(1)
    got4 = loss4(model, x)
    torch.manual_seed(1)
    got_c = loss_c(model, x)
    assert torch.equal(kl, gaussian_kl(*model.encode(x)))
    assert got4.item() == pytest.approx((-(ll - 4 * kl)).mean().item(), rel=1e-6)
    assert got_c.item() == pytest.approx((-(ll - 4 * (kl - 2).abs())).mean().item(), rel=1e-6)
    # Loss minus the β = 1 loss is (β - 1)·mean KL: the same draw, so exact up to rounding.
    torch.manual_seed(1)
    diff = got4 - loss1(model, x)
    assert diff.item() == pytest.approx(3 * kl.mean().item(), rel=1e-5)


def test_beta_loss_gradients_in_float64():
    # Eq. (2) is smooth where KL ≠ C; the gradient with respect to the pixels passes
    # through the encoder, the reparameterised sample and the decoder's likelihood.
    torch.manual_seed(0)
    model = VariationalAutoencoder(n_input=12, n_hidden=6, n_latent=3).double()
    x = (0.1 + 0.8 * torch.rand(3, 12, dtype=torch.float64)).requires_grad_(True)
    loss = BetaVAELoss(3.0, capacity=0.5)

    def f(pixels):
        torch.manual_seed(2)  # the same ε at every evaluation
        return loss(model, pixels)

    assert torch.autograd.gradcheck(f, (x,), eps=1e-6, atol=1e-6)


def test_beta_loss_bad_input():
    with pytest.raises(ValueError, match="beta"):
        BetaVAELoss(beta=0.0)
    with pytest.raises(TypeError, match="beta"):
        BetaVAELoss(beta="4")
    with pytest.raises(ValueError, match="capacity"):
        BetaVAELoss(capacity=-1.0)
    with pytest.raises(TypeError, match="model"):
        BetaVAELoss()(torch.nn.Linear(2, 2), torch.zeros(3, 2))
    model, _ = _model_and_batch()
    with pytest.raises(ValueError, match="x"):
        BetaVAELoss()(model, torch.zeros(3, 10))
    assert "beta=4.0" in repr(BetaVAELoss())


# --- MIG ----------------------------------------------------------------------------------


def _factors(n=4000, seed=0):
    return data.shapes(n, seed=seed)[1]


def test_codes_that_copy_the_factors_have_mig_near_one():
    # Every factor has ≤ 6 levels and 20 equal-width bins keep them apart, so
    # I(z_k; v_k) = H(v_k) exactly; the other dimensions are independent factors whose
    # plug-in MI is a small positive bias (≈ (levels-1)² / 2n nats), far below 0.1.
    f = _factors()
    codes = f.double() * 0.7 + 3.0
    mig, gaps = mutual_info_gap(codes, f, n_bins=20)
    mi = mutual_information_matrix(codes, f, n_bins=20)
    h = torch.tensor([_entropy(f[:, k]) for k in range(4)], dtype=torch.float64)
    assert torch.allclose(mi.diagonal(), h, rtol=1e-12, atol=0)
    assert mig > 0.95
    assert gaps.shape == (4,) and (gaps > 0.9).all()


def _entropy(col):
    p = np.unique(col.numpy(), return_counts=True)[1] / len(col)
    return float(-(p * np.log(p)).sum())


def test_codes_independent_of_the_factors_have_mig_near_zero():
    # MIG of noise is a difference of two small bias terms: both ≤ ~20·6/(2·4000) nats,
    # divided by H(v) ≥ log 3 ≈ 1.1: below 0.02; 0.05 leaves a wide margin.
    f = _factors()
    codes = torch.randn(len(f), 5, generator=torch.Generator().manual_seed(0))
    mig, _ = mutual_info_gap(codes, f)
    assert 0 <= mig < 0.05


def test_mig_is_exactly_unchanged_by_a_permutation_of_code_dims():
    f = _factors(1000)
    g = torch.Generator().manual_seed(1)
    codes = torch.cat([f[:, :2].double(), torch.randn(len(f), 4, generator=g).double()], 1)
    codes = codes + 0.3 * torch.randn(codes.shape, generator=g, dtype=torch.float64)
    perm = torch.tensor([4, 2, 0, 5, 1, 3])
    mig, gaps = mutual_info_gap(codes, f)
    mig_p, gaps_p = mutual_info_gap(codes[:, perm], f)
    assert mig == mig_p
    assert torch.equal(gaps, gaps_p)
    assert torch.equal(
        mutual_information_matrix(codes, f)[perm], mutual_information_matrix(codes[:, perm], f)
    )


def test_mutual_information_known_answer_and_discretisation():
    # A code that tells a balanced binary factor has I = log 2; two ties give gap 0.
    v = torch.tensor([[0], [1]] * 50)
    z = v.double().repeat(1, 2)
    mi = mutual_information_matrix(z, v, n_bins=4)
    assert mi.flatten().tolist() == pytest.approx([math.log(2)] * 2, rel=1e-12)
    assert mutual_info_gap(z, v)[0] == 0.0
    bins = discretize_codes(torch.tensor([[0.0, 1.0], [0.5, 1.0], [1.0, 1.0]]), n_bins=4)
    assert bins.tolist() == [[0, 0], [2, 0], [3, 0]]


def test_mig_bad_input():
    f = _factors(10)
    codes = torch.zeros(10, 3)
    with pytest.raises(ValueError, match="codes"):
        mutual_info_gap(torch.zeros(10, 1), f)
    with pytest.raises(TypeError, match="factors"):
        mutual_info_gap(codes, f.float())
    with pytest.raises(ValueError, match="factors"):
        mutual_info_gap(codes, f[:5])
    with pytest.raises(ValueError, match="codes"):
        mutual_info_gap(torch.full((10, 3), float("nan")), f)
    with pytest.raises(ValueError, match="factors column 0"):
        mutual_info_gap(codes, torch.zeros(10, 1, dtype=torch.long))
    with pytest.raises(ValueError, match="n_bins"):
        discretize_codes(codes, n_bins=0)


def test_latent_traversal_changes_one_dimension_per_row():
    model, _ = _model_and_batch()
    z = torch.tensor([0.1, -0.2, 0.3])
    values = torch.linspace(-2, 2, 5)
    out = latent_traversal(model, z, values)
    assert out.shape == (3, 5, 144)
    grid = z.repeat(5, 1)
    grid[:, 1] = values
    # Equal up to rounding: a matmul over 15 rows may sum in another order than over 5.
    expected = torch.sigmoid(model.decode_logits(grid))
    assert torch.allclose(out[1], expected, rtol=0, atol=1e-5)

    with pytest.raises(ValueError, match="z"):
        latent_traversal(model, torch.zeros(2), values)


# --- shapes data set --------------------------------------------------------------------


def test_shapes_factors_reproduce_the_images_exactly():
    x, f = data.shapes(300, seed=3)
    assert x.shape == (300, 144) and x.dtype == torch.float32
    assert f.shape == (300, 4) and f.dtype == torch.int64
    assert torch.equal(data.render_shapes(f), x)
    assert set(x.unique().tolist()) <= {0.0, 1.0}
    for k, levels in enumerate(data.SHAPE_LEVELS):
        assert f[:, k].min() >= 0 and f[:, k].max() < levels


def test_shapes_is_deterministic_and_factors_act_as_named():
    a, fa = data.shapes(50, seed=7)
    b, fb = data.shapes(50, seed=7)
    assert torch.equal(a, b) and torch.equal(fa, fb)
    assert not torch.equal(data.shapes(50, seed=8)[1], fa)
    base = torch.tensor([[1, 2, 2, 2]])
    one = data.render_shapes(base).reshape(12, 12)
    # x moves the shape right, y moves it down, size grows its area; every image has pixels.
    cols = torch.arange(12.0)
    moved_x = data.render_shapes(torch.tensor([[1, 2, 4, 2]])).reshape(12, 12)
    moved_y = data.render_shapes(torch.tensor([[1, 2, 2, 4]])).reshape(12, 12)
    assert (moved_x.sum(0) @ cols) / moved_x.sum() > (one.sum(0) @ cols) / one.sum()
    assert (moved_y.sum(1) @ cols) / moved_y.sum() > (one.sum(1) @ cols) / one.sum()
    small = data.render_shapes(torch.tensor([[1, 0, 2, 2]]))
    assert small.sum() < one.sum()
    every = torch.cartesian_prod(*(torch.arange(k) for k in data.SHAPE_LEVELS))
    assert (data.render_shapes(every).sum(1) > 0).all()
    assert data.render_shapes(torch.tensor([[0, 1, 0, 0]]), side=16).shape == (1, 256)


def test_shapes_bad_input():
    with pytest.raises(ValueError, match="n"):
        data.shapes(0)
    with pytest.raises(ValueError, match="seed"):
        data.shapes(5, seed=-1)
    with pytest.raises(ValueError, match="side"):
        data.shapes(5, side=4)
    with pytest.raises(ValueError, match="factors column 2"):
        data.render_shapes(torch.tensor([[0, 0, 6, 0]]))
    with pytest.raises(TypeError, match="factors"):
        data.render_shapes(torch.zeros(1, 4))
    with pytest.raises(ValueError, match="factors"):
        data.render_shapes(torch.zeros(1, 3, dtype=torch.long))
