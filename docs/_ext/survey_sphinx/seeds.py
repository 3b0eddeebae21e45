"""Claims across seeds: the record of ``benchmarks/claims.py`` and the ``{seeds}`` role.

The book is built under seed 0. ``benchmarks/claims.py`` reruns every example under
seeds 0-4 and writes, besides its printed table, ``benchmarks/results/claims.json``: per
example, the digest of its source and of the package code it imports (the same import
graph :mod:`.freshness` follows) and, per claim (a number reported with a verdict), the
value and verdict at every seed. That run is not part of a build (it takes five builds'
worth of CPU time), so its record is committed and read here:

- ``{seeds}`plot_example/key[:spec]``` inserts "5 个种子中 k 个达到目标（最小 a，中位数 b，
  最大 c）", the values formatted as by ``{measure}`` (``spec``), linked to the results
  page's table of claims across seeds. A claim that has no record, or whose example (or a
  module it imports) changed since the record was made, is a warning (an error under
  ``-W``): the prose never shows a spread that the current code did not produce.
- :func:`cell` gives the results page's "跨种子" entry of a claim, "过期" when stale.

A claim is *established* when at least 4 of 5 seeds (80 %) meet its target.
"""

from __future__ import annotations

import hashlib
import json
import statistics
from dataclasses import dataclass
from pathlib import Path

from . import freshness as gf
from .measures import ROLE_TARGET, RecordRole, format_value, linked

RECORD_VERSION = 1
ESTABLISHED = 0.8  # share of seeds that must meet a claim's target
SEED_TABLE_LABEL = "claims-across-seeds"  # the results page's section


def example_digest(
    source: Path, packages: list[gf.Package], files: dict[str, Path] | None = None
) -> str:
    """What a cross-seed record depends on: the example's source and the modules it imports
    (``files``, from :func:`.freshness.example_dependency_files`, when already known)."""
    if files is None:
        files = gf.example_dependency_files(source, packages)
    deps = {name: gf.file_digest(path) for name, path in files.items()}
    own = gf.file_digest(source)
    return hashlib.sha256(f"{own}\0{gf.digest(deps)}".encode()).hexdigest()


@dataclass(frozen=True)
class Spread:
    """One claim over the seeds of the record."""

    met: int
    seeds: int
    values: tuple[float, ...]

    @property
    def established(self) -> bool:
        return self.met >= ESTABLISHED * self.seeds

    def text(self, spec: str | None = None) -> str:
        low, mid, high = (
            format_value(v, spec)
            for v in (min(self.values), statistics.median(self.values), max(self.values))
        )
        return (
            f"{self.seeds} 个种子中 {self.met} 个达到目标（最小 {low}，中位数 {mid}，最大 {high}）"
        )


def spread(entry: dict, seeds: list[int]) -> Spread | None:
    """The spread of one claim's record, or ``None`` when a seed's value is missing."""
    values = entry.get("values", {})
    if any(str(s) not in values for s in seeds):
        return None
    pairs = [values[str(s)] for s in seeds]
    return Spread(sum(bool(p) for _, p in pairs), len(seeds), tuple(float(v) for v, _ in pairs))


class Record:
    """``claims.json``, with each example's freshness checked against the current code."""

    def __init__(self, path: Path, srcdir: Path, gallery_conf: dict, packages: list[gf.Package]):
        self.path = path
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            data = {}
        if data.get("version") != RECORD_VERSION:
            data = {}
        self.seeds: list[int] = list(data.get("seeds", []))
        self.examples: dict[str, dict] = data.get("examples", {})
        self.current: dict[str, str] = {}
        self.files: dict[str, list[Path]] = {}  # what a page citing the record depends on
        for ex in gf.gallery_examples(srcdir, gallery_conf):
            if ex.stem in self.examples:
                deps = gf.example_dependency_files(ex.source, packages)
                self.current[ex.stem] = example_digest(ex.source, packages, deps)
                self.files[ex.stem] = [ex.source, *deps.values()]

    def stale(self, stem: str) -> bool:
        """Whether ``stem`` or a module it imports changed since its record was made."""
        return stem in self.examples and self.current.get(stem) != self.examples[stem].get("digest")

    def lookup(self, stem: str, key: str) -> tuple[Spread | None, str | None]:
        """``(spread, None)``, or ``(None, why not)``."""
        example = self.examples.get(stem)
        if example is None:
            return None, f"{stem} has no record in {self.path.name}"
        if self.stale(stem):
            return None, (
                f"{stem} (or a module it imports) changed since {self.path.name} was made; "
                f"rerun: benchmarks/claims.py --pattern {stem}"
            )
        entry = example.get("claims", {}).get(key)
        if entry is None:
            return None, f"{self.path.name} has no claim {key!r} of {stem}"
        result = spread(entry, self.seeds)
        if result is None:
            return None, f"{stem}/{key} misses a seed in {self.path.name}"
        return result, None


def record(app) -> Record:
    """This build's :class:`Record` (read once per build)."""
    found = getattr(app, "_survey_claims_record", None)
    if found is None:
        srcdir = Path(app.srcdir)
        found = Record(
            (srcdir / app.config.survey_claims_record).resolve(),
            srcdir,
            app.config.sphinx_gallery_conf,
            gf.tracked_packages(app),
        )
        app._survey_claims_record = found
    return found


def cell(rec: Record, stem: str, measurement: dict) -> str:
    """The results page's 跨种子 entry for one measurement (recorded by key, or by name)."""
    if rec.stale(stem):
        return "过期"
    result, _ = rec.lookup(stem, measurement.get("key") or measurement.get("name") or "")
    if result is None:
        return "—"
    mark = "" if result.established else " ⚠ 未确立"
    return f"{result.met}/{result.seeds}{mark}"


class SeedsRole(RecordRole):
    """``{seeds}`plot_example/key[:spec]```: a claim's spread over the recorded seeds."""

    subtype = "seeds"

    def run(self):
        match = ROLE_TARGET.fullmatch(self.text.strip())
        if not match:
            return self._fail(f"expected 'plot_example/key[:spec]', got {self.text!r}")
        rec = record(self.env.app)
        # read again when the record, the example or a module it imports changes
        for path in [rec.path, *rec.files.get(match["example"], [])]:
            self.env.note_dependency(str(path))
        result, why = rec.lookup(match["example"], match["key"])
        if result is None:
            return self._fail(why)
        try:
            text = result.text(match["spec"])
        except (ValueError, TypeError) as exc:
            return self._fail(f"cannot format {self.text!r}: {exc}")
        return [linked(text, "survey-seeds", SEED_TABLE_LABEL)], []
