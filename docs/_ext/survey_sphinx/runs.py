"""What happens around every example run: the sphinx-gallery ``reset_modules`` hook.

:func:`around_example` runs in the process that runs the example (a pool worker, or the
Sphinx process itself), before and after it:

1. the worker dies with the build (:func:`die_with_build`): a killed ``sphinx-build``
   leaves its pool workers orphaned, and they would go on running examples;
2. the network stays blocked in the worker too (:func:`.offline.install_if_requested`);
3. the example's name is published in ``SURVEY_EXAMPLE``, so that
   :func:`survey_models.report.report` knows where its numbers belong;
4. :func:`record_run` times the example, measures its peak memory and writes
   ``<results dir>/<example>.run.json``, which the results page and the staleness check
   read.
"""

from __future__ import annotations

import json
import os
import threading
import time
from pathlib import Path

from . import offline
from .freshness import run_record_file

EXAMPLE_ENV = "SURVEY_EXAMPLE"


def around_example(gallery_conf: dict, fname: str | None, when: str) -> None:
    """sphinx-gallery ``reset_modules`` hook (``reset_modules_order = "both"``)."""
    die_with_build()
    offline.install_if_requested()
    if fname is not None:
        if when == "before":
            os.environ[EXAMPLE_ENV] = Path(fname).stem
        else:
            os.environ.pop(EXAMPLE_ENV, None)
    record_run(gallery_conf, fname, when)


_started: dict[str, float] = {}


def _reset_peak_rss() -> bool:
    """Reset the kernel's peak-RSS mark of this process (Linux ``clear_refs`` 5)."""
    try:
        with open("/proc/self/clear_refs", "w") as fh:
            fh.write("5")
        return True
    except OSError:
        return False


def _peak_rss_mib() -> float:
    try:
        with open("/proc/self/status") as fh:
            for line in fh:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) / 1024
    except OSError:
        pass
    import resource

    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def record_run(gallery_conf: dict, fname: str | None, when: str) -> None:
    """sphinx-gallery ``reset_modules`` hook: time an example and measure its peak memory.

    Writes ``<results dir>/<example>.run.json`` with the wall time from before the example
    to after it, the CPU time of the process meanwhile (on a loaded machine, a better
    estimate of the time the example needs on a free core) and the peak resident set size
    of the process that ran it. The peak includes the process's baseline: the imported
    libraries and memory kept from earlier examples run in the same worker, so it is an
    upper bound. Where the kernel's per-process peak mark cannot be reset (not Linux), the
    value is the process's peak so far and
    ``peak_is_per_example`` is false.
    """
    if fname is None:
        return
    stem = Path(fname).stem
    record = run_record_file(stem)
    if when == "before":
        if record is not None:  # a rerun replaces, never appends to, the records
            record.unlink(missing_ok=True)
            record.with_name(f"{stem}.jsonl").unlink(missing_ok=True)
        _started[stem] = time.perf_counter()
        _started[stem + "/cpu"] = time.process_time()
        _started[stem + "/reset"] = float(_reset_peak_rss())
        return
    if record is None or stem not in _started:
        return
    elapsed = time.perf_counter() - _started.pop(stem)
    cpu = time.process_time() - _started.pop(stem + "/cpu", time.process_time())
    per_example = bool(_started.pop(stem + "/reset", 0.0))
    numbers = record.with_name(f"{stem}.jsonl")
    reported = (
        sum(1 for line in numbers.read_text(encoding="utf-8").splitlines() if line.strip())
        if numbers.exists()
        else 0
    )
    record.parent.mkdir(parents=True, exist_ok=True)
    record.write_text(
        json.dumps(
            {
                "example": stem,
                "seconds": round(elapsed, 3),
                "cpu_seconds": round(cpu, 3),
                "peak_rss_mib": round(_peak_rss_mib(), 1),
                "measurements": reported,
                "peak_is_per_example": per_example,
                "pid": os.getpid(),
            }
        )
        + "\n",
        encoding="utf-8",
    )


_watching_parent = False


def die_with_build() -> None:
    """End this process when the one that started it dies (a killed ``sphinx-build``).

    The examples run in pool workers; when the build is killed (SIGKILL leaves it no
    chance to stop them) the workers are handed to another parent and would go on
    running examples and writing pages. A daemon thread notices and exits at once.
    """
    global _watching_parent
    if _watching_parent:
        return
    _watching_parent = True
    parent = os.getppid()

    def watch() -> None:
        while os.getppid() == parent:
            time.sleep(0.5)
        os._exit(1)

    threading.Thread(target=watch, name="survey-die-with-build", daemon=True).start()
