"""The results page (实验结果总览), generated at every build from what the examples measured.

Every gallery example reports its numbers with :func:`survey_models.report.report`, which
appends JSON lines to ``$SURVEY_RESULTS_DIR/<example>.jsonl``; :func:`.runs.record_run`
writes ``<example>.run.json`` (time, peak memory) beside them, and
sphinx-gallery caches each example's run time in ``<example>.cost.json``. After
sphinx-gallery has run the examples (``builder-inited``, late), this extension writes one
page, ``results.md`` in the source directory, with one row per example of the gallery:
its claims, the numbers measured, the targets, pass or fail, its run time, its peak
memory and a link to its page. An example that reported nothing, failed, or was not
executed in this build is listed as such; no example is left out.

The file is rewritten only when its content changes, so a rebuild with nothing changed
does not re-read it. It is generated: do not edit it (it is in ``.gitignore``).
"""

from __future__ import annotations

import json
import math
import os
import re
from dataclasses import dataclass, field
from pathlib import Path

from . import freshness as gf
from . import seeds as sd

PAGE_TITLE = "实验结果总览"
_VERDICT = {True: "✓ 达到", False: "✗ 未达到", None: "仅记录"}
_MD_SPECIAL = re.compile(r"([\\`*_{}\[\]<>$|#~^!])")


def md_escape(text: str) -> str:
    """Text as literal inline MyST: Markdown, math and role syntax escaped."""
    text = " ".join(str(text).split())
    text = _MD_SPECIAL.sub(r"\\\1", text)
    # a leading list, heading or quote marker would start a block
    return re.sub(r"^(\d+)([.)])", r"\1\\\2", re.sub(r"^([-+=])", r"\\\1", text))


@dataclass
class Row:
    """What the page shows for one example."""

    example: gf.Example
    folder: str
    status: str  # "ok", "no-report", "failed", "not-run", "corrupt"
    measurements: list[dict] = field(default_factory=list)
    seconds: float | None = None
    peak_mib: float | None = None

    @property
    def label(self) -> str:
        rel = self.example.target.as_posix()
        return "sphx_glr_" + rel.replace("/", "_")

    @property
    def verdict(self) -> str:
        if self.status == "failed":
            return "运行失败"
        if self.status == "not-run":
            return "本次构建未执行"
        if self.status == "corrupt":
            return "⚠ 记录不完整，下次构建重新运行"
        if self.status == "no-report":
            return "⚠ 未报告任何测量值"
        failed = sum(m.get("passed") is False for m in self.measurements)
        judged = sum(m.get("passed") is not None for m in self.measurements)
        if failed:
            return f"✗ {failed}/{judged} 项未达到"
        if judged:
            return f"✓ {judged}/{judged} 项达到"
        return "仅记录"


def _read_json(path: Path) -> dict:
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}


def collect_rows(srcdir: Path, gallery_conf: dict, results: Path | None) -> list[Row]:
    """One :class:`Row` per gallery example, in gallery order."""
    failing = {os.path.normpath(k) for k in gallery_conf.get("failing_examples", {})}
    rows = []
    for example in gf.gallery_examples(srcdir, gallery_conf):
        ex = gf.Example(
            example.source, example.target.relative_to(srcdir.resolve()), example.folder
        )
        cost = _read_json(example.target.with_name(example.stem + ".cost.json"))
        run = (gf.read_run_record(example.stem, results) or {}) if results else {}
        numbers = gf.read_numbers(example.stem, results) if results else []
        measurements = numbers or []
        if os.path.normpath(example.source) in failing:
            status = "failed"
        elif (run or numbers != []) and gf.record_problem(example.stem, results):
            status = "corrupt"  # what the files hold is not what the run reported
        elif measurements:
            status = "ok"
        elif run:
            status = "no-report"  # it ran (this build or an earlier one) and reported nothing
        else:
            status = "not-run"
        seconds = cost.get("time") or run.get("seconds")
        rows.append(
            Row(
                ex,
                example.folder,
                status,
                measurements,
                float(seconds) if seconds and status != "not-run" else None,
                run.get("peak_rss_mib") if status != "not-run" else None,
            )
        )
    return rows


