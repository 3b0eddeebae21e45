"""Tests of survey_models.diffusion.score_sde: the VP-SDE, the score, DSM, the samplers.

Most verdicts use Gaussian data N(0, s² I), for which the score is known in closed form
(:func:`gaussian_eps`): the samplers driven by it must reproduce the data variance, and the
PF-ODE must be the exact linear map from N(0, s²) to N(0, 1).
"""

from __future__ import annotations

import pytest
import torch

from survey_models import train
from survey_models.diffusion import Denoiser, NoiseSchedule, ddim_sample, model_eps
from survey_models.diffusion.score_sde import (
    VPSDE,
    ContinuousTimeDenoiser,
    decode,
    dsm_loss,
    encode,
    gaussian_eps,
    pf_ode_solve,
    pf_ode_velocity,
    reverse_sde_sample,
    score_from_eps,
)

SDE = VPSDE()


def _var(sde: VPSDE, t: float, data_std: float) -> torch.Tensor:
    """Variance of p_t for data N(0, data_std²): v(t) = m(t)² s² + σ(t)²."""
    return sde.mean_coef(t) ** 2 * data_std**2 + sde.std(t) ** 2


def _net(seed: int = 0) -> ContinuousTimeDenoiser:
    torch.manual_seed(seed)
    return ContinuousTimeDenoiser(Denoiser(dim=2, hidden=16, n_layers=1, time_dim=8))


# -- the forward SDE -------------------------------------------------------------------
def test_marginal_is_variance_preserving():
    # eq. (3): m(t)² + σ(t)² = 1 exactly (up to float64 rounding, ~1e-16; tolerance 1e-12).
    t = torch.linspace(0, 1, 101, dtype=torch.float64)
    assert torch.allclose(SDE.mean_coef(t) ** 2 + SDE.std(t) ** 2, torch.ones_like(t), atol=1e-12)
    assert float(SDE.std(0.0)) == 0.0 and float(SDE.mean_coef(0.0)) == 1.0
    assert SDE.mean_coef(1.0) < 1e-2  # x_1 is almost pure noise
    assert float(SDE.beta(0.0)) == SDE.beta_min and float(SDE.beta(1.0)) == SDE.beta_max


def test_mean_coef_is_exp_of_half_integral_of_beta():
    # log m(t) = -½ ∫_0^t β; β is linear, so the trapezoid rule is exact (tolerance 1e-10).
    for t in (0.1, 0.5, 1.0):
        s = torch.linspace(0, t, 11, dtype=torch.float64)
        integral = torch.trapezoid(SDE.beta(s), s)
        assert abs(float(SDE.log_mean_coef(t)) + 0.5 * float(integral)) < 1e-10


def test_marginal_sample_matches_simulated_sde():
    """Euler–Maruyama on the forward SDE (2) from a fixed x_0 reaches the marginal (3).

    n = 20,000 paths, 400 steps to t = 0.5. Standard errors: mean ≤ 0.007, variance ≤ 0.01;
    Euler–Maruyama's bias is O(Δt) ≈ 0.003. Tolerance 0.04 (≥ 4 standard errors). A wrong
    drift factor (β instead of ½β) moves the mean from 0.42 to 0.12.
    """
    n, steps, t_end = 20_000, 400, 0.5
    g = torch.Generator().manual_seed(0)
    x0 = torch.full((n, 1), 1.5, dtype=torch.float64)
    x, dt = x0.clone(), t_end / steps
    for k in range(steps):
        t = torch.full((n,), k * dt, dtype=torch.float64)
        z = torch.randn(n, 1, generator=g, dtype=torch.float64)
        x = x + SDE.drift(x, t) * dt + SDE.diffusion(t)[:, None] * dt**0.5 * z
    closed = SDE.marginal_sample(
        x0, torch.full((n,), t_end, dtype=torch.float64), torch.zeros_like(x0)
    )
    assert abs(float(x.mean()) - float(closed[0, 0])) < 0.04
    assert abs(float(x.var()) - float(SDE.std(t_end)) ** 2) < 0.04


