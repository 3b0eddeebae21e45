"""Training and generation speed of the package's GPT against a nanoGPT-style reference.

Run as a script (it is not a test; it prints and asserts only that the models agree)::

    .venv/bin/python benchmarks/gpt_speed.py            # tiny: 2 layers, 4 heads, width 128
    .venv/bin/python benchmarks/gpt_speed.py --config small   # 6 / 6 / 384, context 256

The reference below is written in the plain single-file style of nanoGPT (fused ``c_attn``
projection, ``F.scaled_dot_product_attention``, generation by re-feeding the cropped
context and reading the last position) with the same parameters as ours: after copying
our weights into it, its logits must equal ours (printed as a sanity check). A third
model is a stack of ``torch.nn.TransformerEncoderLayer`` (pre-norm, GELU, causal mask)
with the same embeddings and head. Timings are interleaved (A, B, C, B, C, A, ...: the
order rotates each round) on one thread. Ratio = reference time / our time, so > 1 means
ours is faster; it is computed per round (the models of one round ran within a second of
each other, under the same load) and the report gives the median of the per-round ratios
and their interquartile range. The machine may be shared: read the ratios, not the
absolute times. ``--out FILE`` also writes the report there (e.g.
``benchmarks/results/gpt_speed.txt``).
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time

import torch
import torch.nn.functional as F
from torch import nn

from survey_models.transformer import GPT

CONFIGS = {
    "tiny": dict(n_layer=2, n_head=4, d_model=128, block=64, batch=32),
    "small": dict(n_layer=6, n_head=6, d_model=384, block=256, batch=32),
}
VOCAB = 65


# --- the reference, nanoGPT style -------------------------------------------------------
class RefAttention(nn.Module):
    def __init__(self, d: int, n_head: int) -> None:
        super().__init__()
        self.n_head = n_head
        self.c_attn = nn.Linear(d, 3 * d)
        self.c_proj = nn.Linear(d, d)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        b, t, c = x.shape
        q, k, v = self.c_attn(x).split(c, dim=2)
        q, k, v = (z.view(b, t, self.n_head, c // self.n_head).transpose(1, 2) for z in (q, k, v))
        y = F.scaled_dot_product_attention(q, k, v, is_causal=True)
        return self.c_proj(y.transpose(1, 2).contiguous().view(b, t, c))


class RefBlock(nn.Module):
    def __init__(self, d: int, n_head: int) -> None:
        super().__init__()
        self.ln_1 = nn.LayerNorm(d)
        self.attn = RefAttention(d, n_head)
        self.ln_2 = nn.LayerNorm(d)
        self.c_fc = nn.Linear(d, 4 * d)
        self.c_proj = nn.Linear(4 * d, d)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = x + self.attn(self.ln_1(x))
        return x + self.c_proj(F.gelu(self.c_fc(self.ln_2(x))))


class RefGPT(nn.Module):
    def __init__(self, vocab: int, block: int, n_layer: int, n_head: int, d_model: int) -> None:
        super().__init__()
        self.block_size = block
        self.wte = nn.Embedding(vocab, d_model)
        self.wpe = nn.Embedding(block, d_model)
        self.h = nn.ModuleList(RefBlock(d_model, n_head) for _ in range(n_layer))
        self.ln_f = nn.LayerNorm(d_model)
        self.lm_head = nn.Linear(d_model, vocab, bias=False)

    def forward(self, idx: torch.Tensor) -> torch.Tensor:
        t = idx.shape[1]
        x = self.wte(idx) + self.wpe(torch.arange(t, device=idx.device))
        for block in self.h:
            x = block(x)
        return self.lm_head(self.ln_f(x))

    @torch.no_grad()
    def generate(self, idx: torch.Tensor, n: int, generator: torch.Generator) -> torch.Tensor:
        for _ in range(n):
            logits = self(idx[:, -self.block_size :])[:, -1, :]
            nxt = torch.multinomial(F.softmax(logits, dim=-1), 1, generator=generator)
            idx = torch.cat((idx, nxt), dim=1)
        return idx


@torch.no_grad()
def copy_into_reference(ours: GPT, ref: RefGPT) -> None:
    ref.wte.weight.copy_(ours.token_embedding.weight)
    ref.wpe.weight.copy_(ours.position_embedding.weight)
    for a, r in zip(ours.blocks, ref.h):
        att = a.self_attn
        r.attn.c_attn.load_state_dict(att.in_proj.state_dict())  # rows [W^Q; W^K; W^V]
        r.attn.c_proj.load_state_dict(att.out_proj.state_dict())
        r.ln_1.load_state_dict(a.norm1.state_dict())
        r.ln_2.load_state_dict(a.norm2.state_dict())
        r.c_fc.load_state_dict(a.linear1.state_dict())
        r.c_proj.load_state_dict(a.linear2.state_dict())
    ref.ln_f.load_state_dict(ours.norm.state_dict())
    ref.lm_head.weight.copy_(ours.head.weight)


# --- nn.TransformerEncoderLayer stack -----------------------------------------------------
class TorchStack(nn.Module):
    def __init__(self, vocab: int, block: int, n_layer: int, n_head: int, d_model: int) -> None:
        super().__init__()
        self.wte = nn.Embedding(vocab, d_model)
        self.wpe = nn.Embedding(block, d_model)
        layer = nn.TransformerEncoderLayer(
            d_model,
            n_head,
            4 * d_model,
            dropout=0.0,
            activation="gelu",
            batch_first=True,
            norm_first=True,
        )
        self.stack = nn.TransformerEncoder(layer, n_layer, enable_nested_tensor=False)
        self.ln_f = nn.LayerNorm(d_model)
        self.lm_head = nn.Linear(d_model, vocab, bias=False)

    def forward(self, idx: torch.Tensor) -> torch.Tensor:
        t = idx.shape[1]
        x = self.wte(idx) + self.wpe(torch.arange(t, device=idx.device))
        mask = nn.Transformer.generate_square_subsequent_mask(t)
        x = self.stack(x, mask=mask, is_causal=True)
        return self.lm_head(self.ln_f(x))


# --- timing -------------------------------------------------------------------------------
def paired_ratio(baseline: list[float], ours: list[float]) -> str:
    """Median and interquartile range of the per-round ratios baseline / ours."""
    ratios = sorted(b / o for b, o in zip(baseline, ours))
    q1, med, q3 = statistics.quantiles(ratios, n=4) if len(ratios) > 1 else ratios * 3
    return f"{med:.3f} (IQR {q1:.3f}-{q3:.3f}, {len(ratios)} rounds)"


def train_step_timer(model: nn.Module, x: torch.Tensor, y: torch.Tensor):
    opt = torch.optim.AdamW(model.parameters(), lr=1e-4)

    def step() -> float:
        start = time.perf_counter()
        logits = model(x)
        loss = F.cross_entropy(logits.reshape(-1, logits.shape[-1]), y.reshape(-1))
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        return time.perf_counter() - start

    return step


class Tee:
    """Write to several streams (the terminal and ``--out``)."""

    def __init__(self, *streams) -> None:
        self.streams = streams

    def write(self, text: str) -> None:
        for stream in self.streams:
            stream.write(text)

    def flush(self) -> None:
        for stream in self.streams:
            stream.flush()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--config", choices=tuple(CONFIGS), default="tiny")
    parser.add_argument("--repeats", type=int, default=None, help="rounds (default by config)")
    parser.add_argument("--new-tokens", type=int, default=None, help="default: the context")
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--out", type=argparse.FileType("a", encoding="utf-8"), default=None)
    args = parser.parse_args()
    if args.repeats is None:
        args.repeats = 40 if args.config == "tiny" else 10
    if args.out is not None:
        sys.stdout = Tee(sys.stdout, args.out)
    torch.set_num_threads(args.threads)
    cfg = CONFIGS[args.config]
    block, batch = cfg["block"], cfg["batch"]
    sizes = dict(n_layer=cfg["n_layer"], n_head=cfg["n_head"], d_model=cfg["d_model"])
    torch.manual_seed(0)
    ours = GPT(VOCAB, block, **sizes)
    ref = RefGPT(VOCAB, block, **sizes)
    stack = TorchStack(VOCAB, block, **sizes)
    copy_into_reference(ours, ref)
    n_ours, n_ref = ours.num_parameters(), sum(p.numel() for p in ref.parameters())
    x = torch.randint(VOCAB, (batch, block))
    y = torch.randint(VOCAB, (batch, block))
    with torch.no_grad():
        diff = (ours(x) - ref(x)).abs().max().item()
    load = " ".join(f"{x:.1f}" for x in os.getloadavg())
    print(
        f"# gpt_speed — {time.strftime('%Y-%m-%d %H:%M:%S UTC', time.gmtime())}; torch "
        f"{torch.__version__}, CPU capability {torch.backends.cpu.get_cpu_capability()}, "
        f"load average at start {load}"
    )
    print(f"config {args.config}: {sizes}, context {block}, batch {batch}, threads {args.threads}")
    print(f"parameters: ours {n_ours:,}, reference {n_ref:,}; max |logit difference| {diff:.2e}")
    assert n_ours == n_ref, "parameter counts differ"
    assert diff < 1e-4, "the reference does not compute our function"

    # training step: interleave ours / reference / torch stack
    steps = {
        name: train_step_timer(m, x, y)
        for name, m in (("ours", ours), ("reference", ref), ("torch", stack))
    }
    for fn in steps.values():
        fn()  # warm-up
    times: dict[str, list[float]] = {name: [] for name in steps}
    names = list(steps)
    for r in range(args.repeats):
        for name in names[r % 3 :] + names[: r % 3]:  # rotate the order every round
            times[name].append(steps[name]())
    med = {name: statistics.median(t) for name, t in times.items()}
    tok = batch * block
    print("train step (median s, tokens/s):")
    for name, t in med.items():
        print(f"  {name:10s} {t:.4f} s  {tok / t:10,.0f} tokens/s")
    print(f"  ratio reference/ours {paired_ratio(times['reference'], times['ours'])}")
    print(f"  ratio torch/ours     {paired_ratio(times['torch'], times['ours'])}")

    # generation: one sequence, a short prompt, fill the context
    new = args.new_tokens or block - 8
    prompt = torch.randint(VOCAB, (1, 8))
    ours.eval(), ref.eval()

    def gen(kind: str) -> float:
        g = torch.Generator().manual_seed(0)
        start = time.perf_counter()
        if kind == "reference":
            ref.generate(prompt, new, g)
        else:
            ours.generate(prompt, new, generator=g, use_cache=kind == "ours cached")
        return time.perf_counter() - start

    kinds = ("ours cached", "ours uncached", "reference")
    for k in kinds:
        gen(k)
    gtimes: dict[str, list[float]] = {k: [] for k in kinds}
    for r in range(max(5, args.repeats // 2)):
        for k in kinds[r % 3 :] + kinds[: r % 3]:
            gtimes[k].append(gen(k))
    gmed = {k: statistics.median(t) for k, t in gtimes.items()}
    same = torch.equal(
        ref.generate(prompt, new, torch.Generator().manual_seed(0)),
        ours.generate(prompt, new, generator=torch.Generator().manual_seed(0)),
    )
    print(f"generate {new} tokens (median s, tokens/s); same tokens as the reference: {same}")
    for k, t in gmed.items():
        print(f"  {k:14s} {t:.4f} s  {new / t:10,.0f} tokens/s")
    print(
        "  ratio reference/ours uncached "
        f"{paired_ratio(gtimes['reference'], gtimes['ours uncached'])}"
    )
    print(
        f"  ratio reference/ours cached   {paired_ratio(gtimes['reference'], gtimes['ours cached'])}"
    )
    print(
        "  ratio ours uncached/ours cached "
        f"{paired_ratio(gtimes['ours uncached'], gtimes['ours cached'])}"
    )


if __name__ == "__main__":
    main()