def _folder_title(examples_root: Path, folder: str) -> str:
    readme = next(
        (
            p
            for p in (examples_root / folder / "README.rst", examples_root / folder / "README.txt")
            if p.exists()
        ),
        None,
    )
    if readme is not None:
        for line in readme.read_text(encoding="utf-8").splitlines():
            if line.strip() and not set(line.strip()) <= set("=-~^*#"):
                return line.strip()
    return folder or "其他"


def _fmt_value(m: dict) -> str:
    value = m.get("value")
    text = f"{value:.4g}" if isinstance(value, (int, float)) else str(value)
    unit = m.get("unit") or ""
    return md_escape(f"{m.get('name', '')} = {text}" + (f" {unit}" if unit else ""))


def _seed_section(rows: list[Row], claims: sd.Record | None) -> list[str]:
    # What the 跨种子 column means, and the claims that do not hold across seeds.
    if claims is None or not claims.examples:
        return []
    n = len(claims.seeds)
    lines = [
        f"({sd.SEED_TABLE_LABEL})=",
        "## 跨种子的检验",
        "",
        f"本站以种子 0 构建。`benchmarks/claims.py` 在种子 {claims.seeds[0]}–{claims.seeds[-1]} "
        f"上各重跑一遍每个示例（不在构建中运行：它的计算量约为 {n} 次构建），记录提交在 "
        "`benchmarks/results/claims.json`；下表“跨种子”一列是达到目标的种子数。"
        f"达到目标的种子少于 {math.ceil(sd.ESTABLISHED * n)} 个（{sd.ESTABLISHED:.0%}）的论断"
        "标为“⚠ 未确立”："
        "在这一余量下它取决于种子，而不是方法。示例或它导入的模块在记录之后改动过的，标为“过期”。",
        "",
    ]
    weak = []
    for row in rows:
        for m in row.measurements:
            result, _ = claims.lookup(row.example.stem, m.get("key") or m.get("name") or "")
            if result is not None and not result.established:
                weak.append(
                    f"- {{ref}}`{row.label}`：{md_escape(m.get('name'))}，"
                    f"{md_escape(result.text())}"
                    + (f"；论断：{md_escape(m['claim'])}。" if m.get("claim") else "。")
                )
    if weak:
        lines += [f"未确立的论断（{len(weak)} 项）：", "", *weak, ""]
    return lines


