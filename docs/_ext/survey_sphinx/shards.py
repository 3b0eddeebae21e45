"""Run the gallery in N shards (on N machines), then assemble one site that reruns nothing.

``make docs SHARD=k/N`` (``-D survey_gallery_shard=k/N -b dummy``) executes only shard
``k``'s examples and writes them, with their records, to ``<outdir>/../shards/k-of-N/``
(the shard's artifact). No page is read in a shard build: the chapters quote every
example's numbers and show its figures, which a shard has only for its own examples.

``make docs MERGE="dir1 dir2 ..."`` copies each artifact into ``docs/auto_examples`` and
the results directory (:func:`merge`), then builds the whole site as usual: every example
is current (its md5, its record of the modules it used and its run record came with
it), so nothing runs again and the site is the one an unsharded build gives, wall times
aside.

The partition (:func:`partition`) must be the same on every machine without talking
between them, so it uses only what is committed: the CPU seconds per example in
``gallery/example_costs.json`` (an example not listed there counts as the median of
those listed). Examples are dealt longest first to the shard with the least work so far;
ties go to the lower-numbered shard and the path decides the order, so the shards are
balanced by cost and reproducible.
"""

from __future__ import annotations

import json
import re
import shutil
import statistics
from pathlib import Path

from . import freshness as gf

MANIFEST = "shard.json"
_SHARD = re.compile(r"\s*(\d+)\s*/\s*(\d+)\s*")


def parse_shard(text: str) -> tuple[int, int] | None:
    """``"k/N"`` → ``(k, N)`` with ``1 <= k <= N``; ``""`` → ``None`` (no sharding)."""
    if not isinstance(text, str):
        raise TypeError(f"survey_gallery_shard must be a string 'k/N', got {type(text).__name__}")
    if not text.strip():
        return None
    match = _SHARD.fullmatch(text)
    if not match:
        raise ValueError(f"survey_gallery_shard must look like 'k/N' (e.g. '1/2'), got {text!r}")
    k, n = int(match[1]), int(match[2])
    if not 1 <= k <= n:
        raise ValueError(f"survey_gallery_shard {text!r}: need 1 <= k <= N")
    return k, n


def partition(stems: list[str], costs: dict[str, float], n: int) -> list[list[str]]:
    """Deal ``stems`` into ``n`` shards of nearly equal total cost (longest first)."""
    known = [costs[s] for s in stems if s in costs]
    default = statistics.median(known) if known else 1.0
    shards: list[list[str]] = [[] for _ in range(n)]
    load = [0.0] * n
    for stem in sorted(stems, key=lambda s: (-costs.get(s, default), s)):
        target = min(range(n), key=lambda i: (load[i], i))
        shards[target].append(stem)
        load[target] += costs.get(stem, default)
    return shards


def _shard_of(app) -> tuple[int, int] | None:
    return parse_shard(app.config.survey_gallery_shard)


def _examples(app) -> list[gf.Example]:
    return gf.gallery_examples(Path(app.srcdir), app.config.sphinx_gallery_conf)


def restrict_to_shard(app) -> None:
    """``builder-inited`` (first of the gallery steps): execute only this shard's examples."""
    shard = _shard_of(app)
    if shard is None:
        return
    k, n = shard
    from .scheduler import cost_hints

    hints_file = app.config.survey_gallery_cost_hints
    costs = cost_hints(Path(app.confdir, hints_file) if hints_file else None)
    examples = _examples(app)
    mine = set(partition([ex.stem for ex in examples], costs, n)[k - 1])
    # Matched against the end of the script's path: "/03_x/plot_y.py".
    paths = [
        re.escape("/" + "/".join(filter(None, (ex.folder, ex.source.name)))) + "$"
        for ex in examples
        if ex.stem in mine
    ]
    # sphinx-gallery's own switch: matching examples execute, the others only get a page.
    app.config.sphinx_gallery_conf["filename_pattern"] = "|".join(paths) if paths else r"(?!)"
    app._survey_shard = (k, n, sorted(mine))
    # The root page is read (Sphinx needs it); its toctree names pages a shard does not read.
    app.config.suppress_warnings = [*app.config.suppress_warnings, "toc.not_readable"]
    gf._logger().info(f"[shards] shard {k}/{n}: {len(mine)} example(s): {', '.join(sorted(mine))}")