def test_ddpm_schedule_is_the_discretised_sde():
    # eq. (8): with the defaults, the discretisation is exactly DDPM's linear schedule ...
    assert torch.equal(SDE.ddpm_schedule(100).betas, NoiseSchedule(100, "linear").betas)
    # ... and its ᾱ_i approach m(t_{i+1})² at rate 1/N (measured N·error ≈ 0.81..0.83; the
    # error halves when N doubles: ratios 2.01..2.03; band [1.8, 2.2]).
    errors = []
    for n in (100, 200, 400, 800):
        t = torch.arange(1, n + 1, dtype=torch.float64) / n
        errors.append(float((SDE.ddpm_schedule(n).alphas_bar - SDE.mean_coef(t) ** 2).abs().max()))
    for coarse, fine in zip(errors, errors[1:]):
        assert 1.8 < coarse / fine < 2.2
    assert errors[-1] < 2e-3


# -- the score ---------------------------------------------------------------------------
def test_score_from_eps_is_the_gradient_of_the_kernel():
    """eq. (6): -ε/σ equals ∇_{x_t} log N(x_t; m x_0, σ²) (autograd), the target of DSM (1)."""
    g = torch.Generator().manual_seed(1)
    x0 = torch.randn(64, 3, generator=g, dtype=torch.float64)
    t = SDE.eps + (1 - SDE.eps) * torch.rand(64, generator=g, dtype=torch.float64)
    eps = torch.randn(64, 3, generator=g, dtype=torch.float64)
    xt = SDE.marginal_sample(x0, t, eps).requires_grad_(True)
    kernel = torch.distributions.Normal(SDE.mean_coef(t)[:, None] * x0, SDE.std(t)[:, None])
    (grad,) = torch.autograd.grad(kernel.log_prob(xt).sum(), xt)
    assert torch.allclose(score_from_eps(SDE, eps, t), grad, rtol=1e-9, atol=1e-9)


def test_gaussian_eps_is_the_exact_score():
    """For data N(0, s²), p_t = N(0, v(t)): -σ·∇ log p_t (autograd) equals gaussian_eps."""
    s = 2.0
    g = torch.Generator().manual_seed(2)
    x = torch.randn(32, 2, generator=g, dtype=torch.float64).requires_grad_(True)
    t = torch.rand(32, generator=g, dtype=torch.float64) * 0.99 + 0.01
    v = SDE.mean_coef(t) ** 2 * s**2 + SDE.std(t) ** 2
    logp = torch.distributions.Normal(0.0, v.sqrt()[:, None]).log_prob(x).sum()
    (score,) = torch.autograd.grad(logp, x)
    eps = gaussian_eps(SDE, s)(x.detach(), t)
    assert torch.allclose(score_from_eps(SDE, eps, t), score, rtol=1e-9, atol=1e-12)


def test_dsm_loss_of_the_exact_eps_is_the_known_minimum():
    """For data N(0, s²) the best ε-predictor leaves per-dimension error m²s²/v (eq. 7).

    E_t over U[eps, 1] is computed with the trapezoid rule (10,001 points). With n = 200,000
    the loss's standard error is ≈ 0.004; tolerance 0.03. Drawing t from U[0, 1] or
    forgetting σ in eq. (3) moves the value by > 0.05.
    """
    s, dim, n = 2.0, 2, 200_000
    t = torch.linspace(SDE.eps, 1, 10_001, dtype=torch.float64)
    m2 = SDE.mean_coef(t) ** 2
    expected = dim * float(torch.trapezoid(m2 * s**2 / (m2 * s**2 + 1 - m2), t)) / (1 - SDE.eps)
    exact = gaussian_eps(SDE, s)
    train.set_seed(3)
    x0 = s * torch.randn(n, dim, dtype=torch.float64)
    loss = float(dsm_loss(SDE)(lambda x, tt: exact(x, tt), x0))
    assert abs(loss - expected) < 0.03


