"""Tests of survey_models.transformer: positions, the block, the GPT, the loss."""

from __future__ import annotations

import math

import pytest
import torch
from torch import nn

from survey_models import train
from survey_models.attention import causal_mask
from survey_models.transformer import GPT, TransformerBlock, lm_loss, sinusoidal_positional_encoding


def test_sinusoidal_encoding_against_formula():
    pe = sinusoidal_positional_encoding(50, 16)
    assert pe.shape == (50, 16) and pe.dtype == torch.float32
    for p in (0, 1, 7, 49):
        for i in range(8):
            angle = p / 10000 ** (2 * i / 16)
            assert pe[p, 2 * i].item() == pytest.approx(math.sin(angle), abs=1e-6)
            assert pe[p, 2 * i + 1].item() == pytest.approx(math.cos(angle), abs=1e-6)


def test_sinusoidal_encoding_odd_width_and_relative_shift_is_linear():
    pe = sinusoidal_positional_encoding(10, 7)
    assert pe.shape == (10, 7)
    assert pe[3, 6].item() == pytest.approx(math.sin(3 / 10000 ** (6 / 7)), abs=1e-6)
    # PE[p + k] is a fixed rotation of PE[p] in each (sin, cos) pair (Vaswani et al. 2017).
    pe = sinusoidal_positional_encoding(40, 8).double()
    k = 5
    for i in range(4):
        w = 1 / 10000 ** (2 * i / 8)
        rot = torch.tensor(
            [[math.cos(k * w), -math.sin(k * w)], [math.sin(k * w), math.cos(k * w)]],
            dtype=torch.float64,
        )
        pair = pe[:, 2 * i : 2 * i + 2]
        assert torch.allclose(pair[:-k] @ rot, pair[k:], atol=1e-5)


@pytest.mark.parametrize("norm_first", [True, False])
@pytest.mark.parametrize("activation", ["relu", "gelu"])
def test_block_matches_torch_encoder_layer(norm_first, activation):
    torch.manual_seed(0)
    ref = nn.TransformerEncoderLayer(
        16,
        4,
        dim_feedforward=32,
        dropout=0.0,
        activation=activation,
        batch_first=True,
        norm_first=norm_first,
    ).eval()
    with torch.no_grad():
        for p in ref.parameters():
            p.add_(0.1 * torch.randn_like(p))  # non-trivial norms and biases
    ours = (
        TransformerBlock(16, 4, d_ff=32, norm_first=norm_first, activation=activation)
        .eval()
        .load_from_torch(ref)
    )
    x = torch.randn(2, 6, 16)
    assert torch.allclose(ours(x), ref(x), atol=1e-5)
    mask = causal_mask(6)
    expected = ref(x, src_mask=~mask)
    assert torch.allclose(ours(x, mask=mask), expected, atol=1e-5)
    assert torch.allclose(ours(x, is_causal=True), expected, atol=1e-5)
    slow, w = ours(x, is_causal=True, need_weights=True)
    assert torch.allclose(slow, expected, atol=1e-5)
    assert w.shape == (2, 4, 6, 6)


@pytest.mark.parametrize("positional", ["learned", "sinusoidal", "none"])
def test_gpt_shapes_and_causality(positional):
    torch.manual_seed(0)
    model = GPT(
        vocab_size=11, block_size=8, n_layer=2, n_head=2, d_model=16, positional=positional
    ).eval()
    idx = torch.randint(11, (3, 8))
    logits = model(idx)
    assert logits.shape == (3, 8, 11)
    for t in range(8):
        changed = idx.clone()
        changed[:, t] = (changed[:, t] + 1) % 11
        new = model(changed)
        assert torch.allclose(logits[:, :t], new[:, :t], atol=1e-5)
        assert not torch.allclose(logits[:, t], new[:, t], atol=1e-4)
    slow, maps = model(idx, return_attention=True)
    assert torch.allclose(slow, logits, atol=1e-5)
    assert len(maps) == 2 and maps[0].shape == (3, 2, 8, 8)
    upper = ~causal_mask(8)
    assert float(maps[1][..., upper].detach().abs().max()) == 0.0


def test_positions_matter_only_when_given():
    torch.manual_seed(0)
    idx = torch.tensor([[1, 2, 3, 1, 2, 3]])
    # Without positions, one causal layer's last output depends on the multiset of tokens
    # seen, not on their order (deeper layers see order through the causal prefixes).
    none = GPT(5, 6, n_layer=1, d_model=16, n_head=2, positional="none").eval()
    swapped = torch.tensor([[3, 2, 1, 1, 2, 3]])
    assert torch.allclose(none(idx)[:, -1], none(swapped)[:, -1], atol=1e-5)
    learned = GPT(5, 6, n_layer=1, d_model=16, n_head=2, positional="learned").eval()
    assert not torch.allclose(learned(idx)[:, -1], learned(swapped)[:, -1], atol=1e-4)


