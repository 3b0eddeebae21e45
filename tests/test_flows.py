"""Tests of the affine coupling, the logit pre-processing and RealNVP against brute force."""

import math

import pytest
import torch

from survey_models import flows


def _randomise(module, seed=0, scale=0.5):
    """Give every parameter random values (a fresh coupling is the identity)."""
    g = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for p in module.parameters():
            p.copy_(scale * torch.randn(p.shape, generator=g, dtype=p.dtype))
    return module


def _flow(dim=4, mask="half", preprocess=None, seed=0, **kw):
    torch.manual_seed(seed)
    flow = flows.RealNVP(dim, n_couplings=4, hidden=8, mask=mask, preprocess=preprocess, **kw)
    return _randomise(flow, seed).double()


def _brute_log_det(f, x):
    """log|det ∂f/∂x| row by row from the full Jacobian (float64)."""
    out = []
    for row in x:
        jac = torch.autograd.functional.jacobian(lambda v: f(v[None])[0][0], row)
        out.append(torch.linalg.slogdet(jac).logabsdet)
    return torch.stack(out)


def test_masks_are_complementary_and_exact():
    assert _equals(flows.half_mask(5, 0), [1, 1, 1, 0, 0])
    assert _equals(flows.half_mask(5, 1), [0, 0, 0, 1, 1])
    board = flows.checkerboard_mask(3, 0)
    assert _equals(board, [1, 0, 1, 0, 1, 0, 1, 0, 1])
    assert _equals(board + flows.checkerboard_mask(3, 1), [1] * 9)


def _equals(t, values):
    return torch.equal(t, torch.tensor(values, dtype=torch.float32))


def test_fresh_coupling_is_identity_with_zero_log_det():
    # Known answer: the last layer starts at zero, so s = t = 0 and (3) is y = x exactly.
    layer = flows.AffineCoupling(flows.half_mask(6), hidden=5)
    x = torch.randn(7, 6)
    y, log_det = layer(x)
    assert torch.equal(y, x)
    assert torch.equal(log_det, torch.zeros(7))
    assert torch.equal(layer.inverse(x), x)


def test_coupling_keeps_masked_coordinates_exactly():
    layer = _randomise(flows.AffineCoupling(flows.half_mask(6), hidden=5))
    x = torch.randn(7, 6)
    y, _ = layer(x)
    assert torch.equal(y[:, :3], x[:, :3])
    assert not torch.allclose(y[:, 3:], x[:, 3:])


@pytest.mark.parametrize("mask", ["half", "checkerboard"])
def test_log_det_matches_brute_force_jacobian(mask):
    flow = _flow(dim=4, mask=mask)
    x = torch.randn(5, 4, dtype=torch.float64, generator=torch.Generator().manual_seed(1))
    _, log_det = flow(x)
    # float64 Jacobian of a 4-layer MLP flow: errors are ~1e-15; 1e-10 leaves a wide margin.
    assert torch.allclose(log_det, _brute_log_det(flow, x), atol=1e-10, rtol=0)


def test_log_det_with_logit_preprocessing_matches_brute_force():
    flow = _flow(dim=4, preprocess=flows.LogitTransform(bound=2.0, alpha=0.05))
    x = 2 * torch.rand(5, 4, dtype=torch.float64, generator=torch.Generator().manual_seed(2))
    _, log_det = flow(x)
    assert torch.allclose(log_det, _brute_log_det(flow, x), atol=1e-10, rtol=0)


def test_coupling_log_det_is_sum_of_log_scales():
    layer = _randomise(flows.AffineCoupling(flows.half_mask(4), hidden=6)).double()
    x = torch.randn(3, 4, dtype=torch.float64)
    s, _ = layer.scale_shift(x * layer.mask)
    _, log_det = layer(x)
    assert torch.equal(log_det, s.sum(-1))
    assert torch.equal(s[:, :2], torch.zeros(3, 2, dtype=torch.float64))
    assert bool((s.abs() < layer.max_log_scale).all())


@pytest.mark.parametrize("preprocess", [None, "logit"])
def test_inverse_of_forward_is_identity(preprocess):
    pre = flows.LogitTransform(bound=2.0, alpha=0.05) if preprocess else None
    flow = _flow(dim=16, mask="checkerboard", preprocess=pre)
    g = torch.Generator().manual_seed(3)
    x = 2 * torch.rand(50, 16, dtype=torch.float64, generator=g)
    z, _ = flow(x)
    # float64 round trip through 4 couplings: ~1e-15 relative; 1e-9 is a wide margin.
    assert torch.allclose(flow.inverse(z), x, atol=1e-9, rtol=0)
    z2 = torch.randn(50, 16, dtype=torch.float64, generator=g)
    if pre is not None:  # the other way round the sigmoid saturates for |z| ≫ 1: stay central
        z2 = flow(1 + 0.5 * torch.rand(50, 16, dtype=torch.float64, generator=g))[0]
    assert torch.allclose(flow(flow.inverse(z2))[0], z2, atol=1e-9, rtol=0)