def read_no_pages(app, env, docnames: list[str]) -> None:
    """``env-before-read-docs``: a shard build only runs examples; it reads no page.

    Only the root document is kept (Sphinx refuses a build without it).
    """
    if getattr(app, "_survey_shard", None) is not None:
        docnames[:] = [d for d in docnames if d == app.config.root_doc]


def _example_files(example: gf.Example) -> list[Path]:
    """What sphinx-gallery and this extension wrote for one example, beside the page."""
    folder = example.target.parent
    name = re.compile(rf"sphx_glr_{re.escape(example.stem)}_(\d+|thumb)\.\w+")
    files = [p for p in folder.glob(f"{example.stem}.*") if p.is_file()]
    for images in (folder / "images", folder / "images" / "thumb"):
        if images.is_dir():
            files += [p for p in images.iterdir() if p.is_file() and name.fullmatch(p.name)]
    return sorted(files)


def _results_files(stem: str, results: Path | None) -> list[Path]:
    if results is None:
        return []
    return [p for p in (results / f"{stem}.jsonl", results / f"{stem}.run.json") if p.is_file()]


def write_artifact(app, exception) -> None:
    """``build-finished``: copy this shard's examples and records to its artifact folder."""
    shard = getattr(app, "_survey_shard", None)
    if shard is None or exception is not None:
        return
    k, n, mine = shard
    out = Path(app.outdir).parent / "shards" / f"{k}-of-{n}"
    shutil.rmtree(out, ignore_errors=True)
    srcdir = Path(app.srcdir)
    results = gf.results_dir()
    for example in _examples(app):
        if example.stem not in mine:
            continue
        for path in _example_files(example):
            dest = out / "auto_examples" / path.relative_to(example.target.parents[1])
            dest.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(path, dest)
        for path in _results_files(example.stem, results):
            (out / "results").mkdir(parents=True, exist_ok=True)
            shutil.copy2(path, out / "results" / path.name)
    gallery_dir = example_root(srcdir, app.config.sphinx_gallery_conf)
    manifest = {"shard": f"{k}/{n}", "gallery_dir": gallery_dir, "examples": mine}
    (out / MANIFEST).write_text(json.dumps(manifest, indent=1) + "\n", encoding="utf-8")
    gf._logger().info(f"[shards] shard {k}/{n} written to {out}")


def example_root(srcdir: Path, gallery_conf: dict) -> str:
    dirs = gallery_conf["gallery_dirs"]
    return dirs if isinstance(dirs, str) else dirs[0]


def merge(artifact: Path, docs: Path, results: Path) -> list[str]:
    """Copy one shard's artifact into ``docs/<gallery_dir>`` and ``results``; its examples."""
    manifest_path = artifact / MANIFEST
    if not manifest_path.is_file():
        raise ValueError(f"{artifact} is not a shard artifact (no {MANIFEST})")
    manifest = json.loads(manifest_path.read_text(encoding="utf-8"))
    for path in sorted(artifact.rglob("*")):
        if not path.is_file() or path == manifest_path:
            continue
        rel = path.relative_to(artifact)
        top, rest = rel.parts[0], Path(*rel.parts[1:])
        if top == "auto_examples":
            dest = docs / manifest["gallery_dir"] / rest
        elif top == "results":
            dest = results / rest
        else:
            raise ValueError(f"unexpected file in shard artifact: {rel}")
        dest.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(path, dest)
    return list(manifest["examples"])


def main(argv: list[str] | None = None) -> int:
    """``python -m survey_sphinx.shards DOCS RESULTS ARTIFACT...``: merge artifacts."""
    import sys

    args = sys.argv[1:] if argv is None else argv
    if len(args) < 3:
        print(__doc__.split("\n\n")[0], "\nusage: shards DOCS RESULTS ARTIFACT...")
        return 2
    docs, results, artifacts = Path(args[0]), Path(args[1]), [Path(a) for a in args[2:]]
    for artifact in artifacts:
        stems = merge(artifact, docs, results)
        print(f"[shards] {artifact}: {len(stems)} example(s) merged")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
