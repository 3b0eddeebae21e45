"""Tests of the VQ-VAE (survey_models.autoencoders.vector_quantized): the nearest-code
lookup against a brute-force search, the straight-through gradient and the stop-gradients of
the codebook and commitment terms exactly, the perplexity's known values, shapes, the prior's
sequences and sampler, and argument errors.

Exactness: where a verdict compares numbers, the data are small integers in float64 and the
batch a power of two, so every distance, loss and gradient is computed without rounding."""

import pytest
import torch

from survey_models import data, train
from survey_models.autoencoders import (
    VQVAE,
    VectorQuantizer,
    code_usage,
    codebook_perplexity,
    prior_sequences,
    sample_prior,
    vqvae_loss,
)


def integer_quantizer(num_codes: int = 6, code_dim: int = 3, seed: int = 0) -> VectorQuantizer:
    vq = VectorQuantizer(num_codes, code_dim).double()
    g = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        vq.codebook.weight.copy_(torch.randint(-4, 5, (num_codes, code_dim), generator=g).double())
    return vq


def integer_inputs(shape: tuple[int, ...], seed: int = 1) -> torch.Tensor:
    g = torch.Generator().manual_seed(seed)
    return torch.randint(-5, 6, shape, generator=g).double().requires_grad_()


# --- nearest code, equation (1) ------------------------------------------------------------


def test_nearest_equals_brute_force_on_integers():
    vq = integer_quantizer()
    z = integer_inputs((8, 5, 3))
    got = vq.nearest(z)
    assert got.shape == (8, 5) and got.dtype == torch.long
    e = vq.codebook.weight.tolist()
    for i, row in enumerate(z.detach().reshape(-1, 3).tolist()):
        d = [sum((a - b) ** 2 for a, b in zip(row, code)) for code in e]  # exact integers
        assert got.reshape(-1)[i].item() == d.index(min(d))  # ties: the lowest index


def test_nearest_agrees_with_cdist_where_the_gap_is_clear():
    # Random float64 data: compare only rows whose two best distances differ by > 1e-9, far
    # above the ~1e-15 rounding of either distance formula, so rounding cannot flip a verdict.
    g = torch.Generator().manual_seed(2)
    vq = VectorQuantizer(16, 4).double()
    with torch.no_grad():
        vq.codebook.weight.normal_(generator=g)
    z = torch.randn(200, 4, generator=g, dtype=torch.float64)
    d = torch.cdist(z, vq.codebook.weight.detach())
    two = d.topk(2, largest=False).values
    clear = (two[:, 1] - two[:, 0]) > 1e-9
    assert int(clear.sum()) > 190
    assert torch.equal(vq.nearest(z)[clear], d.argmin(1)[clear])


def test_quantized_value_is_exactly_the_chosen_code():
    g = torch.Generator().manual_seed(3)
    vq = VectorQuantizer(10, 4)
    z = torch.randn(6, 3, 4, generator=g)
    q = vq(z)
    assert q.quantized.shape == z.shape and q.indices.shape == (6, 3)
    assert torch.equal(q.quantized, vq.lookup(q.indices))


# --- straight-through gradient, equation (2) ----------------------------------------------


def test_straight_through_gradient_is_exactly_the_gradient_at_the_code():
    vq = integer_quantizer()
    z = integer_inputs((4, 5, 3))
    w = torch.arange(60, dtype=torch.float64).reshape(4, 5, 3) / 8 - 3

    def f(t: torch.Tensor) -> torch.Tensor:  # a non-linear downstream loss
        return (w * t + torch.sin(t) * t**2).sum()

    (grad_z,) = torch.autograd.grad(f(vq(z).quantized), z)
    e = vq.lookup(vq.nearest(z)).detach().requires_grad_()
    (grad_e,) = torch.autograd.grad(f(e), e)
    assert torch.equal(grad_z, grad_e)
    assert grad_z.abs().sum() > 0


def test_straight_through_gives_the_codebook_no_gradient():
    vq = integer_quantizer()
    z = integer_inputs((4, 5, 3))
    (grad_w,) = torch.autograd.grad(
        vq(z).quantized.sum(), vq.codebook.weight, allow_unused=True, materialize_grads=True
    )
    assert torch.equal(grad_w, torch.zeros_like(grad_w))


# --- codebook and commitment terms of equation (3) ----------------------------------------


