"""Tests for survey_models.normalization: RMSNorm (N1) and SwiGLU (N2)."""

import pytest
import torch
import torch.nn.functional as F

from survey_models.normalization import RMSNorm, SwiGLU


def _x(*shape, seed=0):
    g = torch.Generator().manual_seed(seed)
    return torch.randn(*shape, generator=g, dtype=torch.float64)


def test_rmsnorm_is_the_hand_computation():
    # Equation (N1) element by element in float64; the two orders of operations differ by
    # a few ulps (~1e-16 relative), tolerance 1e-12.
    torch.manual_seed(0)
    norm = RMSNorm(6, eps=1e-5).double()
    with torch.no_grad():
        norm.weight.copy_(torch.linspace(0.5, 2.0, 6, dtype=torch.float64))
    x = _x(4, 3, 6)
    expected = torch.empty_like(x)
    for idx in torch.cartesian_prod(torch.arange(4), torch.arange(3)):
        row = x[idx[0], idx[1]]
        rms = (sum(float(v) ** 2 for v in row) / 6 + 1e-5) ** 0.5
        expected[idx[0], idx[1]] = row / rms * norm.weight.detach()
    torch.testing.assert_close(norm(x), expected, rtol=1e-12, atol=1e-12)


def test_rmsnorm_output_has_unit_rms_with_unit_gain():
    # With g = 1 and eps = 0 every row has mean square 1 (float64, error ~1e-16).
    y = RMSNorm(16, eps=0.0).double()(_x(5, 16) * 7.0)
    torch.testing.assert_close(y.pow(2).mean(-1), torch.ones(5, dtype=torch.float64))


def test_rmsnorm_is_invariant_to_rescaling():
    # eps = 0: scaling by a power of two is exact in floating point, so the outputs are
    # bit for bit equal; for c = 3.7 they agree to rounding (tolerance 1e-12).
    norm = RMSNorm(8, eps=0.0).double()
    x = _x(10, 8, seed=1)
    assert torch.equal(norm(4.0 * x), norm(x))
    assert torch.equal(norm(0.25 * x), norm(x))
    torch.testing.assert_close(norm(3.7 * x), norm(x), rtol=1e-12, atol=1e-12)
    # Unlike layer norm it is *not* invariant to shifting the input.
    assert not torch.allclose(norm(x + 1.0), norm(x))


@pytest.mark.skipif(not hasattr(torch.nn, "RMSNorm"), reason="torch.nn.RMSNorm needs torch 2.4")
def test_rmsnorm_equals_torch_builtin():
    # Same equation, same weight; float64, tolerance 1e-12 against ~1e-16 observed.
    ours = RMSNorm(12, eps=1e-6).double()
    with torch.no_grad():
        ours.weight.copy_(_x(12, seed=2))
    ref = torch.nn.RMSNorm(12, eps=1e-6).double()
    ref.load_state_dict(ours.state_dict())
    x = _x(3, 5, 12, seed=3)
    torch.testing.assert_close(ours(x), ref(x), rtol=1e-12, atol=1e-12)


def test_swiglu_is_its_formula():
    torch.manual_seed(0)
    ffn = SwiGLU(6, 10).double()
    x = _x(2, 4, 6, seed=4)
    w1, w2, w3 = ffn.w1.weight, ffn.w2.weight, ffn.w3.weight
    gate = x @ w1.T
    expected = ((gate * torch.sigmoid(gate)) * (x @ w3.T)) @ w2.T  # W2 (SiLU(x W1) ⊙ x W3)
    torch.testing.assert_close(ffn(x), expected, rtol=1e-12, atol=1e-12)
    assert ffn(x).shape == x.shape
    assert sum(p.numel() for p in ffn.parameters()) == 3 * 6 * 10  # no biases


def test_swiglu_zero_value_branch_gives_zero():
    # If W3 = 0 the gate multiplies zeros: the output is exactly 0.
    ffn = SwiGLU(4, 8).double()
    with torch.no_grad():
        ffn.w3.weight.zero_()
    assert torch.equal(ffn(_x(3, 4)), torch.zeros(3, 4, dtype=torch.float64))


def test_gradcheck():
    torch.manual_seed(0)
    norm = RMSNorm(5, eps=1e-3).double()
    ffn = SwiGLU(5, 7).double()
    x = _x(3, 5, seed=5).requires_grad_(True)
    assert torch.autograd.gradcheck(norm, (x,))
    assert torch.autograd.gradcheck(ffn, (x,))
    assert torch.autograd.gradcheck(lambda t: ffn(norm(t)), (x,))
    # SiLU is the swish: F.silu(z) = z sigmoid(z) (its gradient is checked above).
    z = _x(9, seed=6)
    torch.testing.assert_close(F.silu(z), z * torch.sigmoid(z))


def test_bad_input():
    with pytest.raises(ValueError, match="d"):
        RMSNorm(0)
    with pytest.raises(ValueError, match="eps"):
        RMSNorm(4, eps=-1.0)
    with pytest.raises(ValueError, match="d_ff"):
        SwiGLU(4, 0)
    with pytest.raises(TypeError, match="d"):
        SwiGLU(4.5, 8)
    with pytest.raises(ValueError, match="x"):
        RMSNorm(4)(torch.randn(2, 5))
    with pytest.raises(TypeError, match="x"):
        RMSNorm(4)(torch.ones(2, 4, dtype=torch.long))
    with pytest.raises(ValueError, match="x"):
        SwiGLU(4, 8)(torch.randn(2, 3))
    with pytest.raises(TypeError, match="x"):
        SwiGLU(4, 8)([1.0, 2.0, 3.0, 4.0])
