"""Tests of survey_models.diffusion.flow_matching: the path, the loss, Euler, reflow, straightness.

Most verdicts are exact: the test data are dyadic numbers (multiples of 1/8 of small
size), so sums, differences and products by 1/2, 1/4 are computed without rounding and
``torch.equal`` can be used where the mathematics says "equal".
"""

from __future__ import annotations

import pytest
import torch

from survey_models.diffusion import Denoiser
from survey_models.diffusion.flow_matching import (
    VelocityField,
    cfm_loss,
    euler_sample,
    flow_matching_loss,
    interpolate,
    model_velocity,
    reflow_pairs,
    straightness,
)


def dyadic(*shape: int, seed: int = 0) -> torch.Tensor:
    """Standard-normal-like numbers rounded to multiples of 1/8 (exact in float32)."""
    g = torch.Generator().manual_seed(seed)
    return torch.round(torch.randn(*shape, generator=g) * 8) / 8


C = torch.tensor([0.75, -1.5])  # the constant shift: data = noise + C


def constant_field(x: torch.Tensor, t: torch.Tensor) -> torch.Tensor:
    return C.expand_as(x).clone()


def growth_field(x: torch.Tensor, t: torch.Tensor) -> torch.Tensor:
    return x  # dx/dt = x: paths x_t = e^t x0, straight lines through 0 travelled at growing speed


def small_net(seed: int = 0, num_classes: int | None = None) -> VelocityField:
    torch.manual_seed(seed)
    return VelocityField(Denoiser(dim=2, hidden=16, n_layers=1, num_classes=num_classes), 100.0)


# -- the path and the loss ---------------------------------------------------------------
def test_interpolate_endpoints_and_midpoint_exact():
    x0, x1 = dyadic(5, 2, seed=1), dyadic(5, 2, seed=2)
    assert torch.equal(interpolate(x0, x1, torch.zeros(5)), x0)
    assert torch.equal(interpolate(x0, x1, torch.ones(5)), x1)
    assert torch.equal(interpolate(x0, x1, torch.full((5,), 0.5)), (x0 + x1) / 2)


def test_path_velocity_is_x1_minus_x0():
    # d x_t / d t of eq. (1), by autograd, is the regression target x1 - x0 of eq. (2).
    x0, x1 = torch.randn(3, 2, dtype=torch.float64), torch.randn(3, 2, dtype=torch.float64)
    t = torch.tensor([0.1, 0.5, 0.9], dtype=torch.float64, requires_grad=True)
    jac = torch.autograd.functional.jacobian(lambda s: interpolate(x0, x1, s), t)  # (3, 2, 3)
    dxdt = torch.stack([jac[i, :, i] for i in range(3)])
    assert torch.allclose(dxdt, x1 - x0, rtol=0, atol=1e-12)


def test_loss_is_exactly_zero_for_the_true_velocity():
    # data = noise + C: every conditional path has velocity C, so v ≡ C has zero loss.
    x0 = dyadic(64, 2, seed=3)
    x1 = x0 + C
    t = torch.rand(64, generator=torch.Generator().manual_seed(4))
    assert cfm_loss(constant_field, x0, x1, t).item() == 0.0
    # The training loss_fn on coupled pairs (reflow's form) is also exactly 0, whatever t.
    loss_fn = flow_matching_loss()
    assert loss_fn(constant_field, x1, x0).item() == 0.0


def test_loss_equals_brute_force():
    x0, x1 = dyadic(4, 2, seed=5), dyadic(4, 2, seed=6)
    t = torch.tensor([0.0, 0.25, 0.5, 1.0])
    wrong = torch.tensor([0.5, 0.5])
    loss = cfm_loss(lambda x, s: wrong.expand_as(x), x0, x1, t)
    expected = sum(float(((wrong - (x1[i] - x0[i])) ** 2).sum()) for i in range(4)) / 4
    assert loss.item() == pytest.approx(expected, rel=1e-6)  # float32 sum order only
    assert loss.item() > 0


def test_loss_fn_draws_noise_reproducibly():
    x1 = dyadic(32, 2, seed=7)
    loss_fn, model = flow_matching_loss(), small_net()
    torch.manual_seed(0)
    a = loss_fn(model, x1)
    torch.manual_seed(0)
    b = loss_fn(model, x1)
    assert torch.equal(a, b) and a.dim() == 0 and a.item() > 0


# -- Euler ---------------------------------------------------------------------------------
def test_one_euler_step_is_exact_for_a_straight_field():
    x0 = dyadic(10, 2, seed=8)
    x1, traj = euler_sample(constant_field, x0, 1, return_trajectory=True)
    assert torch.equal(x1, x0 + C)
    assert len(traj) == 2 and torch.equal(traj[0], x0) and traj[1] is x1