def test_codebook_loss_moves_only_the_codebook():
    vq = integer_quantizer()
    z = integer_inputs((4, 5, 3))
    q = vq(z)
    grad_z, grad_w = torch.autograd.grad(
        q.codebook_loss, [z, vq.codebook.weight], allow_unused=True, materialize_grads=True
    )
    assert torch.equal(grad_z, torch.zeros_like(z))
    # d/de_k of (1/B) Σ_i ‖z_i - e_k(i)‖² = (2/B) Σ_{i: k(i)=k} (e_k - z_i), exact on integers.
    flat, idx = z.detach().reshape(-1, 3), q.indices.reshape(-1)
    expected = torch.zeros_like(vq.codebook.weight)
    expected.index_add_(0, idx, 2 * (vq.codebook.weight.detach()[idx] - flat) / 4)
    assert torch.equal(grad_w, expected)
    value = ((flat - vq.codebook.weight.detach()[idx]) ** 2).sum() / 4
    assert torch.equal(q.codebook_loss.detach(), value)


def test_commitment_loss_moves_only_the_encoder_output():
    vq = integer_quantizer()
    z = integer_inputs((4, 5, 3))
    q = vq(z)
    grad_z, grad_w = torch.autograd.grad(
        q.commitment_loss, [z, vq.codebook.weight], allow_unused=True, materialize_grads=True
    )
    assert torch.equal(grad_w, torch.zeros_like(grad_w))
    e = vq.lookup(q.indices).detach()
    assert torch.equal(grad_z, 2 * (z.detach() - e) / 4)
    assert torch.equal(q.commitment_loss.detach(), q.codebook_loss.detach())  # same value


def test_codebook_loss_gradcheck_float64():
    g = torch.Generator().manual_seed(4)
    vq = VectorQuantizer(5, 3).double()
    z = torch.randn(4, 2, 3, generator=g, dtype=torch.float64)
    idx = vq.nearest(z)  # assignments held fixed: the loss is smooth in the codebook

    def loss(weight: torch.Tensor) -> torch.Tensor:
        return ((z - weight[idx]) ** 2).sum() / 4

    w = vq.codebook.weight.detach().clone().requires_grad_()
    assert torch.autograd.gradcheck(loss, (w,))
    (ours,) = torch.autograd.grad(vq(z).codebook_loss, vq.codebook.weight)
    (ref,) = torch.autograd.grad(loss(w), w)
    assert torch.allclose(ours, ref, rtol=0, atol=1e-12)  # same formula; rounding ~1e-16


def test_vqvae_loss_is_equation_3():
    torch.manual_seed(0)
    model = VQVAE(num_codes=8, code_dim=4, grid=4, hidden=8, beta=0.25).double()
    x = torch.rand(4, 64, dtype=torch.float64)
    q = model.quantize(x)
    recon = ((model.decode_codes(q.quantized) - x) ** 2).sum(1).mean()
    expected = recon + q.codebook_loss + 0.25 * q.commitment_loss
    assert torch.equal(vqvae_loss(model, x), expected)


# --- perplexity, equation (4) ---------------------------------------------------------------


@pytest.mark.parametrize("k", [1, 2, 7, 32])
def test_perplexity_of_uniform_usage_is_k(k):
    indices = torch.arange(k).repeat(3)
    # exp(log k) in float64: a few ulps from k, far inside rel=1e-12.
    assert codebook_perplexity(indices, k) == pytest.approx(k, rel=1e-12)
    assert codebook_perplexity(indices, 2 * k) == pytest.approx(k, rel=1e-12)  # dead codes


def test_perplexity_of_a_single_code_is_one():
    assert codebook_perplexity(torch.full((5, 4), 3), 8) == 1.0


def test_code_usage_counts_and_dead_codes():
    counts = code_usage(torch.tensor([[0, 2], [2, 2]]), 4)
    assert counts.tolist() == [1, 0, 3, 0]


# --- the VQ-VAE ----------------------------------------------------------------------------


