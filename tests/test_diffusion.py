"""Tests of survey_models.diffusion: the forward process, the posterior, the samplers."""

from __future__ import annotations

import math

import pytest
import torch

from survey_models import train
from survey_models.diffusion import (
    Denoiser,
    LatentCodec,
    NoiseSchedule,
    ddim_sample,
    ddim_sigma,
    ddim_step,
    ddim_timesteps,
    ddpm_sample,
    ddpm_step,
    diffusion_loss,
    model_eps,
    timestep_embedding,
)


@pytest.fixture(params=["linear", "cosine"])
def schedule(request) -> NoiseSchedule:
    return NoiseSchedule(50, kind=request.param)


def test_schedule_quantities(schedule):
    # ᾱ_t is the running product of 1-β and decreases to near 0 at t = T.
    manual = torch.ones(())
    for t in range(schedule.num_steps):
        manual = manual * (1 - schedule.betas[t])
        assert torch.isclose(schedule.alphas_bar[t], manual, rtol=1e-12)
    assert (schedule.alphas_bar.diff() < 0).all()
    assert schedule.alphas_bar[-1] < 1e-2


def test_closed_form_matches_iterated_noising(schedule):
    """q(x_t|x_0) of eq. (2) vs applying eq. (1) t times, statistically.

    For x_0 fixed, x_t is Gaussian with mean sqrt(ᾱ_t) x_0 and variance 1-ᾱ_t. With
    n = 100,000 draws the standard error of the mean is ≤ 1/sqrt(n) ≈ 0.0032 and of
    the variance ≤ sqrt(2/n) ≈ 0.0045; we allow 5 standard errors (tolerance 0.016 and
    0.023). A wrong schedule (e.g. using β instead of sqrt(β)) misses by > 0.05.
    """
    n = 100_000
    g = torch.Generator().manual_seed(0)
    x0 = torch.tensor([1.5, -0.7], dtype=torch.float64).expand(n, 2).clone()
    x = x0.clone()
    for t in range(schedule.num_steps):
        x = schedule.q_step(
            x, torch.full((n,), t), torch.randn(n, 2, generator=g, dtype=torch.float64)
        )
        if t not in (0, 9, 29, 49):
            continue
        t_final = t
        closed = schedule.q_sample(
            x0, torch.full((n,), t_final), torch.randn(n, 2, generator=g, dtype=torch.float64)
        )
        abar = float(schedule.alphas_bar[t_final])
        for sample in (x, closed):
            assert torch.allclose(sample.mean(0), math.sqrt(abar) * x0[0], atol=0.016)
            assert torch.allclose(
                sample.var(0), torch.full((2,), 1 - abar, dtype=torch.float64), atol=0.023
            )


def test_posterior_mean_and_variance_against_formula():
    s = NoiseSchedule(20)
    x0 = torch.randn(4, 3, dtype=torch.float64)
    xt = torch.randn(4, 3, dtype=torch.float64)
    t = torch.tensor([1, 5, 10, 19])
    mean, var = s.q_posterior(x0, xt, t)
    for i, ti in enumerate(t.tolist()):
        beta = s.betas[ti]
        abar, abar_prev = s.alphas_bar[ti], s.alphas_bar[ti - 1]
        mu = (abar_prev.sqrt() * beta / (1 - abar)) * x0[i] + (
            (1 - beta).sqrt() * (1 - abar_prev) / (1 - abar)
        ) * xt[i]
        assert torch.allclose(mean[i], mu)
        assert torch.isclose(var[i, 0], (1 - abar_prev) / (1 - abar) * beta)
    # at t = 0 the posterior is a point mass on x_0
    mean0, var0 = s.q_posterior(x0, xt, torch.zeros(4, dtype=torch.long))
    assert torch.allclose(mean0, x0) and torch.all(var0 == 0)