def render(rows: list[Row], examples_root: Path, claims: sd.Record | None = None) -> str:
    """The page's MyST source (deterministic for the same inputs).

    ``claims``, the record of ``benchmarks/claims.py``, adds the 跨种子 column."""
    n_meas = sum(len(r.measurements) for r in rows)
    n_pass = sum(m.get("passed") is True for r in rows for m in r.measurements)
    n_fail = sum(m.get("passed") is False for r in rows for m in r.measurements)
    silent = [r for r in rows if r.status == "no-report"]
    not_run = [r for r in rows if r.status in ("not-run", "failed", "corrupt")]
    lines = [
        "<!-- 本页由 docs/_ext/survey_sphinx/results.py 在每次构建时生成，请勿手工编辑。 -->",
        "",
        f"# {PAGE_TITLE}",
        "",
        "本页在每次构建本站时自动生成：画廊中的每个示例在构建时实际运行，并通过 "
        "`survey_models.report.report()` 记录它测得的数字、对应的论文论断和目标，以及是否达到；"
        "下表逐个列出这些记录，连同示例的运行时间与峰值内存。点击示例标题可查看完整的代码、输出与图像。",
        "",
        "用时是示例在本次构建中的墙钟时间（构建机有 2 个 CPU 核，两个示例并行运行，"
        "用时随机器负载变化）；"
        "峰值内存是运行该示例的工作进程在示例运行期间的最高常驻内存，包含已载入的库以及同一进程"
        "先前运行的示例未归还的内存，因此是一个上界。",
        "",
        f"共 {len(rows)} 个示例，{n_meas} 项测量：{n_pass} 项达到目标，{n_fail} 项未达到，"
        f"{n_meas - n_pass - n_fail} 项仅记录。",
        "",
    ]
    if silent:
        lines += [
            "未报告任何测量值的示例：" + "、".join(f"`{r.example.stem}`" for r in silent) + "。",
            "",
        ]
    if not_run:
        lines += [
            "本次构建中未执行、运行失败或记录不完整的示例："
            + "、".join(f"`{r.example.stem}`" for r in not_run)
            + "。",
            "",
        ]
    lines += _seed_section(rows, claims)
    with_seeds = bool(claims and claims.examples)
    folders: dict[str, list[Row]] = {}
    for row in rows:
        folders.setdefault(row.folder, []).append(row)
    for folder, frows in folders.items():
        # One row per measurement, so a claim, its number, its target and its verdict
        # sit side by side; the example's link, run time and memory head its first row.
        lines += [
            f"## {md_escape(_folder_title(examples_root, folder))}",
            "",
            "```{list-table}",
            ":header-rows: 1",
            ":widths: 22 32 20 12 8 6" if with_seeds else ":widths: 24 34 22 12 8",
            ":class: survey-results",
            "",
            "* - 示例",
            "  - 论断",
            "  - 测得",
            "  - 目标",
            "  - 结论",
            *(["  - 跨种子"] if with_seeds else []),
        ]
        for row in frows:
            cost = " · ".join(
                part
                for part in (
                    f"用时 {row.seconds:.1f} s" if row.seconds is not None else "",
                    f"峰值内存 {row.peak_mib:.0f} MiB" if row.peak_mib is not None else "",
                )
                if part
            )
            head = [f"* - {{ref}}`{row.label}`", "", f"    {md_escape(row.verdict)}"]
            if cost:
                head += ["", f"    {cost}"]
            measurements = row.measurements or [None]
            for i, m in enumerate(measurements):
                lines += head if i == 0 else ["* - "]
                seed_cell = ["  - —"] if with_seeds else []
                if m is None:
                    lines += ["  - （未报告）", "  - —", "  - —", f"  - {md_escape(row.verdict)}"]
                    lines += seed_cell
                    continue
                if with_seeds and m.get("passed") is not None:
                    seed_cell = [f"  - {sd.cell(claims, row.example.stem, m)}"]
                lines += [
                    f"  - {md_escape(m.get('claim') or '（未给出）')}",
                    f"  - {_fmt_value(m)}",
                    f"  - {md_escape(m.get('target') or '—')}",
                    f"  - {_VERDICT.get(m.get('passed'), '仅记录')}",
                    *seed_cell,
                ]
        lines += ["```", ""]
    return "\n".join(lines)


def write_results_page(app) -> None:
    """``builder-inited``, after sphinx-gallery: (re)write the page if its content changed."""
    gallery_conf = app.config.sphinx_gallery_conf
    srcdir = Path(app.srcdir)
    results = gf.results_dir()
    examples_dirs = gallery_conf["examples_dirs"]
    examples_root = (
        srcdir / (examples_dirs if isinstance(examples_dirs, str) else examples_dirs[0])
    ).resolve()
    rows = collect_rows(srcdir, gallery_conf, results)
    text = render(rows, examples_root, sd.record(app))
    page = srcdir / app.config.survey_results_page
    if not page.exists() or page.read_text(encoding="utf-8") != text:
        page.write_text(text, encoding="utf-8")
    if results is not None:  # machine-readable twin, for the benchmark and tests
        summary = []
        for r in rows:
            run = gf.read_run_record(r.example.stem, results) or {}
            summary.append(
                {
                    "example": r.example.stem,
                    "folder": r.example.folder,
                    "status": r.status,
                    "seconds": r.seconds,
                    "cpu_seconds": run.get("cpu_seconds") if r.seconds else None,
                    "peak_rss_mib": r.peak_mib,
                    "measurements": r.measurements,
                }
            )
        results.mkdir(parents=True, exist_ok=True)
        (results / "summary.json").write_text(
            json.dumps(summary, ensure_ascii=False, indent=1) + "\n", encoding="utf-8"
        )
