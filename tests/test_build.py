"""The build as a product (issue 9): never stale, offline, a generated results page.

Most tests build a tiny toy project (three examples of a few lines in two folders, a toy
package) with the real extensions from docs/_ext and the real sphinx-gallery settings
that matter (parallel workers, reset hook), so they take seconds, not the minutes of the
real gallery. Two tests inspect the real site built once per session (results page
complete, built offline); the last runs the two cheapest real examples twice each and
compares their numbers exactly (benchmarks/build.py --repeat does that for every example).
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
EXT = ROOT / "docs" / "_ext"
sys.path.insert(0, str(EXT))

from survey_sphinx import freshness as gf  # noqa: E402
from survey_sphinx import offline as offline_guard  # noqa: E402
from survey_sphinx import results as results_page  # noqa: E402

# Every test here runs Sphinx or real examples in subprocesses (seconds to minutes):
# `make check` leaves them to `make test`.
pytestmark = pytest.mark.build

TOY_CONF = f"""
import os, sys
from pathlib import Path
DOCS = Path(__file__).resolve().parent
sys.path.insert(0, str(DOCS.parent / "src"))
sys.path.insert(0, {str(EXT)!r})
project = "toy"
extensions = ["myst_parser", "sphinx_gallery.gen_gallery", "survey_sphinx"]
exclude_patterns = ["_build", "auto_examples/**/*.ipynb", "auto_examples/**/*.py",
                    "auto_examples/**/*.zip", "auto_examples/**/*.json",
                    "auto_examples/**/*.md5"]
survey_freshness_packages = ["toy_models"]
sphinx_gallery_conf = {{
    "examples_dirs": "../gallery",
    "gallery_dirs": "auto_examples",
    "filename_pattern": os.environ.get("TOY_PATTERN", r"/plot_"),
    "reset_modules": ("survey_sphinx.runs.around_example",),
    "reset_modules_order": "both",
    "parallel": 2,
    "image_scrapers": (),
    "download_all_examples": False,
}}
"""

TOY_INDEX = """\
Toy
===

.. toctree::

   auto_examples/index
   results
"""

# Each toy example appends its name to $TOY_RUN_LOG, so the test sees which ones ran.
TOY_EXAMPLE = '''\
"""
{title}
{underline}

