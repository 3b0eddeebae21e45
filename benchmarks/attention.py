"""Forward + backward time of our attention and Transformer block against PyTorch built-ins.

Run as a script (it is not a test)::

    .venv/bin/python benchmarks/attention.py

Each pair is timed in the same run, interleaved, on the same inputs; the figure of merit
is the ratio ``ours / built-in`` of the median time (1.0 = as fast). Timings on a shared
machine are noisy; the ratios are more stable than the absolute times.
"""

from __future__ import annotations

import argparse
import statistics
import time

import torch
import torch.nn.functional as F
from torch import nn

from survey_models.attention import (
    MultiHeadAttention,
    fast_scaled_dot_product_attention,
    scaled_dot_product_attention,
)
from survey_models.transformer import TransformerBlock


def time_fwd_bwd(fn, inputs, repeats: int) -> list[float]:
    times = []
    for _ in range(repeats):
        for t in inputs:
            t.grad = None
        start = time.perf_counter()
        out = fn()
        out = out[0] if isinstance(out, tuple) else out
        out.sum().backward()
        times.append(time.perf_counter() - start)
    return times


def compare(name: str, ours, builtin, inputs, params, repeats: int) -> tuple[str, float, float]:
    for _ in range(3):  # warm-up
        time_fwd_bwd(ours, inputs, 1)
        time_fwd_bwd(builtin, inputs, 1)
    t_ours, t_ref = [], []
    for _ in range(repeats):  # interleave to share the machine's noise
        t_ours += time_fwd_bwd(ours, inputs, 1)
        t_ref += time_fwd_bwd(builtin, inputs, 1)
    for p in params:
        p.grad = None
    return name, statistics.median(t_ours), statistics.median(t_ref)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--batch", type=int, default=16)
    parser.add_argument("--length", type=int, default=128)
    parser.add_argument("--d-model", type=int, default=128)
    parser.add_argument("--heads", type=int, default=4)
    parser.add_argument("--repeats", type=int, default=30)
    parser.add_argument("--threads", type=int, default=1)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    torch.manual_seed(0)
    b, t, d, h = args.batch, args.length, args.d_model, args.heads
    rows = []

    q, k, v = (torch.randn(b, h, t, d // h, requires_grad=True) for _ in range(3))
    causal = torch.ones(t, t, dtype=torch.bool).tril()
    rows.append(
        compare(
            "attention, equation (teaching) vs F.scaled_dot_product_attention",
            lambda: scaled_dot_product_attention(q, k, v, causal),
            lambda: F.scaled_dot_product_attention(q, k, v, attn_mask=causal),
            (q, k, v),
            (),
            args.repeats,
        )
    )
    rows.append(
        compare(
            "attention, fast path vs F.scaled_dot_product_attention",
            lambda: fast_scaled_dot_product_attention(q, k, v, is_causal=True),
            lambda: F.scaled_dot_product_attention(q, k, v, is_causal=True),
            (q, k, v),
            (),
            args.repeats,
        )
    )

    x = torch.randn(b, t, d, requires_grad=True)
    ref_mha = nn.MultiheadAttention(d, h, batch_first=True)
    ours_fast = MultiHeadAttention(d, h, fast=True).load_from_torch(ref_mha)
    ours_slow = MultiHeadAttention(d, h, fast=False).load_from_torch(ref_mha)
    torch_mask = ~causal
    params = [*ref_mha.parameters(), *ours_fast.parameters(), *ours_slow.parameters()]
    rows.append(
        compare(
            "MultiHeadAttention (fast) vs nn.MultiheadAttention",
            lambda: ours_fast(x, is_causal=True),
            lambda: ref_mha(x, x, x, attn_mask=torch_mask, need_weights=False),
            (x,),
            params,
            args.repeats,
        )
    )
    rows.append(
        compare(
            "MultiHeadAttention (teaching) vs nn.MultiheadAttention",
            lambda: ours_slow(x, is_causal=True),
            lambda: ref_mha(x, x, x, attn_mask=torch_mask, need_weights=False),
            (x,),
            params,
            args.repeats,
        )
    )

    ref_block = nn.TransformerEncoderLayer(
        d,
        h,
        dim_feedforward=4 * d,
        dropout=0.0,
        activation="gelu",
        batch_first=True,
        norm_first=True,
    )
    ours_block = TransformerBlock(d, h, norm_first=True, activation="gelu").load_from_torch(
        ref_block
    )
    params = [*ref_block.parameters(), *ours_block.parameters()]
    rows.append(
        compare(
            "GPT block (TransformerBlock, causal) vs nn.TransformerEncoderLayer",
            lambda: ours_block(x, is_causal=True),
            lambda: ref_block(x, src_mask=torch_mask),
            (x,),
            params,
            args.repeats,
        )
    )

    print(
        f"torch {torch.__version__}, {torch.get_num_threads()} thread(s); batch {b}, "
        f"length {t}, d_model {d}, heads {h}; median of {args.repeats} forward+backward"
    )
    print(f"{'comparison':70s} {'ours ms':>9s} {'torch ms':>9s} {'ratio':>6s}")
    for name, ours, ref in rows:
        print(f"{name:70s} {ours * 1e3:9.2f} {ref * 1e3:9.2f} {ours / ref:6.2f}")


if __name__ == "__main__":
    main()