def test_posterior_is_bayes_rule_by_brute_force():
    """The 1-D posterior q(x_{t-1}|x_t, x_0) ∝ q(x_t|x_{t-1}) q(x_{t-1}|x_0) on a grid."""
    s = NoiseSchedule(10)
    t, x0, xt = 4, 0.8, -0.3
    grid = torch.linspace(-6, 6, 200_001, dtype=torch.float64)
    ab_prev, beta = s.alphas_bar[t - 1], s.betas[t]
    log_p = -((xt - (1 - beta).sqrt() * grid) ** 2) / (2 * beta) - (
        grid - ab_prev.sqrt() * x0
    ) ** 2 / (2 * (1 - ab_prev))
    w = torch.softmax(log_p, 0)
    m_brute = (w * grid).sum()
    v_brute = (w * (grid - m_brute) ** 2).sum()
    mean, var = s.q_posterior(
        torch.tensor([[x0]], dtype=torch.float64),
        torch.tensor([[xt]], dtype=torch.float64),
        torch.tensor([t]),
    )
    assert abs(float(mean) - float(m_brute)) < 1e-6
    assert abs(float(var) - float(v_brute)) < 1e-6


def test_predict_x0_and_eps_invert_each_other(schedule):
    x0 = torch.randn(8, 5, dtype=torch.float64)
    eps = torch.randn(8, 5, dtype=torch.float64)
    t = torch.randint(schedule.num_steps, (8,))
    xt = schedule.q_sample(x0, t, eps)
    assert torch.allclose(schedule.predict_x0(xt, t, eps), x0, atol=1e-8)
    assert torch.allclose(schedule.predict_eps(xt, t, x0), eps, atol=1e-8)


def test_ddim_eta_one_reproduces_ddpm_posterior(schedule):
    """With η = 1 and consecutive steps, σ² = β̃_t and the DDIM mean = posterior mean."""
    x0 = torch.randn(6, 3, dtype=torch.float64)
    eps = torch.randn(6, 3, dtype=torch.float64)
    for t in (1, 7, 25, schedule.num_steps - 1):
        sigma = ddim_sigma(schedule, t, t - 1, eta=1.0)
        assert math.isclose(sigma**2, float(schedule.posterior_variance[t]), rel_tol=1e-9)
        tt = torch.full((6,), t)
        xt = schedule.q_sample(x0, tt, eps)
        zero = torch.zeros_like(xt)
        x_ddim, _, _ = ddim_step(schedule, xt, t, t - 1, eps, eta=1.0, noise=zero)
        x_ddpm, _ = ddpm_step(schedule, xt, tt, eps, noise=zero)
        assert torch.allclose(x_ddim, x_ddpm, atol=1e-10)
    assert ddim_sigma(schedule, 10, 9, eta=0.0) == 0.0


def test_clipping_rederives_eps():
    """A wildly wrong ε puts x̂_0 far outside [-1, 1]; after clipping, the ε used in the
    update must be the one consistent with the clipped x̂_0, not the network's."""
    s = NoiseSchedule(50)
    xt = torch.randn(5, 4, dtype=torch.float64)
    bad_eps = -20 * torch.ones(5, 4, dtype=torch.float64)
    t, t_prev = 30, 20
    x_prev, x0_hat, eps_used = ddim_step(s, xt, t, t_prev, bad_eps, eta=0.0, clip=1.0)
    assert x0_hat.abs().max() <= 1.0
    tt = torch.full((5,), t)
    assert torch.allclose(eps_used, s.predict_eps(xt, tt, x0_hat))
    assert not torch.allclose(eps_used, bad_eps)
    # The update is self-consistent: x_prev is exactly q_sample(x̂_0, t_prev, ε̂).
    assert torch.allclose(x_prev, s.q_sample(x0_hat, torch.full((5,), t_prev), eps_used))
    # and it differs from the buggy update that keeps the raw ε
    ab = float(s.alphas_bar[t_prev])
    buggy = math.sqrt(ab) * x0_hat + math.sqrt(1 - ab) * bad_eps
    assert (buggy - x_prev).abs().max() > 1.0