A toy example.
"""
import os

from survey_models.report import report
{imports}

with open(os.environ["TOY_RUN_LOG"], "a") as fh:
    fh.write("{stem}\\n")
{body}
'''

TOY_MODULES = {
    "__init__.py": "",
    "common.py": "SCALE = 1\n",
    "alpha.py": "from .common import SCALE\n\n\ndef value():\n    return 2 * SCALE\n",
    "beta.py": "def value():\n    return 3\n",
    "gamma.py": "NAME = 'gamma'\n",
    "unused.py": "X = 0\n",
}

TOY_EXAMPLES = {  # name: (folder, imports, body)
    "plot_alpha": (
        "01_toy",
        "from toy_models.alpha import value",
        'report("alpha value", value(), unit="u", claim="alpha doubles the scale", '
        'target="> 1", passed=value() > 1)',
    ),
    "plot_beta": (
        "01_toy",
        "import toy_models.beta as beta",
        'report("beta value", beta.value(), claim="beta is three", target="= 3", '
        "passed=beta.value() == 3)",
    ),
    "plot_gamma": (
        "02_other",
        "from toy_models import gamma",
        "print(gamma.NAME)  # reports nothing",
    ),
}


def make_toy(root: Path, extra_examples: dict[str, tuple[str, str, str]] | None = None) -> Path:
    (root / "docs").mkdir(parents=True)
    (root / "docs" / "conf.py").write_text(TOY_CONF)
    (root / "docs" / "index.rst").write_text(TOY_INDEX)
    pkg = root / "src" / "toy_models"
    pkg.mkdir(parents=True)
    for name, text in TOY_MODULES.items():
        (pkg / name).write_text(text)
    (root / "gallery").mkdir()
    (root / "gallery" / "README.rst").write_text("Gallery\n=======\n")
    for stem, (folder, imports, body) in {**TOY_EXAMPLES, **(extra_examples or {})}.items():
        gallery = root / "gallery" / folder
        if not gallery.exists():
            gallery.mkdir()
            (gallery / "README.rst").write_text(f"Theme {folder}\n{'=' * 20}\n")
        title = f"Example {stem}"
        (gallery / f"{stem}.py").write_text(
            TOY_EXAMPLE.format(
                title=title, underline="=" * len(title), imports=imports, body=body, stem=stem
            )
        )
    return root


def build_toy(
    root: Path, *options: str, builder: str = "html", **env: str
) -> tuple[subprocess.CompletedProcess, set[str]]:
    """Build the toy site incrementally; return the result and the examples that ran."""
    log = root / "runs.log"
    log.write_text("")
    cmd = [
        sys.executable,
        "-m",
        "sphinx",
        "-W",
        "--keep-going",
        "-b",
        builder,
        *options,
        str(root / "docs"),
        str(root / "docs" / "_build" / builder),
    ]
    full_env = {
        **os.environ,
        "SURVEY_RESULTS_DIR": str(root / "results"),
        "TOY_RUN_LOG": str(log),
        **env,
    }
    full_env.pop("SURVEY_OFFLINE_BUILD", None)
    result = subprocess.run(
        cmd, cwd=root, capture_output=True, text=True, env=full_env, timeout=300
    )
    ran = set(log.read_text().split())
    return result, ran


def ok(result: subprocess.CompletedProcess) -> bool:
    return result.returncode == 0


def show(result: subprocess.CompletedProcess) -> str:
    return result.stdout[-3000:] + result.stderr[-5000:]


@pytest.fixture(scope="module")
def toy(tmp_path_factory) -> Path:
    """A toy project after one clean build (shared by the read-only checks)."""
    root = make_toy(tmp_path_factory.mktemp("toy"))
    result, ran = build_toy(root)
    assert ok(result), show(result)
    assert ran == {"plot_alpha", "plot_beta", "plot_gamma"}
    return root


# --- never stale ------------------------------------------------------------------------------


def test_incremental_build_reruns_exactly_the_examples_whose_modules_changed(tmp_path):
    # (a rebuild with nothing changed runs nothing: test_results_page_is_not_rewritten...)
    root = make_toy(tmp_path)
    pkg = root / "src" / "toy_models"
    result, ran = build_toy(root)
    assert ok(result), show(result)
    assert ran == {"plot_alpha", "plot_beta", "plot_gamma"}

    # alpha imports common only through toy_models.alpha: a transitive dependency
    (pkg / "common.py").write_text("SCALE = 5\n")
    result, ran = build_toy(root)
    assert ok(result), show(result)
    assert ran == {"plot_alpha"}
    assert "plot_alpha reruns: toy_models.common changed" in result.stdout
    page = (root / "docs/_build/html/auto_examples/01_toy/plot_alpha.html").read_text()
    assert "alpha value = 10" in page  # the page shows the new number, not the old 2
    assert "alpha value = 10 u" in (root / "docs" / "results.md").read_text()

    # beta changes, and unused (imported by no example) too; a build that executes only
    # alpha leaves beta stale but remembers it ...
    (pkg / "beta.py").write_text("def value():\n    return 4\n")
    (pkg / "unused.py").write_text("X = 1\n")
    result, ran = build_toy(root, TOY_PATTERN="/plot_alpha")
    assert ok(result), show(result)
    assert ran == set()
    assert "1 example(s) are stale but not executed in this build" in result.stdout
    # ... and the next full build reruns beta, and only beta
    result, ran = build_toy(root)
    assert ok(result), show(result)
    assert ran == {"plot_beta"}

    # an example that starts importing another module reruns when that module changes
    ex = root / "gallery" / "02_other" / "plot_gamma.py"
    ex.write_text(
        ex.read_text().replace(
            "from toy_models import gamma", "from toy_models import gamma, unused"
        )
    )
    result, ran = build_toy(root)  # the example file changed: sphinx-gallery's own md5
    assert ran == {"plot_gamma"}, show(result)
    (pkg / "unused.py").write_text("X = 2\n")
    result, ran = build_toy(root)
    assert ok(result), show(result)
    assert ran == {"plot_gamma"}

    # results lost (e.g. docs/_build deleted): the examples rerun so the page is complete
    shutil.rmtree(root / "results")
    result, ran = build_toy(root)
    assert ok(result), show(result)
    assert ran == {"plot_alpha", "plot_beta", "plot_gamma"}


def test_dependencies_follow_relative_imports_parents_and_data_files(tmp_path):
    pkg = tmp_path / "pkgx"
    (pkg / "sub" / "assets").mkdir(parents=True)
    (pkg / "__init__.py").write_text("")
    (pkg / "base.py").write_text("")
    (pkg / "other.py").write_text("")
    (pkg / "sub" / "__init__.py").write_text("from .leaf import f\n")
    (pkg / "sub" / "leaf.py").write_text(
        "from ..base import *\n\ndef f():\n    from .. import other\n    return 'w.bin'\n"
    )
    (pkg / "sub" / "assets" / "w.bin").write_bytes(b"\0")
    (pkg / "lonely.py").write_text("")
    sys.path.insert(0, str(tmp_path))
    try:
        package = gf.Package.find("pkgx")
    finally:
        sys.path.remove(str(tmp_path))
    example = tmp_path / "plot_x.py"
    example.write_text("import numpy\nfrom pkgx.sub.leaf import f\n")
    deps = gf.example_dependencies(example, [package])
    assert set(deps) == {
        "pkgx",
        "pkgx.sub",
        "pkgx.sub.leaf",
        "pkgx.base",
        "pkgx.other",
        "pkgx/sub/assets/w.bin",
    }
    before = gf.digest(deps)
    (pkg / "lonely.py").write_text("y = 1\n")
    assert gf.digest(gf.example_dependencies(example, [package])) == before
    (pkg / "sub" / "assets" / "w.bin").write_bytes(b"\1")
    assert gf.digest(gf.example_dependencies(example, [package])) != before


def test_file_facts_are_kept_between_builds_while_the_file_is_unchanged(tmp_path, monkeypatch):
    module = tmp_path / "m.py"
    module.write_text("import os\nfrom json import dumps\n")
    facts = gf._file_facts(module, "m")
    assert facts[1] == {"os", "json", "json.dumps"}
    gf.save_file_cache(tmp_path / "doctrees")
    gf._DIGESTS.clear(), gf._FILE_CACHE.clear()  # a new build process
    gf.load_file_cache(tmp_path / "doctrees")
    parsed = []
    real_parse = gf._parse
    monkeypatch.setattr(gf, "_parse", lambda path: parsed.append(path) or real_parse(path))
    assert gf._file_facts(module, "m") == facts and parsed == []  # from the saved cache
    module.write_text("import re\n")
    assert gf._file_facts(module, "m")[1] == {"re"} and parsed == [module]
    gf.save_file_cache(tmp_path / "doctrees")  # the old entry is dropped
    gf._FILE_CACHE.clear()
    gf.load_file_cache(tmp_path / "doctrees")
    assert [key[:3] for key in gf._FILE_CACHE if key[0] == str(module)] == [gf._stat_key(module)]
    (tmp_path / "doctrees" / "survey_freshness.pickle").write_bytes(b"not a pickle")
    gf.load_file_cache(tmp_path / "doctrees")  # unreadable: ignored, nothing breaks


# --- results page -----------------------------------------------------------------------------


def test_results_page_lists_every_example_with_its_numbers(toy):
    text = (toy / "docs" / "results.md").read_text()
    for stem, (folder, _, _) in TOY_EXAMPLES.items():
        assert f"sphx_glr_auto_examples_{folder}_{stem}.py" in text
    assert "alpha value = 2 u" in text and "alpha doubles the scale" in text
    assert "beta value = 3" in text and "✓ 1/1 项达到" in text
    assert "未报告任何测量值的示例：`plot_gamma`" in text  # reported nothing: flagged
    html = (toy / "docs/_build/html/results.html").read_text()
    for stem, (folder, _, _) in TOY_EXAMPLES.items():
        assert f'href="auto_examples/{folder}/{stem}.html' in html
    summary = json.loads((toy / "results" / "summary.json").read_text())
    assert {r["example"]: r["status"] for r in summary} == {
        "plot_alpha": "ok",
        "plot_beta": "ok",
        "plot_gamma": "no-report",
    }
    for row in summary:
        assert row["seconds"] is not None and row["seconds"] >= 0
        assert 10 < row["peak_rss_mib"] < 4096


def test_results_page_is_not_rewritten_when_nothing_changed(toy):
    page = toy / "docs" / "results.md"
    mtime = page.stat().st_mtime_ns
    result, ran = build_toy(toy)
    assert ok(result), show(result)
    assert ran == set()
    assert page.stat().st_mtime_ns == mtime


def test_markdown_in_reported_text_is_shown_literally():
    escaped = results_page.md_escape("1. a *b* $x$ `c` {ref}`d` | e")
    assert escaped == r"1\. a \*b\* \$x\$ \`c\` \{ref\}\`d\` \| e"


# --- claims across seeds ------------------------------------------------------------------


DELTA = {  # a toy example that reports under a key, as the book's examples do
    "plot_delta": (
        "01_toy",
        "from toy_models.alpha import value",
        'report("delta value", value(), claim="delta", target="> 1", passed=True, key="delta")',
    )
}


def _toy_claims_record(root: Path, values: dict[str, list]) -> None:
    """A ``benchmarks/claims.py`` record for the toy's plot_delta, with the current digest."""
    from survey_sphinx import seeds as claim_seeds

    package = gf.Package.at("toy_models", root / "src" / "toy_models")
    source = root / "gallery" / "01_toy" / "plot_delta.py"
    entry = {"name": "delta value", "target": "> 1", "values": values}
    record = {
        "version": claim_seeds.RECORD_VERSION,
        "seeds": [0, 1, 2, 3, 4],
        "examples": {
            "plot_delta": {
                "digest": claim_seeds.example_digest(source, [package]),
                "runs": {str(s): "ok" for s in range(5)},
                "claims": {"delta": entry},
            }
        },
    }
    path = root / "benchmarks" / "results" / "claims.json"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(record))


