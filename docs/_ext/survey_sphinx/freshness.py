"""Never stale: rerun a gallery example when the package code it imports changes.

sphinx-gallery reruns an example only when the example file itself changes (it keeps
``<example>.py.md5`` next to the generated page and skips the example while that hash is
current). A change to a ``survey_models`` module the example imports would leave old
figures and numbers on the page. This extension closes that gap:

1. At ``builder-inited``, before sphinx-gallery runs the examples, it parses every example
   (:mod:`ast`, nothing is imported) to find the tracked package modules it imports,
   follows the package's own imports transitively (a submodule import also runs its parent
   packages' ``__init__``), adds the package data files those modules name (e.g.
   ``assets/digits_classifier.pt``) and the modules of the gallery's ``reset_modules``
   hooks, and hashes the sources of all of them.
2. It compares that digest with the one recorded next to the example
   (``<example>.deps.json`` in the generated gallery folder). When they differ, when there
   is no record, or when the example's recorded run (see below) is missing from the
   results directory, it deletes the example's ``.md5`` file, so sphinx-gallery runs it
   again. Examples whose digest is unchanged are left alone: exactly the examples whose
   imported modules changed rerun.
3. :func:`record_problem` checks the records of an example's last run (written by
   :mod:`.runs`): missing, truncated or inconsistent records make it rerun too, and
   :func:`forget_failed_runs` keeps a failed example stale.

What each file imports and its hash are cached by path, size and modification time, in
the process and, between builds, in ``survey_freshness.pickle`` in the doctree folder: a
rebuild with nothing changed parses no file again.

What is tracked: ``import``/``from ... import`` statements anywhere in a file (also inside
functions), resolved against the package's files. Not tracked: modules imported by a
computed name (``importlib.import_module(name)``), files read by a path the code builds at
run time from pieces, and third-party library versions.
"""

from __future__ import annotations

import ast
import hashlib
import importlib.util
import json
import os
import pickle
import re
from dataclasses import dataclass
from pathlib import Path

RESULTS_DIR_ENV = "SURVEY_RESULTS_DIR"
MANIFEST_VERSION = 1


# --- the package's import graph ------------------------------------------------------------


@dataclass(frozen=True)
class Package:
    """The files of one tracked package: module name -> source file, data files."""

    name: str
    root: Path
    modules: dict[str, Path]
    data_files: dict[str, list[Path]]  # file name -> files with that name

    @classmethod
    def find(cls, name: str) -> Package | None:
        spec = importlib.util.find_spec(name)
        if spec is None or not spec.submodule_search_locations:
            return None
        return cls.at(name, Path(next(iter(spec.submodule_search_locations))))

    @classmethod
    def at(cls, name: str, root: Path) -> Package:
        """The package ``name`` whose files are under ``root``."""
        root = root.resolve()
        modules: dict[str, Path] = {}
        data_files: dict[str, list[Path]] = {}
        for path in sorted(root.rglob("*")):
            if not path.is_file() or "__pycache__" in path.parts:
                continue
            rel = path.relative_to(root)
            if path.suffix == ".py":
                parts = [name, *rel.with_suffix("").parts]
                if parts[-1] == "__init__":
                    parts.pop()
                modules[".".join(parts)] = path
            elif path.suffix not in {".pyc", ".pyo"}:
                data_files.setdefault(path.name, []).append(path)
        return cls(name, root, modules, data_files)


def _parse(path: Path) -> ast.Module | None:
    try:
        return ast.parse(path.read_bytes(), filename=str(path))
    except (SyntaxError, ValueError):
        return None  # a broken file: sphinx-gallery reports it; we track nothing


def imported_names(
    tree: ast.Module, module: str | None = None, is_package: bool = False
) -> set[str]:
    """Dotted names a module's import statements may load.

    ``from a.b import c`` yields ``a.b`` and ``a.b.c`` (``c`` may be a submodule or an
    attribute; the caller keeps whichever is a real module). Relative imports are
    resolved against ``module`` (the importing module's name).
    """
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                if module is None:
                    continue
                package = module if is_package else module.rpartition(".")[0]
                parts = package.split(".")
                if node.level - 1 >= len(parts):
                    continue
                base = ".".join(parts[: len(parts) - (node.level - 1)])
                base = f"{base}.{node.module}" if node.module else base
            else:
                base = node.module or ""
            if not base:
                continue
            names.add(base)
            names.update(f"{base}.{alias.name}" for alias in node.names if alias.name != "*")
    return names


