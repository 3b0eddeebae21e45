"""Run the gallery's examples in one pool, longest first, across all theme folders.

sphinx-gallery's ``parallel`` option runs the examples of one gallery folder at a time in
a pool of workers: with seven theme folders of one to seven examples each, a core idles
at the end of every folder while the last example finishes (and a folder with a single
example runs on one core). This extension, at ``builder-inited`` just before
sphinx-gallery, runs every example that sphinx-gallery would run (executable in this
build, md5 not current, not opting out of parallel execution) through sphinx-gallery's own
:func:`sphinx_gallery.gen_rst.generate_file_rst` in one pool of ``parallel`` workers,
ordered by the example's last measured CPU time, longest first (this checkout's last run
of it; for an example never run here, the CPU time ``benchmarks/build.py`` measured and
committed in ``gallery/example_costs.json``; examples with neither go first). Each run
writes exactly what sphinx-gallery's own run would (page, images, md5, cached cost and
backreferences), so when sphinx-gallery then walks the folders it finds every example
current and only assembles the index pages. An example that fails here is entered in
sphinx-gallery's list of failing examples (which fails the build at its end) and is not
run a second time. When no example is left to run, sphinx-gallery's own pass is made
serial: it only assembles pages from its caches, and its parallel mode would start worker
processes (each importing PyTorch) to do so.

Only public sphinx-gallery functions are called (``generate_file_rst``,
``split_code_and_text_blocks``, ``get_md5sum``), but the scheduler depends on what
``generate_file_rst`` writes (the md5 only after a passing run, the page, the cached cost)
and sets ``gallery_conf["parallel"]``: pyproject.toml pins sphinx-gallery to the minor
version tested (0.22).
"""

from __future__ import annotations

import json
import os
import time
from pathlib import Path

from . import freshness as gf


def _logger():
    from sphinx.util import logging

    return logging.getLogger(__name__)


def cost_hints(path: Path | None) -> dict[str, float]:
    """``{example stem: seconds}`` from a benchmark's output, for never-run examples."""
    if path is None or not path.is_file():
        return {}
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
        return {str(k): float(v) for k, v in data.items()}
    except (OSError, ValueError, TypeError, AttributeError):
        return {}


def pending_examples(
    srcdir: Path, gallery_conf: dict, hints: dict[str, float] | None = None
) -> list[gf.Example]:
    """Examples sphinx-gallery would execute in this build, in the order to run them."""
    from sphinx_gallery.py_source_parser import split_code_and_text_blocks
    from sphinx_gallery.utils import get_md5sum

    todo = []
    for example in gf.gallery_examples(srcdir, gallery_conf):
        if not gf.will_execute(example, gallery_conf):
            continue
        md5 = example.md5_file
        if md5.exists() and md5.read_text() == get_md5sum(example.source, mode="t"):
            continue
        file_conf = split_code_and_text_blocks(str(example.source))[0]
        if file_conf.get("parallel", True) is not True:
            continue  # opted out of parallel runs: sphinx-gallery runs it alone
        todo.append(example)

    def last_cost(example: gf.Example) -> float:
        # This checkout's last run of it (our own record), else the committed
        # measurement, else first of all.
        run = gf.read_run_record(example.stem)
        if run and run.get("cpu_seconds"):
            return float(run["cpu_seconds"])
        return (hints or {}).get(example.stem, float("inf"))

    return sorted(todo, key=lambda ex: (-last_cost(ex), str(ex.source)))


def run_pending_examples(app) -> None:
    gallery_conf = app.config.sphinx_gallery_conf
    jobs = gallery_conf.get("parallel")
    if not app.config.survey_gallery_global_pool or not jobs or jobs == 1:
        return
    hints_file = app.config.survey_gallery_cost_hints
    hints = cost_hints(Path(app.confdir, hints_file) if hints_file else None)
    todo = pending_examples(Path(app.srcdir), gallery_conf, hints)
    if not todo:
        # Nothing to run: sphinx-gallery only assembles pages from its caches, which its
        # parallel mode would do by starting worker processes for nothing.
        gallery_conf["parallel"] = False
        return
    from joblib import Parallel, delayed
    from sphinx_gallery.gen_rst import generate_file_rst

    for example in todo:  # sphinx-gallery makes these per folder before its own runs
        (example.target.parent / "images" / "thumb").mkdir(parents=True, exist_ok=True)
    log = _logger()
    log.info(
        f"[scheduler] running {len(todo)} example(s) in one pool of {jobs}, longest first",
        color="white",
    )
    start = time.perf_counter()
    parallel = Parallel(
        n_jobs=jobs, pre_dispatch="n_jobs", batch_size=1, backend="loky", return_as="generator"
    )
    results = parallel(
        delayed(generate_file_rst)(
            ex.source.name, str(ex.target.parent), str(ex.source.parent), gallery_conf
        )
        for ex in todo
    )
    from sphinx_gallery.utils import get_md5sum

    failed = []
    try:
        for example, (_, _, (seconds, _), out_vars) in zip(todo, results):
            ok = "passing" in out_vars
            if not ok:
                # Run once, not twice: sphinx-gallery's own pass would run it again for
                # want of an md5. Record the failure where sphinx-gallery reports it at
                # the end of the build, and mark the page current for this build only:
                # freshness.forget_failed_runs deletes the md5 again afterwards.
                failed.append(example.stem)
                gallery_conf["failing_examples"][os.path.normpath(example.source)] = out_vars.get(
                    "formatted_exception", "(no traceback)"
                )
                example.md5_file.write_text(get_md5sum(example.target, mode="t"))
            log.info(
                f"[scheduler] {example.folder}/{example.source.name}: "
                + (f"{seconds:.1f} s" if ok else "failed")
            )
    except Exception as exc:  # noqa: BLE001 - whatever did not finish, sphinx-gallery runs
        log.info(
            f"[scheduler] pool stopped ({type(exc).__name__}: {exc}); sphinx-gallery "
            "runs the examples that did not finish"
        )
    log.info(
        f"[scheduler] {len(todo) - len(failed)} example(s) ran in "
        f"{time.perf_counter() - start:.1f} s"
    )
    if not pending_examples(Path(app.srcdir), gallery_conf):
        gallery_conf["parallel"] = False  # everything is current: see above
