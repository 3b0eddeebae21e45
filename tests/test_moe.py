"""Tests for survey_models.moe: routing, the balancing loss, dense equivalence, gradients."""

import pytest
import torch

from survey_models.moe import (
    MoEBlock,
    MoEFeedForward,
    MoEGPT,
    load_balancing_loss,
    moe_lm_loss,
    tokens_per_expert,
)
from survey_models.transformer import GPT, TransformerBlock, lm_loss


def _layer(e=4, k=2, d=8, renormalize=True, seed=0):
    torch.manual_seed(seed)
    return MoEFeedForward(d, e, k=k, d_ff=16, renormalize=renormalize).double()


def test_one_expert_is_the_dense_block_exactly():
    # A single expert gets gate 1.0 exactly (softmax of one logit; renormalised or not),
    # and 0 + 1.0 * y is y: the MoE block is the dense TransformerBlock bit for bit.
    torch.manual_seed(0)
    dense = TransformerBlock(8, 2, d_ff=16).eval()
    x = torch.randn(3, 5, 8)
    for renormalize in (True, False):
        moe = MoEBlock(8, 2, n_experts=1, k=1, d_ff=16, renormalize=renormalize).eval()
        moe.load_from_dense(dense)
        assert torch.equal(moe(x), dense(x, is_causal=True))


def test_identical_experts_with_k_equal_e_is_the_dense_mlp():
    # Renormalised gates over all E experts sum to 1 (up to one rounding per gate), so the
    # output is the dense MLP's; float64, observed error ~1e-16, tolerance 1e-12.
    torch.manual_seed(1)
    dense = TransformerBlock(8, 2, d_ff=16).double().eval()
    moe = MoEBlock(8, 2, n_experts=3, k=3, d_ff=16).double().eval().load_from_dense(dense)
    x = torch.randn(2, 6, 8, dtype=torch.float64)
    torch.testing.assert_close(moe(x), dense(x, is_causal=True), rtol=0, atol=1e-12)


@pytest.mark.parametrize("k,renormalize", [(1, False), (1, True), (2, True), (3, False)])
def test_output_equals_a_per_token_loop_over_the_chosen_experts(k, renormalize):
    layer = _layer(e=4, k=k, renormalize=renormalize)
    x = torch.randn(4, 5, 8, dtype=torch.float64)
    y, r = layer(x, return_routing=True)
    flat = x.reshape(-1, 8)
    probs = torch.softmax(flat @ layer.router.weight.T, dim=-1)
    torch.testing.assert_close(r.probs, probs, rtol=0, atol=1e-14)
    for t in range(flat.shape[0]):
        order = sorted(range(4), key=lambda i: -probs[t, i].item())[:k]
        assert r.index[t].tolist() == order  # top-k, most probable first
        p = probs[t, order]
        g = p / p.sum() if renormalize else p
        want = sum(g[j] * layer.expert(order[j], flat[t : t + 1])[0] for j in range(k))
        # float64, different summation order: error ~1e-16, tolerance 1e-12
        torch.testing.assert_close(y.reshape(-1, 8)[t], want, rtol=0, atol=1e-12)
    if renormalize:
        torch.testing.assert_close(r.gates.sum(-1), torch.ones(20, dtype=torch.float64))


def test_balancing_loss_equals_its_formula():
    torch.manual_seed(2)
    probs = torch.softmax(torch.randn(10, 4, dtype=torch.float64), -1)
    index = probs.topk(2, dim=-1).indices
    f = torch.tensor([(index == i).sum().item() / 20 for i in range(4)], dtype=torch.float64)
    want = 0.5 * 4 * sum(f[i] * probs[:, i].mean() for i in range(4))
    torch.testing.assert_close(load_balancing_loss(probs, index, 0.5), want, rtol=1e-14, atol=0)


def test_balancing_loss_known_answers():
    # Exact in binary: uniform P gives α whatever f is; uniform f gives α; everything on
    # one expert with probability 1 gives α·E.
    uniform = torch.full((8, 4), 0.25)
    skewed = torch.zeros(8, 1, dtype=torch.long)
    assert load_balancing_loss(uniform, skewed, 0.5).item() == 0.5
    spread = torch.arange(8).remainder(4).view(8, 1)
    onehot = torch.nn.functional.one_hot(torch.tensor([0, 1, 0, 3, 2, 0, 0, 1]), 4).float()
    assert load_balancing_loss(onehot, spread, 0.5).item() == 0.5
    collapsed = torch.nn.functional.one_hot(torch.zeros(8, dtype=torch.long), 4).float()
    assert load_balancing_loss(collapsed, skewed, 0.5).item() == 0.5 * 4
    # balanced routing with uniform probabilities: the minimum α
    assert load_balancing_loss(uniform, spread, 0.5).item() == 0.5