def test_clipped_sampler_with_oracle_recovers_point_mass():
    """For data that is a single point x* in [-1, 1], the exact ε is (x_t - sqrt(ᾱ)x*)/sqrt(1-ᾱ).
    Adding a constant error to ε makes x̂_0 fall outside the box; with re-derived ε the
    clipped deterministic DDIM still lands within the box, near x*."""
    s = NoiseSchedule(100)
    target = torch.tensor([0.9, -0.9])

    def eps_fn(x, t):
        abar = s.alphas_bar[t].float().unsqueeze(1)
        return (x - abar.sqrt() * target) / (1 - abar).sqrt() + 0.05

    out = ddim_sample(
        eps_fn,
        s,
        (64, 2),
        sampling_steps=20,
        eta=0.0,
        clip=1.0,
        generator=torch.Generator().manual_seed(0),
    )
    assert out.abs().max() <= 1.0 + 1e-5
    assert (out - target).abs().max() < 0.2


def test_oracle_ddpm_sampler_hits_gaussian_target():
    """For data ~ N(m, s²) the exact ε_θ is known in closed form; ancestral sampling with it
    must return that Gaussian (mean within 0.05 and std within 0.05 for n = 20,000)."""
    s = NoiseSchedule(100)
    m, sd = 1.0, 0.5

    def eps_fn(x, t):
        abar = s.alphas_bar[t].float().unsqueeze(1)
        var = abar * sd**2 + (1 - abar)
        # E[ε | x_t] = sqrt(1-ᾱ) (x_t - sqrt(ᾱ) m) / var
        return (1 - abar).sqrt() * (x - abar.sqrt() * m) / var

    g = torch.Generator().manual_seed(0)
    for sampler in (
        lambda: ddpm_sample(eps_fn, s, (20_000, 1), generator=g),
        lambda: ddim_sample(eps_fn, s, (20_000, 1), eta=0.0, generator=g),
    ):
        out = sampler()
        assert abs(out.mean().item() - m) < 0.05
        assert abs(out.std().item() - sd) < 0.05
    # Deterministic DDIM with fewer steps has a larger discretisation error.
    err = {
        n: abs(ddim_sample(eps_fn, s, (20_000, 1), sampling_steps=n, generator=g).std().item() - sd)
        for n in (10, 100)
    }
    assert err[100] < err[10]


def test_ddim_timesteps():
    assert ddim_timesteps(100, 100) == list(range(99, -1, -1))
    ts = ddim_timesteps(100, 10)
    assert ts[0] == 99 and ts[-1] == 0 and len(ts) == 10
    with pytest.raises(ValueError, match="sampling_steps"):
        ddim_timesteps(10, 20)
    with pytest.raises(ValueError, match="sampling_steps"):
        ddim_sample(lambda x, t: x, NoiseSchedule(10), (2, 2), sampling_steps=0)


def test_guidance_combination():
    torch.manual_seed(0)
    model = Denoiser(3, hidden=16, n_layers=1, num_classes=4)
    x = torch.randn(5, 3)
    t = torch.randint(10, (5,))
    y = torch.tensor([0, 1, 2, 3, 0])
    w = 2.0
    out = model_eps(model, y, guidance=w)(x, t)
    with torch.no_grad():
        expected = (1 + w) * model(x, t, y) - w * model(x, t)
        assert torch.allclose(out, expected)
        assert torch.allclose(model_eps(model, y, 0.0)(x, t), model(x, t, y))
        # y=None is the ∅ token
        assert torch.allclose(model(x, t), model(x, t, torch.full((5,), 4)))


def test_training_reduces_loss_on_gaussian_data():
    train.set_seed(0)
    s = NoiseSchedule(50)
    x = 0.3 * torch.randn(1024, 2) + torch.tensor([1.0, -1.0])
    model = Denoiser(2, hidden=32, n_layers=1)
    loss_fn = diffusion_loss(s)
    before = train.evaluate(model, loss_fn, x)
    train.fit(model, loss_fn, x, steps=200, batch_size=128, lr=3e-3)
    after = train.evaluate(model, loss_fn, x)
    # E||ε||² = 2 is the loss of predicting 0; a trained model must do much better.
    assert after < 0.8 * min(before, 2.0)


def test_label_dropout_applies():
    s = NoiseSchedule(10)
    seen = []

    class Spy(Denoiser):
        def forward(self, x, t, y=None):
            seen.append(y.clone())
            return super().forward(x, t, y)

    model = Spy(2, hidden=8, n_layers=1, num_classes=3)
    torch.manual_seed(0)
    diffusion_loss(s, p_uncond=0.5)(
        model, torch.randn(4000, 2), torch.zeros(4000, dtype=torch.long)
    )
    frac = (seen[0] == 3).float().mean().item()
    assert abs(frac - 0.5) < 0.03  # binomial sd = 0.008


