"""Tests of survey_models.one_shot_pruning: masks, Wanda, OBS and SparseGPT, whole models."""

import copy

import pytest
import torch
from torch import nn

from survey_models import compression
from survey_models.calibration import input_hessian, linear_inputs
from survey_models.one_shot_pruning import (
    magnitude_scores,
    n_m_mask,
    obs_prune,
    prune_layer,
    prune_model,
    sparsegpt_prune,
    unstructured_mask,
    wanda_scores,
)


def correlated_inputs(n=300, d=12, seed=0):
    """Inputs with a strong low-rank common part (what makes re-fitting pay off)."""
    g = torch.Generator().manual_seed(seed)
    z = torch.randn(n, 3, generator=g, dtype=torch.float64)
    mix = torch.randn(3, d, generator=g, dtype=torch.float64)
    return z @ mix + 0.1 * torch.randn(n, d, generator=g, dtype=torch.float64)


def test_unstructured_mask_removes_exactly_round_s_d_per_row():
    scores = torch.rand(7, 10, generator=torch.Generator().manual_seed(0))
    for s, kept in ((0.5, 5), (0.25, 8), (0.0, 10), (1.0, 0), (0.33, 7)):
        mask = unstructured_mask(scores, s)
        assert mask.sum(1).tolist() == [kept] * 7
        # What is kept beats what is removed in every row.
        for row, m in zip(scores, mask):
            if 0 < kept < 10:
                assert row[m == 1].min() > row[m == 0].max()
    # Ties: the earlier column goes first.
    assert unstructured_mask(torch.ones(1, 4), 0.5).tolist() == [[0.0, 0.0, 1.0, 1.0]]


def test_n_m_mask_keeps_the_n_largest_of_every_group():
    g = torch.Generator().manual_seed(1)
    scores = torch.rand(5, 16, generator=g)
    mask = n_m_mask(scores, 2, 4)
    groups = mask.reshape(5, 4, 4)
    assert torch.equal(groups.sum(-1), torch.full((5, 4), 2.0))
    top = scores.reshape(5, 4, 4).topk(2, dim=-1).indices
    brute = torch.zeros(5, 4, 4).scatter_(-1, top, 1.0)
    assert torch.equal(groups, brute)
    assert torch.equal(n_m_mask(scores, 1, 8).reshape(5, 2, 8).sum(-1), torch.ones(5, 2))


def test_wanda_with_equal_input_norms_is_magnitude():
    g = torch.Generator().manual_seed(2)
    w = torch.randn(6, 8, generator=g)
    signs = torch.randint(0, 2, (20, 8), generator=g).float() * 2 - 1  # every ||X_j|| = sqrt(20)
    for mask_of in (lambda s: unstructured_mask(s, 0.5), lambda s: n_m_mask(s, 2, 4)):
        assert torch.equal(mask_of(wanda_scores(w, signs)), mask_of(magnitude_scores(w)))


def test_wanda_scores_known_answer():
    w = torch.tensor([[1.0, -2.0], [3.0, 0.5]])
    x = torch.tensor([[3.0, 0.0], [4.0, 0.1]])  # column norms 5 and 0.1
    assert torch.allclose(wanda_scores(w, x), torch.tensor([[5.0, 0.2], [15.0, 0.05]]))
    # Magnitude would keep -2 in row 0; Wanda keeps the weight on the large input.
    assert unstructured_mask(magnitude_scores(w), 0.5).tolist() == [[0.0, 1.0], [1.0, 0.0]]
    assert unstructured_mask(wanda_scores(w, x), 0.5).tolist() == [[1.0, 0.0], [1.0, 0.0]]


def test_obs_update_is_the_least_squares_optimum_of_the_remaining_weights():
    x = correlated_inputs(n=50, d=6)
    w = torch.randn(3, 6, generator=torch.Generator().manual_seed(3), dtype=torch.float64)
    h = x.T @ x / x.shape[0]  # undamped: (1) is exactly a least-squares problem in X
    for q in (0, 4):
        new, eps = obs_prune(w, h, q)
        keep = [j for j in range(6) if j != q]
        assert torch.all(new[:, q] == 0)
        for i in range(3):
            best = torch.linalg.lstsq(x[:, keep], x @ w[i]).solution
            # float64 on a 6-column problem: agreement to ~1e-13; 1e-8 leaves a wide margin
            # for the conditioning of these correlated inputs.
            assert torch.allclose(new[i, keep], best, atol=1e-8, rtol=0)
            err = (x @ (w[i] - new[i])).pow(2).mean()
            assert torch.allclose(eps[i], err, rtol=1e-8)


def test_sparsegpt_with_a_prefix_mask_is_the_joint_least_squares_optimum():
    # Pruning columns 0..k-1 one after another, each time re-fitting the columns to the
    # right, reaches the joint optimum of the remaining columns (the errors are orthogonal).
    x = correlated_inputs(n=60, d=7, seed=4)
    w = torch.randn(4, 7, generator=torch.Generator().manual_seed(4), dtype=torch.float64)
    h = x.T @ x / x.shape[0]
    mask = torch.ones(4, 7)
    mask[:, :3] = 0
    new, got_mask = sparsegpt_prune(w, h, mask=mask)
    assert torch.equal(got_mask, mask.double())
    assert torch.all(new[:, :3] == 0)
    best = torch.linalg.lstsq(x[:, 3:], x @ w.T).solution.T
    assert torch.allclose(new[:, 3:], best, atol=1e-8, rtol=0)


