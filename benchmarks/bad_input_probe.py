"""Probe the public functions and constructors of ``survey_models`` with bad arguments.

Run as a script (it is not a test)::

    .venv/bin/python benchmarks/bad_input_probe.py [-v]

Each row of the table below is one bad call and the argument it gets wrong. A call is
answered **well** when it raises ``ValueError`` or ``TypeError`` (``FloatingPointError``
for a loss that becomes NaN) whose message names that argument. Everything else is
listed: a call that is accepted, an error from deep inside PyTorch, or an error that does
not say which argument is at fault. The script prints; it asserts nothing.
"""

from __future__ import annotations

import argparse
import math
import re
import sys
from collections.abc import Callable

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
Case = tuple[str, str, Callable[[], object], tuple[type[BaseException], ...]]
CASES: list[Case] = []
NAMED = (ValueError, TypeError)


def bad(
    label: str, name: str, thunk: Callable[[], object], exc: tuple[type[BaseException], ...] = NAMED
) -> None:
    """Register a bad call: ``thunk()`` should raise one of ``exc`` naming ``name``."""
    CASES.append((label, name, thunk, exc))


def bads(
    prefix: str, name: str, make: Callable[[object], Callable[[], object]], values: list[object]
) -> None:
    """One case per bad value of one argument."""
    for v in values:
        bad(f"{prefix}({name}={v!r})", name, make(v))


torch.manual_seed(0)
X2 = torch.randn(16, 2)
X64 = torch.rand(8, 64)
Y10 = torch.arange(8) % 10
NAN_ROW = torch.tensor([[NAN, 1.0]])
INTS = torch.arange(6).reshape(3, 2)

# --------------------------------------------------------------------------------------
# train
# --------------------------------------------------------------------------------------


