"""Tests of survey_models.compression: pruning masks, fake quantisation, int8 layers."""

import pytest
import torch
from torch import nn

from survey_models import compression as cp
from survey_models import train
from survey_models.scaling import MLP


@pytest.mark.parametrize("s", [0.0, 0.25, 0.5, 0.9, 0.97, 1.0])
def test_masks_keep_exactly_the_stated_fraction(s):
    torch.manual_seed(0)
    model = MLP(20, (30, 30), 5)
    masks = cp.global_magnitude_masks(model, s)
    total = sum(m.numel() for m in masks.values())
    kept = sum(int(m.sum()) for m in masks.values())
    assert kept == total - round(s * total)


def test_masks_are_global_and_by_magnitude():
    model = nn.Sequential(nn.Linear(2, 2), nn.Linear(2, 1))
    with torch.no_grad():
        model[0].weight.copy_(torch.tensor([[0.1, -5.0], [0.3, 2.0]]))
        model[1].weight.copy_(torch.tensor([[-0.2, 4.0]]))
    masks = cp.global_magnitude_masks(model, 0.5)  # remove 3 of 6: 0.1, -0.2, 0.3
    assert torch.equal(masks["0"], torch.tensor([[0.0, 1.0], [0.0, 1.0]]))
    assert torch.equal(masks["1"], torch.tensor([[0.0, 1.0]]))


def test_ties_still_give_exact_count():
    model = nn.Sequential(nn.Linear(10, 10, bias=False))
    with torch.no_grad():
        model[0].weight.fill_(1.0)
    masks = cp.global_magnitude_masks(model, 0.37)
    assert int(masks["0"].sum()) == 63


def test_pruned_weights_stay_zero_during_fine_tuning():
    torch.manual_seed(0)
    model = MLP(8, (16,), 3)
    cp.apply_masks(model, cp.global_magnitude_masks(model, 0.8))
    expected = round(0.8 * 176) / 176  # 8*16 + 16*3 = 176 weights
    assert cp.sparsity(model) == pytest.approx(expected, abs=1e-12)
    x, y = torch.randn(64, 8), torch.randint(0, 3, (64,))
    train.fit(
        model,
        lambda m, a, b: nn.functional.cross_entropy(m(a), b),
        (x, y),
        epochs=5,
        lr=1e-2,
        seed=0,
    )
    assert cp.sparsity(model) == pytest.approx(expected, abs=1e-12)
    cp.remove_masks(model)
    assert cp.sparsity(model) == pytest.approx(expected, abs=1e-12)
    assert isinstance(model.net[0].weight, nn.Parameter)


def test_pruning_bad_arguments():
    model = MLP(8, (16,), 3)
    with pytest.raises(ValueError, match="sparsity"):
        cp.global_magnitude_masks(model, 1.2)
    with pytest.raises(ValueError, match="no nn.Linear"):
        cp.global_magnitude_masks(nn.ReLU(), 0.5)
    with pytest.raises(ValueError, match="masks"):
        cp.apply_masks(model, {"net.0": torch.ones(3, 3)})


@pytest.mark.parametrize("bits", [2, 3, 4, 8])
@pytest.mark.parametrize("per_channel", [False, True])
def test_fake_quantize_round_trip_within_half_a_step(bits, per_channel):
    w = torch.randn(16, 32, generator=torch.Generator().manual_seed(bits))
    step = cp.quantization_step(w, bits, per_channel)
    w_hat = cp.fake_quantize(w, bits, per_channel)
    assert ((w - w_hat).abs() <= step / 2 + 1e-7).all()
    # At most 2^bits - 1 distinct levels per scale, all on the integer grid.
    q = w_hat / step
    assert torch.allclose(q, q.round(), atol=1e-5)
    assert q.abs().max() <= 2 ** (bits - 1) - 1 + 1e-5
    if not per_channel:
        assert w_hat.unique().numel() <= 2**bits - 1


def test_fake_quantize_known_values():
    w = torch.tensor([1.0, -0.5, 0.26, 0.0])
    # 3 bits: qmax = 3, step = 1/3; 0.26 -> round(0.78) = 1 -> 1/3.
    assert torch.allclose(cp.fake_quantize(w, 3), torch.tensor([1.0, -2 / 3, 1 / 3, 0.0]))
    assert torch.equal(cp.fake_quantize(torch.zeros(3), 4), torch.zeros(3))
    with pytest.raises(ValueError, match="bits"):
        cp.fake_quantize(w, 1)
    with pytest.raises(TypeError, match="bits"):
        cp.fake_quantize(w, 4.0)


def test_int8_linear_close_to_float_and_smaller():
    torch.manual_seed(0)
    model = MLP(64, (128,), 10)
    q = cp.quantize_int8(model)
    assert q.net[0].q_weight.dtype == torch.int8
    x = torch.rand(50, 64)
    ref, out = model(x), q(x)
    # Relative error of an 8-bit product is of order 1/127.
    assert ((out - ref).norm() / ref.norm()).item() < 0.02
    assert cp.state_dict_bytes(model) / cp.state_dict_bytes(q) > 3.0
    # The original model is untouched.
    assert isinstance(model.net[0], nn.Linear)


def test_int8_linear_matches_hand_integer_product():
    layer = nn.Linear(2, 1)
    with torch.no_grad():
        layer.weight.copy_(torch.tensor([[1.27, -0.635]]))
        layer.bias.fill_(0.5)
    q = cp.Int8Linear.from_linear(layer)
    assert q.q_weight.tolist() == [[127, -64]]
    x = torch.tensor([[2.54, 1.27]])  # step 0.02: q_x = [127, 64]
    expected = (127 * 127 + 64 * -64) * 0.02 * 0.01 + 0.5
    assert q(x).item() == pytest.approx(expected, rel=1e-5)
    with pytest.raises(ValueError, match="x must have last dimension 2"):
        q(torch.rand(1, 3))