def test_lm_loss_is_cross_entropy_in_nats_and_ignores_minus_100():
    torch.manual_seed(0)
    model = GPT(7, 5, n_layer=1, n_head=1, d_model=8).eval()
    x = torch.randint(7, (2, 5))
    y = torch.randint(7, (2, 5))
    logp = torch.log_softmax(model(x), -1)
    manual = -logp.gather(-1, y.unsqueeze(-1)).mean()
    assert lm_loss(model, x, y).item() == pytest.approx(manual.item(), abs=1e-6)
    y_masked = y.clone()
    y_masked[:, :3] = -100
    manual_masked = -logp[:, 3:].gather(-1, y[:, 3:].unsqueeze(-1)).mean()
    assert lm_loss(model, x, y_masked).item() == pytest.approx(manual_masked.item(), abs=1e-6)
    # An untrained model at init predicts nearly uniformly: loss ≈ log V.
    assert abs(lm_loss(model, x, y).item() - math.log(7)) < 0.1


def test_gpt_learns_a_deterministic_sequence():
    # Copying a fixed cyclic pattern: next token = (token + 1) mod 5 needs no long context.
    torch.manual_seed(0)
    seq = torch.arange(200) % 5
    x = torch.stack([seq[i : i + 8] for i in range(0, 150)])
    y = torch.stack([seq[i + 1 : i + 9] for i in range(0, 150)])
    model = GPT(5, 8, n_layer=1, n_head=2, d_model=16)
    before = train.evaluate(model, lm_loss, (x, y))
    hist = train.fit(model, lm_loss, (x, y), steps=150, batch_size=32, lr=1e-2, seed=0)
    after = train.evaluate(model, lm_loss, (x, y))
    assert before > 1.4 and after < 0.05, (before, after, hist.train_loss)
    out = model.generate(torch.tensor([[0, 1]]), 6, greedy=True)
    assert out.tolist() == [[0, 1, 2, 3, 4, 0, 1, 2]]


def test_generate_sampling_is_reproducible_with_generator():
    torch.manual_seed(0)
    model = GPT(9, 4, n_layer=1, n_head=1, d_model=8)
    start = torch.zeros(2, 1, dtype=torch.long)
    a = model.generate(start, 10, generator=torch.Generator().manual_seed(5))
    b = model.generate(start, 10, generator=torch.Generator().manual_seed(5))
    assert a.shape == (2, 11) and torch.equal(a, b)
    assert model.training  # left in the mode it had


def test_bad_arguments_raise_errors_naming_them():
    with pytest.raises(ValueError, match="d_model.*n_head"):
        GPT(10, 8, n_head=3, d_model=16)
    with pytest.raises(ValueError, match="positional"):
        GPT(10, 8, positional="rotary-ish")
    with pytest.raises(ValueError, match="d_model.*n_head"):
        TransformerBlock(10, 4)
    with pytest.raises(ValueError, match="activation"):
        TransformerBlock(16, 4, activation="tanh")
    model = GPT(10, 8, n_layer=1, n_head=2, d_model=8)
    with pytest.raises(ValueError, match="idx length"):
        model(torch.zeros(1, 9, dtype=torch.long))
    with pytest.raises(ValueError, match="idx values"):
        model(torch.full((1, 3), 10))
    with pytest.raises(TypeError, match="idx must be an int64"):
        model(torch.zeros(1, 3))
    with pytest.raises(ValueError, match="idx must have shape"):
        model(torch.zeros(3, dtype=torch.long))
    with pytest.raises(ValueError, match="y must have the shape"):
        lm_loss(model, torch.zeros(2, 3, dtype=torch.long), torch.zeros(2, 4, dtype=torch.long))
    with pytest.raises(ValueError, match="sinusoidal|length"):
        sinusoidal_positional_encoding(0, 4)


# --- tests that catch a wrong model (issue 12 §5) ----------------------------------------


def test_block_default_mlp_width_is_four_times_d_model_and_dropout_only_trains():
    torch.manual_seed(0)
    block = TransformerBlock(16, 4, dropout=0.5)
    assert block.linear1.weight.shape == (64, 16) and block.linear2.weight.shape == (16, 64)
    plain = TransformerBlock(16, 4, dropout=0.0)
    plain.load_state_dict(block.state_dict())
    x = torch.randn(2, 5, 16)
    block.eval()
    assert torch.equal(block(x), plain.eval()(x))  # eval: dropout is the identity
    block.train()
    assert (block(x) - plain(x)).abs().max() > 1e-2


def test_block_checks_its_input():
    block = TransformerBlock(16, 4)
    with pytest.raises(ValueError, match="x must have last dimension 16"):
        block(torch.randn(2, 5, 8))
    with pytest.raises(TypeError, match="x must be a floating"):
        block(torch.ones(2, 5, 16, dtype=torch.long))
    with pytest.raises(TypeError, match="TransformerEncoderLayer"):
        block.load_from_torch(nn.Linear(16, 16))


