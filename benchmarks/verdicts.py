"""Compare the verdicts (达到/未达到) of two builds' records, e.g. two float paths.

    python benchmarks/verdicts.py A/summary.json B/summary.json

``summary.json`` is the results page's machine-readable twin, written into a build's
results directory. Prints every measurement whose verdict differs between the two builds,
then how many values differ at all (floats on another path round differently, so values
may move while verdicts must not). Prints only; a flip is for a person to judge.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path


def measurements(path: Path) -> dict[tuple[str, str], dict]:
    rows = json.loads(path.read_text(encoding="utf-8"))
    return {(row["example"], m["name"]): m for row in rows for m in row["measurements"]}


def main(a: str, b: str) -> None:
    first, second = measurements(Path(a)), measurements(Path(b))
    verdict = {True: "达到", False: "未达到", None: "仅记录"}
    flips, moved = [], 0
    for key in sorted(first.keys() & second.keys()):
        x, y = first[key], second[key]
        moved += x["value"] != y["value"]
        if x.get("passed") != y.get("passed"):
            flips.append(
                f"{key[0]} / {key[1]}: {x['value']:.4g} {verdict[x.get('passed')]}"
                f" vs {y['value']:.4g} {verdict[y.get('passed')]}"
            )
    print(
        f"{len(first.keys() & second.keys())} measurements in both builds; "
        f"{moved} values differ; {len(flips)} verdicts differ"
    )
    for line in flips:
        print("  " + line)
    only = sorted(first.keys() ^ second.keys())
    if only:
        print(f"{len(only)} measurements in only one build: {only}")


if __name__ == "__main__":
    main(*sys.argv[1:3])