def test_latent_codec_roundtrip():
    enc = lambda x: 2 * x + 1  # noqa: E731
    dec = lambda z: (z - 1) / 2  # noqa: E731
    x = torch.randn(100, 3)
    codec = LatentCodec.fit(enc, dec, x)
    z = codec.encode(x)
    assert torch.allclose(z.mean(0), torch.zeros(3), atol=1e-5)
    assert torch.allclose(codec.decode(z), x, atol=1e-5)


def test_bad_arguments_raise_named_errors():
    with pytest.raises(ValueError, match="num_steps"):
        NoiseSchedule(0)
    with pytest.raises(ValueError, match="kind"):
        NoiseSchedule(10, kind="quadratic")
    with pytest.raises(ValueError, match="beta_end"):
        NoiseSchedule(10, beta_start=0.1, beta_end=0.01)
    s = NoiseSchedule(10)
    x = torch.randn(3, 2)
    with pytest.raises(ValueError, match="t must lie"):
        s.q_sample(x, torch.tensor([0, 1, 10]))
    with pytest.raises(ValueError, match="t must have shape"):
        s.q_sample(x, torch.tensor([0, 1]))
    with pytest.raises(TypeError, match="t must be an integer"):
        s.q_sample(x, torch.tensor([0.0, 1.0, 2.0]))
    with pytest.raises(ValueError, match="noise"):
        s.q_sample(x, torch.tensor([0, 1, 2]), torch.randn(3, 3))
    with pytest.raises(ValueError, match="eta"):
        ddim_sigma(s, 5, 4, eta=-1.0)
    with pytest.raises(ValueError, match="t_prev"):
        ddim_sigma(s, 5, 5, eta=0.0)
    with pytest.raises(ValueError, match="clip"):
        ddim_step(s, x, 5, 4, torch.zeros_like(x), clip=0.0)
    with pytest.raises(ValueError, match="p_uncond"):
        diffusion_loss(s, p_uncond=1.5)
    with pytest.raises(ValueError, match="guidance"):
        model_eps(Denoiser(2), None, guidance=1.0)
    with pytest.raises(ValueError, match="dim"):
        timestep_embedding(torch.arange(3), 5)
    model = Denoiser(2, num_classes=3)
    with pytest.raises(ValueError, match="x must have last dimension 2"):
        model(torch.randn(4, 3), torch.zeros(4, dtype=torch.long))
    with pytest.raises(ValueError, match="y must lie"):
        model(torch.randn(4, 2), torch.zeros(4, dtype=torch.long), torch.tensor([0, 1, 2, 7]))
    with pytest.raises(ValueError, match="unconditional"):
        Denoiser(2)(
            torch.randn(4, 2), torch.zeros(4, dtype=torch.long), torch.zeros(4, dtype=torch.long)
        )


# --- tests that catch a wrong model (issue 12 §5) ----------------------------------------


def test_linear_schedule_end_points_and_scaling():
    s = NoiseSchedule(50, kind="linear", beta_start=1e-4, beta_end=0.02)
    torch.testing.assert_close(s.betas, torch.linspace(2e-3, 0.4, 50, dtype=torch.float64))
    raw = NoiseSchedule(50, beta_start=1e-4, beta_end=0.02, scale_to_1000=False)
    torch.testing.assert_close(raw.betas, torch.linspace(1e-4, 0.02, 50, dtype=torch.float64))
    capped = NoiseSchedule(10, beta_start=1e-3, beta_end=0.2)  # 0.2 * 100 > 0.999
    assert float(capped.betas[0]) == pytest.approx(0.1)
    assert float(capped.betas[-1]) == pytest.approx(0.999)
    flat = NoiseSchedule(10, beta_start=0.005, beta_end=0.005)  # β_start = β_end is fine
    torch.testing.assert_close(flat.betas, torch.full((10,), 0.5, dtype=torch.float64))
    with pytest.raises(ValueError, match="beta_start"):
        NoiseSchedule(10, beta_start=0.02, beta_end=0.5)  # β_1 = 2 > 0.999


