"""Numbers that the chapters present as measured come from the build, never from a keyboard.

Three checks. Two read only the sources (fast): every ``{measure}`` reference names a key
that its example reports, and no sentence that speaks of a measurement carries a bare
decimal number, ratio or percentage outside a ``{measure}`` role (a number quoted from a
paper sits in the clause that cites it). The third compares the chapters with the numbers
the built site recorded: a recorded value typed into a measuring sentence is caught even
when it is an integer.
"""

from __future__ import annotations

import ast
import html
import json
import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
CHAPTERS = sorted((ROOT / "docs" / "survey").glob("[0-9][0-9]-*.md"))
GALLERY = ROOT / "gallery"

MEASURE = re.compile(r"\{measure\}`([^`]*)`")
SEEDS = re.compile(r"\{seeds\}`([^`]*)`")
CLAIMS_RECORD = ROOT / "benchmarks" / "results" / "claims.json"
ROLE = re.compile(r"\{[a-z:]+\}`[^`]*`")
CITE = re.compile(r"\{cite(:[a-z]+)?\}`")
# Words by which a sentence says that the book itself measured something.
MEASURING = re.compile(r"测得|测量|实测|示例中|示例页面|本次构建|构建本站时|运行中|结果为")
# A decimal number, or a number given as a ratio or a percentage (math or plain text).
TYPED = re.compile(r"(?<![0-9A-Za-z_.^{])(\d+\.\d+|\d+(?:\.\d+)?\s*(?:倍|%|％|个百分点))")


