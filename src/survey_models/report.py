"""One small API through which every example reports what it measured.

An example calls :func:`report` for each number it claims something about. The number is
printed (so it shows under the example on its page) and, when the environment variable
``SURVEY_RESULTS_DIR`` names a directory (the docs build sets it), appended as one JSON
line to ``<dir>/<example>.jsonl``; the build collects those lines into the results page.

The example a number belongs to is, in this order:

1. the caller's ``example=`` argument;
2. the environment variable ``SURVEY_EXAMPLE`` (the docs build sets it to the example's
   file stem, e.g. ``plot_gan_ring``, around each example it runs);
3. the stem of ``sys.argv[0]`` when that is a ``plot_*.py`` script (a reader running
   ``python gallery/03_generative/plot_gan_ring.py``);
4. otherwise ``"interactive"`` (a notebook, a console, a test).

The name must be letters, digits and ``_`` (no path).
"""

from __future__ import annotations

import json
import math
import os
import re
import sys
from dataclasses import asdict, dataclass
from pathlib import Path

RESULTS_DIR_ENV = "SURVEY_RESULTS_DIR"
EXAMPLE_ENV = "SURVEY_EXAMPLE"


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
    key: str | None = None

    def line(self) -> str:
        verdict = {True: "达到", False: "未达到", None: "仅记录"}[self.passed]
        unit = f" {self.unit}" if self.unit else ""
        target = f"；目标：{self.target}" if self.target else ""
        return f"[测量] {self.name} = {self.value:.4g}{unit}（{verdict}{target}）"


_STEM = re.compile(r"[A-Za-z0-9_]+")
_KEY = re.compile(r"[a-z0-9_]+")


def _current_example() -> str:
    """The example a number belongs to when the caller does not say (see the module doc)."""
    name = os.environ.get(EXAMPLE_ENV)
    if name:
        return name
    script = Path(sys.argv[0]) if sys.argv and sys.argv[0] else None
    if script is not None and script.name.startswith("plot_") and script.suffix == ".py":
        return script.stem
    return "interactive"


def _verdict(passed: object) -> bool | None:
    # A comparison of NumPy or PyTorch scalars gives their own bool types; a string such
    # as "no" is truthy and would record a pass, so anything else is refused.
    if passed is None or isinstance(passed, bool):
        return passed
    import numpy as np  # here, not at the top: recording a number needs neither library
    import torch

    if isinstance(passed, np.bool_):
        return bool(passed)
    if isinstance(passed, torch.Tensor) and passed.dtype == torch.bool and passed.numel() == 1:
        return bool(passed.item())
    raise TypeError(f"passed must be True, False or None, got {type(passed).__name__}")


def report(
    name: str,
    value: float,
    *,
    key: str | None = None,
    unit: str = "",
    claim: str = "",
    target: str = "",
    passed: bool | None = None,
    example: str | None = None,
) -> None:
    """Print a measured number and record it for the results page and the chapters.

    ``key`` is a short identifier (lower-case letters, digits, ``_``) by which a chapter
    inserts the number with the ``{measure}`` role (``{measure}`plot_x/key```); keys are
    unique within an example. ``passed`` says whether the value meets ``target`` (``None``
    when the number is only recorded, e.g. a run time). ``example`` names the example the
    number belongs to; by default it comes from ``SURVEY_EXAMPLE`` or the running script
    (see the module documentation). Returns nothing, so that sphinx-gallery shows only
    the printed ``[测量]`` line under the cell.
    """
    if not isinstance(name, str) or not name:
        raise ValueError("name must be a non-empty string")
    if key is not None and not (isinstance(key, str) and _KEY.fullmatch(key)):
        raise ValueError(f"key must be lower-case letters, digits and '_', got {key!r}")
    if isinstance(value, bool):
        raise TypeError("value must be a real number, got bool")
    try:
        value = float(value)
    except (TypeError, ValueError) as exc:
        raise TypeError(f"value must be a real number, got {type(value).__name__}") from exc
    if not math.isfinite(value):
        raise ValueError(f"value of {name!r} must be finite, got {value}")
    passed = _verdict(passed)
    for arg, text in (("unit", unit), ("claim", claim), ("target", target)):
        if not isinstance(text, str):
            raise TypeError(f"{arg} must be a string, got {type(text).__name__}")
    example = example if example is not None else _current_example()
    if not (isinstance(example, str) and _STEM.fullmatch(example)):
        raise ValueError(
            f"example must be a script name of letters, digits and '_' (no path), got {example!r}"
        )
    m = Measurement(example, name, value, unit, claim, target, passed, key)
    print(m.line())
    out_dir = os.environ.get(RESULTS_DIR_ENV)
    if out_dir:
        Path(out_dir).mkdir(parents=True, exist_ok=True)
        with open(Path(out_dir) / f"{m.example}.jsonl", "a", encoding="utf-8") as fh:
            fh.write(json.dumps(asdict(m), ensure_ascii=False, allow_nan=False) + "\n")