# Facts of a file, keyed by (path, mtime_ns, size): its sha256, and per importing module
# name (relative imports resolve against it) the names it imports and the file names its
# string constants could name. A changed file has a new key; old keys are dropped on save.
_DIGESTS: dict[tuple[str, int, int], str] = {}
_FILE_CACHE: dict[tuple[str, int, int, str | None], tuple[set[str], set[str]]] = {}
_CACHE_FILE = "survey_freshness.pickle"
_CACHE_VERSION = 1


def _stat_key(path: Path) -> tuple[str, int, int]:
    st = path.stat()
    return (str(path), st.st_mtime_ns, st.st_size)


def _file_facts(path: Path, module: str | None) -> tuple[str, set[str], set[str]]:
    """(sha256, imported names, the file names its string constants could name) of a
    file, cached by path and stat."""
    key = (*_stat_key(path), module)
    if key not in _FILE_CACHE:
        tree = _parse(path)
        names = imported_names(tree, module, path.name == "__init__.py") if tree else set()
        strings = {Path(text).name for text in _string_constants(tree) if text} if tree else set()
        _FILE_CACHE[key] = (names, strings)
    return (file_digest(path), *_FILE_CACHE[key])


def load_file_cache(directory: Path) -> None:
    """Take the facts an earlier build saved in ``directory`` (missing or unreadable: none)."""
    try:
        with open(directory / _CACHE_FILE, "rb") as fh:
            version, digests, facts = pickle.load(fh)
    except (OSError, EOFError, pickle.UnpicklingError, ValueError, TypeError):
        return
    if version == _CACHE_VERSION:
        _DIGESTS.update(digests)
        _FILE_CACHE.update(facts)


def save_file_cache(directory: Path) -> None:
    """Keep the facts of the files as they are now, for the next build."""

    def current(key: tuple) -> bool:
        try:
            return _stat_key(Path(key[0])) == key[:3]
        except OSError:
            return False

    digests = {k: v for k, v in _DIGESTS.items() if current(k)}
    facts = {k: v for k, v in _FILE_CACHE.items() if current(k)}
    directory.mkdir(parents=True, exist_ok=True)
    tmp = directory / f"{_CACHE_FILE}.tmp"
    with open(tmp, "wb") as fh:
        pickle.dump((_CACHE_VERSION, digests, facts), fh)
    os.replace(tmp, directory / _CACHE_FILE)


def _with_parents(name: str) -> list[str]:
    parts = name.split(".")
    return [".".join(parts[:i]) for i in range(1, len(parts) + 1)]


def _string_constants(tree: ast.Module) -> set[str]:
    return {
        node.value
        for node in ast.walk(tree)
        if isinstance(node, ast.Constant) and isinstance(node.value, str)
    }


def dependencies(roots: set[str], packages: list[Package]) -> dict[str, Path]:
    """Every tracked module and data file the dotted names in ``roots`` load, transitively.

    Keys are module names (``survey_models.train``) and, for data files, the file's path
    relative to its package prefixed by the package (``survey_models/assets/x.pt``).
    """
    known: dict[str, tuple[Package, Path]] = {
        mod: (pkg, path) for pkg in packages for mod, path in pkg.modules.items()
    }
    found: dict[str, Path] = {}
    todo = [name for root in roots for name in _with_parents(root) if name in known]
    while todo:
        name = todo.pop()
        if name in found:
            continue
        pkg, path = known[name]
        found[name] = path
        _, names, strings = _file_facts(path, name)
        for dep in names:
            todo.extend(n for n in _with_parents(dep) if n in known and n not in found)
        for file_name in strings:
            for data in pkg.data_files.get(file_name, []):
                found[f"{pkg.name}/{data.relative_to(pkg.root).as_posix()}"] = data
    return found


def file_digest(path: Path) -> str:
    """sha256 of a file's bytes (cached by path and stat)."""
    key = _stat_key(path)
    if key not in _DIGESTS:
        _DIGESTS[key] = hashlib.sha256(path.read_bytes()).hexdigest()
    return _DIGESTS[key]


def example_dependency_files(
    example: Path, packages: list[Package], extra_roots: set[str] = frozenset()
) -> dict[str, Path]:
    """``{module or data file: path}`` of everything tracked that ``example`` loads."""
    return dependencies(set(extra_roots) | _file_facts(example, None)[1], packages)


def example_dependencies(
    example: Path, packages: list[Package], extra_roots: set[str] = frozenset()
) -> dict[str, str]:
    """``{module or data file: sha256}`` of everything tracked that ``example`` loads."""
    files = example_dependency_files(example, packages, extra_roots)
    return {name: file_digest(path) for name, path in sorted(files.items())}


def digest(deps: dict[str, str]) -> str:
    return hashlib.sha256(
        "".join(f"{k}\0{v}\n" for k, v in sorted(deps.items())).encode()
    ).hexdigest()


# --- the examples -------------------------------------------------------------------------