@pytest.mark.parametrize("grid", [8, 4, 2, 1])
def test_vqvae_shapes(grid):
    torch.manual_seed(0)
    model = VQVAE(num_codes=16, code_dim=4, grid=grid, hidden=8)
    x = torch.rand(3, 64)
    assert model.encode_continuous(x).shape == (3, grid, grid, 4)
    idx = model.encode(x)
    assert idx.shape == (3, grid * grid) and idx.dtype == torch.long
    assert model.tokens_per_image == grid * grid
    assert model(x).shape == (3, 64)
    assert model.decode_indices(idx).shape == (3, 64)
    assert torch.equal(model.decode_indices(idx), model(x))  # forward = decode(encode)


def test_vqvae_training_lowers_the_loss():
    x = data.digits_split(test_fraction=0.3, seed=0).x_train[:128]
    train.set_seed(0)
    model = VQVAE(num_codes=16, code_dim=4, grid=4, hidden=8)
    history = train.fit(model, vqvae_loss, x, steps=30, batch_size=32, lr=5e-3, seed=0)
    assert history.final_train_loss < 0.85 * history.train_loss[0]  # measured 0.72


# --- the prior over codes ------------------------------------------------------------------


def test_prior_sequences_shift_by_one_after_bos():
    idx = torch.tensor([[3, 1, 4, 1], [5, 0, 2, 6]])
    x, y = prior_sequences(idx, 7)
    assert x.tolist() == [[7, 3, 1, 4], [7, 5, 0, 2]]
    assert torch.equal(y, idx)


class _CountingPrior(torch.nn.Module):
    """Puts all mass on code ``t % num_codes`` at position ``t`` and a huge logit on <bos>."""

    def __init__(self, num_codes: int) -> None:
        super().__init__()
        self.num_codes = num_codes

    def forward(self, idx: torch.Tensor) -> torch.Tensor:
        b, t = idx.shape
        logits = torch.full((b, t, self.num_codes + 1), -1e4)
        logits[:, torch.arange(t), torch.arange(t) % self.num_codes] = 0.0
        logits[..., self.num_codes] = 1e4  # <bos> must never be drawn
        return logits


def test_sample_prior_uses_only_code_logits():
    codes = sample_prior(_CountingPrior(3), n=4, length=7, num_codes=3)
    assert codes.shape == (4, 7)
    assert codes.tolist() == [[0, 1, 2, 0, 1, 2, 0]] * 4


# --- bad input -----------------------------------------------------------------------------


def test_bad_arguments_name_themselves():
    with pytest.raises(ValueError, match="num_codes"):
        VectorQuantizer(0, 4)
    with pytest.raises(TypeError, match="code_dim"):
        VectorQuantizer(4, 2.0)
    with pytest.raises(ValueError, match="beta"):
        VectorQuantizer(4, 2, beta=-1.0)
    with pytest.raises(ValueError, match="grid"):
        VQVAE(grid=3)
    with pytest.raises(ValueError, match="hidden"):
        VQVAE(hidden=0)
    vq = VectorQuantizer(4, 2)
    with pytest.raises(ValueError, match="z_e"):
        vq(torch.zeros(3, 5))
    with pytest.raises(ValueError, match="z_e"):
        vq(torch.zeros(2))
    with pytest.raises(TypeError, match="z_e"):
        vq(torch.zeros(3, 2, dtype=torch.long))
    with pytest.raises(ValueError, match="indices"):
        vq.lookup(torch.tensor([4]))
    model = VQVAE(num_codes=4, code_dim=2, grid=2, hidden=4)
    with pytest.raises(ValueError, match="x"):
        model(torch.zeros(2, 63))
    with pytest.raises(ValueError, match="x"):
        model.encode(torch.full((2, 64), float("nan")))
    with pytest.raises(ValueError, match="indices"):
        model.decode_indices(torch.zeros(2, 3, dtype=torch.long))
    with pytest.raises(ValueError, match="indices"):
        model.decode_indices(torch.full((2, 4), 4))
    with pytest.raises(TypeError, match="model"):
        vqvae_loss(torch.nn.Linear(2, 2), torch.zeros(2, 64))
    with pytest.raises(ValueError, match="indices"):
        codebook_perplexity(torch.tensor([], dtype=torch.long), 4)
    with pytest.raises(ValueError, match="indices"):
        prior_sequences(torch.tensor([[0, 5]]), 5)
    with pytest.raises(ValueError, match="length"):
        sample_prior(_CountingPrior(3), n=2, length=0, num_codes=3)
    with pytest.raises(TypeError, match="prior"):
        sample_prior(lambda idx: idx, n=2, length=2, num_codes=3)