def test_density_integrates_to_one_in_2d():
    torch.manual_seed(4)
    flow = _randomise(flows.RealNVP(2, n_couplings=4, hidden=8), seed=4, scale=0.3).double()
    side = torch.linspace(-12, 12, 481, dtype=torch.float64)
    xx, yy = torch.meshgrid(side, side, indexing="xy")
    grid = torch.stack([xx.reshape(-1), yy.reshape(-1)], 1)
    with torch.no_grad():
        p = flow.log_prob(grid).exp()
    total = float(p.sum()) * float(side[1] - side[0]) ** 2
    # Riemann sum on a 0.05 grid over [-12, 12]² (this random flow stretches x₁ to |x₁| ≈ 7):
    # the measured error is ~1e-13; 1e-3 is wide, yet a dropped log-det term is off by far more.
    assert total == pytest.approx(1.0, abs=1e-3)


def test_gradcheck_forward_inverse_and_log_prob():
    flow = _flow(dim=4, preprocess=None)
    x = torch.randn(3, 4, dtype=torch.float64, requires_grad=True)
    assert torch.autograd.gradcheck(lambda v: flow(v), (x,))
    assert torch.autograd.gradcheck(lambda v: flow.inverse(v), (x,))
    assert torch.autograd.gradcheck(lambda v: flow.log_prob(v), (x,))
    lt = flows.LogitTransform(bound=2.0).double()
    y = (0.1 + 1.8 * torch.rand(3, 4, dtype=torch.float64)).requires_grad_()
    assert torch.autograd.gradcheck(lambda v: lt(v), (y,))


def test_log_prob_of_identity_flow_is_standard_normal():
    flow = flows.RealNVP(3, n_couplings=2, hidden=4).double()
    x = torch.randn(5, 3, dtype=torch.float64)
    expected = torch.distributions.Normal(0.0, 1.0).log_prob(x).sum(-1)
    assert torch.allclose(flow.log_prob(x), expected, atol=1e-12, rtol=0)


def test_shapes_sample_and_dequantisation():
    flow = flows.RealNVP(64, n_couplings=2, hidden=8, mask="checkerboard")
    x = torch.rand(5, 64)
    z, log_det = flow(x)
    assert z.shape == (5, 64) and log_det.shape == (5,)
    assert flow.log_prob(x).shape == (5,)
    samples = flow.sample(7, generator=torch.Generator().manual_seed(0))
    assert samples.shape == (7, 64) and samples.dtype == torch.float32
    z = torch.randn(7, 64, generator=torch.Generator().manual_seed(0))
    assert torch.equal(samples, flow.inverse(z))  # sampling is f⁻¹ of base noise, nothing else
    binary = torch.bernoulli(torch.full((4, 64), 0.5))
    y = flows.dequantize(binary, torch.Generator().manual_seed(0))
    assert bool(((y >= binary) & (y < binary + 1)).all())
    nll = flows.dequantized_nll(flow, binary, n_samples=3, generator=torch.Generator())
    assert nll.shape == (4,) and bool(torch.isfinite(nll).all())
    assert flows.flow_nll_loss(flow, x).dim() == 0
    assert flows.dequantized_nll_loss(flow, binary).dim() == 0


def test_fresh_flow_nll_of_dequantised_zeros_is_known():
    # Identity couplings: -log p(u) for u ~ U[0,1)^D is the Gaussian NLL; its mean over u is
    # D·(log 2π / 2 + E[u²]/2) = D·(0.9189 + 1/6); the Monte Carlo mean of 20000 draws is
    # within 0.05 nats with overwhelming probability (std ≈ 0.0011 per dimension).
    flow = flows.RealNVP(2, n_couplings=2, hidden=4).double()
    x = torch.zeros(20000, 2, dtype=torch.float64)
    nll = flows.dequantized_nll(flow, x, n_samples=1, generator=torch.Generator().manual_seed(0))
    expected = 2 * (0.5 * math.log(2 * math.pi) + 1 / 6)
    assert float(nll.mean()) == pytest.approx(expected, abs=0.05)


def _bins_flow(seed=5):
    torch.manual_seed(seed)
    pre = flows.BinCDFTransform(4, n_bins=3, alpha=1e-3)
    flow = flows.RealNVP(4, n_couplings=4, hidden=8, preprocess=pre)
    return _randomise(flow, seed, scale=0.3).double()


