"""One small API through which every example reports what it measured.

An example calls :func:`report` for each number it claims something about. The number is
printed (so it shows under the example on its page) and, when the environment variable
``SURVEY_RESULTS_DIR`` names a directory (the docs build sets it), appended as one JSON
line to ``<dir>/<example>.jsonl``; the build collects those lines into the results page.
"""

from __future__ import annotations

import inspect
import json
import math
import os
from dataclasses import asdict, dataclass
from pathlib import Path

RESULTS_DIR_ENV = "SURVEY_RESULTS_DIR"


@dataclass(frozen=True)
class Measurement:
    """One measured number: what it is, its value and unit, and the claim it tests."""

    example: str
    name: str
    value: float
    unit: str
    claim: str
    target: str
    passed: bool | None

    def line(self) -> str:
        verdict = {True: "达到", False: "未达到", None: "仅记录"}[self.passed]
        unit = f" {self.unit}" if self.unit else ""
        target = f"；目标：{self.target}" if self.target else ""
        return f"[测量] {self.name} = {self.value:.4g}{unit}（{verdict}{target}）"


def _caller_example() -> str:
    # The example's file name, taken from the calling script's globals (sphinx-gallery
    # and ``python plot_x.py`` both set ``__file__``).
    # sphinx-gallery sets no ``__file__`` but compiles each block under the script's path,
    # so the frame's code file name identifies the example there.
    for frame_info in inspect.stack()[2:]:
        for path in (frame_info.frame.f_globals.get("__file__"), frame_info.filename):
            if path and Path(path).name.startswith("plot_") and Path(path).suffix == ".py":
                return Path(path).stem
    return "interactive"


def report(name: str, value: float, *, unit: str = "", claim: str = "", target: str = "",
           passed: bool | None = None, example: str | None = None) -> Measurement:
    """Print a measured number and record it for the results page.

    ``passed`` says whether the value meets ``target`` (``None`` when the number is only
    recorded, e.g. a run time). Returns the :class:`Measurement`.
    """
    if not isinstance(name, str) or not name:
        raise ValueError("name must be a non-empty string")
    try:
        value = float(value)
    except (TypeError, ValueError) as exc:
        raise TypeError(f"value must be a real number, got {type(value).__name__}") from exc
    if math.isnan(value):
        raise ValueError(f"value of {name!r} is NaN")
    if passed is not None and not isinstance(passed, bool):
        passed = bool(passed)
    m = Measurement(example or _caller_example(), name, value, unit, claim, target, passed)
    print(m.line())
    out_dir = os.environ.get(RESULTS_DIR_ENV)
    if out_dir:
        Path(out_dir).mkdir(parents=True, exist_ok=True)
        with open(Path(out_dir) / f"{m.example}.jsonl", "a", encoding="utf-8") as fh:
            fh.write(json.dumps(asdict(m), ensure_ascii=False) + "\n")
    return m