def mse(model: nn.Module, x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    return ((model(x) - y) ** 2).mean()


def fit(**kw: object) -> Callable[[], object]:
    args = {"model": nn.Linear(2, 1), "loss_fn": mse, "data": (X2, X2[:, :1]), "epochs": 1}
    args.update(kw)
    return lambda: train.fit(args.pop("model"), args.pop("loss_fn"), args.pop("data"), **args)


for name, values in {
    "grad_clip": [-1.0, NAN, INF, 0.0, "1"],
    "lr": [INF, NAN, -1.0, 0, True],
    "weight_decay": [-1.0, NAN, INF],
    "epochs": [0, -1, 1.5, True],
    "batch_size": [0, 2.0],
    "optimizer": ["rmsprop"],
    "log_every": [0, -1],
    "seed": ["x", 1.5],
}.items():
    for v in values:
        bad(f"fit({name}={v!r})", name, fit(**{name: v}))
bad("fit(steps=0)", "steps", fit(epochs=None, steps=0))
bad("fit(steps=5, log_every=-1)", "log_every", fit(epochs=None, steps=5, log_every=-1))
bad("fit(no epochs, no steps)", "epochs", fit(epochs=None))
bad("fit(data=empty)", "data", fit(data=(torch.zeros(0, 2), torch.zeros(0, 1))))
bad("fit(data=[])", "data", fit(data=[]))
bad("fit(data lengths differ)", "data", fit(data=(X2, X2[:3, :1])))
bad("fit(data=float64)", "data", fit(data=(X2.double(), X2[:, :1].double())))
bad("fit(data=NaN)", "data", fit(data=(NAN_ROW, torch.zeros(1, 1))))
bad("fit(data='abc')", "data", fit(data="abc"))
bad("fit(val_data lengths differ)", "val_data", fit(val_data=(X2, X2[:3, :1])))
bad("fit(val_data=empty)", "val_data", fit(val_data=(torch.zeros(0, 2), torch.zeros(0, 1))))
bad("fit(model='m')", "model", fit(model="m"))
bad("fit(loss_fn=3)", "loss_fn", fit(loss_fn=3))
bad("fit(callback=5)", "callback", fit(callback=5))
bad("fit(loss not scalar)", "loss_fn", fit(loss_fn=lambda m, x, y: m(x) - y))
bad(
    "fit(loss is NaN)",
    "step",
    fit(loss_fn=lambda m, x, y: mse(m, x, y) * NAN),
    exc=(FloatingPointError,),
)
bad(
    "fit(loss is inf)",
    "step",
    fit(loss_fn=lambda m, x, y: mse(m, x, y) + INF),
    exc=(FloatingPointError,),
)
bad(
    "evaluate(batch_size=0)",
    "batch_size",
    lambda: train.evaluate(nn.Linear(2, 1), mse, (X2, X2[:, :1]), batch_size=0),
)
bad(
    "evaluate(data=empty)",
    "data",
    lambda: train.evaluate(nn.Linear(2, 1), mse, (torch.zeros(0, 2), torch.zeros(0, 1))),
)
bad("History().final_train_loss", "train_loss", lambda: train.History().final_train_loss)
bad("set_seed('a')", "seed", lambda: train.set_seed("a"))
bad("set_seed(-1)", "seed", lambda: train.set_seed(-1))

# --------------------------------------------------------------------------------------
# data
# --------------------------------------------------------------------------------------
bads(
    "digits_split",
    "test_fraction",
    lambda v: lambda: data.digits_split(v),
    [0.001, 0.9995, 0.0, 1.0, NAN, "0.3"],
)
bads("digits_split", "seed", lambda v: lambda: data.digits_split(0.3, seed=v), [-1, 1.5])
bads("binarize", "threshold", lambda v: lambda: data.binarize(X64, v), [NAN, 2.0])
bad("binarize(x='x')", "x", lambda: data.binarize("x"))
bads("mask_pixels", "fraction", lambda v: lambda: data.mask_pixels(X64, v), [1.5, NAN])
bad("mask_pixels(x=list)", "x", lambda: data.mask_pixels([1.0, 2.0], 0.5))
bads("ring_of_gaussians", "n", lambda v: lambda: data.ring_of_gaussians(v), [0, 2.5])
bads("ring_of_gaussians", "modes", lambda v: lambda: data.ring_of_gaussians(8, modes=v), [0])
bads("ring_of_gaussians", "std", lambda v: lambda: data.ring_of_gaussians(8, std=v), [INF, -1])
bads(
    "ring_of_gaussians",
    "radius",
    lambda v: lambda: data.ring_of_gaussians(8, radius=v),
    [NAN, INF, "2"],
)
bads("swiss_roll_2d", "noise", lambda v: lambda: data.swiss_roll_2d(8, noise=v), [INF, NAN])
bads("swiss_roll_2d", "n", lambda v: lambda: data.swiss_roll_2d(v), [-3, True])

# --------------------------------------------------------------------------------------
# text
# --------------------------------------------------------------------------------------
TOK = text.CharTokenizer("abc")
bad("load_corpus('x')", "name", lambda: text.load_corpus("x"))
bad("CharTokenizer('')", "corpus", lambda: text.CharTokenizer(""))
bads("CharTokenizer", "corpus", lambda v: lambda: text.CharTokenizer(v), [5, [], [1]])
bad("CharTokenizer(specials=1)", "specials", lambda: text.CharTokenizer("a", specials=1))
bad("encode(5)", "texts", lambda: TOK.encode(5))
bad("encode('abz')", "texts", lambda: TOK.encode("abz"))
bad("encode(['a'], 2) without specials", "texts", lambda: TOK.encode(["a"], 2))
bad("decode([9])", "ids", lambda: TOK.decode([9]))
bad("decode('ab')", "ids", lambda: TOK.decode("ab"))
bad("decode(2-D)", "ids", lambda: TOK.decode(torch.zeros(2, 2, dtype=torch.long)))
bad("decode([1.5])", "ids", lambda: TOK.decode([1.5]))
bad("split_ids(arange(4), 0.1)", "val_fraction", lambda: text.split_ids(torch.arange(4), 0.1))
bad("split_ids(arange(4), 0.9)", "val_fraction", lambda: text.split_ids(torch.arange(4), 0.9))
bad("split_ids(val_fraction=0)", "val_fraction", lambda: text.split_ids(torch.arange(9), 0.0))
bad("split_ids(ids=2-D)", "ids", lambda: text.split_ids(INTS, 0.5))
bad("split_ids(ids=list)", "ids", lambda: text.split_ids([1, 2, 3], 0.5))
bads("windows", "block_size", lambda v: lambda: text.windows(torch.arange(9), v), [0, 2.0])
bads("windows", "stride", lambda v: lambda: text.windows(torch.arange(9), 2, v), [0, -1])
bad("windows(ids too short)", "ids", lambda: text.windows(torch.arange(3), 5))
bad("windows(ids=2-D)", "ids", lambda: text.windows(INTS, 1))
bad("windows(ids float)", "ids", lambda: text.windows(torch.rand(9), 2))
bad("bigram_counts(vocab_size=0)", "vocab_size", lambda: text.bigram_counts(torch.arange(4), 0))
bad("bigram_counts(ids >= vocab)", "ids", lambda: text.bigram_counts(torch.arange(9), 3))
bad("bigram_counts(ids<0)", "ids", lambda: text.bigram_counts(torch.tensor([0, -1, 2]), 3))
bad("bigram_counts(ids float)", "ids", lambda: text.bigram_counts(torch.rand(5), 3))
bad("bigram_counts(ids 2-D)", "ids", lambda: text.bigram_counts(INTS, 6))
COUNTS = text.bigram_counts(torch.tensor([0, 1, 2, 0]), 3)
bad(
    "bigram_nll(alpha=-1)",
    "alpha",
    lambda: text.bigram_nll(COUNTS, torch.tensor([0]), torch.tensor([1]), -1.0),
)
bad(
    "bigram_nll(alpha=inf)",
    "alpha",
    lambda: text.bigram_nll(COUNTS, torch.tensor([0]), torch.tensor([1]), INF),
)
bad(
    "bigram_nll(x out of range)",
    "x",
    lambda: text.bigram_nll(COUNTS, torch.tensor([7]), torch.tensor([1])),
)
bad(
    "bigram_nll(x, y shapes differ)",
    "y",
    lambda: text.bigram_nll(COUNTS, torch.tensor([0, 1]), torch.tensor([1])),
)
bad(
    "bigram_nll(counts not square)",
    "counts",
    lambda: text.bigram_nll(torch.ones(3, 2), torch.tensor([0]), torch.tensor([1])),
)
bad(
    "unigram_nll(vocab_size=0)",
    "vocab_size",
    lambda: text.unigram_nll(torch.arange(3), torch.tensor([1]), 0),
)
bad("unigram_nll(y >= vocab)", "y", lambda: text.unigram_nll(torch.arange(3), torch.tensor([5]), 3))
bad(
    "unigram_nll(train_ids float)",
    "train_ids",
    lambda: text.unigram_nll(torch.rand(3), torch.tensor([1]), 3),
)

# --------------------------------------------------------------------------------------
# reasoning
# --------------------------------------------------------------------------------------
bad("parity_task(bits=2)", "bits", lambda: reasoning.parity_task(torch.full((2, 3), 2)))
bad("parity_task(bits 1-D)", "bits", lambda: reasoning.parity_task(torch.ones(3)))
bads("random_bits", "n", lambda v: lambda: reasoning.random_bits(v, 3), [0, 9, 2.0])
bads("random_bits", "n_bits", lambda v: lambda: reasoning.random_bits(2, v), [0, True])
bads(
    "addition_scratchpad",
    "a",
    lambda v: lambda: reasoning.addition_scratchpad(v, 3, 2),
    [-5, 100, 2.5],
)
bads(
    "addition_scratchpad", "b", lambda v: lambda: reasoning.addition_scratchpad(3, v, 2), [-1, "3"]
)
bads(
    "addition_scratchpad",
    "n_digits",
    lambda v: lambda: reasoning.addition_scratchpad(3, 3, v),
    [0, -2],
)
bad(
    "addition_task(a float)",
    "a",
    lambda: reasoning.addition_task(torch.tensor([1.0]), torch.tensor([2])),
)
bad(
    "addition_task(b too big)",
    "b",
    lambda: reasoning.addition_task(torch.tensor([1]), torch.tensor([1000])),
)
bad(
    "addition_task(n_digits=0)",
    "n_digits",
    lambda: reasoning.addition_task(torch.tensor([1]), torch.tensor([2]), 0),
)
bad(
    "addition_task(shapes differ)",
    "b",
    lambda: reasoning.addition_task(torch.tensor([1]), torch.tensor([2, 3])),
)
bad(
    "decode_addition(tensor([-1]))", "tokens", lambda: reasoning.decode_addition(torch.tensor([-1]))
)
bad(
    "decode_addition(tensor([14]))", "tokens", lambda: reasoning.decode_addition(torch.tensor([14]))
)
bad("decode_addition(2-D)", "tokens", lambda: reasoning.decode_addition(INTS))
bad("decode_addition(float)", "tokens", lambda: reasoning.decode_addition(torch.tensor([1.5])))
bads(
    "modular_addition_task", "p", lambda v: lambda: reasoning.modular_addition_task(v), [1, 0, 3.0]
)
TASK = reasoning.modular_addition_task(3)
bads(
    "split_task",
    "train_fraction",
    lambda v: lambda: reasoning.split_task(TASK, v),
    [0.0, 1.0, 0.01, NAN],
)
bad("split_task(task='x')", "task", lambda: reasoning.split_task("x", 0.5))
GPT_MOD = transformer.GPT(TASK.vocab_size, 4, n_layer=1, n_head=1, d_model=8)
bad(
    "exact_match(model w/o generate)", "model", lambda: reasoning.exact_match(nn.Linear(2, 2), TASK)
)
bad(
    "exact_match(batch_size=0)",
    "batch_size",
    lambda: reasoning.exact_match(GPT_MOD, TASK, batch_size=0),
)
bad("exact_match(task='x')", "task", lambda: reasoning.exact_match(GPT_MOD, "x"))
bad("answer_accuracy(task='x')", "task", lambda: reasoning.answer_accuracy(GPT_MOD, "x"))

# --------------------------------------------------------------------------------------
# metrics
# --------------------------------------------------------------------------------------
EYE = torch.eye(2, dtype=torch.float64)
ZERO2 = torch.zeros(2, dtype=torch.float64)
bad(
    "frechet_distance(cov1 not symmetric)",
    "cov1",
    lambda: metrics.frechet_distance(ZERO2, torch.tensor([[1.0, 5.0], [0.0, 1.0]]), ZERO2, EYE),
)
bad(
    "frechet_distance(cov2 not symmetric)",
    "cov2",
    lambda: metrics.frechet_distance(ZERO2, EYE, ZERO2, torch.tensor([[1.0, 0.0], [3.0, 1.0]])),
)
bad(
    "frechet_distance(mu2 wrong length)",
    "mu2",
    lambda: metrics.frechet_distance(ZERO2, EYE, torch.zeros(3), EYE),
)
bad(
    "frechet_distance(cov1 1-D)",
    "cov1",
    lambda: metrics.frechet_distance(ZERO2, torch.ones(2), ZERO2, EYE),
)
bad(
    "frechet_distance(mu1 NaN)",
    "mu1",
    lambda: metrics.frechet_distance(torch.tensor([NAN, 0.0]), EYE, ZERO2, EYE),
)
bad("frechet_distance(mu1 list)", "mu1", lambda: metrics.frechet_distance([0, 0], EYE, ZERO2, EYE))
bad(
    "label_accuracy(labels=10)", "labels", lambda: metrics.label_accuracy(X64, torch.full((8,), 10))
)
bad(
    "label_accuracy(labels=-1)", "labels", lambda: metrics.label_accuracy(X64, torch.full((8,), -1))
)
bad("label_accuracy(labels float)", "labels", lambda: metrics.label_accuracy(X64, torch.zeros(8)))
bad(
    "label_accuracy(labels wrong length)",
    "labels",
    lambda: metrics.label_accuracy(X64, torch.zeros(3, dtype=torch.long)),
)
bad(
    "label_accuracy(samples 32 cols)",
    "samples",
    lambda: metrics.label_accuracy(torch.rand(8, 32), Y10),
)
bad("mmd_rbf(y 1-D)", "y", lambda: metrics.mmd_rbf(X2, torch.ones(4)))
bad("mmd_rbf(columns differ)", "y", lambda: metrics.mmd_rbf(X2, torch.ones(4, 3)))
bad("mmd_rbf(x NaN)", "x", lambda: metrics.mmd_rbf(torch.cat([NAN_ROW, NAN_ROW]), X2))
bads("mmd_rbf", "bandwidth", lambda v: lambda: metrics.mmd_rbf(X2, X2, v), [-1.0, 0.0, INF, NAN])
bad("energy_distance(x 1 row)", "x", lambda: metrics.energy_distance(X2[:1], X2))
bad("energy_distance(x int)", "x", lambda: metrics.energy_distance(INTS, INTS))
bad("median_bandwidth(x=list)", "x", lambda: metrics.median_bandwidth([[0.0]], X2))
CENTRES = data.ring_of_gaussians(8)[1]
bads(
    "ring_mode_coverage",
    "std",
    lambda v: lambda: metrics.ring_mode_coverage(X2, CENTRES, v),
    [0.0, -1.0, INF],
)
bad(
    "ring_mode_coverage(min_count=0)",
    "min_count",
    lambda: metrics.ring_mode_coverage(X2, CENTRES, 0.1, min_count=0),
)
bad(
    "ring_mode_coverage(samples 3 cols)",
    "samples",
    lambda: metrics.ring_mode_coverage(torch.ones(4, 3), CENTRES, 0.1),
)
bad(
    "ring_mode_coverage(centres empty)",
    "centres",
    lambda: metrics.ring_mode_coverage(X2, torch.zeros(0, 2), 0.1),
)
bads("digits_fid", "ridge", lambda v: lambda: metrics.digits_fid(X64, X64, v), [0.0, INF])
bad("digits_fid(samples 1 row)", "samples", lambda: metrics.digits_fid(X64[:1], X64))
bad("digits_fid(reference 3-D)", "reference", lambda: metrics.digits_fid(X64, X64[None]))
bad("digits_features(x 63 cols)", "x", lambda: metrics.digits_features(torch.rand(2, 63)))
bad("digits_features(x NaN)", "x", lambda: metrics.digits_features(torch.full((2, 64), NAN)))
bads(
    "knn_precision_recall",
    "k",
    lambda v: lambda: metrics.knn_precision_recall(X2, X2, v),
    [0, 16, 1.5],
)
bad("one_nn_accuracy(fake empty)", "fake", lambda: metrics.one_nn_accuracy(X2, torch.zeros(0, 2)))
bad("train_digits_classifier(seed=-1)", "seed", lambda: metrics.train_digits_classifier(seed=-1))
bads(
    "train_digits_classifier",
    "steps",
    lambda v: lambda: metrics.train_digits_classifier(steps=v),
    [0, 1.5],
)
bads(
    "train_digits_classifier",
    "lr",
    lambda v: lambda: metrics.train_digits_classifier(lr=v),
    [INF, -1.0],
)
bad("DigitsClassifier()(x 1-D)", "x", lambda: metrics.DigitsClassifier()(torch.rand(64)))

# --------------------------------------------------------------------------------------
# diffusion
# --------------------------------------------------------------------------------------
SCHED = diffusion.NoiseSchedule(10)
DEN = diffusion.Denoiser(2, hidden=8, n_layers=1, num_classes=3, time_dim=4)
T0 = torch.zeros(16, dtype=torch.long)
EPS_FN = diffusion.model_eps(DEN)
bad(
    "NoiseSchedule(10, beta_start=0.012)",
    "beta_start",
    lambda: diffusion.NoiseSchedule(10, beta_start=0.012),
)
bad(
    "NoiseSchedule(2, beta_start=0.005)",
    "beta_start",
    lambda: diffusion.NoiseSchedule(2, beta_start=0.005),
)
bads("NoiseSchedule", "num_steps", lambda v: lambda: diffusion.NoiseSchedule(v), [0, 10.0, True])
bads("NoiseSchedule", "kind", lambda v: lambda: diffusion.NoiseSchedule(10, kind=v), ["quad"])
bads(
    "NoiseSchedule",
    "beta_start",
    lambda v: lambda: diffusion.NoiseSchedule(10, beta_start=v),
    [NAN, 0.0, -0.1],
)
bads(
    "NoiseSchedule",
    "beta_end",
    lambda v: lambda: diffusion.NoiseSchedule(10, beta_end=v),
    [1e-5, INF, 1.0],
)
bad("q_sample(t float)", "t", lambda: SCHED.q_sample(X2, torch.zeros(16)))
bad("q_sample(t out of range)", "t", lambda: SCHED.q_sample(X2, torch.full((16,), 10)))
bad("q_sample(t wrong length)", "t", lambda: SCHED.q_sample(X2, T0[:3]))
bad("q_sample(x0 int)", "x0", lambda: SCHED.q_sample(INTS, T0[:3]))
bad("q_sample(noise wrong shape)", "noise", lambda: SCHED.q_sample(X2, T0, torch.zeros(16, 3)))
bad("q_step(noise wrong shape)", "noise", lambda: SCHED.q_step(X2, T0, torch.zeros(16, 3)))
bad("q_step(x_prev 1-D)", "x_prev", lambda: SCHED.q_step(torch.zeros(16), T0))
bad("q_posterior(xt shape differs)", "xt", lambda: SCHED.q_posterior(X2, X2[:, :1], T0))
bad("predict_x0(eps wrong shape)", "eps", lambda: SCHED.predict_x0(X2, T0, torch.zeros(16, 3)))
bad("predict_x0(xt=list)", "xt", lambda: SCHED.predict_x0([1.0], T0, X2))
bad("predict_eps(x0 wrong shape)", "x0", lambda: SCHED.predict_eps(X2, T0, torch.zeros(16, 3)))
bads(
    "timestep_embedding", "dim", lambda v: lambda: diffusion.timestep_embedding(T0, v), [0, 3, 2.0]
)
bad("timestep_embedding(t 2-D)", "t", lambda: diffusion.timestep_embedding(INTS, 4))
bad("timestep_embedding(t=list)", "t", lambda: diffusion.timestep_embedding([1, 2], 4))
bads(
    "timestep_embedding",
    "max_period",
    lambda v: lambda: diffusion.timestep_embedding(T0, 4, max_period=v),
    [0.0, -1.0, NAN],
)
bads("Denoiser", "dim", lambda v: lambda: diffusion.Denoiser(v), [0, 2.0])
bads("Denoiser", "time_dim", lambda v: lambda: diffusion.Denoiser(2, time_dim=v), [3, 0])
bads("Denoiser", "num_classes", lambda v: lambda: diffusion.Denoiser(2, num_classes=v), [0, True])
bads("Denoiser", "n_layers", lambda v: lambda: diffusion.Denoiser(2, n_layers=v), [-3])
bad("Denoiser()(x 3 cols)", "x", lambda: DEN(torch.zeros(16, 3), T0))
bad("Denoiser()(t wrong length)", "t", lambda: DEN(X2, T0[:3]))
bad("Denoiser()(y = 4)", "y", lambda: DEN(X2, T0, torch.full((16,), 4)))
bad("Denoiser()(y wrong length)", "y", lambda: DEN(X2, T0, torch.zeros(2, dtype=torch.long)))
bad(
    "Denoiser(unconditional)(y given)",
    "y",
    lambda: diffusion.Denoiser(2, hidden=8)(X2, T0, torch.zeros(16, dtype=torch.long)),
)
bad("diffusion_loss(schedule='s')", "schedule", lambda: diffusion.diffusion_loss("s"))
bads("diffusion_loss", "p_uncond", lambda v: lambda: diffusion.diffusion_loss(SCHED, v), [2.0, NAN])
bads("model_eps", "guidance", lambda v: lambda: diffusion.model_eps(DEN, T0, v), [-1.0, INF, NAN])
bad("model_eps(guidance without y)", "guidance", lambda: diffusion.model_eps(DEN, None, 1.0))
bad("model_eps(model='m')", "model", lambda: diffusion.model_eps("m"))
bads(
    "ddpm_step",
    "clip",
    lambda v: lambda: diffusion.ddpm_step(SCHED, X2, T0, X2, clip=v),
    [0.0, -1.0, NAN],
)
bad("ddpm_step(schedule='s')", "schedule", lambda: diffusion.ddpm_step("s", X2, T0, X2))
bad("ddpm_step(eps wrong shape)", "eps", lambda: diffusion.ddpm_step(SCHED, X2, T0, X2[:, :1].T))
bad(
    "ddpm_step(noise wrong shape)",
    "noise",
    lambda: diffusion.ddpm_step(SCHED, X2, T0, X2, noise=torch.zeros(3)),
)
bad("ddpm_sample(schedule=None)", "schedule", lambda: diffusion.ddpm_sample(EPS_FN, None, (4, 2)))
bads(
    "ddpm_sample",
    "shape",
    lambda v: lambda: diffusion.ddpm_sample(EPS_FN, SCHED, v),
    [(0, 2), (-1, 2), "ab", 4],
)
bad("ddpm_sample(eps_fn=3)", "eps_fn", lambda: diffusion.ddpm_sample(3, SCHED, (4, 2)))
bads("ddim_sigma", "eta", lambda v: lambda: diffusion.ddim_sigma(SCHED, 5, 4, v), [-1.0, NAN, INF])
bads("ddim_sigma", "t", lambda v: lambda: diffusion.ddim_sigma(SCHED, v, 0, 0.0), [10, 1.5, -1])
bads("ddim_sigma", "t_prev", lambda v: lambda: diffusion.ddim_sigma(SCHED, 5, v, 0.0), [5, -2, 0.5])
bad("ddim_sigma(schedule=1)", "schedule", lambda: diffusion.ddim_sigma(1, 5, 4, 0.0))
bad(
    "ddim_step(eps wrong shape)",
    "eps",
    lambda: diffusion.ddim_step(SCHED, X2, 5, 4, torch.zeros(16, 3)),
)
bad("ddim_step(xt int)", "xt", lambda: diffusion.ddim_step(SCHED, INTS, 5, 4, INTS))
bads(
    "ddim_timesteps",
    "sampling_steps",
    lambda v: lambda: diffusion.ddim_timesteps(10, v),
    [0, 11, 2.0],
)
bads("ddim_timesteps", "num_steps", lambda v: lambda: diffusion.ddim_timesteps(v, 1), [0, 1.5])
bads(
    "ddim_sample",
    "sampling_steps",
    lambda v: lambda: diffusion.ddim_sample(EPS_FN, SCHED, (4, 2), v),
    [0, 11],
)
bads(
    "ddim_sample",
    "eta",
    lambda v: lambda: diffusion.ddim_sample(EPS_FN, SCHED, (4, 2), eta=v),
    [-1.0, NAN],
)
bads(
    "ddim_sample",
    "shape",
    lambda v: lambda: diffusion.ddim_sample(EPS_FN, SCHED, v),
    [(0, 2), (2.5, 2)],
)
bad(
    "LatentCodec.fit(encoder='e')",
    "encoder",
    lambda: diffusion.LatentCodec.fit("e", nn.Identity(), X2),
)
bad(
    "LatentCodec.fit(x 1 row)",
    "x",
    lambda: diffusion.LatentCodec.fit(nn.Identity(), nn.Identity(), X2[:1]),
)

# --------------------------------------------------------------------------------------
# energy
# --------------------------------------------------------------------------------------
RBM = energy.RBM(4, 3)
V4 = torch.bernoulli(torch.full((6, 4), 0.5))
bads("RBM", "n_visible", lambda v: lambda: energy.RBM(v, 3), [0, 4.0])
bads("RBM", "n_hidden", lambda v: lambda: energy.RBM(4, v), [-1, True])
bads("RBM", "init_std", lambda v: lambda: energy.RBM(4, 3, v), [-1.0, INF, NAN])
bad("RBM()(v 3 cols)", "v", lambda: RBM(torch.zeros(2, 3)))
bad("RBM.energy(h 2 cols)", "h", lambda: RBM.energy(V4, torch.zeros(6, 2)))
bad("RBM.free_energy(v int)", "v", lambda: RBM.free_energy(V4.long()))
bad("RBM.p_v(h 1-D)", "h", lambda: RBM.p_v(torch.zeros(3)))
bads("RBM.gibbs", "k", lambda v: lambda: RBM.gibbs(V4, v), [0, 1.5])
bad("RBM.cd_gradient(negative 3 cols)", "negative", lambda: RBM.cd_gradient(V4, torch.zeros(6, 3)))
bad("RBM(21 hidden).log_partition()", "n_hidden", lambda: energy.RBM(2, 21).log_partition())
bad("train_rbm(rbm='r')", "rbm", lambda: energy.train_rbm("r", V4))
bad("train_rbm(data 3 cols)", "data", lambda: energy.train_rbm(RBM, torch.zeros(6, 3)))
bad("train_rbm(data empty)", "data", lambda: energy.train_rbm(RBM, torch.zeros(0, 4)))
bad("train_rbm(data NaN)", "data", lambda: energy.train_rbm(RBM, torch.full((6, 4), NAN)))
for name, values in {
    "method": ["pcd2"],
    "k": [0],
    "epochs": [0, 2.0],
    "batch_size": [0],
    "lr": [INF, 0.0],
    "momentum": [1.5, NAN],
    "weight_decay": [-1.0],
    "eval_every": [-1, 1.5],
}.items():
    for v in values:
        bad(
            f"train_rbm({name}={v!r})",
            name,
            (lambda kw: lambda: energy.train_rbm(energy.RBM(4, 3), V4, epochs=1, **kw))({name: v})
            if name != "epochs"
            else (lambda e: lambda: energy.train_rbm(RBM, V4, epochs=e))(v),
        )
bad(
    "train_rbm(eval_data 3 cols)",
    "eval_data",
    lambda: energy.train_rbm(
        energy.RBM(4, 3), V4, epochs=1, eval_data=torch.zeros(2, 3), eval_every=1
    ),
)
bads(
    "bernoulli_baseline_log_likelihood",
    "smoothing",
    lambda v: lambda: energy.bernoulli_baseline_log_likelihood(V4, V4, v),
    [0.0, INF],
)
bad(
    "bernoulli_baseline_log_likelihood(test 3 cols)",
    "test",
    lambda: energy.bernoulli_baseline_log_likelihood(V4, torch.zeros(2, 3)),
)
bad(
    "bernoulli_baseline_log_likelihood(test empty)",
    "test",
    lambda: energy.bernoulli_baseline_log_likelihood(V4, torch.zeros(0, 4)),
)
bad(
    "bernoulli_baseline_log_likelihood(train empty)",
    "train",
    lambda: energy.bernoulli_baseline_log_likelihood(torch.zeros(0, 4), V4),
)
bads("DBN", "sizes", lambda v: lambda: energy.DBN(v), [[64], "ab", 5])
bad("DBN([4, 0])", "sizes[1]", lambda: energy.DBN([4, 0]))
DBN = energy.DBN([4, 3, 2])
bad("DBN.pretrain(epochs=0)", "epochs", lambda: DBN.pretrain(V4, epochs=0))
bad("DBN.up(v 3 cols)", "v", lambda: DBN.up(torch.zeros(2, 3)))
bad("DBN.pretrain(data 1-D)", "data", lambda: DBN.pretrain(torch.zeros(4)))
bads("DBN.sample", "n", lambda v: lambda: DBN.sample(v), [0, 2.0])
bads("DBN.sample", "gibbs_steps", lambda v: lambda: DBN.sample(2, v), [0])
bad("DBN.sample(start fewer rows than n)", "start", lambda: DBN.sample(8, 1, start=V4[:2]))
bad("DBN.sample(start 3 cols)", "start", lambda: DBN.sample(2, 1, start=torch.zeros(2, 3)))

# --------------------------------------------------------------------------------------
# compression
# --------------------------------------------------------------------------------------
NET = nn.Sequential(nn.Linear(4, 3), nn.ReLU(), nn.Linear(3, 2))
INT8 = compression.Int8Linear.from_linear(nn.Linear(4, 3))
bad("prunable_weights('m')", "model", lambda: compression.prunable_weights("m"))
bad("prunable_weights(no Linear)", "model", lambda: compression.prunable_weights(nn.ReLU()))
bads(
    "global_magnitude_masks",
    "sparsity",
    lambda v: lambda: compression.global_magnitude_masks(NET, v),
    [1.5, NAN, -0.1],
)
bad("apply_masks(masks=list)", "masks", lambda: compression.apply_masks(NET, [torch.ones(3, 4)]))
bad(
    "apply_masks(unknown name)", "masks", lambda: compression.apply_masks(NET, {"9": torch.ones(1)})
)
bad(
    "apply_masks(mask wrong shape)",
    "masks",
    lambda: compression.apply_masks(NET, {"0": torch.ones(2)}),
)
bad("apply_masks(mask=list)", "masks", lambda: compression.apply_masks(NET, {"0": [[1.0]]}))
bad("sparsity('m')", "model", lambda: compression.sparsity("m"))
bads(
    "quantization_step",
    "bits",
    lambda v: lambda: compression.quantization_step(X2, v),
    [1, 17, 8.0, True],
)
bad("quantization_step(w int)", "w", lambda: compression.quantization_step(INTS, 8))
bad(
    "quantization_step(per_channel, w 1-D)",
    "w",
    lambda: compression.quantization_step(torch.ones(3), 8, per_channel=True),
)
bads("fake_quantize", "bits", lambda v: lambda: compression.fake_quantize(X2, v), [0, "8"])
bad("fake_quantize(w=list)", "w", lambda: compression.fake_quantize([1.0], 8))
bad("fake_quantize_model(bits=40)", "bits", lambda: compression.fake_quantize_model(NET, 40))
bad("fake_quantize_model(model=1)", "model", lambda: compression.fake_quantize_model(1, 8))
bad(
    "Int8Linear(q_weight float)",
    "q_weight",
    lambda: compression.Int8Linear(torch.zeros(3, 4), torch.ones(3), None),
)
bad(
    "Int8Linear(scale wrong size)",
    "scale",
    lambda: compression.Int8Linear(torch.zeros(3, 4, dtype=torch.int8), torch.ones(2), None),
)
bad(
    "Int8Linear(bias wrong size)",
    "bias",
    lambda: compression.Int8Linear(
        torch.zeros(3, 4, dtype=torch.int8), torch.ones(3), torch.ones(4)
    ),
)
bad(
    "Int8Linear.from_linear(conv)",
    "layer",
    lambda: compression.Int8Linear.from_linear(nn.Conv1d(1, 1, 1)),
)
bad("Int8Linear()(x 3 cols)", "x", lambda: INT8(torch.zeros(2, 3)))
bad("Int8Linear()(x int)", "x", lambda: INT8(torch.zeros(2, 4, dtype=torch.long)))
bad("quantize_int8('m')", "model", lambda: compression.quantize_int8("m"))
bad("state_dict_bytes('m')", "model", lambda: compression.state_dict_bytes("m"))

# --------------------------------------------------------------------------------------
# convolution
# --------------------------------------------------------------------------------------
IMG = torch.rand(2, 1, 8, 8)
bads(
    "place_on_canvas",
    "canvas",
    lambda v: (
        lambda: convolution.place_on_canvas(
            torch.rand(2, 4, 4), v, torch.zeros(2, 2, dtype=torch.long)
        )
    ),
    [0, 3, 8.0],
)
bad(
    "place_on_canvas(offsets too big)",
    "offsets",
    lambda: convolution.place_on_canvas(torch.rand(2, 4, 4), 8, torch.full((2, 2), 5)),
)
bad(
    "place_on_canvas(offsets float)",
    "offsets",
    lambda: convolution.place_on_canvas(torch.rand(2, 4, 4), 8, torch.full((2, 2), 1.5)),
)
bad(
    "place_on_canvas(offsets wrong shape)",
    "offsets",
    lambda: convolution.place_on_canvas(torch.rand(2, 4, 4), 8, torch.zeros(2, dtype=torch.long)),
)
bad(
    "place_on_canvas(images not square)",
    "images",
    lambda: convolution.place_on_canvas(torch.rand(2, 15), 8, torch.zeros(2, 2, dtype=torch.long)),
)
bad(
    "place_on_canvas(images int)",
    "images",
    lambda: convolution.place_on_canvas(INTS, 8, torch.zeros(3, 2, dtype=torch.long)),
)
bads("SmallCNN", "n_classes", lambda v: lambda: convolution.SmallCNN(v), [0, 2.0])
bads(
    "SmallCNN",
    "channels",
    lambda v: lambda: convolution.SmallCNN(channels=v),
    [(), (16, -1), (16, True), "ab", 16],
)
bads(
    "SmallCNN", "pool_every", lambda v: lambda: convolution.SmallCNN(pool_every=v), [-1, True, 1.0]
)
bad("SmallCNN()(x 3 channels)", "x", lambda: convolution.SmallCNN()(torch.rand(2, 3, 8, 8)))
bad("SmallCNN()(x 3-D)", "x", lambda: convolution.SmallCNN()(torch.rand(2, 8, 8)))
bad(
    "SmallCNN(pool 1, 3 convs)(x 2x2)",
    "x",
    lambda: convolution.SmallCNN(channels=(4, 4, 4))(torch.rand(2, 1, 2, 2)),
)
bads("MLPClassifier", "side", lambda v: lambda: convolution.MLPClassifier(v), [0, 8.0])
bad("MLPClassifier(hidden=(0,))", "hidden", lambda: convolution.MLPClassifier(8, hidden=(0,)))
bad("MLPClassifier()(x 4x8)", "x", lambda: convolution.MLPClassifier(8)(torch.rand(2, 1, 4, 8)))
bad(
    "MLPClassifier()(x 2 channels)",
    "x",
    lambda: convolution.MLPClassifier(8)(torch.rand(2, 2, 8, 8)),
)
for name, v in [
    ("side", 0),
    ("patch", 3),
    ("patch", 0),
    ("n_classes", 0),
    ("d_model", 0),
    ("n_head", 3),
    ("n_head", 0),
    ("n_layer", -3),
    ("n_layer", 0),
    ("n_layer", 1.5),
    ("positional", "sinusoidal"),
    ("d_model", 6.0),
]:
    bad(
        f"PatchAttentionClassifier({name}={v!r})",
        name,
        (lambda kw: lambda: convolution.PatchAttentionClassifier(**{"side": 8, **kw}))({name: v}),
    )
PAC = convolution.PatchAttentionClassifier(8, d_model=8, n_head=2, n_layer=1)
bad("PatchAttentionClassifier()(x 4x8)", "x", lambda: PAC(torch.rand(2, 1, 4, 8)))
bad("PatchAttentionClassifier()(x 3 channels)", "x", lambda: PAC(torch.rand(2, 3, 8, 8)))
bads("stacked_convolutions", "n_layers", lambda v: lambda: convolution.stacked_convolutions(v), [0])
bads(
    "stacked_convolutions",
    "kernel_size",
    lambda v: lambda: convolution.stacked_convolutions(2, v),
    [4, 0],
)
bads(
    "stacked_convolutions",
    "activation",
    lambda v: lambda: convolution.stacked_convolutions(2, activation=v),
    ["gelu"],
)
bads(
    "stacked_convolutions",
    "padding_mode",
    lambda v: lambda: convolution.stacked_convolutions(2, padding_mode=v),
    ["mirror"],
)
bad(
    "receptive_field_from_gradient(side=0)",
    "side",
    lambda: convolution.receptive_field_from_gradient(convolution.stacked_convolutions(1), 0),
)
bad(
    "receptive_field_from_gradient(in_channels=0)",
    "in_channels",
    lambda: convolution.receptive_field_from_gradient(convolution.stacked_convolutions(1), 8, 0),
)
bad(
    "receptive_field_from_gradient(model='m')",
    "model",
    lambda: convolution.receptive_field_from_gradient("m", 8),
)
bads("dense_parameters", "n_in", lambda v: lambda: convolution.dense_parameters(v, 2), [-1, 0, 1.5])
bads("dense_parameters", "n_out", lambda v: lambda: convolution.dense_parameters(2, v), [-1])
bads("conv_parameters", "kernel_size", lambda v: lambda: convolution.conv_parameters(1, 1, v), [0])
bads("conv_parameters", "c_in", lambda v: lambda: convolution.conv_parameters(v, 1, 3), [-2])
bad(
    "train.accuracy(batch_size=0)",
    "batch_size",
    lambda: train.accuracy(convolution.SmallCNN(), IMG, Y10[:2], batch_size=0),
)
bad(
    "train.accuracy(y wrong length)",
    "y",
    lambda: train.accuracy(convolution.SmallCNN(), IMG, Y10[:1]),
)
bad(
    "train.accuracy(x empty)", "x", lambda: train.accuracy(convolution.SmallCNN(), IMG[:0], Y10[:0])
)
bad(
    "train.classification_loss(y float)",
    "y",
    lambda: train.classification_loss(convolution.SmallCNN(), IMG, torch.zeros(2)),
)

# --------------------------------------------------------------------------------------
# transformer
# --------------------------------------------------------------------------------------
BLOCK = transformer.TransformerBlock(8, 2)
GPT = transformer.GPT(5, 4, n_layer=1, n_head=1, d_model=8)
IDX = torch.zeros(2, 3, dtype=torch.long)
bads(
    "sinusoidal_positional_encoding",
    "length",
    lambda v: lambda: transformer.sinusoidal_positional_encoding(v, 4),
    [0, 2.0],
)
bads(
    "sinusoidal_positional_encoding",
    "d_model",
    lambda v: lambda: transformer.sinusoidal_positional_encoding(4, v),
    [0, -2],
)
bads("TransformerBlock", "d_model", lambda v: lambda: transformer.TransformerBlock(v, 2), [0, 8.0])
bads("TransformerBlock", "n_head", lambda v: lambda: transformer.TransformerBlock(8, v), [0, 3])
bads("TransformerBlock", "d_ff", lambda v: lambda: transformer.TransformerBlock(8, 2, d_ff=v), [0])
bads(
    "TransformerBlock",
    "dropout",
    lambda v: lambda: transformer.TransformerBlock(8, 2, dropout=v),
    [1.5, NAN],
)
bads(
    "TransformerBlock",
    "activation",
    lambda v: lambda: transformer.TransformerBlock(8, 2, activation=v),
    ["tanh"],
)
bad("TransformerBlock()(x 2-D)", "x", lambda: BLOCK(torch.rand(3, 8)))
bad("TransformerBlock()(x last dim 4)", "x", lambda: BLOCK(torch.rand(2, 3, 4)))
bad(
    "TransformerBlock(post-norm)()(x last dim 4)",
    "x",
    lambda: transformer.TransformerBlock(8, 2, norm_first=False)(torch.rand(2, 3, 4)),
)
bad("TransformerBlock()(x int)", "x", lambda: BLOCK(torch.zeros(2, 3, 8, dtype=torch.long)))
bad(
    "TransformerBlock()(mask wrong shape)",
    "mask",
    lambda: BLOCK(torch.rand(2, 3, 8), mask=torch.ones(4, 4, dtype=torch.bool)),
)
bad("TransformerBlock.load_from_torch('x')", "other", lambda: BLOCK.load_from_torch("x"))
for name, v in [
    ("vocab_size", 0),
    ("block_size", -1),
    ("n_layer", 0),
    ("n_head", 3),
    ("d_model", 0),
    ("dropout", 2.0),
    ("positional", "rope"),
    ("n_layer", True),
]:
    bad(
        f"GPT({name}={v!r})",
        name,
        (
            lambda kw: (
                lambda: transformer.GPT(
                    **{"vocab_size": 5, "block_size": 4, "d_model": 8, "n_head": 2, **kw}
                )
            )
        )({name: v}),
    )
bad("GPT()(idx float)", "idx", lambda: GPT(torch.zeros(2, 3)))
bad("GPT()(idx too long)", "idx", lambda: GPT(torch.zeros(2, 5, dtype=torch.long)))
bad("GPT()(idx >= vocab)", "idx", lambda: GPT(torch.full((2, 3), 5)))
bad("GPT()(idx 1-D)", "idx", lambda: GPT(torch.zeros(3, dtype=torch.long)))
bad("GPT.embed(idx float)", "idx", lambda: GPT.embed(torch.zeros(2, 3)))
bads("GPT.generate", "max_new_tokens", lambda v: lambda: GPT.generate(IDX, v), [0, 2.0])
bads(
    "GPT.generate",
    "temperature",
    lambda v: lambda: GPT.generate(IDX, 1, temperature=v),
    [0.0, -1.0, INF, NAN],
)
bad("lm_loss(y float)", "y", lambda: transformer.lm_loss(GPT, IDX, torch.zeros(2, 3)))
bad("lm_loss(y shape differs)", "y", lambda: transformer.lm_loss(GPT, IDX, IDX[:1]))
bad("lm_loss(y all ignored)", "y", lambda: transformer.lm_loss(GPT, IDX, torch.full((2, 3), -100)))
bad("lm_loss(x float)", "x", lambda: transformer.lm_loss(GPT, torch.zeros(2, 3), IDX))

# --------------------------------------------------------------------------------------
# attention
# --------------------------------------------------------------------------------------
Q = torch.rand(2, 3, 4)
MHA = attention.MultiHeadAttention(4, 2)
ADD = attention.AdditiveAttention(4, 4, 5)
REC = attention.RecallModel(8, 4, d_model=4)
KEYS = torch.zeros(2, 3, dtype=torch.long)
bads("causal_mask", "length", lambda v: lambda: attention.causal_mask(v), [0, 2.0])
bad(
    "sdpa(k last dim differs)",
    "k",
    lambda: attention.scaled_dot_product_attention(Q, Q[..., :2], Q),
)
bad("sdpa(v length differs)", "v", lambda: attention.scaled_dot_product_attention(Q, Q, Q[:, :2]))
bad("sdpa(q 1-D)", "q", lambda: attention.scaled_dot_product_attention(torch.rand(4), Q, Q))
bad(
    "sdpa(mask wrong shape)",
    "mask",
    lambda: attention.scaled_dot_product_attention(
        Q, Q, Q, mask=torch.ones(2, 2, dtype=torch.bool)
    ),
)
bad(
    "sdpa(mask int)",
    "mask",
    lambda: attention.scaled_dot_product_attention(
        Q, Q, Q, mask=torch.ones(3, 3, dtype=torch.long)
    ),
)
bads(
    "sdpa",
    "dropout",
    lambda v: lambda: attention.scaled_dot_product_attention(Q, Q, Q, dropout=v),
    [1.5, NAN],
)
bad(
    "fast_sdpa(mask and is_causal)",
    "is_causal",
    lambda: attention.fast_scaled_dot_product_attention(
        Q, Q, Q, mask=torch.ones(3, 3, dtype=torch.bool), is_causal=True
    ),
)
bads("MultiHeadAttention", "n_head", lambda v: lambda: attention.MultiHeadAttention(4, v), [3, 0])
bads(
    "MultiHeadAttention", "kdim", lambda v: lambda: attention.MultiHeadAttention(4, 2, kdim=v), [0]
)
bads(
    "MultiHeadAttention",
    "dropout",
    lambda v: lambda: attention.MultiHeadAttention(4, 2, dropout=v),
    [-0.1],
)
bad("MultiHeadAttention()(query 2-D)", "query", lambda: MHA(torch.rand(3, 4)))
bad("MultiHeadAttention()(key batch differs)", "key", lambda: MHA(Q, Q[:1]))
bad("MultiHeadAttention()(mask 5-D)", "mask", lambda: MHA(Q, mask=torch.ones(1, 1, 1, 3, 3)))
bad(
    "MultiHeadAttention()(mask wrong size)",
    "mask",
    lambda: MHA(Q, mask=torch.ones(4, 4, dtype=torch.bool)),
)
bad(
    "MultiHeadAttention()(mask and is_causal)",
    "is_causal",
    lambda: MHA(Q, mask=torch.ones(3, 3, dtype=torch.bool), is_causal=True),
)
bads("AdditiveAttention", "hidden_dim", lambda v: lambda: attention.AdditiveAttention(4, 4, v), [0])
bad("AdditiveAttention()(keys last dim 3)", "keys", lambda: ADD(Q, torch.rand(2, 3, 3)))
bad("AdditiveAttention()(mask float)", "mask", lambda: ADD(Q, Q, mask=torch.ones(2, 3)))
bads("key_value_recall", "n_keys", lambda v: lambda: attention.key_value_recall(4, 16, v), [8, 0])
bads("key_value_recall", "n", lambda v: lambda: attention.key_value_recall(v), [0, 1.5])
bads("RecallModel", "kind", lambda v: lambda: attention.RecallModel(8, 4, kind=v), ["cosine"])
bads("RecallModel", "n_values", lambda v: lambda: attention.RecallModel(8, v), [0])
bad(
    "RecallModel()(keys float)",
    "keys",
    lambda: REC(torch.zeros(2, 3), KEYS, torch.zeros(2, dtype=torch.long)),
)
bad(
    "RecallModel()(query wrong length)",
    "query",
    lambda: REC(KEYS, KEYS, torch.zeros(3, dtype=torch.long)),
)
bad("RecallModel()(keys=list)", "keys", lambda: REC([[0]], KEYS, torch.zeros(2, dtype=torch.long)))

# --------------------------------------------------------------------------------------
# gan
# --------------------------------------------------------------------------------------
G = gan.MLPGenerator(2, 2, hidden=8, depth=1)
D = gan.MLPDiscriminator(2, hidden=8, depth=1)
LOGITS = torch.zeros(4)
bad(
    "discriminator_loss(real_logits 2-D)",
    "real_logits",
    lambda: gan.discriminator_loss(torch.zeros(4, 2), LOGITS),
)
bad(
    "generator_loss_nonsaturating(list)",
    "fake_logits",
    lambda: gan.generator_loss_nonsaturating([0.0]),
)
bad(
    "critic_loss_wasserstein(fake int)",
    "fake_scores",
    lambda: gan.critic_loss_wasserstein(LOGITS, torch.zeros(4, dtype=torch.long)),
)
bad(
    "discriminator_loss_hinge(real 3-D)",
    "real_scores",
    lambda: gan.discriminator_loss_hinge(torch.zeros(1, 1, 4), LOGITS),
)
bad("gradient_penalty(shapes differ)", "fake", lambda: gan.gradient_penalty(D, X2, X2[:3]))
bad(
    "gradient_penalty(epsilon wrong length)",
    "epsilon",
    lambda: gan.gradient_penalty(D, X2, X2, epsilon=torch.rand(3)),
)
bad("gradient_penalty(critic='c')", "critic", lambda: gan.gradient_penalty("c", X2, X2))
bads("truncated_normal", "psi", lambda v: lambda: gan.truncated_normal(4, 2, v), [0.0, -1.0, NAN])
bads("truncated_normal", "dim", lambda v: lambda: gan.truncated_normal(4, v), [0, 2.0])
bads(
    "MLPGenerator",
    "out_activation",
    lambda v: lambda: gan.MLPGenerator(2, 2, out_activation=v),
    ["relu"],
)
bads("MLPGenerator", "depth", lambda v: lambda: gan.MLPGenerator(2, 2, depth=v), [0])
bad("MLPGenerator()(z 3 cols)", "z", lambda: G(torch.zeros(4, 3)))
bads("MLPDiscriminator", "hidden", lambda v: lambda: gan.MLPDiscriminator(2, hidden=v), [0, 8.0])
bad("MLPDiscriminator()(x 1-D)", "x", lambda: D(torch.zeros(2)))
bads("DCGANGenerator", "channels", lambda v: lambda: gan.DCGANGenerator(channels=v), [3, 64, 0])
bads("DCGANDiscriminator", "channels", lambda v: lambda: gan.DCGANDiscriminator(v), [5])
bad("DCGANDiscriminator()(x 63 cols)", "x", lambda: gan.DCGANDiscriminator()(torch.rand(2, 63)))


def adv(**kw: object) -> Callable[[], object]:
    args = {
        "generator": gan.MLPGenerator(2, 2, hidden=8, depth=1),
        "discriminator": gan.MLPDiscriminator(2, hidden=8, depth=1),
        "data": X2,
        "steps": 2,
    }
    args.update(kw)
    return lambda: gan.train_adversarial(
        args.pop("generator"), args.pop("discriminator"), args.pop("data"), **args
    )


for name, values in {
    "loss": ["ls"],
    "steps": [0],
    "batch_size": [0],
    "n_critic": [0],
    "lr_g": [INF, -1.0],
    "lr_d": [NAN],
    "gp_weight": [-1.0, INF],
    "log_every": [0],
    "betas": [(1.5, 0.9), (0.5,), "ab"],
}.items():
    for v in values:
        bad(f"train_adversarial({name}={v!r})", name, adv(**{name: v}))
bad("train_adversarial(data empty)", "data", adv(data=torch.zeros(0, 2)))
bad("train_adversarial(data int)", "data", adv(data=INTS))
bad(
    "train_adversarial(labels wrong length)", "labels", adv(labels=torch.zeros(3, dtype=torch.long))
)
bad("train_adversarial(generator w/o latent_dim)", "generator", adv(generator=nn.Linear(2, 2)))
bad("train_adversarial(data NaN)", "data", adv(data=torch.cat([NAN_ROW, NAN_ROW])))
bads("sample", "n", lambda v: lambda: gan.sample(G, v), [0, 2.0])
bad("sample(generator w/o latent_dim)", "generator", lambda: gan.sample(nn.Linear(2, 2), 2))
CG = gan.ConditionalGenerator(2, 3, 2, hidden=8, depth=1)
PD = gan.ProjectionDiscriminator(2, 3, hidden=8, depth=1)
bad(
    "ConditionalGenerator()(labels = 3)",
    "labels",
    lambda: CG(torch.zeros(4, 2), torch.full((4,), 3)),
)
bad("ConditionalGenerator()(labels float)", "labels", lambda: CG(torch.zeros(4, 2), torch.zeros(4)))
bad("ConditionalGenerator(n_classes=0)", "n_classes", lambda: gan.ConditionalGenerator(2, 0))
bad(
    "ProjectionDiscriminator()(labels wrong length)",
    "labels",
    lambda: PD(X2, torch.zeros(3, dtype=torch.long)),
)
bad(
    "ConditionalBatchNorm1d()(h 3 cols)",
    "h",
    lambda: gan.ConditionalBatchNorm1d(4, 2)(torch.zeros(2, 3), torch.zeros(2, dtype=torch.long)),
)
bad(
    "sample(labels wrong length)",
    "labels",
    lambda: gan.sample(CG, 4, labels=torch.zeros(3, dtype=torch.long)),
)
bad("sample(psi=inf)", "psi", lambda: gan.sample(G, 4, psi=INF))
bad("sample(seed=-1)", "seed", lambda: gan.sample(G, 4, seed=-1))
bad("ProjectionDiscriminator(in_dim=0)", "in_dim", lambda: gan.ProjectionDiscriminator(0))
bad(
    "ConditionalBatchNorm1d(num_features=0)",
    "num_features",
    lambda: gan.ConditionalBatchNorm1d(0, 2),
)
bads("ModulatedLinear", "eps", lambda v: lambda: gan.ModulatedLinear(2, 2, 2, eps=v), [0.0, INF])
bad(
    "ModulatedLinear()(w 3 cols)", "w", lambda: gan.ModulatedLinear(2, 2, 2)(X2, torch.zeros(16, 3))
)
SG = gan.StyleGenerator(latent_dim=2, w_dim=4, hidden=4, n_layers=2, out_dim=4, mapping_depth=1)
bads(
    "StyleGenerator",
    "mixing_prob",
    lambda v: lambda: gan.StyleGenerator(mixing_prob=v),
    [1.5, NAN, "0.5"],
)
bads("StyleGenerator", "n_layers", lambda v: lambda: gan.StyleGenerator(n_layers=v), [0])
bad("StyleGenerator.synthesize(ws too short)", "ws", lambda: SG.synthesize([torch.zeros(2, 4)]))
bad(
    "StyleGenerator.synthesize(ws[0] 3 cols)",
    "ws",
    lambda: SG.synthesize([torch.zeros(2, 3)] * SG.n_styles),
)
bads("StyleGenerator.mix", "crossover", lambda v: lambda: SG.mix(X2, X2, v), [-1, 9, True])
bad("StyleGenerator.map(z 3 cols)", "z", lambda: SG.map(torch.zeros(2, 3)))

# --------------------------------------------------------------------------------------
# scaling
# --------------------------------------------------------------------------------------
Y_INT = torch.tensor([0, 1, 2, 1])
bads("RandomFeatures", "n_features", lambda v: lambda: scaling.RandomFeatures(2, v), [0, 2.0])
bad("RandomFeatures()(x 3 cols)", "x", lambda: scaling.RandomFeatures(2, 4)(torch.zeros(2, 3)))
bads(
    "min_norm_least_squares",
    "rcond",
    lambda v: lambda: scaling.min_norm_least_squares(X2, X2[:, 0], v),
    [-1.0, NAN, INF],
)
bad(
    "min_norm_least_squares(y wrong rows)",
    "y",
    lambda: scaling.min_norm_least_squares(X2, X2[:3, 0]),
)
bad(
    "min_norm_least_squares(phi 0 rows)",
    "phi",
    lambda: scaling.min_norm_least_squares(torch.zeros(0, 2), torch.zeros(0)),
)
bad(
    "min_norm_least_squares(phi int)",
    "phi",
    lambda: scaling.min_norm_least_squares(INTS, INTS[:, 0]),
)
bads(
    "with_label_noise", "fraction", lambda v: lambda: scaling.with_label_noise(Y_INT, v), [1.5, NAN]
)
bads(
    "with_label_noise",
    "n_classes",
    lambda v: lambda: scaling.with_label_noise(Y_INT, 0.5, v),
    [1, 0],
)
bad("with_label_noise(y out of range)", "y", lambda: scaling.with_label_noise(Y_INT, 0.5, 2))
bad("with_label_noise(y float)", "y", lambda: scaling.with_label_noise(torch.zeros(4), 0.5))
bad(
    "random_features_error(n_features=0)",
    "n_features",
    lambda: scaling.random_features_error(X2, Y10.repeat(2), X2, Y10.repeat(2), 0),
)
bad(
    "random_features_error(y_train float)",
    "y_train",
    lambda: scaling.random_features_error(X2, torch.zeros(16), X2, Y10.repeat(2), 4),
)
bad(
    "random_features_error(y_train wrong length)",
    "y_train",
    lambda: scaling.random_features_error(X2, Y10[:3], X2, Y10.repeat(2), 4),
)
bad(
    "random_features_error(y_test >= n_classes)",
    "y_test",
    lambda: scaling.random_features_error(X2, Y10.repeat(2), X2, torch.full((16,), 11), 4),
)
bad(
    "random_features_error(x_test 3 cols)",
    "x_test",
    lambda: scaling.random_features_error(X2, Y10.repeat(2), torch.zeros(16, 3), Y10.repeat(2), 4),
)
bad(
    "double_descent_curve(feature_counts=[])",
    "feature_counts",
    lambda: scaling.double_descent_curve(X2, Y10.repeat(2), X2, Y10.repeat(2), [], [0]),
)
bad(
    "double_descent_curve(feature_counts=[0])",
    "feature_counts",
    lambda: scaling.double_descent_curve(X2, Y10.repeat(2), X2, Y10.repeat(2), [0], [0]),
)
bad(
    "double_descent_curve(feature_counts=[2.5])",
    "feature_counts",
    lambda: scaling.double_descent_curve(X2, Y10.repeat(2), X2, Y10.repeat(2), [2.5], [0]),
)
bad(
    "double_descent_curve(seeds=[])",
    "seeds",
    lambda: scaling.double_descent_curve(X2, Y10.repeat(2), X2, Y10.repeat(2), [2], []),
)
bad("fit_power_law(n too short)", "n", lambda: scaling.fit_power_law([1, 2], [1, 2]))
bad("fit_power_law(n negative)", "n", lambda: scaling.fit_power_law([1, -2, 3], [1, 2, 3]))
bad("fit_power_law(loss 0)", "loss", lambda: scaling.fit_power_law([1, 2, 3], [1, 0, 3]))
bad("fit_power_law(n NaN)", "n", lambda: scaling.fit_power_law([1, NAN, 3], [1, 2, 3]))
bad("fit_power_law(loss inf)", "loss", lambda: scaling.fit_power_law([1, 2, 3], [1, INF, 3]))
bad("fit_power_law(lengths differ)", "loss", lambda: scaling.fit_power_law([1, 2, 3], [1, 2]))
bads("MLP", "hidden", lambda v: lambda: scaling.MLP(hidden=v), [(0,), 5, (2.5,)])
bads("MLP", "n_input", lambda v: lambda: scaling.MLP(n_input=v), [0])
bad("train.count_parameters('m')", "model", lambda: train.count_parameters("m"))
bads("teacher_regression_data", "n", lambda v: lambda: scaling.teacher_regression_data(v), [0, 1])
bads(
    "teacher_regression_data",
    "teacher_width",
    lambda v: lambda: scaling.teacher_regression_data(8, teacher_width=v),
    [0],
)

# --------------------------------------------------------------------------------------
# multimodal
# --------------------------------------------------------------------------------------
MTOK = text.CharTokenizer(["数字七", "a 7"], specials=True)
VQ = multimodal.PatchVQ(codebook_size=4, patch=2, side=4)
bads(
    "digit_caption", "label", lambda v: lambda: multimodal.digit_caption(v, "{d}"), [10, True, 1.0]
)
bads("digit_caption", "template", lambda v: lambda: multimodal.digit_caption(3, v), ["x", 5])
bads("CharTokenizer.encode", "length", lambda v: lambda: MTOK.encode(["a"], v), [0, 2.0])
bad("CharTokenizer.encode(text too long)", "texts", lambda: MTOK.encode(["aaaa"], 2))
bad("CharTokenizer.encode(texts='a')", "texts", lambda: MTOK.encode("a", 2))
bad("CharTokenizer.encode(texts=[5])", "texts", lambda: MTOK.encode([5], 2))
bad("CharTokenizer.encode(texts=5)", "texts", lambda: MTOK.encode(5, 2))
bad("CharTokenizer.decode(list of str)", "ids", lambda: MTOK.decode(["a"]))
bad("CharTokenizer.decode(out of range)", "ids", lambda: MTOK.decode(torch.tensor([99])))
bad(
    "caption_pairs(labels wrong length)",
    "labels",
    lambda: multimodal.caption_pairs(X64, Y10[:3], MTOK, ["{d}"]),
)
bad(
    "caption_pairs(templates=[])", "templates", lambda: multimodal.caption_pairs(X64, Y10, MTOK, [])
)
bad(
    "caption_pairs(repeats=0)",
    "repeats",
    lambda: multimodal.caption_pairs(X64, Y10, MTOK, ["{d}"], repeats=0),
)
bad(
    "caption_pairs(tokenizer='t')",
    "tokenizer",
    lambda: multimodal.caption_pairs(X64, Y10, "t", ["{d}"]),
)
bad(
    "caption_pairs(tokenizer without specials)",
    "tokenizer",
    lambda: multimodal.caption_pairs(X64, Y10, TOK, ["{d}"]),
)
bad(
    "caption_pairs(images 1-D)", "images", lambda: multimodal.caption_pairs(Y10, Y10, MTOK, ["{d}"])
)
bads("ImageEncoder", "embed_dim", lambda v: lambda: multimodal.ImageEncoder(embed_dim=v), [0])
bad("ImageEncoder()(x 63 cols)", "images", lambda: multimodal.ImageEncoder()(torch.rand(2, 63)))
TE = multimodal.TextEncoder(5, hidden=4, embed_dim=4)
bad("TextEncoder()(tokens float)", "tokens", lambda: TE(torch.zeros(2, 3)))
bad("TextEncoder()(tokens >= vocab)", "tokens", lambda: TE(torch.full((2, 3), 5)))
bads("TextEncoder", "vocab_size", lambda v: lambda: multimodal.TextEncoder(v), [0])
bads(
    "info_nce_loss",
    "temperature",
    lambda v: lambda: multimodal.info_nce_loss(X2, X2, v),
    [0.0, -1.0, INF, torch.tensor(-1.0)],
)
bad(
    "info_nce_loss(text_emb shape differs)",
    "text_emb",
    lambda: multimodal.info_nce_loss(X2, X2[:3], 0.1),
)
bad(
    "info_nce_loss(labels wrong length)",
    "labels",
    lambda: multimodal.info_nce_loss(X2, X2, 0.1, labels=Y10[:3]),
)
CLIPM = multimodal.CLIP(5, hidden=8, embed_dim=4)
bad(
    "zero_shot_predict(class_tokens float)",
    "tokens",
    lambda: multimodal.zero_shot_predict(CLIPM, X64, torch.zeros(2, 3)),
)
bad(
    "clip_scores(images 3 cols)",
    "images",
    lambda: multimodal.clip_scores(CLIPM, torch.rand(2, 3), KEYS),
)
bad(
    "clip_loss(labels wrong length)",
    "labels",
    lambda: multimodal.clip_loss(CLIPM, X64[:2], KEYS, Y10[:3]),
)
bad("CLIP(vocab_size=0)", "vocab_size", lambda: multimodal.CLIP(0))
bad("CLIP(hidden=1)", "hidden", lambda: multimodal.CLIP(5, hidden=1))
bads("PatchVQ", "patch", lambda v: lambda: multimodal.PatchVQ(patch=v), [3, 0])
bads("PatchVQ", "codebook_size", lambda v: lambda: multimodal.PatchVQ(codebook_size=v), [0, 2.0])
bad("PatchVQ.fit(iters=0)", "iters", lambda: VQ.fit(torch.rand(4, 16), iters=0))
bad("PatchVQ.fit(x 15 cols)", "x", lambda: VQ.fit(torch.rand(4, 15)))
bad(
    "PatchVQ.fit(too few patches)",
    "codebook_size",
    lambda: multimodal.PatchVQ(codebook_size=64, side=4).fit(torch.rand(2, 16)),
)
bad(
    "PatchVQ.encode(unfitted)",
    "fit",
    lambda: multimodal.PatchVQ(side=4).encode(torch.rand(2, 16)),
    exc=(RuntimeError,),
)
VQF = multimodal.PatchVQ(codebook_size=4, patch=2, side=4).fit(torch.rand(8, 16), iters=2)
bad("PatchVQ.decode(tokens float)", "tokens", lambda: VQF.decode(torch.zeros(2, 4)))
bad("PatchVQ.decode(tokens >= codebook)", "tokens", lambda: VQF.decode(torch.full((2, 4), 4)))
bad("PatchVQ.decode(3 columns)", "tokens", lambda: VQF.decode(torch.zeros(2, 3, dtype=torch.long)))
bad("PatchVQ.unpatch(list)", "patches", lambda: VQF.unpatch([1.0]))
bad(
    "text_image_sequences(caption_tokens=list)",
    "caption_tokens",
    lambda: multimodal.text_image_sequences([[1]], KEYS, 5),
)
bad(
    "text_image_sequences(image_tokens float)",
    "image_tokens",
    lambda: multimodal.text_image_sequences(KEYS, torch.zeros(2, 3), 5),
)
bad(
    "text_image_sequences(batch differs)",
    "image_tokens",
    lambda: multimodal.text_image_sequences(KEYS, KEYS[:1], 5),
)
bads(
    "text_image_sequences",
    "text_vocab",
    lambda v: lambda: multimodal.text_image_sequences(KEYS, KEYS, v),
    [0, 2.5],
)
bad(
    "text_image_sequences(caption >= text_vocab)",
    "caption_tokens",
    lambda: multimodal.text_image_sequences(torch.full((2, 3), 7), KEYS, 5),
)
bads(
    "generate_images",
    "temperature",
    lambda v: lambda: multimodal.generate_images(GPT, KEYS, VQF, 5, temperature=v),
    [0.0, NAN],
)
bad("generate_images(vq='v')", "vq", lambda: multimodal.generate_images(GPT, KEYS, "v", 5))
bad(
    "generate_images(caption_tokens float)",
    "caption_tokens",
    lambda: multimodal.generate_images(GPT, torch.zeros(2, 3), VQF, 5),
)

# --------------------------------------------------------------------------------------
# distillation
# --------------------------------------------------------------------------------------
LG = torch.randn(4, 3)
LIN = nn.Linear(2, 3)
bads("soften", "temperature", lambda v: lambda: distillation.soften(LG, v), [0.0, INF, NAN])
bad("soften(logits 1-D)", "logits", lambda: distillation.soften(torch.zeros(3), 1.0))
bads(
    "distillation_loss",
    "alpha",
    lambda v: lambda: distillation.distillation_loss(LG, LG, alpha=v),
    [1.5, NAN],
)
bads(
    "distillation_loss",
    "temperature",
    lambda v: lambda: distillation.distillation_loss(LG, LG, temperature=v),
    [0.0, -2.0],
)
bad(
    "distillation_loss(teacher shape differs)",
    "teacher_logits",
    lambda: distillation.distillation_loss(LG, LG[:2], alpha=1.0),
)
bad("distillation_loss(targets missing)", "targets", lambda: distillation.distillation_loss(LG, LG))
bad(
    "distillation_loss(targets wrong length)",
    "targets",
    lambda: distillation.distillation_loss(LG, LG, Y10[:2]),
)
bad(
    "distillation_loss(targets >= classes)",
    "targets",
    lambda: distillation.distillation_loss(LG, LG, torch.full((4,), 3)),
)
bads(
    "make_distillation_loss_fn",
    "temperature",
    lambda v: lambda: distillation.make_distillation_loss_fn(v),
    [0.0],
)
bads(
    "make_distillation_loss_fn",
    "alpha",
    lambda v: lambda: distillation.make_distillation_loss_fn(alpha=v),
    [-0.5],
)
bad(
    "teacher_logits(batch_size=0)",
    "batch_size",
    lambda: distillation.teacher_logits(LIN, X2, batch_size=0),
)
bad("teacher_logits(x=list)", "x", lambda: distillation.teacher_logits(LIN, [[1.0, 2.0]]))
bad("drop_class(omitted absent)", "omitted", lambda: distillation.drop_class(X2[:4], Y_INT, 7))
bad("drop_class(omitted=1.0)", "omitted", lambda: distillation.drop_class(X2[:4], Y_INT, 1.0))
bad("drop_class(x wrong length)", "x", lambda: distillation.drop_class(X2, Y_INT, 1))
bad(
    "train.accuracy(bias_shift wrong size)",
    "bias_shift",
    lambda: train.accuracy(LIN, X2[:4], Y_INT, bias_shift=torch.zeros(5)),
)
bad(
    "class_accuracy(y wrong length)",
    "x",
    lambda: distillation.class_accuracy(LIN, X2[:4], Y_INT[:2], 1),
)
bad("class_accuracy(cls absent)", "cls", lambda: distillation.class_accuracy(LIN, X2[:4], Y_INT, 9))
bad("class_accuracy(cls='a')", "cls", lambda: distillation.class_accuracy(LIN, X2[:4], Y_INT, "a"))
bads(
    "shift_class_bias",
    "n_classes",
    lambda v: lambda: distillation.shift_class_bias(v, 0, 1.0),
    [0, 2.5],
)
bads(
    "shift_class_bias",
    "cls",
    lambda v: lambda: distillation.shift_class_bias(3, v, 1.0),
    [3, -1, 1.0],
)
bads(
    "shift_class_bias",
    "amount",
    lambda v: lambda: distillation.shift_class_bias(3, 0, v),
    [NAN, INF, "1"],
)
bad(
    "best_bias_shift(candidates empty)",
    "candidates",
    lambda: distillation.best_bias_shift(LIN, X2[:4], Y_INT, 0, torch.zeros(0)),
)
bad("best_bias_shift(cls=5)", "cls", lambda: distillation.best_bias_shift(LIN, X2[:4], Y_INT, 5))

# --------------------------------------------------------------------------------------
# autoencoders
# --------------------------------------------------------------------------------------
AE = ae.Autoencoder(4, 2)
VAE = ae.VariationalAutoencoder(4, 3, 2)
X4 = torch.rand(6, 4)
bads("Autoencoder", "n_hidden", lambda v: lambda: ae.Autoencoder(4, v), [0, 2.0])
bads("Autoencoder", "encoder_activation", lambda v: lambda: ae.Autoencoder(4, 2, v), ["gelu"])
bad("Autoencoder()(x 3 cols)", "x", lambda: AE(torch.zeros(2, 3)))
bad("Autoencoder.decode(h 3 cols)", "h", lambda: AE.decode(torch.zeros(2, 3)))
bads("structure_of", "n_input", lambda v: lambda: ae.structure_of(v, 2), [0])
bad("make_activation('swish')", "activation", lambda: ae.make_activation("swish"))
bad("activation_derivative(GELU)", "activation", lambda: ae.activation_derivative(nn.GELU(), X4))
bad(
    "reconstruction_loss(target wrong shape)",
    "target",
    lambda: ae.reconstruction_loss(AE, X4, torch.zeros(6, 3)),
)
bad("reconstruction_errors(target=list)", "target", lambda: ae.reconstruction_errors(AE, X4, [0.0]))
bad("roc_auc(normal empty)", "normal_scores", lambda: ae.roc_auc(torch.zeros(0), torch.ones(2)))
bad("roc_auc(anomaly 2-D)", "anomaly_scores", lambda: ae.roc_auc(torch.ones(2), torch.ones(2, 2)))
bads(
    "ContractiveLoss",
    "contraction_weight",
    lambda v: lambda: ae.ContractiveLoss(v),
    [-1.0, NAN, INF],
)
bad("jacobian_norm_sq(model=Linear)", "model", lambda: ae.jacobian_norm_sq(nn.Linear(4, 4), X4))
bads("ConvAutoencoder", "side", lambda v: lambda: ae.ConvAutoencoder(side=v), [6, 0])
bads(
    "ConvAutoencoder",
    "channels",
    lambda v: lambda: ae.ConvAutoencoder(channels=v),
    [(8,), "ab", (8, 0)],
)
bad("ConvAutoencoder()(x 63 cols)", "x", lambda: ae.ConvAutoencoder()(torch.rand(2, 63)))
bad(
    "ConvAutoencoder.decode(h wrong shape)",
    "h",
    lambda: ae.ConvAutoencoder().decode(torch.rand(2, 8)),
)
bads("corrupt", "noise_level", lambda v: lambda: ae.corrupt(X4, "mask", v), [1.5, NAN])
bads("corrupt", "noise", lambda v: lambda: ae.corrupt(X4, v), ["salt"])
bad("corrupt(gaussian, noise_level=inf)", "noise_level", lambda: ae.corrupt(X4, "gaussian", INF))
bad("DenoisingLoss(noise='salt')", "noise", lambda: ae.DenoisingLoss("salt"))
bads("pca_subspace", "k", lambda v: lambda: ae.pca_subspace(X4, v), [0, 5, 1.5])
bad("principal_angles(rows differ)", "b", lambda: ae.principal_angles(X4, X4[:3]))
bad(
    "pca_reconstruction_error(x 3 cols)",
    "x",
    lambda: ae.pca_reconstruction_error(X4, torch.zeros(2, 3), 2),
)
bad("decoder_subspace(model=Linear)", "model", lambda: ae.decoder_subspace(nn.Linear(2, 2)))
bads("kl_sparsity", "rho", lambda v: lambda: ae.kl_sparsity(v, torch.rand(3)), [0.0, 1.0, NAN])
bad("kl_sparsity(rho_hat=list)", "rho_hat", lambda: ae.kl_sparsity(0.1, [0.5]))
bads("SparseLoss", "sparsity_target", lambda v: lambda: ae.SparseLoss(v), [0.0, 1.5])
bads("SparseLoss", "sparsity_weight", lambda v: lambda: ae.SparseLoss(0.1, v), [-1.0, INF])
bad("SparseLoss()(relu model)", "model", lambda: ae.SparseLoss()(ae.Autoencoder(4, 2, "relu"), X4))
bads("StackedEncoder", "widths", lambda v: lambda: ae.StackedEncoder(v), [[4], "ab", [4, 0]])
bad("StackedEncoder(n_classes=0)", "n_classes", lambda: ae.StackedEncoder([4, 2], n_classes=0))
bad(
    "StackedEncoder.load_pretrained(wrong count)",
    "autoencoders",
    lambda: ae.StackedEncoder([4, 2]).load_pretrained([AE, AE]),
)
bad(
    "StackedEncoder.load_pretrained(wrong widths)",
    "autoencoders",
    lambda: ae.StackedEncoder([4, 3]).load_pretrained([AE]),
)
bad(
    "StackedEncoder.load_pretrained(5)",
    "autoencoders",
    lambda: ae.StackedEncoder([4, 3]).load_pretrained(5),
)
bad("ContractiveLoss()(model=Linear)", "model", lambda: ae.ContractiveLoss()(nn.Linear(4, 4), X4))
bad(
    "contractive_penalty(model=Linear)",
    "model",
    lambda: ae.contractive_penalty(nn.Linear(4, 4), X4),
)
bad("anomaly_scores(x 3 cols)", "x", lambda: ae.anomaly_scores(AE, torch.zeros(2, 3)))
bad("pretrain_stack(lr=inf)", "lr", lambda: ae.pretrain_stack(X4, [4, 2], epochs=1, lr=INF))
bad("pretrain_stack(x 3 cols)", "x", lambda: ae.pretrain_stack(torch.zeros(2, 3), [4, 2], epochs=1))
bads(
    "VariationalAutoencoder",
    "n_latent",
    lambda v: lambda: ae.VariationalAutoencoder(n_latent=v),
    [0],
)
bad("VAE.decode_logits(z 3 cols)", "z", lambda: VAE.decode_logits(torch.zeros(2, 3)))
bads("VAE.sample", "n", lambda v: lambda: VAE.sample(v), [0, 1.5])
bads("elbo", "n_samples", lambda v: lambda: ae.elbo(VAE, X4, v), [0])
bads(
    "importance_weighted_bound",
    "k",
    lambda v: lambda: ae.importance_weighted_bound(VAE, X4, v),
    [0, 2.5],
)
bad(
    "gaussian_kl(log_var shape differs)",
    "log_var",
    lambda: ae.gaussian_kl(torch.zeros(2, 2), torch.zeros(2, 3)),
)
bad(
    "reparameterize(eps wrong shape)",
    "eps",
    lambda: ae.reparameterize(torch.zeros(2, 2), torch.zeros(2, 2), torch.zeros(3)),
)
bad("reparameterize(mu=list)", "mu", lambda: ae.reparameterize([0.0], torch.zeros(1)))


# --------------------------------------------------------------------------------------
# run
# --------------------------------------------------------------------------------------


def classify(
    name: str, thunk: Callable[[], object], exc: tuple[type[BaseException], ...]
) -> tuple[str, str]:
    """``("well", "")`` or (what went wrong, detail)."""
    try:
        thunk()
    except exc as e:
        if re.search(rf"(?<![A-Za-z0-9_]){re.escape(name)}(?![A-Za-z0-9_])", str(e)):
            return "well", ""
        return "unnamed", f"{type(e).__name__}: {e}"
    except Exception as e:  # noqa: BLE001 - the probe records every kind of failure
        return "other error", f"{type(e).__name__}: {e}"
    return "accepted", "no error"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("-v", "--verbose", action="store_true", help="list every call")
    args = parser.parse_args()
    torch.set_num_threads(1)
    counts: dict[str, int] = {}
    for label, name, thunk, exc in CASES:
        verdict, detail = classify(name, thunk, exc)
        counts[verdict] = counts.get(verdict, 0) + 1
        if verdict != "well" or args.verbose:
            print(f"{verdict:12s} {label}  [{name}]  {detail[:150]}".rstrip())
    well = counts.get("well", 0)
    print(
        f"\n{well}/{len(CASES)} bad calls answered well ({100 * well / len(CASES):.0f} %): "
        + ", ".join(f"{k} {v}" for k, v in sorted(counts.items()))
    )


if __name__ == "__main__":
    sys.exit(main())