def test_sparsegpt_sparsity_is_exact():
    x = correlated_inputs(n=100, d=20, seed=5)
    w = torch.randn(6, 20, generator=torch.Generator().manual_seed(5), dtype=torch.float64)
    h = input_hessian(x)
    for block in (3, 8, 32):  # 3 and 8 do not divide 20: the cumulative rounding still adds up
        new, mask = sparsegpt_prune(w, h, 0.5, block_size=block)
        assert mask.sum(1).tolist() == [10.0] * 6
        assert torch.equal(new == 0, mask == 0)
    new, mask = sparsegpt_prune(w, h, n_m=(2, 4))
    assert torch.equal(mask.reshape(6, 5, 4).sum(-1), torch.full((6, 5), 2.0, dtype=mask.dtype))
    assert torch.equal(new == 0, mask == 0)


def test_sparsegpt_beats_magnitude_on_correlated_inputs_by_a_wide_margin():
    x = correlated_inputs(n=300, d=12, seed=6)
    w = torch.randn(8, 12, generator=torch.Generator().manual_seed(6), dtype=torch.float64)
    h = input_hessian(x)

    def error(w_hat):
        return float((x @ (w - w_hat).T).pow(2).mean())

    for n_m in (None, (2, 4)):
        mag_mask = unstructured_mask(w.abs(), 0.5) if n_m is None else n_m_mask(w.abs(), *n_m)
        sgpt, _ = sparsegpt_prune(w, h, 0.5, n_m=n_m, block_size=4)
        # Measured ratio is about 14; inputs of rank ~3 make re-fitting very effective,
        # so a factor 4 is far from any rounding effect.
        assert error(sgpt) * 4 < error(w * mag_mask)


def test_prune_layer_and_model_sparsity_and_sequential_calibration():
    torch.manual_seed(7)
    model = nn.Sequential(nn.Linear(8, 12), nn.ReLU(), nn.Linear(12, 4))
    before = copy.deepcopy(model.state_dict())
    x = torch.randn(64, 8)

    def run(m):
        return m(x)

    for method in ("magnitude", "wanda", "sparsegpt"):
        pruned = prune_model(model, run, method, 0.5)
        assert compression.sparsity(pruned) == 0.5
        assert all(torch.equal(before[k], v) for k, v in model.state_dict().items())
        two_four = prune_model(model, run, method, n_m=(2, 4))
        for layer in compression.prunable_weights(two_four).values():
            nz = (layer.weight != 0).reshape(layer.out_features, -1, 4).sum(-1)
            assert torch.all(nz <= 2)
        # The same as pruning by hand, layer 2 calibrated on the pruned layer 0's outputs.
        manual = copy.deepcopy(model)
        prune_layer(manual[0], x, method, 0.5)
        prune_layer(manual[2], linear_inputs(manual, run)["2"], method, 0.5)
        compression.remove_masks(pruned)
        assert torch.equal(pruned[0].weight, manual[0].weight)
        assert torch.equal(pruned[2].weight, manual[2].weight)
    only_first = prune_model(model, run, "wanda", 0.5, names=["0"])
    assert torch.equal(only_first[2].weight, model[2].weight)


def test_bad_input_names_the_argument():
    w = torch.randn(2, 4)
    h = torch.eye(4, dtype=torch.float64)
    with pytest.raises(ValueError, match="sparsity"):
        unstructured_mask(w, 1.5)
    with pytest.raises(ValueError, match="scores"):
        unstructured_mask(torch.ones(4), 0.5)
    with pytest.raises(ValueError, match="scores"):
        unstructured_mask(torch.tensor([[float("nan"), 1.0]]), 0.5)
    with pytest.raises(ValueError, match="divisible by m"):
        n_m_mask(torch.ones(2, 6), 2, 4)
    with pytest.raises(ValueError, match="n must"):
        n_m_mask(torch.ones(2, 8), 5, 4)
    with pytest.raises(ValueError, match="inputs"):
        wanda_scores(w, torch.ones(3, 5))
    with pytest.raises(ValueError, match="hessian"):
        obs_prune(w, torch.eye(3, dtype=torch.float64), 0)
    with pytest.raises(ValueError, match="index"):
        obs_prune(w, h, 4)
    with pytest.raises(ValueError, match="positive definite"):
        sparsegpt_prune(w, torch.zeros(4, 4, dtype=torch.float64))
    with pytest.raises(ValueError, match="mask"):
        sparsegpt_prune(w, h, mask=torch.ones(2, 3))
    with pytest.raises(TypeError, match="n_m"):
        sparsegpt_prune(w, h, n_m=2)
    with pytest.raises(ValueError, match="method"):
        prune_layer(nn.Linear(4, 2), torch.ones(3, 4), "random")
    with pytest.raises(TypeError, match="layer"):
        prune_layer(nn.Conv1d(1, 1, 1), torch.ones(3, 4), "wanda")
    with pytest.raises(TypeError, match="model"):
        prune_model("model", lambda m: None, "wanda")
    with pytest.raises(TypeError, match="run"):
        prune_model(nn.Linear(4, 2), None, "wanda")
    with pytest.raises(ValueError, match="names"):
        prune_model(nn.Linear(4, 2), lambda m: m(torch.ones(1, 4)), "wanda", names=["x"])