@dataclass(frozen=True)
class Example:
    source: Path  # gallery/02_x/plot_y.py
    target: Path  # docs/auto_examples/02_x/plot_y.py (sphinx-gallery's copy)
    folder: str = ""  # the gallery subfolder ("02_x"), "" at the top level

    @property
    def stem(self) -> str:
        return self.source.stem

    @property
    def md5_file(self) -> Path:
        return self.target.with_name(self.target.name + ".md5")

    @property
    def manifest_file(self) -> Path:
        return self.target.with_name(self.stem + ".deps.json")


def gallery_examples(srcdir: Path, gallery_conf: dict) -> list[Example]:
    """The example scripts of the gallery (top folder and one level of subfolders)."""
    examples_dirs = gallery_conf["examples_dirs"]
    gallery_dirs = gallery_conf["gallery_dirs"]
    if isinstance(examples_dirs, str):
        examples_dirs = [examples_dirs]
    if isinstance(gallery_dirs, str):
        gallery_dirs = [gallery_dirs]
    ignore = gallery_conf.get("ignore_pattern") or r"__init__\.py"
    found = []
    for ex_dir, g_dir in zip(examples_dirs, gallery_dirs):
        src_root = (srcdir / ex_dir).resolve()
        out_root = (srcdir / g_dir).resolve()
        if not src_root.is_dir():
            continue
        for path in sorted([*src_root.glob("*.py"), *src_root.glob("*/*.py")]):
            if re.search(ignore, os.path.normpath(path)):
                continue
            rel = path.relative_to(src_root)
            folder = rel.parent.as_posix()
            found.append(Example(path, out_root / rel, "" if folder == "." else folder))
    return found


def will_execute(example: Example, gallery_conf: dict) -> bool:
    """Whether sphinx-gallery executes this example in this build (its own rule)."""
    return bool(gallery_conf.get("plot_gallery", True)) and bool(
        re.search(gallery_conf["filename_pattern"], os.path.normpath(example.source))
    )


def results_dir() -> Path | None:
    value = os.environ.get(RESULTS_DIR_ENV)
    return Path(value) if value else None


def run_record_file(stem: str, directory: Path | None = None) -> Path | None:
    directory = directory or results_dir()
    return directory / f"{stem}.run.json" if directory else None


def read_run_record(stem: str, directory: Path | None = None) -> dict | None:
    """The ``<stem>.run.json`` record of the example's last run, if readable."""
    path = run_record_file(stem, directory)
    record = _read_json(path) if path is not None else None
    return record if isinstance(record, dict) else None


def _read_json(path: Path) -> dict | None:
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None


def _write_if_changed(path: Path, text: str) -> None:
    if not path.exists() or path.read_text(encoding="utf-8") != text:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")


def _reset_roots(gallery_conf: dict, packages: list[Package]) -> set[str]:
    """Tracked modules named by ``reset_modules`` hooks: they run around every example."""
    hooks = gallery_conf.get("reset_modules") or ()
    names = {hook.rpartition(".")[0] for hook in hooks if isinstance(hook, str)}
    return {n for n in names if any(n == p.name or n.startswith(p.name + ".") for p in packages)}


def stale_reasons(example: Example, deps: dict[str, str]) -> list[str]:
    """Why this example's last run no longer stands (empty when it is current)."""
    if not example.md5_file.exists():
        return []  # sphinx-gallery runs it anyway
    stored = _read_json(example.manifest_file)
    if not stored or stored.get("version") != MANIFEST_VERSION:
        return ["no record of the modules its last run used"]
    old = stored.get("files", {})
    reasons = [
        f"{name} changed" for name in sorted(deps) if name in old and old[name] != deps[name]
    ]
    reasons += [f"now uses {name}" for name in sorted(set(deps) - set(old))]
    reasons += [f"no longer uses {name}" for name in sorted(set(old) - set(deps))]
    if not reasons and results_dir() is not None:
        problem = record_problem(example.stem)
        if problem:
            reasons.append(problem)
    return reasons


RUN_FIELDS = ("seconds", "cpu_seconds", "peak_rss_mib", "measurements")


def record_problem(stem: str, directory: Path | None = None) -> str | None:
    """What is wrong with an example's records of its last run, or ``None``.

    A run leaves ``<stem>.run.json`` (with the count of numbers it reported) and, when it
    reported any, ``<stem>.jsonl``; a missing, truncated or corrupt file, or a count that
    disagrees, means the page may show numbers the records do not hold.
    """
    directory = directory or results_dir()
    run = _read_json(directory / f"{stem}.run.json")
    if not isinstance(run, dict) or any(f not in run for f in RUN_FIELDS):
        return f"its run record in {directory} is missing or incomplete"
    records = read_numbers(stem, directory)
    if records is None:
        return f"its recorded numbers ({stem}.jsonl) are unreadable"
    if len(records) != run["measurements"]:
        return f"its run reported {run['measurements']} number(s) but {stem}.jsonl holds {len(records)}"
    return None