def test_euler_matches_brute_force_on_a_curved_field():
    # dx/dt = x: k Euler steps give (1 + 1/k)^k x0 exactly in exact arithmetic.
    x0 = torch.randn(6, 2, dtype=torch.float64)
    for k in (1, 3, 16):
        x1, traj = euler_sample(growth_field, x0, k, return_trajectory=True)
        assert len(traj) == k + 1
        assert torch.allclose(x1, (1 + 1 / k) ** k * x0, rtol=1e-12, atol=0)


# -- straightness ---------------------------------------------------------------------------
def test_straightness_zero_for_straight_field():
    assert straightness(constant_field, dyadic(20, 2, seed=9), steps=8) == 0.0


def test_straightness_known_answer_for_curved_field():
    # Along the Euler path of dx/dt = x, v_i = (1+h)^i x0 and Z1 - Z0 = ((1+h)^k - 1) x0,
    # so S = E‖x0‖² · mean_i ((1+h)^k - 1 - (1+h)^i)².
    x0 = torch.randn(50, 2, dtype=torch.float64, generator=torch.Generator().manual_seed(10))
    k = 10
    r = 1 + 1 / k
    expected = float((x0**2).sum(1).mean()) * sum(((r**k - 1) - r**i) ** 2 for i in range(k)) / k
    got = straightness(growth_field, x0, steps=k)
    assert got == pytest.approx(expected, rel=1e-10)  # float64 round-off only
    assert got > 0.1


# -- reflow ------------------------------------------------------------------------------
def test_reflow_pairs_are_a_deterministic_function_of_the_noise():
    v = model_velocity(small_net(seed=1))
    z = torch.randn(30, 2, generator=torch.Generator().manual_seed(11))
    x0a, x1a = reflow_pairs(v, z, steps=5)
    torch.randn(100)  # the global generator moves on; the pairs must not
    x0b, x1b = reflow_pairs(v, z.clone(), steps=5)
    assert x0a is z and torch.equal(x0a, x0b) and torch.equal(x1a, x1b)
    assert torch.equal(x1a, euler_sample(v, z, 5))
    assert x1a.shape == (30, 2) and not x1a.requires_grad


def test_reflow_on_straight_pairs_is_exact():
    # Pairs (x0, x0 + C) are perfectly straight; the field v ≡ C reproduces them in 1 step.
    x0 = dyadic(16, 2, seed=12)
    pairs = reflow_pairs(constant_field, x0, steps=4)
    assert torch.equal(pairs[1], x0 + C)  # 4 steps of C/4: exact for dyadic numbers


# -- the network ---------------------------------------------------------------------------
def test_velocity_field_scales_time_and_shapes():
    net = small_net(seed=2)
    x, t = torch.randn(7, 2), torch.rand(7)
    v = net(x, t)
    assert v.shape == (7, 2)
    assert torch.equal(v, net.net(x, t * 100.0))
    assert "time_scale=100" in repr(net)


def test_guidance_is_the_extrapolation_of_eq5():
    net = small_net(seed=3, num_classes=3)
    x, t, y = torch.randn(5, 2), torch.rand(5), torch.tensor([0, 1, 2, 0, 1])
    with torch.no_grad():
        v_c, v_u = net(x, t, y), net(x, t)
    got = model_velocity(net, y, guidance=2.0)(x, t)
    assert torch.allclose(got, 3 * v_c - 2 * v_u, rtol=0, atol=1e-6)
    assert torch.equal(model_velocity(net, y)(x, t), v_c)


# -- bad input -------------------------------------------------------------------------------
def test_bad_input():
    x = torch.zeros(4, 2)
    with pytest.raises(ValueError, match="x0 and x1"):
        interpolate(x, torch.zeros(3, 2), torch.zeros(4))
    with pytest.raises(ValueError, match="t must lie in"):
        interpolate(x, x, torch.full((4,), 1.5))
    with pytest.raises(ValueError, match=r"t must have shape \(4,\)"):
        interpolate(x, x, torch.zeros(3))
    with pytest.raises(TypeError, match="t must be a floating"):
        interpolate(x, x, torch.zeros(4, dtype=torch.long))
    with pytest.raises(ValueError, match="x0 must have 2 dimensions"):
        euler_sample(constant_field, torch.zeros(4), 1)
    with pytest.raises(ValueError, match="steps must be a positive"):
        euler_sample(constant_field, x, 0)
    with pytest.raises(TypeError, match="velocity must be callable"):
        straightness("v", x)
    with pytest.raises(ValueError, match="velocity must return"):
        euler_sample(lambda a, s: a[:, :1], x, 2)
    with pytest.raises(ValueError, match="velocity must return"):
        cfm_loss(lambda a, s: a[:, :1], x, x, torch.zeros(4))
    with pytest.raises(TypeError, match="net must be an nn.Module"):
        VelocityField(lambda a, s: a)
    with pytest.raises(ValueError, match="time_scale"):
        VelocityField(Denoiser(2), time_scale=0.0)
    with pytest.raises(TypeError, match="t must be a floating"):
        small_net()(x, torch.zeros(4, dtype=torch.long))
    with pytest.raises(ValueError, match="guidance > 0 needs labels y"):
        model_velocity(small_net(), guidance=1.0)