def test_bin_cdf_log_det_and_inverse_match_brute_force():
    flow = _bins_flow()
    g = torch.Generator().manual_seed(6)
    # away from the bin edges, where the piecewise-linear CDF has its kinks
    y = torch.randint(3, (5, 4), generator=g) + 0.05 + 0.9 * torch.rand(5, 4, generator=g)
    y = y.double()
    z, log_det = flow(y)
    assert torch.allclose(log_det, _brute_log_det(flow, y), atol=1e-9, rtol=0)
    assert torch.allclose(flow.inverse(z), y, atol=1e-9, rtol=0)
    pre = flow.preprocess
    assert torch.autograd.gradcheck(lambda v: pre(v), (y.clone().requires_grad_(),))


def test_bin_cdf_alone_is_the_independent_categorical_model():
    # Known answer (8): without couplings, log p(x + u) = Σ_i log q_{i,x_i} + D log(1 - 2α)
    # for every u, so the dequantised NLL equals the Bernoulli baseline's, with no noise.
    from survey_models import energy

    g = torch.Generator().manual_seed(7)
    train = torch.bernoulli(torch.full((200, 6), 0.3, dtype=torch.float64), generator=g)
    test = torch.bernoulli(torch.full((50, 6), 0.3, dtype=torch.float64), generator=g)
    pre = flows.BinCDFTransform(6, n_bins=2, alpha=1e-3).double().init_from_data(train)
    flow = flows.RealNVP(6, n_couplings=2, hidden=4, preprocess=pre).double()  # identity couplings
    nll = flows.dequantized_nll(flow, test, n_samples=3, generator=g).mean()
    expected = -energy.bernoulli_baseline_log_likelihood(train, test) - 6 * math.log(1 - 2e-3)
    assert float(nll) == pytest.approx(expected, abs=1e-9)


def test_bad_arguments_and_inputs():
    with pytest.raises(ValueError, match="mask"):
        flows.AffineCoupling(torch.tensor([1.0, 0.5]))
    with pytest.raises(ValueError, match="mask"):
        flows.AffineCoupling(torch.ones(4))
    with pytest.raises(TypeError, match="mask"):
        flows.AffineCoupling([1.0, 0.0])
    with pytest.raises(ValueError, match="hidden"):
        flows.AffineCoupling(flows.half_mask(4), hidden=0)
    with pytest.raises(ValueError, match="max_log_scale"):
        flows.AffineCoupling(flows.half_mask(4), max_log_scale=-1.0)
    with pytest.raises(ValueError, match="mask"):
        flows.RealNVP(4, mask="stripes")
    with pytest.raises(ValueError, match="dim"):
        flows.RealNVP(10, mask="checkerboard")
    with pytest.raises(ValueError, match="n_couplings"):
        flows.RealNVP(4, n_couplings=0)
    with pytest.raises(TypeError, match="preprocess"):
        flows.RealNVP(4, preprocess="logit")
    with pytest.raises(ValueError, match="alpha"):
        flows.LogitTransform(alpha=0.5)
    with pytest.raises(ValueError, match="dim"):
        flows.half_mask(1)
    with pytest.raises(ValueError, match="parity"):
        flows.checkerboard_mask(4, parity=2)
    flow = flows.RealNVP(4, n_couplings=2, hidden=4)
    with pytest.raises(ValueError, match="x"):
        flow(torch.zeros(3, 5))
    with pytest.raises(TypeError, match="x"):
        flow(torch.zeros(3, 4, dtype=torch.long))
    with pytest.raises(ValueError, match="z"):
        flow.inverse(torch.zeros(4))
    with pytest.raises(ValueError, match="y must lie in"):
        flows.LogitTransform(bound=2.0)(torch.full((1, 3), 2.5))
    with pytest.raises(ValueError, match="y must lie in"):
        flows.BinCDFTransform(3, n_bins=2)(torch.full((1, 3), -0.5))
    with pytest.raises(ValueError, match="x must hold integers"):
        flows.BinCDFTransform(3, n_bins=2).init_from_data(torch.full((2, 3), 0.5))
    with pytest.raises(ValueError, match="alpha"):
        flows.BinCDFTransform(3, alpha=0.0)
    with pytest.raises(ValueError, match="x contains NaN"):
        flows.dequantized_nll(flow, torch.full((2, 4), math.nan))
    with pytest.raises(ValueError, match="n_samples"):
        flows.dequantized_nll(flow, torch.zeros(2, 4), n_samples=0)
    with pytest.raises(ValueError, match="n"):
        flow.sample(0)
