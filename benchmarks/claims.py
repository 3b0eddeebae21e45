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
The report is printed and written to ``benchmarks/results/claims.txt``; the values and
verdicts at every seed go to ``benchmarks/results/claims.json`` with, per example, the
digest of its source and of the package modules it imports. The book reads that record
(the ``{seeds}`` role and the results page's 跨种子 column, ``docs/_ext/survey_sphinx/
seeds.py``) and refuses an example's record once that digest no longer matches the code.
A run with ``--pattern`` replaces those examples' records and keeps the others. Nothing
is asserted: this is a measurement of the book, not a test.
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
RECORD = RESULTS.with_suffix(".json")
sys.path.insert(0, str(ROOT / "docs" / "_ext"))
from survey_sphinx import freshness  # noqa: E402
from survey_sphinx import seeds as claim_record  # noqa: E402


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
    """``{key or name: {"name", "target", "values": {"seed": [value, passed]}}}``."""
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
            entry["values"][str(seed)] = [float(m["value"]), bool(m["passed"])]
    return claims


def _g(x: float) -> str:
    return f"{x:.3g}"


def digests(scripts: list[Path]) -> dict[str, str]:
    """Each example's digest (its source and the package modules it imports), now."""
    packages = [p for p in [freshness.Package.find("survey_models")] if p is not None]
    return {s.stem: claim_record.example_digest(s, packages) for s in scripts}


def record_run(
    workdir: Path, stems: list[str], seeds: list[int], status: dict, digest: dict[str, str]
) -> dict:
    """Merge this run's examples into the committed record (other examples are kept)."""
    try:
        data = json.loads(RECORD.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        data = {}
    if data.get("version") != claim_record.RECORD_VERSION or data.get("seeds") != seeds:
        data = {"version": claim_record.RECORD_VERSION, "seeds": seeds, "examples": {}}
    for stem in stems:
        data["examples"][stem] = {
            "digest": digest[stem],
            "runs": {str(s): status[(stem, s)] for s in seeds},
            "claims": read_claims(workdir, stem, seeds),
        }
    data["examples"] = dict(sorted(data["examples"].items(), key=lambda kv: _order(kv[0])))
    return data


def _order(stem: str) -> str:
    # gallery order: the folder, then the file name
    path = next(GALLERY.glob(f"*/{stem}.py"), None)
    return path.relative_to(GALLERY).as_posix() if path else "~" + stem


def render(data: dict) -> str:
    seeds = data["seeds"]
    lines = [
        f"Claims across seeds {seeds[0]}..{seeds[-1]} ({len(seeds)} seeds), "
        f"{len(data['examples'])} example(s)",
        "",
        f"{'example/key':<48} {'met':>5}  {'min':>9} {'median':>9} {'max':>9}  claim",
    ]
    established = total = 0
    for stem, example in data["examples"].items():
        for seed, state in example["runs"].items():
            if state != "ok":
                lines.append(f"{stem:<48} run seed {seed}: {state}")
        for key, entry in example["claims"].items():
            values = entry["values"]
            met = sum(passed for _, passed in values.values())
            numbers = [v for v, _ in values.values()]
            result = claim_record.spread(entry, seeds)
            ok = result is not None and result.established
            total += 1
            established += ok
            lines.append(
                f"{stem + '/' + key:<48} {met:>2}/{len(values):<2}  {_g(min(numbers)):>9} "
                f"{_g(statistics.median(numbers)):>9} {_g(max(numbers)):>9}  "
                f"{entry['name']} (target {entry['target']})" + ("" if ok else "  NOT ESTABLISHED")
            )
    share = claim_record.ESTABLISHED
    lines += [
        "",
        f"{established} of {total} claims met by at least {share:.0%} of the seeds.",
    ]
    return "\n".join(lines) + "\n"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seeds", type=int, default=5, help="seeds 0..n-1 (default 5)")
    parser.add_argument("--jobs", type=int, default=2, help="examples run side by side")
    parser.add_argument("--pattern", default="", help="only scripts whose path contains it")
    parser.add_argument("--workdir", type=Path, default=Path("/tmp/survey-claims"))
    parser.add_argument("--timeout", type=float, default=300.0, help="seconds per run")
    parser.add_argument("--reuse", type=Path, help="record an earlier run's workdir again")
    args = parser.parse_args()
    if args.seeds < 1 or args.jobs < 1:
        parser.error("--seeds and --jobs must be at least 1")
    scripts = examples(args.pattern)
    seeds = list(range(args.seeds))
    workdir = args.reuse or args.workdir
    status: dict[tuple[str, int], str] = {}
    digest_file = workdir / "digests.json"
    if args.reuse:
        # the digests of the code that run used, saved when it started
        if not digest_file.is_file():
            parser.error(f"{digest_file} is missing: that run cannot be recorded")
        digest = json.loads(digest_file.read_text(encoding="utf-8"))
        status = {(s.stem, k): "ok" for s in scripts for k in seeds}
    else:
        digest = digests(scripts)
        workdir.mkdir(parents=True, exist_ok=True)
        digest_file.write_text(json.dumps(digest, indent=1) + "\n", encoding="utf-8")
        # Longest first is not known here; seeds of one example run back to back.
        jobs = [(script, seed) for script in scripts for seed in seeds]
        with ThreadPoolExecutor(args.jobs) as pool:
            for stem, seed, seconds, state in pool.map(
                lambda job: run_one(*job, workdir, args.timeout), jobs
            ):
                status[(stem, seed)] = state
                print(f"[claims] {stem} seed {seed}: {state} ({seconds:.1f} s)", flush=True)
    data = record_run(workdir, [s.stem for s in scripts], seeds, status, digest)
    text = render(data)
    print(text)
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RECORD.write_text(json.dumps(data, ensure_ascii=False, indent=1) + "\n", encoding="utf-8")
    RESULTS.write_text(text, encoding="utf-8")


if __name__ == "__main__":
    main()