def test_dsm_loss_trains_the_continuous_time_denoiser():
    net = _net()
    history = train.fit(net, dsm_loss(SDE), torch.randn(256, 2), steps=10, batch_size=64, seed=0)
    assert all(torch.isfinite(torch.tensor(history.train_loss)))
    assert net(torch.randn(5, 2), torch.rand(5)).shape == (5, 2)


# -- the samplers, driven by the exact score ---------------------------------------------
@pytest.mark.parametrize("s", [0.5, 2.0])
def test_reverse_sde_reproduces_the_data_variance(s):
    """Reverse SDE (4) from N(0, I) with the exact score ends at variance ≈ s².

    n = 10,000 × 2 coordinates: the sample variance's standard error is ≈ 1 % of s²; the
    Euler–Maruyama bias at 200 steps measured ≈ 1 %. Tolerance 10 % of s². With the score's
    sign flipped, or the g² factor halved, the variance is off by far more.
    """
    x = reverse_sde_sample(
        gaussian_eps(SDE, s), SDE, (10_000, 2), 200, torch.Generator().manual_seed(4), torch.float64
    )
    assert abs(float(x.var()) / s**2 - 1) < 0.1


@pytest.mark.parametrize("s", [0.5, 2.0])
def test_pf_ode_decode_reproduces_the_data_variance(s):
    # Same tolerance as above (10 % of s²; Heun with 50 steps measured within 2 %).
    z = torch.randn(10_000, 2, generator=torch.Generator().manual_seed(5), dtype=torch.float64)
    x = decode(gaussian_eps(SDE, s), SDE, z, steps=50)
    assert abs(float(x.var()) / s**2 - 1) < 0.1


def test_pf_ode_encode_maps_gaussian_data_to_standard_normal():
    """Known answer: for N(0, s²) data the PF-ODE is linear, x_1 = x_ε·sqrt(v(1)/v(ε)).

    Heun with 50 steps measured a relative error of 3e-4 against that map; tolerance 5e-3.
    The encoded coordinates are N(0, ≈1): their standard deviation within 0.05 of 1
    (statistical error ≈ 0.005 with n = 10,000 × 2).
    """
    s = 2.0
    g = torch.Generator().manual_seed(6)
    x0 = s * torch.randn(10_000, 2, generator=g, dtype=torch.float64)
    z = encode(gaussian_eps(SDE, s), SDE, x0, steps=50)
    exact = x0 * (_var(SDE, 1.0, s) / _var(SDE, SDE.eps, s)).sqrt()
    assert float((z - exact).abs().max() / exact.abs().max()) < 5e-3
    assert abs(float(z.std()) - 1) < 0.05


@pytest.mark.parametrize("method", ["euler", "heun"])
def test_encode_decode_error_shrinks_with_steps(method):
    # Exact score, float64: the round-trip error is discretisation error only. Measured
    # (heun) 3.2e-2, 4.0e-3, 5e-4 for 10, 20, 40 steps; (euler) 0.74, 0.38, 0.19: each
    # doubling must at least cut it by 1.5 (Euler ~2, Heun ~8).
    s = 2.0
    f = gaussian_eps(SDE, s)
    x0 = s * torch.randn(500, 2, generator=torch.Generator().manual_seed(7), dtype=torch.float64)
    errors = [
        float((decode(f, SDE, encode(f, SDE, x0, n, method), n, method) - x0).abs().max())
        for n in (10, 20, 40)
    ]
    for coarse, fine in zip(errors, errors[1:]):
        assert fine < coarse / 1.5