def test_cosine_schedule_against_nichol_dhariwal_formula():
    T, s = 40, 0.008
    sched = NoiseSchedule(T, kind="cosine")

    def f(t):
        return math.cos((t / T + s) / (1 + s) * math.pi / 2) ** 2

    abar = torch.tensor([f(t + 1) / f(0) for t in range(T)], dtype=torch.float64)
    betas = (1 - abar / torch.cat([torch.ones(1, dtype=torch.float64), abar[:-1]])).clamp(max=0.999)
    torch.testing.assert_close(sched.betas, betas)
    torch.testing.assert_close(sched.alphas, 1 - betas)
    assert float(sched.betas[-1]) == 0.999  # the last step is clipped


@pytest.mark.parametrize("beta", [{"beta_start": 0.0}, {"beta_end": 1.0}, {"beta_start": 1}])
def test_betas_must_lie_strictly_between_zero_and_one(beta):
    with pytest.raises((ValueError, TypeError), match="beta"):
        NoiseSchedule(10, **beta)


def test_one_noising_step_and_the_closed_form_by_hand(schedule):
    x = torch.randn(3, 4, dtype=torch.float64)
    noise = torch.randn(3, 4, dtype=torch.float64)
    t = torch.tensor([0, 7, 49])
    beta = schedule.betas[t][:, None]
    abar = schedule.alphas_bar[t][:, None]
    torch.testing.assert_close(
        schedule.q_step(x, t, noise), (1 - beta).sqrt() * x + beta.sqrt() * noise
    )
    torch.testing.assert_close(
        schedule.q_sample(x, t, noise), abar.sqrt() * x + (1 - abar).sqrt() * noise
    )
    # without a noise argument the draw comes from the global generator
    torch.manual_seed(3)
    drawn = schedule.q_step(x, t)
    torch.manual_seed(3)
    torch.testing.assert_close(drawn, schedule.q_step(x, t, torch.randn_like(x)))
    # images: the step's coefficients broadcast over every non-batch dimension
    img = torch.randn(3, 2, 2, 2, dtype=torch.float64)
    torch.testing.assert_close(
        schedule.q_sample(img, t, img)[1], (abar[1].sqrt() + (1 - abar[1]).sqrt()) * img[1]
    )


def test_forward_process_checks_x_and_t():
    s = NoiseSchedule(10)
    x = torch.randn(3, 2)
    t = torch.tensor([0, 1, 2])
    calls = [
        lambda a, tt: s.q_step(a, tt),
        lambda a, tt: s.q_sample(a, tt),
        lambda a, tt: s.q_posterior(a, a, tt),
        lambda a, tt: s.predict_x0(a, tt, a),
        lambda a, tt: s.predict_eps(a, tt, a),
    ]
    for call in calls:
        with pytest.raises(TypeError, match="must be a floating"):
            call(x.long(), t)
        with pytest.raises(ValueError, match="batch dimension"):
            call(x[0], t[:1])
        with pytest.raises(ValueError, match="t must"):
            call(x, torch.tensor([0, 1, 10]))
    with pytest.raises(TypeError, match="noise must be a floating"):
        s.q_step(x, t, torch.ones(3, 2, dtype=torch.long))
    with pytest.raises(ValueError, match="x0 must have shape"):
        s.predict_eps(x, t, torch.randn(3, 3))
    with pytest.raises(TypeError, match="eps must be a floating"):
        s.predict_x0(x, t, torch.ones(3, 2, dtype=torch.long))


def test_timestep_embedding_against_formula():
    t = torch.tensor([0, 1, 5, 99])
    emb = timestep_embedding(t, 8, max_period=100.0)
    freqs = [100.0 ** (-i / 4) for i in range(4)]
    expected = torch.tensor(
        [[math.cos(s * f) for f in freqs] + [math.sin(s * f) for f in freqs] for s in t.tolist()]
    )
    torch.testing.assert_close(emb, expected, rtol=1e-5, atol=1e-5)
    with pytest.raises(ValueError, match="dim"):
        timestep_embedding(t, 0)
    with pytest.raises(ValueError, match="t must have 1 dimensions"):
        timestep_embedding(t[None], 8)