def test_seeds_role_and_results_column_read_the_record_and_refuse_a_stale_one(tmp_path):
    root = make_toy(tmp_path, DELTA)
    (root / "docs" / "index.rst").write_text(TOY_INDEX + "   claims\n")
    (root / "docs" / "claims.md").write_text(
        "# Claims\n\n在种子 0 上成立，跨种子：{seeds}`plot_delta/delta`。\n"
    )
    values = {"0": [2.0, True], "1": [0.5, False], "2": [1.5, True], "3": [0.25, False],
              "4": [3.0, True]}  # fmt: skip
    _toy_claims_record(root, values)
    result, _ = build_toy(root)
    assert ok(result), show(result)
    page = (root / "docs/_build/html/claims.html").read_text()
    assert "5 个种子中 3 个达到目标（最小 0.250，中位数 1.50，最大 3.00）" in page
    assert 'href="results.html#claims-across-seeds"' in page
    text = (root / "docs" / "results.md").read_text()
    assert "(claims-across-seeds)=" in text and "  - 跨种子" in text
    assert "  - 3/5 ⚠ 未确立" in text  # delta's row; examples without a record get "—"
    assert "未确立的论断（1 项）" in text
    # a change to a module the example imports makes the record stale: refused
    (root / "src" / "toy_models" / "common.py").write_text("SCALE = 1  # changed\n")
    result, _ = build_toy(root)
    assert not ok(result)
    assert "seeds: plot_delta (or a module it imports) changed since claims.json" in show(result)
    assert "  - 过期" in (root / "docs" / "results.md").read_text()


