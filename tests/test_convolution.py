"""Tests of survey_models.convolution: canvas, classifiers, receptive fields, parameter counts."""

from __future__ import annotations

import pytest
import torch
from torch import nn

from survey_models import train
from survey_models.convolution import (
    MLPClassifier,
    PatchAttentionClassifier,
    SmallCNN,
    conv_parameters,
    dense_parameters,
    place_on_canvas,
    receptive_field_from_gradient,
    stacked_convolutions,
)
from survey_models.train import accuracy, classification_loss


def test_place_on_canvas_puts_pixels_where_asked():
    img = torch.arange(4.0).view(1, 2, 2) + 1
    out = place_on_canvas(img, 5, torch.tensor([[1, 3]]))
    assert out.shape == (1, 1, 5, 5)
    assert torch.equal(out[0, 0, 1:3, 3:5], img[0])
    assert out.sum() == img.sum()
    with pytest.raises(ValueError, match="offsets must lie"):
        place_on_canvas(img, 5, torch.tensor([[4, 0]]))
    with pytest.raises(ValueError, match="canvas"):
        place_on_canvas(img, 1, torch.tensor([[0, 0]]))


@pytest.mark.parametrize("n_layers", [1, 2, 3, 5])
def test_receptive_field_is_2L_plus_1(n_layers):
    torch.manual_seed(n_layers)
    h, w, g = receptive_field_from_gradient(stacked_convolutions(n_layers, channels=2), 21)
    assert (h, w) == (2 * n_layers + 1, 2 * n_layers + 1)
    assert int((g > 0).sum()) == (2 * n_layers + 1) ** 2


def test_receptive_field_of_5x5_kernels():
    torch.manual_seed(0)
    h, w, _ = receptive_field_from_gradient(stacked_convolutions(2, kernel_size=5), 21)
    assert (h, w) == (9, 9)


def test_circular_convolution_is_exactly_shift_equivariant():
    torch.manual_seed(0)
    net = stacked_convolutions(3, channels=4, padding_mode="circular")
    x = torch.randn(2, 1, 12, 12)
    with torch.no_grad():
        a = net(torch.roll(x, (2, 5), dims=(2, 3)))
        b = torch.roll(net(x), (2, 5), dims=(2, 3))
    assert (a - b).abs().max() < 1e-6


def test_parameter_counts_match_torch_modules():
    assert dense_parameters(64, 64) == sum(p.numel() for p in nn.Linear(64, 64).parameters())
    assert conv_parameters(3, 8, 3) == sum(p.numel() for p in nn.Conv2d(3, 8, 3).parameters())


def test_classifier_shapes_and_patch_model_without_positions_is_patch_permutation_invariant():
    torch.manual_seed(0)
    x = torch.rand(3, 1, 16, 16)
    for model in (SmallCNN(10), MLPClassifier(16), PatchAttentionClassifier(16, 4, d_model=16)):
        assert model(x).shape == (3, 10)
    m = PatchAttentionClassifier(16, 4, d_model=16, positional="none").eval()
    # Swapping two whole 4×4 patches leaves a position-free patch model's output unchanged.
    swapped = x.clone()
    swapped[:, :, 0:4, 0:4], swapped[:, :, 8:12, 4:8] = x[:, :, 8:12, 4:8], x[:, :, 0:4, 0:4]
    assert torch.allclose(m(x), m(swapped), atol=1e-5)
    learned = PatchAttentionClassifier(16, 4, d_model=16, positional="learned").eval()
    assert not torch.allclose(learned(x), learned(swapped), atol=1e-5)
    with pytest.raises(ValueError, match="divisible by patch"):
        PatchAttentionClassifier(15, 4)


def test_small_cnn_learns_a_position_free_pattern():
    # Class 1: a bright 2×2 blob somewhere; class 0: empty. A CNN must exceed 0.95.
    g = torch.Generator().manual_seed(0)
    n = 400
    x = 0.05 * torch.rand(n, 1, 10, 10, generator=g)
    y = torch.randint(2, (n,), generator=g)
    pos = torch.randint(0, 9, (n, 2), generator=g)
    for i in range(n):
        if y[i]:
            r, c = pos[i].tolist()
            x[i, 0, r : r + 2, c : c + 2] = 1.0
    train.set_seed(0)
    model = SmallCNN(2, (4,))
    before = accuracy(model, x, y)
    train.fit(model, classification_loss, (x, y), epochs=15, lr=1e-2, seed=0)
    after = accuracy(model, x, y)
    assert before < 0.8 and after > 0.95, (before, after)