def read_numbers(stem: str, directory: Path | None = None) -> list[dict] | None:
    """The numbers an example reported (``<stem>.jsonl``, one JSON object a line): ``[]``
    when it reported none, ``None`` when the file cannot be read or a line is corrupt."""
    directory = directory or results_dir()
    path = directory / f"{stem}.jsonl"
    if not path.exists():
        return []
    try:
        records = [
            json.loads(line)
            for line in path.read_text(encoding="utf-8").splitlines()
            if line.strip()
        ]
    except (OSError, ValueError):
        return None
    return records if all(isinstance(r, dict) for r in records) else None


# --- Sphinx hooks -----------------------------------------------------------------------------


def _logger():
    from sphinx.util import logging

    return logging.getLogger(__name__)


def tracked_packages(app) -> list[Package]:
    packages = []
    for name in app.config.survey_freshness_packages:
        pkg = Package.find(name)
        if pkg is None:
            _logger().info(f"[freshness] package {name!r} not found; not tracked")
        else:
            packages.append(pkg)
    return packages


def invalidate_stale_examples(app) -> None:
    """``builder-inited`` (before sphinx-gallery): delete the md5 of stale examples."""
    load_file_cache(Path(app.doctreedir))
    gallery_conf = app.config.sphinx_gallery_conf
    packages = tracked_packages(app)
    extra = _reset_roots(gallery_conf, packages)
    log = _logger()
    current: dict[str, str] = {}
    skipped = []
    rerun = []
    for example in gallery_examples(Path(app.srcdir), gallery_conf):
        deps = example_dependencies(example.source, packages, extra)
        if not will_execute(example, gallery_conf):
            if stale_reasons(example, deps):
                skipped.append(example.stem)
            continue  # keeps its old record, so it reruns when it is next executed
        reasons = stale_reasons(example, deps)
        if reasons:
            example.md5_file.unlink(missing_ok=True)
            rerun.append(example.stem)
            log.info(f"[freshness] {example.stem} reruns: {'; '.join(reasons)}")
        _write_if_changed(
            example.manifest_file,
            json.dumps(
                {"version": MANIFEST_VERSION, "digest": digest(deps), "files": deps},
                indent=1,
                sort_keys=True,
            )
            + "\n",
        )
        current[str(example.source)] = digest(deps)
    app._survey_freshness_digests = current  # checked again at build-finished
    log.info(f"[freshness] {len(rerun)} example(s) invalidated by package changes")
    if skipped:
        log.info(
            f"[freshness] {len(skipped)} example(s) are stale but not executed in this "
            f"build (filename_pattern): {', '.join(skipped)}"
        )


def forget_failed_runs(app) -> None:
    """``builder-inited``, after sphinx-gallery: a failed example stays stale.

    sphinx-gallery writes an example's md5 only when it passes, but the md5 of its last
    passing run stays on disk: once the author reverts the example, that md5 matches again
    and the page with the traceback would be kept. Deleting the md5 and the records of
    every example that failed in this build makes the next build run it again.
    """
    gallery_conf = app.config.sphinx_gallery_conf
    failing = {os.path.normpath(path) for path in gallery_conf.get("failing_examples", {})}
    directory = results_dir()
    for example in gallery_examples(Path(app.srcdir), gallery_conf):
        if os.path.normpath(example.source) not in failing:
            continue
        example.md5_file.unlink(missing_ok=True)
        if directory is not None:
            for suffix in (".run.json", ".jsonl"):
                (directory / f"{example.stem}{suffix}").unlink(missing_ok=True)
        _logger().info(f"[freshness] {example.stem} failed; it reruns next build")


def recheck_after_build(app, exception) -> None:
    """``build-finished``: a module edited while the build ran makes its examples rerun."""
    recorded = getattr(app, "_survey_freshness_digests", None)
    if not recorded:
        return
    gallery_conf = app.config.sphinx_gallery_conf
    packages = tracked_packages(app)
    extra = _reset_roots(gallery_conf, packages)
    for example in gallery_examples(Path(app.srcdir), gallery_conf):
        before = recorded.get(str(example.source))
        if before is None:
            continue
        if digest(example_dependencies(example.source, packages, extra)) != before:
            example.md5_file.unlink(missing_ok=True)
            _logger().info(
                f"[freshness] {example.stem}: a module it uses changed during the "
                "build; it reruns next build"
            )
    save_file_cache(Path(app.doctreedir))