def test_ddim_is_a_discretisation_of_the_pf_ode():
    """DDIM (η = 0) on the discretised schedule (8) converges to the PF-ODE's decode.

    Same start noise (DDIM draws x_T first from the generator), exact score. Measured
    max differences 0.29, 0.068, 0.022, 0.0087 for N = 25, 50, 100, 200 against a
    400-step Heun decode: each doubling must shrink it, and by 10× over the range.
    """
    s = 2.0
    f = gaussian_eps(SDE, s)
    z = torch.randn(1000, 2, generator=torch.Generator().manual_seed(8))
    ode = pf_ode_solve(f, SDE, z.double(), 1.0, SDE.eps, 400).float()
    errors = []
    for n in (25, 50, 100, 200):

        def eps_at_step(x, t, n=n):  # DDIM's step index i is the time t = (i + 1)/N
            return f(x, ((t.double() + 1) / n).to(x.dtype))

        g = torch.Generator().manual_seed(8)
        x = ddim_sample(eps_at_step, SDE.ddpm_schedule(n), (1000, 2), eta=0.0, generator=g)
        errors.append(float((x - ode).abs().max()))
    assert all(fine < coarse for coarse, fine in zip(errors, errors[1:]))
    assert errors[-1] < errors[0] / 10


# -- the trained-network path: determinism, shapes ----------------------------------------
def test_decode_is_deterministic_and_shapes():
    eps_fn = model_eps(_net())
    z = torch.randn(64, 2, generator=torch.Generator().manual_seed(9))
    a, b = decode(eps_fn, SDE, z, steps=8), decode(eps_fn, SDE, z.clone(), steps=8)
    assert torch.equal(a, b)  # bitwise
    out, traj = pf_ode_solve(eps_fn, SDE, z, 1.0, SDE.eps, 8, "euler", return_trajectory=True)
    assert out.shape == (64, 2) and len(traj) == 9 and torch.equal(traj[0], z)
    x, traj = reverse_sde_sample(eps_fn, SDE, (16, 2), steps=5, return_trajectory=True)
    assert x.shape == (16, 2) and len(traj) == 6
    assert pf_ode_velocity(eps_fn, SDE, z, torch.full((64,), 0.5)).shape == (64, 2)
    assert "eps=0.001" in repr(SDE)


def test_bad_input():
    with pytest.raises(ValueError, match="beta_min"):
        VPSDE(beta_min=-1.0)
    with pytest.raises(ValueError, match="beta_max"):
        VPSDE(beta_min=1.0, beta_max=0.5)
    with pytest.raises(ValueError, match="eps"):
        VPSDE(eps=1.5)
    with pytest.raises(ValueError, match="t must lie in"):
        SDE.std(1.5)
    with pytest.raises(TypeError, match="t must be a floating"):
        SDE.beta(torch.tensor([1]))
    with pytest.raises(ValueError, match="t must have shape"):
        SDE.marginal_sample(torch.zeros(4, 2), torch.zeros(3))
    with pytest.raises(ValueError, match="noise"):
        SDE.marginal_sample(torch.zeros(4, 2), torch.zeros(4), torch.zeros(4, 3))
    with pytest.raises(TypeError, match="denoiser"):
        ContinuousTimeDenoiser(Denoiser(dim=2, num_classes=3))
    with pytest.raises(ValueError, match="time_scale"):
        ContinuousTimeDenoiser(Denoiser(dim=2), time_scale=0.0)
    with pytest.raises(ValueError, match="x must have last dimension 2"):
        _net()(torch.zeros(4, 3), torch.zeros(4))
    with pytest.raises(ValueError, match="data_std"):
        gaussian_eps(SDE, 0.0)
    f = gaussian_eps(SDE, 1.0)
    with pytest.raises(TypeError, match="sde"):
        dsm_loss("vp")
    with pytest.raises(ValueError, match="steps"):
        reverse_sde_sample(f, SDE, (4, 2), steps=0)
    with pytest.raises(ValueError, match="shape"):
        reverse_sde_sample(f, SDE, (4, 2, 2))
    with pytest.raises(TypeError, match="eps_fn"):
        decode(None, SDE, torch.zeros(4, 2))
    with pytest.raises(ValueError, match="method"):
        encode(f, SDE, torch.zeros(4, 2), method="rk4")
    with pytest.raises(ValueError, match="t_end"):
        pf_ode_solve(f, SDE, torch.zeros(4, 2), 1.0, 0.0)
    with pytest.raises(ValueError, match="x must have 2 dimensions"):
        encode(f, SDE, torch.zeros(4))
    with pytest.raises(ValueError, match="num_steps"):
        SDE.ddpm_schedule(0)