# --- offline ----------------------------------------------------------------------------------


def test_toy_build_runs_with_the_network_blocked(toy):
    # the fixture's build ran with the guard on and nothing tried the network
    log = toy / "docs/_build/html/.doctrees" / offline_guard.LOG_NAME
    assert log.exists() and log.read_text() == ""


def test_network_access_from_an_example_fails_the_build(tmp_path):
    # the example swallows the error, yet the build fails: attempts are logged
    sneaky = (
        "01_toy",
        "import socket",
        "try:\n    socket.create_connection(('192.0.2.1', 80), timeout=1)\n"
        "except OSError as exc:\n    print('caught', type(exc).__name__)",
    )
    root = make_toy(tmp_path, {"plot_sneaky": sneaky})
    result, ran = build_toy(root)
    assert "plot_sneaky" in ran
    assert not ok(result)
    assert "blocked network access during the build" in result.stderr
    assert "192.0.2.1" in result.stderr


def test_guard_allows_loopback_and_refuses_the_internet():
    import socket

    offline_guard.install()
    try:
        with pytest.raises(offline_guard.NetworkBlockedError, match="example.org"):
            socket.getaddrinfo("example.org", 80)
        with pytest.raises(offline_guard.NetworkBlockedError, match="192.0.2.1"):
            socket.create_connection(("192.0.2.1", 80), timeout=1)
        server = socket.socket()
        server.bind(("127.0.0.1", 0))
        server.listen(1)
        client = socket.create_connection(server.getsockname(), timeout=1)
        client.close()
        server.close()
    finally:
        offline_guard.uninstall()


# --- the real site (built once per session by the built_site fixture) ---------------------

GALLERY = ROOT / "gallery"


