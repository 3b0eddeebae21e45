"""Bad input at every public entry point (issue 12, section 4).

Each bad call must raise ``ValueError`` or ``TypeError`` whose message names the argument
at fault; the few calls that were silently wrong on *good* input (a short random_bits, a
mask on another device, NaN through Int8Linear) are checked for the right answer.
``benchmarks/bad_input_probe.py`` runs a larger table of the same kind.
"""

from __future__ import annotations

import math

import pytest
import torch
from torch import nn

from survey_models import (
    attention,
    compression,
    convolution,
    data,
    diffusion,
    distillation,
    energy,
    gan,
    metrics,
    multimodal,
    reasoning,
    scaling,
    text,
    train,
    transformer,
)
from survey_models import autoencoders as ae

NAN, INF = math.nan, math.inf
X2 = torch.randn(16, 2, generator=torch.Generator().manual_seed(0))
X64 = torch.rand(8, 64, generator=torch.Generator().manual_seed(0))
EYE = torch.eye(2, dtype=torch.float64)
ZERO2 = torch.zeros(2, dtype=torch.float64)
LONG = torch.zeros(2, 3, dtype=torch.long)


def mse(model: nn.Module, x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    return ((model(x) - y) ** 2).mean()


def fit(**kwargs):
    """A one-epoch fit of a linear model on (X2, X2[:, :1]), with ``kwargs`` changed."""
    args = {
        "model": nn.Linear(2, 1),
        "loss_fn": mse,
        "data": (X2, X2[:, :1]),
        "epochs": 1,
        **kwargs,
    }
    return lambda: train.fit(args.pop("model"), args.pop("loss_fn"), args.pop("data"), **args)


# Every item of the issue's list, as (call, name the message must contain).
ISSUE_CASES = {
    "fit grad_clip=-1": (fit(grad_clip=-1.0), "grad_clip"),
    "fit grad_clip=nan": (fit(grad_clip=NAN), "grad_clip"),
    "fit lr=inf": (fit(lr=INF), "lr"),
    "fit empty data": (fit(data=(torch.zeros(0, 2), torch.zeros(0, 1))), "data"),
    "fit float64 data": (fit(data=(X2.double(), X2[:, :1].double())), "data"),
    "fit lengths differ": (fit(data=(X2, X2[:3, :1])), "data"),
    "NoiseSchedule beta_start=0.012": (
        lambda: diffusion.NoiseSchedule(10, beta_start=0.012),
        "beta_start",
    ),
    "split_ids empty training split": (
        lambda: text.split_ids(torch.arange(4), 0.1),
        "val_fraction",
    ),
    "frechet_distance non-symmetric": (
        lambda: metrics.frechet_distance(ZERO2, torch.tensor([[1.0, 5.0], [0.0, 1.0]]), ZERO2, EYE),
        "cov1",
    ),
    "label_accuracy labels out of range": (
        lambda: metrics.label_accuracy(X64, torch.full((8,), 10)),
        "labels",
    ),
    "addition_scratchpad(-5, 3, 2)": (lambda: reasoning.addition_scratchpad(-5, 3, 2), "a"),
    "decode_addition(tensor([-1]))": (
        lambda: reasoning.decode_addition(torch.tensor([-1])),
        "tokens",
    ),
    "digits_split(0.001)": (lambda: data.digits_split(0.001), "test_fraction"),
    "SmallCNN three channels": (lambda: convolution.SmallCNN()(torch.rand(2, 3, 8, 8)), "x"),
    "TransformerBlock wrong width": (
        lambda: transformer.TransformerBlock(8, 2)(torch.rand(2, 3, 4)),
        "x",
    ),
    "TransformerBlock 2-D input": (
        lambda: transformer.TransformerBlock(8, 2)(torch.rand(3, 8)),
        "x",
    ),
    "PatchAttentionClassifier n_layer=-3": (
        lambda: convolution.PatchAttentionClassifier(8, n_layer=-3),
        "n_layer",
    ),
    "PatchAttentionClassifier wrong side": (
        lambda: convolution.PatchAttentionClassifier(8, d_model=8, n_head=2, n_layer=1)(
            torch.rand(2, 1, 4, 8)
        ),
        "x",
    ),
}

# Further bad calls found by probing every module (benchmarks/bad_input_probe.py).
FURTHER_CASES = {
    "fit grad_clip=0": (fit(grad_clip=0.0), "grad_clip"),
    "fit weight_decay=inf": (fit(weight_decay=INF), "weight_decay"),
    "fit log_every=-1": (fit(epochs=None, steps=4, log_every=-1), "log_every"),
    "fit NaN data": (fit(data=(torch.tensor([[NAN, 1.0]]), torch.zeros(1, 1))), "data"),
    "fit empty val_data": (fit(val_data=(torch.zeros(0, 2), torch.zeros(0, 1))), "val_data"),
    "fit model not a module": (fit(model="m"), "model"),
    "fit loss_fn not callable": (fit(loss_fn=3), "loss_fn"),
    "fit callback not callable": (fit(callback=5), "callback"),
    "fit seed": (fit(seed="x"), "seed"),
    "evaluate batch_size=0": (
        lambda: train.evaluate(nn.Linear(2, 1), mse, (X2, X2[:, :1]), batch_size=0),
        "batch_size",
    ),
    "set_seed(-1)": (lambda: train.set_seed(-1), "seed"),
    "ring_of_gaussians radius=nan": (lambda: data.ring_of_gaussians(8, radius=NAN), "radius"),
    "ring_of_gaussians std=inf": (lambda: data.ring_of_gaussians(8, std=INF), "std"),
    "digits_split seed=-1": (lambda: data.digits_split(0.3, seed=-1), "seed"),
    "binarize not a tensor": (lambda: data.binarize("x"), "x"),
    "bigram_counts ids >= vocab_size": (lambda: text.bigram_counts(torch.arange(9), 3), "ids"),
    "bigram_nll counts not square": (
        lambda: text.bigram_nll(torch.ones(3, 2), torch.tensor([0]), torch.tensor([1])),
        "counts",
    ),
    "unigram_nll y out of range": (
        lambda: text.unigram_nll(torch.arange(3), torch.tensor([5]), 3),
        "y",
    ),
    "CharTokenizer.decode strings": (lambda: text.CharTokenizer("abc").decode("ab"), "ids"),
    "addition_scratchpad n_digits=0": (lambda: reasoning.addition_scratchpad(3, 3, 0), "n_digits"),
    "split_task not a task": (lambda: reasoning.split_task("x", 0.5), "task"),
    "exact_match batch_size=0": (
        lambda: reasoning.exact_match(
            transformer.GPT(4, 4, 1, 1, 8), reasoning.modular_addition_task(3), batch_size=0
        ),
        "batch_size",
    ),
    "frechet_distance mu2 wrong length": (
        lambda: metrics.frechet_distance(ZERO2, EYE, torch.zeros(3), EYE),
        "mu2",
    ),
    "mmd_rbf bandwidth=inf": (lambda: metrics.mmd_rbf(X2, X2, INF), "bandwidth"),
    "knn_precision_recall k too large": (lambda: metrics.knn_precision_recall(X2, X2, 16), "k"),
    "q_step noise wrong shape": (
        lambda: diffusion.NoiseSchedule(10).q_step(
            X2, torch.zeros(16, dtype=torch.long), torch.zeros(16, 3)
        ),
        "noise",
    ),
    "predict_x0 eps wrong shape": (
        lambda: diffusion.NoiseSchedule(10).predict_x0(
            X2, torch.zeros(16, dtype=torch.long), torch.zeros(16, 3)
        ),
        "eps",
    ),
    "timestep_embedding t 2-D": (lambda: diffusion.timestep_embedding(LONG, 4), "t"),
    "timestep_embedding max_period=0": (
        lambda: diffusion.timestep_embedding(torch.arange(3), 4, max_period=0.0),
        "max_period",
    ),
    "ddpm_step schedule": (lambda: diffusion.ddpm_step("s", X2, torch.zeros(16), X2), "schedule"),
    "ddpm_sample shape": (
        lambda: diffusion.ddpm_sample(lambda x, t: x, diffusion.NoiseSchedule(10), (-1, 2)),
        "shape",
    ),
    "ddim_sigma t=1.5": (
        lambda: diffusion.ddim_sigma(diffusion.NoiseSchedule(10), 1.5, 0, 0.0),
        "t",
    ),
    "LatentCodec.fit one row": (
        lambda: diffusion.LatentCodec.fit(nn.Identity(), nn.Identity(), X2[:1]),
        "x",
    ),
    "RBM forward wrong width": (lambda: energy.RBM(4, 3)(torch.zeros(2, 3)), "v"),
    "train_rbm empty data": (lambda: energy.train_rbm(energy.RBM(4, 3), torch.zeros(0, 4)), "data"),
    "train_rbm eval_data wrong width": (
        lambda: energy.train_rbm(
            energy.RBM(4, 3), torch.zeros(6, 4), epochs=1, eval_data=torch.zeros(2, 3), eval_every=1
        ),
        "eval_data",
    ),
    "bernoulli baseline empty test": (
        lambda: energy.bernoulli_baseline_log_likelihood(torch.zeros(4, 4), torch.zeros(0, 4)),
        "test",
    ),
    "DBN.sample start too short": (
        lambda: energy.DBN([4, 3, 2]).sample(8, 1, start=torch.zeros(2, 4)),
        "start",
    ),
    "Int8Linear scale wrong size": (
        lambda: compression.Int8Linear(torch.zeros(3, 4, dtype=torch.int8), torch.ones(2), None),
        "scale",
    ),
    "apply_masks mask not a tensor": (
        lambda: compression.apply_masks(nn.Sequential(nn.Linear(4, 3)), {"0": [[1.0]]}),
        "masks",
    ),
    "state_dict_bytes not a module": (lambda: compression.state_dict_bytes("m"), "model"),
    "place_on_canvas float offsets": (
        lambda: convolution.place_on_canvas(torch.rand(2, 4, 4), 8, torch.full((2, 2), 1.5)),
        "offsets",
    ),
    "SmallCNN bool channel": (lambda: convolution.SmallCNN(channels=(16, True)), "channels"),
    "SmallCNN pool_every=True": (lambda: convolution.SmallCNN(pool_every=True), "pool_every"),
    "SmallCNN input too small to pool": (
        lambda: convolution.SmallCNN(channels=(4, 4, 4))(torch.rand(2, 1, 2, 2)),
        "x",
    ),
    "dense_parameters negative": (lambda: convolution.dense_parameters(-1, 2), "n_in"),
    "accuracy y wrong length": (
        lambda: convolution.accuracy(
            convolution.SmallCNN(), torch.rand(2, 1, 8, 8), torch.zeros(1, dtype=torch.long)
        ),
        "y",
    ),
    "lm_loss float x": (
        lambda: transformer.lm_loss(transformer.GPT(5, 4, 1, 1, 8), torch.zeros(2, 3), LONG),
        "x",
    ),
    "GPT.generate temperature=inf": (
        lambda: transformer.GPT(5, 4, 1, 1, 8).generate(LONG, 1, temperature=INF),
        "temperature",
    ),
    "RecallModel float keys": (
        lambda: attention.RecallModel(8, 4, d_model=4)(
            torch.zeros(2, 3), LONG, torch.zeros(2, dtype=torch.long)
        ),
        "keys",
    ),
    "gradient_penalty epsilon wrong length": (
        lambda: gan.gradient_penalty(gan.MLPDiscriminator(2, 8, 1), X2, X2, epsilon=torch.rand(3)),
        "epsilon",
    ),
    "train_adversarial betas": (
        lambda: gan.train_adversarial(
            gan.MLPGenerator(2, 2, 8, 1),
            gan.MLPDiscriminator(2, 8, 1),
            X2,
            steps=1,
            betas=(1.5, 0.9),
        ),
        "betas",
    ),
    "train_adversarial empty data": (
        lambda: gan.train_adversarial(
            gan.MLPGenerator(2, 2, 8, 1), gan.MLPDiscriminator(2, 8, 1), torch.zeros(0, 2), steps=1
        ),
        "data",
    ),
    "StyleGenerator mixing_prob": (lambda: gan.StyleGenerator(mixing_prob="0.5"), "mixing_prob"),
    "with_label_noise n_classes=1": (
        lambda: scaling.with_label_noise(torch.zeros(4, dtype=torch.long), 0.5, 1),
        "n_classes",
    ),
    "random_features_error float labels": (
        lambda: scaling.random_features_error(
            X2, torch.zeros(16), X2, torch.zeros(16, dtype=torch.long), 4
        ),
        "y_train",
    ),
    "double_descent_curve feature_counts": (
        lambda: scaling.double_descent_curve(
            X2, torch.zeros(16, dtype=torch.long), X2, torch.zeros(16, dtype=torch.long), [0], [0]
        ),
        "feature_counts",
    ),
    "fit_power_law NaN": (lambda: scaling.fit_power_law([1, NAN, 3], [1, 2, 3]), "n"),
    "MLP hidden not a sequence": (lambda: scaling.MLP(hidden=5), "hidden"),
    "teacher_regression_data n=1": (lambda: scaling.teacher_regression_data(1), "n"),
    "digit_caption template not str": (lambda: multimodal.digit_caption(3, 5), "template"),
    "CharTokenizer.encode texts": (
        lambda: multimodal.CharTokenizer(["ab"]).encode([5], 2),
        "texts",
    ),
    "text_image_sequences caption out of range": (
        lambda: multimodal.text_image_sequences(torch.full((2, 3), 7), LONG, 5),
        "caption_tokens",
    ),
    "generate_images vq": (
        lambda: multimodal.generate_images(transformer.GPT(5, 4, 1, 1, 8), LONG, "v", 5),
        "vq",
    ),
    "caption_pairs tokenizer": (
        lambda: multimodal.caption_pairs(X64, torch.arange(8), "t", ["{d}"]),
        "tokenizer",
    ),
    "distillation_loss targets out of range": (
        lambda: distillation.distillation_loss(
            torch.zeros(4, 3), torch.zeros(4, 3), torch.full((4,), 3)
        ),
        "targets",
    ),
    "teacher_logits batch_size=0": (
        lambda: distillation.teacher_logits(nn.Linear(2, 3), X2, batch_size=0),
        "batch_size",
    ),
    "shift_class_bias cls out of range": (lambda: distillation.shift_class_bias(3, 3, 1.0), "cls"),
    "shift_class_bias amount=nan": (lambda: distillation.shift_class_bias(3, 0, NAN), "amount"),
    "best_bias_shift empty candidates": (
        lambda: distillation.best_bias_shift(
            nn.Linear(2, 3), X2, torch.zeros(16, dtype=torch.long), 0, torch.zeros(0)
        ),
        "candidates",
    ),
    "ConvAutoencoder.decode wrong code": (
        lambda: ae.ConvAutoencoder().decode(torch.rand(2, 8)),
        "h",
    ),
    "reconstruction_errors target not a tensor": (
        lambda: ae.reconstruction_errors(ae.Autoencoder(4, 2), torch.rand(2, 4), [0.0]),
        "target",
    ),
    "jacobian_norm_sq not an Autoencoder": (
        lambda: ae.jacobian_norm_sq(nn.Linear(4, 4), torch.rand(2, 4)),
        "model",
    ),
    "corrupt gaussian noise_level=inf": (
        lambda: ae.corrupt(torch.rand(2, 4), "gaussian", INF),
        "noise_level",
    ),
    "reparameterize eps wrong shape": (
        lambda: ae.reparameterize(torch.zeros(2, 2), torch.zeros(2, 2), torch.zeros(3)),
        "eps",
    ),
    "gaussian_kl shapes differ": (
        lambda: ae.gaussian_kl(torch.zeros(2, 2), torch.zeros(2, 3)),
        "log_var",
    ),
}


@pytest.mark.parametrize(
    "call, name",
    list({**ISSUE_CASES, **FURTHER_CASES}.values()),
    ids=list({**ISSUE_CASES, **FURTHER_CASES}),
)
def test_bad_call_names_the_argument(call, name):
    with pytest.raises((ValueError, TypeError), match=rf"(?<![\w]){name}(?![\w])"):
        call()


@pytest.mark.parametrize("bad", [NAN, INF])
def test_fit_stops_on_a_non_finite_loss_and_names_the_step(bad):
    model = nn.Linear(2, 1)
    calls = []

    def loss_fn(m, x, y):
        calls.append(1)
        loss = mse(m, x, y)
        return loss * bad if len(calls) == 3 else loss  # finite for two steps, then not

    before = {}

    def remember(step, m):
        before.update({k: v.clone() for k, v in m.state_dict().items()})

    with pytest.raises(FloatingPointError, match="at step 3"):
        train.fit(
            model, loss_fn, (X2, X2[:, :1]), steps=5, batch_size=4, log_every=2, callback=remember
        )
    # The failing step made no update: the weights are those after step 2.
    for k, v in model.state_dict().items():
        assert torch.equal(v, before[k])


def test_fit_still_trains_with_a_valid_grad_clip():
    torch.manual_seed(0)
    history = train.fit(nn.Linear(2, 1), mse, (X2, X2[:, :1]), epochs=3, grad_clip=1.0)
    assert len(history.train_loss) == 3 and all(map(math.isfinite, history.train_loss))


def test_rbm_forward_is_the_hidden_probabilities():
    torch.manual_seed(0)
    rbm = energy.RBM(6, 4, init_std=0.5)
    v = torch.bernoulli(torch.full((5, 6), 0.5))
    out = rbm(v)
    assert out.shape == (5, 4)
    assert torch.equal(out, rbm.p_h(v))
    assert torch.allclose(out, torch.sigmoid(v @ rbm.W + rbm.c))


def test_mask_pixels_works_on_any_device():
    # The meta device stands for a GPU: before, the mask was made on the CPU and the
    # product failed with a device mismatch.
    x = torch.ones(4, 8, device="meta")
    assert data.mask_pixels(x, 0.5).device == x.device
    g = torch.Generator().manual_seed(0)
    assert data.mask_pixels(x, 0.5, generator=g).device == x.device
    # On the CPU, a seeded generator gives the same mask as before the change.
    cpu = torch.ones(4, 8)
    expected = cpu * (torch.rand(cpu.shape, generator=torch.Generator().manual_seed(1)) >= 0.25)
    assert torch.equal(data.mask_pixels(cpu, 0.25, torch.Generator().manual_seed(1)), expected)


@pytest.mark.parametrize("seed", range(8))
def test_random_bits_returns_all_rows_when_n_is_close_to_2_to_the_n_bits(monkeypatch, seed):
    # random_bits(2**21, 21) used to return fewer rows: 4n draws of 21-bit codes hold
    # fewer than 2**21 distinct values. The same sampling path at 5 bits, all 32 codes:
    monkeypatch.setattr(reasoning.tasks, "_PERMUTE_MAX_BITS", 3)
    bits = reasoning.random_bits(32, 5, seed=seed)
    assert bits.shape == (32, 5)
    assert len({tuple(r) for r in bits.tolist()}) == 32


def test_int8_linear_keeps_nan_as_nan():
    layer = compression.Int8Linear.from_linear(nn.Linear(4, 3))
    x = torch.tensor([[NAN, 1.0, 2.0, 3.0], [1.0, 2.0, 3.0, 4.0], [INF, 0.0, 0.0, 0.0]])
    y = layer(x)
    assert torch.isnan(y[0]).all() and torch.isnan(y[2]).all()
    assert torch.isfinite(y[1]).all() and y[1].abs().max() < 100
    assert torch.isnan(compression.fake_quantize(torch.tensor([NAN, 1.0]), 8)).all()