def test_balancing_loss_gradient_flows_through_p_only():
    logits = torch.zeros(4, 2, requires_grad=True)
    probs = torch.softmax(logits, -1)
    index = torch.zeros(4, 1, dtype=torch.long)  # all tokens to expert 0
    load_balancing_loss(probs, index, 1.0).backward()
    # d/dlogit_0 of 2 * mean(p_0) at p = 1/2: 2 * (1/4) * p0 (1 - p0) = 1/8 per token
    assert torch.equal(logits.grad[:, 0], torch.full((4,), 0.125))
    assert torch.equal(logits.grad[:, 1], torch.full((4,), -0.125))


def test_gradients_reach_only_the_chosen_experts():
    layer = _layer(e=4, k=2)
    with torch.no_grad():  # positive inputs and a negative row: expert 3 is never chosen
        layer.router.weight.abs_()
        layer.router.weight[3] = -1.0
    x = torch.rand(6, 8, dtype=torch.float64)
    y, r = layer(x, return_routing=True)
    assert 3 not in r.index.tolist()
    y.square().sum().backward()
    used = set(r.index.reshape(-1).tolist())
    for i, expert in enumerate(layer.experts):
        for p in expert.parameters():
            if i in used:
                assert p.grad is not None and bool(p.grad.abs().sum() > 0)
            else:
                assert p.grad is None or not bool(p.grad.any())


def test_tokens_per_expert_counts():
    index = torch.tensor([[0, 2], [2, 1], [2, 0]])
    assert tokens_per_expert(index, 4).tolist() == [2, 1, 3, 0]


def test_gradcheck_float64():
    layer = _layer(e=3, k=2)
    x = torch.randn(5, 8, dtype=torch.float64, requires_grad=True)
    # top-k choices are piecewise constant: away from ties the layer is smooth in x
    assert torch.autograd.gradcheck(lambda t: layer(t), (x,), eps=1e-6, atol=1e-5)


def test_moe_gpt_shapes_params_and_loss():
    torch.manual_seed(3)
    model = MoEGPT(11, 8, n_experts=4, k=1, n_layer=2, n_head=2, d_model=16)
    dense = GPT(11, 8, n_layer=2, n_head=2, d_model=16)
    idx = torch.randint(11, (3, 8))
    logits, aux, counts = model(idx, return_aux=True)
    assert logits.shape == (3, 8, 11) and aux.dim() == 0
    assert counts.shape == (2, 4) and counts.sum(1).tolist() == [24, 24]
    router = 2 * 4 * 16
    assert model.num_active_parameters() == dense.num_parameters() + router
    model.train()
    with_aux = moe_lm_loss(model, idx, idx)
    torch.testing.assert_close(with_aux, lm_loss(model, idx, idx) + aux, rtol=1e-6, atol=0)
    model.eval()
    assert torch.equal(moe_lm_loss(model, idx, idx), lm_loss(model, idx, idx))
    assert model.generate(idx[:1, :2], 3, greedy=True).shape == (1, 5)


def test_bad_input():
    with pytest.raises(ValueError, match="k must be <= n_experts"):
        MoEFeedForward(8, 2, k=3)
    with pytest.raises(ValueError, match="n_experts"):
        MoEFeedForward(8, 0)
    with pytest.raises(TypeError, match="renormalize"):
        MoEFeedForward(8, 2, renormalize=1)
    with pytest.raises(ValueError, match="x must have last dimension 8"):
        MoEFeedForward(8, 2)(torch.randn(3, 5))
    with pytest.raises(TypeError, match="x must be a floating"):
        MoEFeedForward(8, 2)(torch.ones(3, 8, dtype=torch.long))
    with pytest.raises(ValueError, match="alpha"):
        load_balancing_loss(torch.full((2, 2), 0.5), torch.zeros(2, 1, dtype=torch.long), -1.0)
    with pytest.raises(ValueError, match="expert_index values"):
        load_balancing_loss(torch.full((2, 2), 0.5), torch.full((2, 1), 2))
    with pytest.raises(ValueError, match="expert_index must have 2 rows"):
        load_balancing_loss(torch.full((2, 2), 0.5), torch.zeros(3, 1, dtype=torch.long))
    with pytest.raises(ValueError, match="balance_coef"):
        MoEGPT(5, 4, balance_coef=-0.1, d_model=8, n_head=2)
    with pytest.raises(TypeError, match="model must be a MoEGPT"):
        moe_lm_loss(
            GPT(5, 4, d_model=8, n_head=2),
            torch.zeros(1, 4, dtype=torch.long),
            torch.zeros(1, 4, dtype=torch.long),
        )