def test_denoiser_forward_by_hand():
    torch.manual_seed(0)
    model = Denoiser(3, hidden=8, n_layers=2, num_classes=4, time_dim=6)
    assert model.label_embedding.weight.shape == (5, 8)  # 4 classes + ∅
    x, t, y = torch.randn(5, 3), torch.tensor([0, 3, 9, 2, 7]), torch.tensor([0, 1, 2, 3, 4])
    silu = torch.nn.functional.silu
    lin = torch.nn.functional.linear
    tm = model.time_mlp
    cond = (
        lin(silu(lin(timestep_embedding(t, 6), tm[0].weight, tm[0].bias)), tm[2].weight, tm[2].bias)
        + model.label_embedding.weight[y]
    )
    h = lin(x, model.input.weight, model.input.bias) + cond
    for block in model.blocks:
        h = h + lin(silu(h), block[1].weight, block[1].bias) + cond
    expected = lin(silu(h), model.output[1].weight, model.output[1].bias)
    torch.testing.assert_close(model(x, t, y), expected)


def test_denoiser_checks_t_and_y():
    model = Denoiser(2, hidden=8, n_layers=1, num_classes=3)
    x, t = torch.randn(4, 2), torch.zeros(4, dtype=torch.long)
    with pytest.raises(TypeError, match="x must be a floating"):
        model(x.long(), t)
    for bad in (t[:3], t.tolist()):
        with pytest.raises(ValueError, match="t must be a tensor"):
            model(x, bad)
    for bad in (t[:3], t.tolist()):
        with pytest.raises(ValueError, match="y must be a tensor"):
            model(x, t, bad)


def test_diffusion_loss_is_the_squared_noise_error_of_eq_4():
    s = NoiseSchedule(20)
    x0 = torch.randn(64, 3, generator=torch.Generator().manual_seed(1))
    seen = {}

    class Zero(Denoiser):  # predicts ε̂ = 0 and records its inputs
        def forward(self, x, t, y=None):
            seen.update(xt=x, t=t, y=y)
            return torch.zeros_like(x)

    model = Zero(3, hidden=8, n_layers=1)
    torch.manual_seed(0)
    loss = diffusion_loss(s)(model, x0)
    eps = s.predict_eps(seen["xt"], seen["t"], x0)  # the noise that was used
    torch.testing.assert_close(loss, (eps**2).sum(1).mean())
    assert len(set(seen["t"].tolist())) > 10  # t is drawn over 0..T-1

    # with a model that predicts the true noise the loss is 0
    class Oracle(Denoiser):
        def forward(self, x, t, y=None):
            return s.predict_eps(x, t, x0)

    assert diffusion_loss(s)(Oracle(3, hidden=8, n_layers=1), x0).item() < 1e-8
    # label dropout needs labels: an unconditional model with p_uncond > 0 still works
    diffusion_loss(s, p_uncond=0.5)(model, x0)
    assert seen["y"] is None
    with pytest.raises(TypeError, match="schedule"):
        diffusion_loss("linear")


def test_model_eps_without_labels_and_guidance_one():
    torch.manual_seed(0)
    x, t = torch.randn(5, 3), torch.randint(10, (5,))
    plain = Denoiser(3, hidden=16, n_layers=1)
    with torch.no_grad():
        torch.testing.assert_close(model_eps(plain)(x, t), plain(x, t))
    model = Denoiser(3, hidden=16, n_layers=1, num_classes=4)
    y = torch.tensor([0, 1, 2, 3, 0])
    with torch.no_grad():
        torch.testing.assert_close(
            model_eps(model, y, guidance=1.0)(x, t), 2 * model(x, t, y) - model(x, t)
        )
    with pytest.raises(TypeError, match="model"):
        model_eps("denoiser")
    with pytest.raises(ValueError, match="guidance"):
        model_eps(model, y, guidance=-1.0)


