"""The set-up every example runs first: :func:`setup_example`.

A gallery example starts with ``device = setup_example()`` (or ``setup_example(seed)``),
and the docs build's sphinx-gallery hook
(:func:`survey_models.plotting.reset_for_example`) calls the same function before each
example. So a reader who runs ``python gallery/.../plot_x.py`` alone gets exactly the
state that the build gives the example, and the same numbers.

One environment variable, ``SURVEY_SEED``, moves an example to another seed
(:func:`example_seed`; unset means 0, the seed the book is built with), so that a claim
can be checked across seeds without editing the script (``benchmarks/claims.py``).
Two more are for a reader with a bigger machine: ``SURVEY_DEVICE`` (the device
:func:`setup_example` returns, :func:`survey_models.train.select_device`) and
``SURVEY_SCALE`` (:func:`example_scale`, read by the examples that grow with it).
"""

from __future__ import annotations

import math
import os
from collections.abc import Callable
from typing import TypeVar

import matplotlib
import torch
from threadpoolctl import threadpool_limits  # a dependency of scikit-learn

from . import train
from ._checks import check_positive_float, check_positive_int, check_seed
from .plotting import use_style

# Read by OpenMP, OpenBLAS and MKL when they are loaded (e.g. SciPy's BLAS, loaded by the
# first scikit-learn import).
_THREAD_VARIABLES = ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS")


SEED_VARIABLE = "SURVEY_SEED"
T = TypeVar("T")


def _from_environment(name: str, parse: Callable[[str], T], expected: str) -> T | None:
    """``$name`` parsed, or ``None`` when it is unset or blank; a bad value names the variable."""
    text = os.environ.get(name, "").strip()
    if not text:
        return None
    try:
        return parse(text)
    except ValueError:
        raise ValueError(f"{name} must be {expected}, got {text!r}") from None


def _positive_float(text: str) -> float:
    value = float(text)
    if not (math.isfinite(value) and value > 0):
        raise ValueError(text)
    return value


def example_seed() -> int:
    """The seed the example runs under: ``$SURVEY_SEED`` if set, else 0.

    An example derives every seed it uses from this one (``seed``, ``seed + 1``, ...),
    so one variable moves the whole run.
    """
    value = _from_environment(SEED_VARIABLE, int, "a non-negative integer")
    return 0 if value is None else check_seed(value, SEED_VARIABLE)


SCALE_VARIABLE = "SURVEY_SCALE"


def example_scale() -> float:
    """How much larger than the book's run an example should be: ``$SURVEY_SCALE``, else 1.

    A positive number; the examples that read it multiply a size (training steps, a
    width) by it and round, so 1 reproduces the book's numbers exactly.
    """
    value = _from_environment(SCALE_VARIABLE, _positive_float, "a positive number")
    return 1.0 if value is None else value


def scaled(size: int, scale: float | None = None) -> int:
    """``size`` times :func:`example_scale` (or ``scale``), rounded, at least 1."""
    size = check_positive_int("size", size)
    factor = example_scale() if scale is None else check_positive_float("scale", scale)
    return max(1, round(size * factor))


def setup_example(seed: int | None = None) -> torch.device:
    """Put matplotlib, PyTorch and the random generators in the state every example starts in.

    Closes every open figure, restores matplotlib's defaults and applies the project's
    figure style (:func:`survey_models.plotting.use_style`: the CJK font, a missing glyph
    is an error), pins PyTorch and the BLAS and OpenMP libraries that NumPy and
    scikit-learn use to one thread each (the build runs two examples side by side on two
    cores, one thread each; the last digits of a result, and so a fitted model, can depend
    on the thread count), and seeds Python's ``random``, NumPy and PyTorch with ``seed``
    (:func:`survey_models.train.set_seed`; ``None`` means :func:`example_seed`).

    Returns the device the example should train on,
    :func:`survey_models.train.select_device`: ``cuda``, then ``mps``, else the CPU;
    ``SURVEY_DEVICE=cpu`` forces the CPU (the docs build sets it). Every example is sized
    for a CPU; the ones that pass this device to :func:`survey_models.train.fit` use the
    accelerator, the others stay on the CPU.
    """
    import matplotlib.pyplot as plt

    device = train.select_device()  # a bad SURVEY_DEVICE fails before anything changes
    train.set_seed(example_seed() if seed is None else seed)  # checks it before anything changes
    plt.close("all")
    matplotlib.rcdefaults()
    use_style()
    torch.set_num_threads(1)
    threadpool_limits(limits=1)  # the libraries already loaded
    os.environ.update({name: "1" for name in _THREAD_VARIABLES})  # those loaded later
    return device


__all__ = ["setup_example", "example_seed", "example_scale", "scaled"]