def _gpt_parameter_count(v, block, layers, d, positional):
    d_ff = 4 * d
    per_block = (
        4 * (d * d + d)  # q, k, v, out projections
        + (d * d_ff + d_ff)
        + (d_ff * d + d)  # MLP
        + 2 * 2 * d
    )  # two layer norms
    positions = block * d if positional == "learned" else 0
    return v * d + positions + layers * per_block + 2 * d + d * v  # + final norm, head


@pytest.mark.parametrize("positional", ["learned", "sinusoidal", "none"])
def test_gpt_parameters_are_counted_by_hand(positional):
    model = GPT(11, 8, n_layer=2, n_head=2, d_model=16, positional=positional)
    assert model.num_parameters() == _gpt_parameter_count(11, 8, 2, 16, positional)
    assert model.head.bias is None
    assert "sinusoidal" not in model.state_dict()  # a fixed table, not saved


def test_gpt_initialisation_follows_gpt2():
    torch.manual_seed(0)
    model = GPT(64, 16, n_layer=2, n_head=4, d_model=64)
    for module in model.modules():
        if isinstance(module, nn.Linear) and module.bias is not None:
            assert bool((module.bias == 0).all())

    def std(w):
        return w.detach().std().item()

    # 4096 weights per matrix: the sample std is within 4 % of the true one (> 5 s.e.)
    assert std(model.token_embedding.weight) == pytest.approx(0.02, rel=0.04)
    assert std(model.blocks[0].linear1.weight) == pytest.approx(0.02, rel=0.04)
    for block in model.blocks:  # residual projections: 0.02 / sqrt(2 n_layer)
        assert std(block.self_attn.out_proj.weight) == pytest.approx(0.01, rel=0.04)
        assert std(block.linear2.weight) == pytest.approx(0.01, rel=0.04)


@pytest.mark.parametrize("positional", ["learned", "sinusoidal", "none"])
def test_gpt_embedding_adds_the_positions(positional):
    torch.manual_seed(0)
    model = GPT(11, 8, n_layer=1, n_head=2, d_model=16, positional=positional).eval()
    idx = torch.randint(11, (3, 6))
    tokens = model.token_embedding.weight[idx]
    if positional == "learned":
        expected = tokens + model.position_embedding.weight[:6]
    elif positional == "sinusoidal":
        expected = tokens + sinusoidal_positional_encoding(8, 16)[:6]
    else:
        expected = tokens
    torch.testing.assert_close(model.embed(idx), expected)
    with pytest.raises(TypeError, match="idx"):
        model.embed(idx.float())


def _greedy_by_hand(model, idx, steps):
    for _ in range(steps):
        logits = model(idx[:, -model.block_size :])
        idx = torch.cat([idx, logits[:, -1].argmax(-1, keepdim=True)], dim=1)
    return idx


def test_generate_feeds_the_last_block_size_tokens_and_reads_the_last_position():
    torch.manual_seed(0)
    model = GPT(13, 4, n_layer=1, n_head=2, d_model=16, dropout=0.5)  # left in training
    start = torch.randint(13, (2, 3))
    out = model.generate(start, 6, greedy=True)
    assert model.training
    with torch.no_grad():
        expected = _greedy_by_hand(model.eval(), start, 6)
    assert torch.equal(out, expected)
    # a very low temperature samples the argmax
    model.train()
    cold = model.generate(start, 6, temperature=1e-6, generator=torch.Generator().manual_seed(0))
    assert torch.equal(cold, expected)
    hot = model.generate(
        start[:1], 30, temperature=100.0, generator=torch.Generator().manual_seed(0)
    )
    assert len(set(hot[0, 3:].tolist())) > 5  # nearly uniform over 13 tokens


def test_generate_and_lm_loss_check_their_arguments():
    model = GPT(10, 4, n_layer=1, n_head=2, d_model=8)
    start = torch.zeros(1, 2, dtype=torch.long)
    with pytest.raises(ValueError, match="idx length"):
        model.generate(torch.zeros(1, 5, dtype=torch.long), 1)
    with pytest.raises(ValueError, match="max_new_tokens"):
        model.generate(start, 0)
    with pytest.raises(ValueError, match="temperature"):
        model.generate(start, 1, temperature=0.0)
    with pytest.raises(TypeError, match="x and y"):
        lm_loss(model, start, start.tolist())
    with pytest.raises(TypeError, match="x and y"):
        lm_loss(model, start.tolist(), start)
    with pytest.raises(ValueError, match="dropout"):
        GPT(10, 4, dropout=1.5)
    with pytest.raises(ValueError, match="d_model"):
        sinusoidal_positional_encoding(4, 0)