def test_ddpm_step_by_hand_and_no_noise_at_t_zero():
    s = NoiseSchedule(20)
    xt = torch.randn(3, 2, dtype=torch.float64)
    eps = torch.randn(3, 2, dtype=torch.float64)
    noise = torch.randn(3, 2, dtype=torch.float64)
    t = torch.tensor([0, 1, 19])
    x_prev, x0_hat = ddpm_step(s, xt, t, eps, noise=noise)
    torch.testing.assert_close(x0_hat, s.predict_x0(xt, t, eps))
    mean, var = s.q_posterior(x0_hat, xt, t)
    torch.testing.assert_close(x_prev[1:], (mean + var.sqrt() * noise)[1:])
    torch.testing.assert_close(x_prev[0], x0_hat[0])  # t = 0: the mean, x̂_0
    # clipping bounds x̂_0 to [-clip, clip] before the posterior mean is formed
    far = 50 * torch.ones(3, 2, dtype=torch.float64)
    _, clipped = ddpm_step(s, xt, t, -far, noise=noise, clip=1.5)
    _, low = ddpm_step(s, xt, t, far, noise=noise, clip=1.5)
    assert bool((clipped == 1.5).all()) and bool((low == -1.5).all())
    with pytest.raises(ValueError, match="clip"):
        ddpm_step(s, xt, t, eps, clip=-1.0)
    with pytest.raises(ValueError, match="noise"):
        ddpm_step(s, xt, t, eps, noise=torch.randn(3, 3, dtype=torch.float64))


def test_ddim_sigma_and_step_by_hand():
    s = NoiseSchedule(30)
    ab = s.alphas_bar
    t, t_prev, eta = 20, 11, 0.7
    sigma = eta * math.sqrt((1 - ab[t_prev]) / (1 - ab[t]) * (1 - ab[t] / ab[t_prev]))
    assert ddim_sigma(s, t, t_prev, eta) == pytest.approx(float(sigma), rel=1e-12)
    assert ddim_sigma(s, 5, -1, 1.0) == 0.0  # ᾱ_{-1} = 1: the last step adds no noise
    xt = torch.randn(4, 3, dtype=torch.float64)
    eps = torch.randn(4, 3, dtype=torch.float64)
    noise = torch.randn(4, 3, dtype=torch.float64)
    x_prev, x0_hat, _ = ddim_step(s, xt, t, t_prev, eps, eta=eta, noise=noise)
    expected = ab[t_prev].sqrt() * x0_hat + (1 - ab[t_prev] - sigma**2).sqrt() * eps + sigma * noise
    torch.testing.assert_close(x_prev, expected)
    # the last step, to t_prev = -1, lands on x̂_0 when η = 0
    last, x0_last, _ = ddim_step(s, xt, 3, -1, eps)
    torch.testing.assert_close(last, x0_last)
    for bad in ((s, 30, 5, 0.0), (s, 5, -2, 0.0), ("s", 5, 4, 0.0)):
        with pytest.raises((ValueError, TypeError)):
            ddim_sigma(*bad)
    with pytest.raises(TypeError, match="t_prev"):
        ddim_sigma(s, 5, 4.0, 0.0)
    with pytest.raises(TypeError, match="xt"):
        ddim_step(s, xt.long(), t, t_prev, eps)


def test_samplers_visit_every_step_in_order_and_return_the_trajectory():
    s = NoiseSchedule(12)
    visited = []

    def eps_fn(x, t):
        visited.append(int(t[0]))
        return torch.zeros_like(x)

    g = torch.Generator().manual_seed(0)
    out, traj = ddpm_sample(eps_fn, s, (3, 2), generator=g, return_trajectory=True)
    assert visited == list(range(11, -1, -1))
    assert len(traj) == 13 and torch.equal(traj[-1], out)
    # replaying the draws by hand with ddpm_step reproduces the sampler
    g = torch.Generator().manual_seed(0)
    x = torch.randn(3, 2, generator=g)
    for step in range(11, -1, -1):
        tt = torch.full((3,), step)
        x, _ = ddpm_step(s, x, tt, torch.zeros_like(x), noise=torch.randn(3, 2, generator=g))
    torch.testing.assert_close(out, x)
    visited.clear()
    g = torch.Generator().manual_seed(1)
    out = ddim_sample(eps_fn, s, (3, 2), sampling_steps=4, eta=0.5, generator=g)
    steps = ddim_timesteps(12, 4)
    assert visited == steps
    g = torch.Generator().manual_seed(1)
    x = torch.randn(3, 2, generator=g)
    for i, t in enumerate(steps):
        t_prev = steps[i + 1] if i + 1 < len(steps) else -1
        x, _, _ = ddim_step(
            s, x, t, t_prev, torch.zeros_like(x), eta=0.5, noise=torch.randn(3, 2, generator=g)
        )
    torch.testing.assert_close(out, x)