def report_keys() -> dict[str, list[str]]:
    """``{example stem: [key, ...]}`` from the literal ``key=`` of every ``report`` call."""
    keys: dict[str, list[str]] = {}
    for script in sorted(GALLERY.glob("*/plot_*.py")):
        found = keys.setdefault(script.stem, [])
        for node in ast.walk(ast.parse(script.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Call) and getattr(node.func, "id", None) == "report":
                for kw in node.keywords:
                    if kw.arg == "key" and isinstance(kw.value, ast.Constant):
                        found.append(kw.value.value)
    return keys


def prose_units(text: str) -> list[tuple[int, str]]:
    """(line number, text) of each sentence of prose and each table row, code removed."""
    text = re.sub(r"<!--.*?-->", lambda m: "\n" * m.group().count("\n"), text, flags=re.S)
    text = re.sub(
        r"^(```|:::).*?^\1\s*$", lambda m: "\n" * m.group().count("\n"), text, flags=re.S | re.M
    )
    units: list[tuple[int, str]] = []
    paragraph: list[tuple[int, str]] = []

    def flush():
        joined = "".join(line for _, line in paragraph)
        start = paragraph[0][0] if paragraph else 0
        for sentence in re.split(r"(?<=[。！？；])", joined):
            if sentence.strip():
                units.append((start, sentence))
        paragraph.clear()

    for number, line in enumerate(text.splitlines(), 1):
        if line.lstrip().startswith("|"):
            flush()
            units.append((number, line))
        elif not line.strip() or line.startswith("#"):
            flush()
        else:
            paragraph.append((number, line.strip()))
    flush()
    return units


def typed_numbers(unit: str) -> list[str]:
    """Numbers in a measuring sentence that no role inserted and no citation covers."""
    if not MEASURING.search(unit):
        return []
    found = []
    for clause in re.split(r"[，、：]", unit):
        if CITE.search(clause) or "目标" in clause:
            continue  # a number quoted from the paper cited here, or a target set beforehand
        found += TYPED.findall(ROLE.sub(" ", re.sub(r"`[^`]*`", " ", clause)))
    return found


@pytest.mark.parametrize("chapter", CHAPTERS, ids=lambda p: p.name)
def test_every_measure_reference_names_a_key_its_example_reports(chapter):
    keys = report_keys()
    text = chapter.read_text(encoding="utf-8")
    bad = []
    for target in MEASURE.findall(text):
        example, _, rest = target.partition("/")
        key = rest.partition(":")[0]
        if example not in keys:
            bad.append(f"{target}: no gallery example {example}")
        elif key not in keys[example]:
            bad.append(f"{target}: {example} reports no key {key!r} (keys: {keys[example]})")
    assert not bad, "\n".join(bad)


def test_keys_are_unique_within_an_example():
    repeated = {
        stem: sorted({k for k in ks if ks.count(k) > 1})
        for stem, ks in report_keys().items()
        if len(set(ks)) < len(ks)
    }
    assert not repeated


def _claims_record() -> dict:
    return json.loads(CLAIMS_RECORD.read_text(encoding="utf-8"))


def test_every_seeds_reference_names_a_current_claim_of_the_record():
    """``{seeds}`` shows a spread that the current code produced (the build refuses the
    rest too; this finds it without building)."""
    import sys

    sys.path.insert(0, str(ROOT / "docs" / "_ext"))
    from survey_sphinx import freshness, seeds

    record = _claims_record()
    packages = [freshness.Package.find("survey_models")]
    bad = []
    for chapter in CHAPTERS:
        for target in SEEDS.findall(chapter.read_text(encoding="utf-8")):
            stem, _, rest = target.partition("/")
            key = rest.partition(":")[0]
            example = record["examples"].get(stem)
            script = next(GALLERY.glob(f"*/{stem}.py"), None)
            if example is None or script is None:
                bad.append(f"{chapter.name}: {target}: no record of {stem}")
            elif key not in example["claims"]:
                bad.append(f"{chapter.name}: {target}: the record of {stem} has no claim {key!r}")
            elif example["digest"] != seeds.example_digest(script, packages):
                bad.append(f"{chapter.name}: {target}: {stem} changed since; rerun claims.py")
    assert not bad, "\n".join(bad)


def test_every_claim_not_established_across_seeds_is_restated_in_a_chapter():
    """Issue 19: a claim met by fewer than 4 of 5 seeds is restated with its spread."""
    import sys

    sys.path.insert(0, str(ROOT / "docs" / "_ext"))
    from survey_sphinx import seeds

    record = _claims_record()
    cited = {t.partition(":")[0] for c in CHAPTERS for t in SEEDS.findall(c.read_text("utf-8"))}
    weak = [
        f"{stem}/{key}"
        for stem, example in record["examples"].items()
        for key, entry in example["claims"].items()
        if not (found := seeds.spread(entry, record["seeds"])) or not found.established
    ]
    assert weak, "the record holds no weak claim: this check would pass vacuously"
    missing = [claim for claim in weak if claim not in cited]
    assert not missing, "restate these with {seeds} in their chapter:\n" + "\n".join(missing)


@pytest.mark.parametrize("chapter", CHAPTERS, ids=lambda p: p.name)
def test_no_measured_number_is_typed_by_hand(chapter):
    typed = [
        f"{chapter.name}:{line}: {nums} in: {unit.strip()[:120]}"
        for line, unit in prose_units(chapter.read_text(encoding="utf-8"))
        if (nums := typed_numbers(unit))
    ]
    assert not typed, "insert these from the build with {measure}:\n" + "\n".join(typed)


@pytest.mark.parametrize(
    "sentence, expected",
    [
        ("示例中测得准确率约为 0.95。", ["0.95"]),
        ("示例中测得误差低约 119 倍。", ["119 倍"]),
        ("示例中测得误差是普通自编码器的40 倍。", ["40 倍"]),  # right after a Chinese character
        ("示例中测得准确率为 {measure}`plot_x/acc`，高出 {measure}`plot_x/gain:p1` 个百分点。", []),
        (
            "论文报告的指数为 0.076 {cite:p}`kaplan2020scaling`，示例中测得 {measure}`plot_x/e`。",
            [],
        ),
        ("式中 0.5 是常数。", []),  # no measurement spoken of
        ("| 示例 | 测得 0.976 |", ["0.976"]),
    ],
)
def test_the_typed_number_check_itself(sentence, expected):
    assert [n.strip() for n in typed_numbers(sentence)] == expected


@pytest.mark.site
def test_no_recorded_value_is_typed_into_a_chapter(built_site):
    """Every value this build recorded, as a writer would round it, is absent from the
    measuring sentences of the chapters (outside roles)."""
    summary = json.loads(
        (built_site.parent / "results" / "summary.json").read_text(encoding="utf-8")
    )
    renderings = set()
    for row in summary:
        for m in row["measurements"]:
            v = float(m["value"])
            for digits in (2, 3, 4):
                text = f"{v:.{digits}g}"
                if "e" not in text and len(text.strip("-0.")) >= 2:
                    renderings.add(text.lstrip("-"))
    hits = []
    for chapter in CHAPTERS:
        for line, unit in prose_units(chapter.read_text(encoding="utf-8")):
            if not MEASURING.search(unit):
                continue
            plain = ROLE.sub(" ", unit)
            for number in re.findall(r"(?<![\w.])\d+(?:\.\d+)?(?![\w.])", plain):
                if number in renderings and len(number.replace(".", "")) >= 3:
                    hits.append(f"{chapter.name}:{line}: {number} in {unit.strip()[:100]}")
    assert not hits, "recorded values typed by hand:\n" + "\n".join(hits)


def _records(built_site: Path, stem: str) -> list[dict]:
    path = built_site.parent / "results" / f"{stem}.jsonl"
    return [
        json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()
    ]


@pytest.mark.site
@pytest.mark.parametrize("chapter", CHAPTERS, ids=lambda p: p.name)
def test_chapter_numbers_are_the_ones_its_examples_printed(built_site, chapter):
    """Each inserted number is on the chapter's page, and the example page of the same
    build prints the value it came from (the chapter and the example cannot disagree)."""
    import sys

    from bs4 import BeautifulSoup

    sys.path.insert(0, str(ROOT / "docs" / "_ext"))
    from survey_sphinx import measures as measured_numbers

    page = built_site / "survey" / f"{chapter.stem}.html"
    text = BeautifulSoup(page.read_text(encoding="utf-8"), "html.parser").get_text()
    problems = []
    for target in MEASURE.findall(chapter.read_text(encoding="utf-8")):
        stem, _, rest = target.partition("/")
        key, _, spec = rest.partition(":")
        record = next(r for r in _records(built_site, stem) if r.get("key") == key)
        if spec == "verdict":
            continue
        shown = measured_numbers.format_value(record["value"], spec or None)
        if shown not in text:
            problems.append(f"{target}: {shown!r} not on {page.name}")
        example_pages = list((built_site / "auto_examples").glob(f"*/{stem}.html"))
        printed = html.escape(f"{record['name']} = {record['value']:.4g}", quote=False)
        if not any(printed in p.read_text(encoding="utf-8") for p in example_pages):
            problems.append(f"{target}: the example page does not print {printed!r}")
    assert not problems, "\n".join(problems)


@pytest.mark.site
def test_example_pages_show_no_return_value_of_report(built_site):
    shown = [
        p.name
        for p in (built_site / "auto_examples").glob("*/plot_*.html")
        if "Measurement(example=" in p.read_text(encoding="utf-8")
    ]
    assert not shown
