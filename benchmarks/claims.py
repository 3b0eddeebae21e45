"""Do the examples' claims hold across seeds? Rerun every example under several seeds.

Usage::

    .venv/bin/python benchmarks/claims.py                    # every example, seeds 0-4
    .venv/bin/python benchmarks/claims.py --seeds 5 --jobs 2 --pattern plot_ddpm
    .venv/bin/python benchmarks/claims.py --reuse /tmp/claims   # only print a finished run

Every example takes its seed from ``SURVEY_SEED`` (:func:`survey_models.example_seed`;
the book is built with 0). Each (example, seed) runs as its own process, one thread, with
``SURVEY_RESULTS_DIR`` pointing at ``<workdir>/seed<k>``, exactly as a reader would run
the script. A *claim* is a number an example reports with a verdict (``passed`` True or
False). For each claim the table gives how many seeds meet its target, and the spread of
the value (minimum, median, maximum). A claim met by fewer than 4 of 5 seeds is marked
``NOT ESTABLISHED``: at that margin it is not a result of the method but of the seed.

The targets are the examples' own: an example whose target is computed from the run
(e.g. "5 × the real-vs-real floor of this run") is judged against its own run's target.
The report is printed and written to ``benchmarks/results/claims.txt``. Nothing is
asserted: this is a measurement of the book, not a test.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
GALLERY = ROOT / "gallery"
RESULTS = ROOT / "benchmarks" / "results" / "claims.txt"


def examples(pattern: str) -> list[Path]:
    return sorted(p for p in GALLERY.glob("*/plot_*.py") if pattern in str(p))


def run_one(script: Path, seed: int, workdir: Path, timeout: float) -> tuple[str, int, float, str]:
    """Run one example under one seed; its records land in ``workdir/seed<seed>``."""
    out = workdir / f"seed{seed}"
    out.mkdir(parents=True, exist_ok=True)
    (out / f"{script.stem}.jsonl").unlink(missing_ok=True)
    env = {
        **os.environ,
        "SURVEY_SEED": str(seed),
        "SURVEY_RESULTS_DIR": str(out),
        "MPLBACKEND": "Agg",
        "OMP_NUM_THREADS": "1",
    }
    env.pop("SURVEY_EXAMPLE", None)
    start = time.perf_counter()
    try:
        proc = subprocess.run(
            [sys.executable, str(script)],
            cwd=script.parent,
            env=env,
            capture_output=True,
            text=True,
            timeout=timeout,
        )
        status = "ok" if proc.returncode == 0 else f"failed: {proc.stderr.strip()[-300:]}"
    except subprocess.TimeoutExpired:
        status = f"timed out after {timeout:.0f} s"
    return script.stem, seed, time.perf_counter() - start, status


def read_claims(workdir: Path, stem: str, seeds: list[int]) -> dict[str, dict]:
    """``{key or name: {"name", "target", "values": {seed: (value, passed)}}}``."""
    claims: dict[str, dict] = {}
    for seed in seeds:
        path = workdir / f"seed{seed}" / f"{stem}.jsonl"
        if not path.is_file():
            continue
        for line in path.read_text(encoding="utf-8").splitlines():
            m = json.loads(line)
            if m.get("passed") is None:
                continue
            entry = claims.setdefault(
                m.get("key") or m["name"], {"name": m["name"], "target": m["target"], "values": {}}
            )
            entry["values"][seed] = (float(m["value"]), bool(m["passed"]))
    return claims


def _g(x: float) -> str:
    return f"{x:.3g}"


def render(workdir: Path, stems: list[str], seeds: list[int], status: dict) -> str:
    lines = [
        f"Claims across seeds {seeds[0]}..{seeds[-1]} ({len(seeds)} seeds), "
        f"{len(stems)} example(s); records in {workdir}",
        "",
        f"{'example/key':<48} {'met':>5}  {'min':>9} {'median':>9} {'max':>9}  claim",
    ]
    established = total = 0
    for stem in stems:
        failed = [f"seed {s}: {status[(stem, s)]}" for s in seeds if status[(stem, s)] != "ok"]
        for note in failed:
            lines.append(f"{stem:<48} run {note}")
        for key, entry in read_claims(workdir, stem, seeds).items():
            values = entry["values"]
            met = sum(passed for _, passed in values.values())
            numbers = [v for v, _ in values.values()]
            total += 1
            ok = met >= 4 * len(seeds) / 5 and len(values) == len(seeds)
            established += ok
            lines.append(
                f"{stem + '/' + key:<48} {met:>2}/{len(values):<2}  {_g(min(numbers)):>9} "
                f"{_g(statistics.median(numbers)):>9} {_g(max(numbers)):>9}  "
                f"{entry['name']} (target {entry['target']})" + ("" if ok else "  NOT ESTABLISHED")
            )
    lines += ["", f"{established} of {total} claims met by at least 4 of 5 seeds (or 80 %)."]
    return "\n".join(lines) + "\n"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seeds", type=int, default=5, help="seeds 0..n-1 (default 5)")
    parser.add_argument("--jobs", type=int, default=2, help="examples run side by side")
    parser.add_argument("--pattern", default="", help="only scripts whose path contains it")
    parser.add_argument("--workdir", type=Path, default=Path("/tmp/survey-claims"))
    parser.add_argument("--timeout", type=float, default=300.0, help="seconds per run")
    parser.add_argument("--reuse", type=Path, help="print the table of an earlier run")
    args = parser.parse_args()
    if args.seeds < 1 or args.jobs < 1:
        parser.error("--seeds and --jobs must be at least 1")
    scripts = examples(args.pattern)
    seeds = list(range(args.seeds))
    workdir = args.reuse or args.workdir
    status: dict[tuple[str, int], str] = {}
    if args.reuse:
        status = {(s.stem, k): "ok" for s in scripts for k in seeds}
    else:
        # Longest first is not known here; seeds of one example run back to back.
        jobs = [(script, seed) for script in scripts for seed in seeds]
        with ThreadPoolExecutor(args.jobs) as pool:
            for stem, seed, seconds, state in pool.map(
                lambda job: run_one(*job, workdir, args.timeout), jobs
            ):
                status[(stem, seed)] = state
                print(f"[claims] {stem} seed {seed}: {state} ({seconds:.1f} s)", flush=True)
    text = render(workdir, [s.stem for s in scripts], seeds, status)
    print(text)
    if not args.pattern and not args.reuse:
        RESULTS.parent.mkdir(parents=True, exist_ok=True)
        RESULTS.write_text(text, encoding="utf-8")


if __name__ == "__main__":
    main()