@pytest.mark.parametrize("sampler", [ddpm_sample, ddim_sample])
def test_samplers_check_their_arguments(sampler):
    s = NoiseSchedule(5)
    zero = lambda x, t: torch.zeros_like(x)  # noqa: E731
    with pytest.raises(TypeError, match="eps_fn"):
        sampler("eps", s, (2, 2))
    with pytest.raises(TypeError, match="schedule"):
        sampler(zero, "s", (2, 2))
    for shape in ((2,), (2, 0), [2, 2.0], 4):
        with pytest.raises(ValueError, match="shape"):
            sampler(zero, s, shape)
    assert sampler(zero, s, [2, 3]).shape == (2, 3)


def test_ddim_sample_checks_eta():
    with pytest.raises(ValueError, match="eta"):
        ddim_sample(lambda x, t: x, NoiseSchedule(5), (2, 2), eta=-0.5)


def test_latent_codec_standardises_the_codes():
    enc = lambda x: 3 * x[:, :2] - 1  # noqa: E731
    x = torch.randn(200, 4, generator=torch.Generator().manual_seed(0))
    codec = LatentCodec.fit(enc, lambda z: z, x)
    z = codec.encode(x)
    torch.testing.assert_close(z.mean(0), torch.zeros(2), atol=1e-5, rtol=0)
    torch.testing.assert_close(z.std(0), torch.ones(2))
    torch.testing.assert_close(codec.decode(z), enc(x), rtol=1e-5, atol=1e-5)
    const = LatentCodec.fit(lambda x: torch.zeros(len(x), 1), lambda z: z, x)
    assert float(const.std) == pytest.approx(1e-4)  # no division by zero
    with pytest.raises(TypeError, match="encoder"):
        LatentCodec.fit("enc", lambda z: z, x)
    with pytest.raises(TypeError, match="decoder"):
        LatentCodec.fit(enc, "dec", x)
    with pytest.raises(ValueError, match="at least 2 rows"):
        LatentCodec.fit(enc, lambda z: z, x[:1])
    assert LatentCodec.fit(enc, lambda z: z, x[:2]).mean.shape == (2,)


def test_remaining_checks_of_the_schedule_and_samplers():
    with pytest.raises(ValueError, match="beta_start"):
        NoiseSchedule(10, beta_start=0.012, beta_end=0.5)  # β_1 = 1.2, between 0.999 and 2
    s = NoiseSchedule(10)
    x, t = torch.randn(3, 2), torch.tensor([0, 1, 2])
    with pytest.raises(TypeError, match="x0 must be a floating"):
        s.q_posterior(x.long(), x, t)
    with pytest.raises(TypeError, match="xt must be a floating"):
        s.q_posterior(x, x.long(), t)
    with pytest.raises(ValueError, match="max_period"):
        timestep_embedding(t, 8, max_period=-1.0)
    with pytest.raises(ValueError, match="batch dimension"):
        ddim_step(s, torch.tensor(1.0), 5, 4, torch.tensor(0.0))
    with pytest.raises(TypeError, match="num_steps"):
        ddim_timesteps(2.0, 1)


def test_ddim_step_draws_its_noise_when_none_is_given():
    s = NoiseSchedule(20)
    xt = torch.randn(4, 3, dtype=torch.float64)
    eps = torch.randn(4, 3, dtype=torch.float64)
    torch.manual_seed(7)
    drawn, _, _ = ddim_step(s, xt, 10, 5, eps, eta=1.0)
    torch.manual_seed(7)
    given, _, _ = ddim_step(s, xt, 10, 5, eps, eta=1.0, noise=torch.randn_like(xt))
    torch.testing.assert_close(drawn, given)
    with pytest.raises(ValueError, match="noise"):
        ddim_step(s, xt, 10, 5, eps, eta=1.0, noise=torch.randn(4, 2, dtype=torch.float64))