@pytest.mark.site
def test_site_results_page_lists_every_example_with_measurements(built_site):
    html = (built_site / "results.html").read_text(encoding="utf-8")
    examples = sorted(GALLERY.glob("*/plot_*.py"))
    assert examples
    missing = [
        p.stem for p in examples if f'href="auto_examples/{p.parent.name}/{p.stem}.html' not in html
    ]
    assert not missing, f"results page misses {missing}"
    for flag in ("未报告任何测量值", "本次构建未执行", "本次构建中未执行", "运行失败"):
        assert flag not in html, f"results page says {flag}: see results.html"


@pytest.mark.site
def test_site_was_built_offline(built_site):
    log = built_site / ".doctrees" / offline_guard.LOG_NAME
    assert log.exists(), "the offline guard did not run in the site build"
    assert log.read_text() == "", log.read_text()


# --- determinism of real examples (the benchmark compares all of them; CI runs the cheapest)

COSTS = ROOT / "gallery" / "example_costs.json"


def _cheapest_examples(n: int) -> list[Path]:
    examples = {p.stem: p for p in GALLERY.glob("*/plot_*.py")}
    costs = json.loads(COSTS.read_text()) if COSTS.exists() else {}
    known = sorted((c, s) for s, c in costs.items() if s in examples)
    return [examples[s] for _, s in known[:n]] or sorted(examples.values())[:n]


def _run_example(script: Path, results: Path) -> list[tuple]:
    env = {
        **os.environ,
        "SURVEY_RESULTS_DIR": str(results),
        "MPLBACKEND": "Agg",
        "OMP_NUM_THREADS": "1",
    }
    proc = subprocess.run(
        [sys.executable, str(script)],
        cwd=script.parent,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    lines = (results / f"{script.stem}.jsonl").read_text(encoding="utf-8").splitlines()
    rows = [json.loads(line) for line in lines if line.strip()]
    timing = ("加速", "用时", "耗时", "速度")
    return [
        (r["name"], r["value"], r["passed"])
        for r in rows
        if r["unit"] not in {"s", "秒", "ms"} and not any(w in r["name"] for w in timing)
    ]


@pytest.mark.parametrize("script", _cheapest_examples(2), ids=lambda p: p.stem)
def test_example_reports_the_same_numbers_twice(script, tmp_path):
    first = _run_example(script, tmp_path / "one")
    second = _run_example(script, tmp_path / "two")
    assert first, f"{script.stem} reported no numbers"
    assert first == second  # exact: fixed seeds, one thread, same machine


# --- failure paths (issue 12): a failed run stays stale, records are checked, workers die --


def _runs(root: Path) -> list[str]:
    return (root / "runs.log").read_text().split()


def test_failed_example_runs_once_and_reruns_after_it_is_reverted(tmp_path):
    root = make_toy(tmp_path)
    result, _ = build_toy(root)
    assert ok(result), show(result)
    script = root / "gallery" / "01_toy" / "plot_beta.py"
    good = script.read_text()
    script.write_text(good + "raise RuntimeError('broken on purpose')\n")
    result, _ = build_toy(root)
    assert not ok(result) and "broken on purpose" in show(result)
    assert _runs(root) == ["plot_beta"]  # once: not again by sphinx-gallery's own pass
    assert not (root / "results" / "plot_beta.run.json").exists()
    assert "运行失败" in (root / "docs" / "results.md").read_text()

    script.write_text(good)  # the author reverts: the md5 of the last passing run matches
    result, _ = build_toy(root)
    assert ok(result), show(result)
    assert _runs(root) == ["plot_beta"]
    page = (root / "docs/_build/html/auto_examples/01_toy/plot_beta.html").read_text()
    assert "broken on purpose" not in page and "beta value = 3" in page
    assert "运行失败" not in (root / "docs" / "results.md").read_text()


@pytest.mark.parametrize(
    "damage",
    ["truncated numbers", "numbers deleted", "run record truncated", "run record without a field"],
)
def test_damaged_records_make_the_example_rerun(tmp_path, damage):
    root = make_toy(tmp_path)
    result, _ = build_toy(root)
    assert ok(result), show(result)
    numbers, run = root / "results" / "plot_alpha.jsonl", root / "results" / "plot_alpha.run.json"
    if damage == "truncated numbers":
        numbers.write_text(numbers.read_text()[:25])
    elif damage == "numbers deleted":
        numbers.unlink()
    elif damage == "run record truncated":
        run.write_text(run.read_text()[:20])
    else:
        record = json.loads(run.read_text())
        del record["peak_rss_mib"]
        run.write_text(json.dumps(record))
    result, ran = build_toy(root)
    assert ok(result), show(result)
    assert ran == {"plot_alpha"}
    assert "alpha value = 2 u" in (root / "docs" / "results.md").read_text()
    assert gf.record_problem("plot_alpha", root / "results") is None


def test_a_killed_build_takes_its_workers_with_it(tmp_path):
    import signal
    import time

    body = (
        'import time\nwith open(os.environ["TOY_RUN_LOG"], "a") as fh:\n'
        '    fh.write(f"pid={os.getpid()}\\n")\ntime.sleep(60)\n'
        'with open(os.environ["TOY_RUN_LOG"], "a") as fh:\n    fh.write("woke\\n")\n'
    )
    root = make_toy(
        tmp_path, {"plot_sleep_a": ("03_sleep", "", body), "plot_sleep_b": ("03_sleep", "", body)}
    )
    log = root / "runs.log"
    log.write_text("")
    env = {**os.environ, "SURVEY_RESULTS_DIR": str(root / "results"), "TOY_RUN_LOG": str(log)}
    env.pop("SURVEY_OFFLINE_BUILD", None)
    build = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "sphinx",
            "-b",
            "html",
            str(root / "docs"),
            str(root / "docs" / "_build" / "html"),
        ],
        cwd=root,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        deadline = time.monotonic() + 120
        while log.read_text().count("pid=") < 2 and time.monotonic() < deadline:
            time.sleep(0.2)
        pids = [int(w[4:]) for w in log.read_text().split() if w.startswith("pid=")]
        assert len(pids) == 2 and build.pid not in pids, log.read_text()
    finally:
        build.send_signal(signal.SIGKILL)
        build.wait()

    def alive(pid: int) -> bool:
        try:
            state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
        except OSError:
            return False
        return state != "Z"

    deadline = time.monotonic() + 10
    while any(alive(p) for p in pids) and time.monotonic() < deadline:
        time.sleep(0.2)
    assert not any(alive(p) for p in pids), "pool workers outlived the killed build"
    assert "woke" not in log.read_text()


