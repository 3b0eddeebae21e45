"""The set-up every example runs first: :func:`setup_example`.

A gallery example starts with ``device = setup_example()`` (or ``setup_example(seed)``),
and the docs build's sphinx-gallery hook
(:func:`survey_models.plotting.reset_for_example`) calls the same function before each
example. So a reader who runs ``python gallery/.../plot_x.py`` alone gets exactly the
state that the build gives the example, and the same numbers.

One environment variable, ``SURVEY_SEED``, moves an example to another seed
(:func:`example_seed`; unset means 0, the seed the book is built with), so that a claim
can be checked across seeds without editing the script (``benchmarks/claims.py``).
"""

from __future__ import annotations

import os

import matplotlib
import torch
from threadpoolctl import threadpool_limits  # a dependency of scikit-learn

from . import train
from ._checks import check_seed
from .plotting import use_style

# Read by OpenMP, OpenBLAS and MKL when they are loaded (e.g. SciPy's BLAS, loaded by the
# first scikit-learn import).
_THREAD_VARIABLES = ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS")


SEED_VARIABLE = "SURVEY_SEED"


def example_seed() -> int:
    """The seed the example runs under: ``$SURVEY_SEED`` if set, else 0.

    An example derives every seed it uses from this one (``seed``, ``seed + 1``, ...),
    so one variable moves the whole run.
    """
    text = os.environ.get(SEED_VARIABLE, "").strip()
    if not text:
        return 0
    try:
        value = int(text)
    except ValueError:
        raise ValueError(f"{SEED_VARIABLE} must be a non-negative integer, got {text!r}") from None
    return check_seed(value, SEED_VARIABLE)


def setup_example(seed: int | None = None) -> torch.device:
    """Put matplotlib, PyTorch and the random generators in the state every example starts in.

    Closes every open figure, restores matplotlib's defaults and applies the project's
    figure style (:func:`survey_models.plotting.use_style`: the CJK font, a missing glyph
    is an error), pins PyTorch and the BLAS and OpenMP libraries that NumPy and
    scikit-learn use to one thread each (the build runs two examples side by side on two
    cores, one thread each; the last digits of a result, and so a fitted model, can depend
    on the thread count), and seeds Python's ``random``, NumPy and PyTorch with ``seed``
    (:func:`survey_models.train.set_seed`; ``None`` means :func:`example_seed`).

    Returns the device the example should compute on: the CPU. The package has no
    device-selection helper; every example is sized for a CPU, and
    :func:`survey_models.train.fit` defaults to ``device="cpu"``.
    """
    import matplotlib.pyplot as plt

    train.set_seed(example_seed() if seed is None else seed)  # checks it before anything changes
    plt.close("all")
    matplotlib.rcdefaults()
    use_style()
    torch.set_num_threads(1)
    threadpool_limits(limits=1)  # the libraries already loaded
    os.environ.update({name: "1" for name in _THREAD_VARIABLES})  # those loaded later
    return torch.device("cpu")


__all__ = ["setup_example", "example_seed"]