# --- a build that shards ----------------------------------------------------------------------

_WALL_TIMES = (
    (re.compile(r"\d+ 分 [\d.]+ 秒"), "TIME"),  # sphinx-gallery's timing line, in Chinese
    (re.compile(r"用时 [\d.]+ s · 峰值内存 \d+ MiB"), "用时 TIME · 峰值内存 MEMORY"),
    # The search data comes from the book's glossary, not from the toy (and may be edited
    # between the builds this test makes).
    (re.compile(r"<script>window\.SURVEY_.*?</script>", re.DOTALL), "<script>SEARCH</script>"),
)


def _without_wall_times(text: str) -> str:
    for pattern, replacement in _WALL_TIMES:
        text = pattern.sub(replacement, text)
    return text


def _pages(root: Path) -> dict[str, str]:
    """The results page and every example page of a built toy site."""
    html = root / "docs" / "_build" / "html"
    pages = [html / "results.html", *sorted((html / "auto_examples").glob("*/plot_*.html"))]
    return {str(p.relative_to(html)): _without_wall_times(p.read_text()) for p in pages}


def test_sharded_runs_assemble_the_site_of_an_unsharded_build(tmp_path):
    from survey_sphinx import shards

    whole = make_toy(tmp_path / "whole")
    result, ran = build_toy(whole)
    assert ok(result), show(result)
    assert ran == set(TOY_EXAMPLES)

    artifacts, ran_by_shard = [], []
    for k in (1, 2):  # two "machines": separate checkouts, nothing shared
        root = make_toy(tmp_path / f"shard{k}")
        result, ran = build_toy(root, "-D", f"survey_gallery_shard={k}/2", builder="dummy")
        assert ok(result), show(result)
        ran_by_shard.append(ran)
        artifacts.append(root / "docs" / "_build" / "shards" / f"{k}-of-2")
    assert ran_by_shard[0] and ran_by_shard[1]
    assert not ran_by_shard[0] & ran_by_shard[1]  # each example runs on one shard
    assert ran_by_shard[0] | ran_by_shard[1] == set(TOY_EXAMPLES)

    final = make_toy(tmp_path / "final")
    merged = [shards.merge(a, final / "docs", final / "results") for a in artifacts]
    assert [set(m) for m in merged] == ran_by_shard
    result, ran = build_toy(final)
    assert ok(result), show(result)
    assert ran == set()  # the assembly reruns nothing
    assert _pages(final) == _pages(whole)
