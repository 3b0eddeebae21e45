"""One term, one translation; every chapter ends with 小结 and 练习. Reads sources only (fast).

**Terminology.** ``docs/glossary.md`` is the authority. An entry whose term has translations
the book does not use carries, in its definition, a line of the fixed form

    ``  不用：模式崩塌、模式坍塌``

(indented, full-width colon, variants separated by ``、``). No listed variant may appear in
the prose of a chapter (``docs/survey/NN-*.md``), of the front page (``docs/index.md``) or of
the glossary's own definitions. *Prose* is what is left after removing

- fenced code: a backtick or tilde fence with a language or no info string, and the
  directives whose body is not prose (``{code-cell}``, ``{code-block}``, ``{math}``,
  ``{bibliography}``, ``{toctree}``, ...); the body of any other directive (``{figure}``
  captions, ``:::{admonition}`` hints, the ``{glossary}`` itself) *is* prose, except its
  ``:option:`` lines;
- display math (``$$ ... $$``), inline math (``$...$``), inline code (`` `...` ``),
  roles with their text (``{cite:p}`...```, ``{ref}`...```, ``{measure}`...```), link
  targets, HTML comments and label lines ``(name)=``;
- the ``不用：`` lines themselves.

The lines of a paragraph are joined (without a space between two Chinese characters, as
the site's CJK line joining does), so a variant broken across a line end is still found.
A space inside a variant (``Gibbs 采样``) matches one space or none; a variant of ASCII
letters only (``nats``) matches as a whole word. A failure names file, line, variant and
the term to use.

**Glossary links.** Every entry names the chapter that introduces it with
``见 {doc}`survey/NN-...```; every such target must be an existing document.

**小结 and 练习.** Every chapter has exactly one ``## 小结`` and one ``## 练习`` heading,
小结 before 练习, both before ``## 参考文献``. The 练习 section runs from its heading to the
next heading of level 1 or 2. *An exercise is a list item that starts in column 0*
(``1. ``, ``1) ``, ``- ``, ``* `` or ``+ ``) outside any fence, so the lines of a folded
``:::{admonition} 提示`` and items indented inside an exercise are not counted. A chapter
needs 4 to 8 exercises (the house rule of the second edition).
"""

from __future__ import annotations

import bisect
import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
DOCS = ROOT / "docs"
GLOSSARY = DOCS / "glossary.md"
CHAPTERS = sorted((DOCS / "survey").glob("[0-9][0-9]-*.md"))
PAGES = [*CHAPTERS, DOCS / "index.md"]

VARIANT_LINE = re.compile(r"^\s+不用：(.*)$")
DOC_LINK = re.compile(r"见 \{doc\}`([^`]+)`")
FENCE = re.compile(r"^\s*(`{3,}|~{3,}|:{3,})\s*(.*)$")
# directives whose body is not prose
NON_PROSE = {
    "code-cell",
    "code-block",
    "code",
    "sourcecode",
    "math",
    "literalinclude",
    "eval-rst",
    "raw",
    "bibliography",
    "toctree",
    "csv-table",
    "list-table",
}
OPTION_LINE = re.compile(r"^\s*:[\w-]+:(\s|$)")
LABEL_LINE = re.compile(r"^\s*\([\w:.-]+\)=\s*$")
ROLE = re.compile(r"\{[\w:.+-]+\}(`+)(?:(?!\1).)*?\1", re.S)
CODE_SPAN = re.compile(r"(`+)(?:(?!\1).)+?\1", re.S)
INLINE_MATH = re.compile(r"(?<![\\$])\$(?!\$)(?:\\.|[^$\\])+?\$", re.S)
LINK_TARGET = re.compile(r"\]\([^)\s]*\)|<https?://[^>\s]+>")
COMMENT = re.compile(r"<!--.*?-->", re.S)
HAN = re.compile(r"[\u3400-\u9fff\u3000-\u303f\uff00-\uffef]")
HEADING = re.compile(r"^(#{1,6})\s+(.*?)\s*$")
EXERCISE = re.compile(r"^(\d+[.)]|[-*+])\s+\S")


# --------------------------------------------------------------------------------------
# parsing
# --------------------------------------------------------------------------------------


def glossary_entries(path: Path = GLOSSARY) -> list[dict]:
    """Entries of the ``{glossary}`` block: ``terms`` (the unindented lines), ``body``
    (the indented lines with their line numbers) and ``variants`` (from ``不用：``)."""
    entries: list[dict] = []
    inside, in_terms = False, False
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        if line.startswith("```{glossary}"):
            inside, in_terms = True, False
            continue
        if not inside:
            continue
        if line.startswith("```"):
            break
        if line.strip() and not line[0].isspace():
            if not in_terms:
                entries.append({"terms": [], "body": [], "variants": [], "line": number})
            entries[-1]["terms"].append(line.strip())
            in_terms = True
            continue
        in_terms = False
        if entries and line.strip():
            entries[-1]["body"].append((number, line))
            match = VARIANT_LINE.match(line)
            if match:
                entries[-1]["variants"] += [v.strip() for v in match.group(1).split("、")]
    return entries


def variant_table() -> dict[str, str]:
    """``{variant: the term to use}`` (the first term line of the entry)."""
    return {v: e["terms"][0] for e in glossary_entries() for v in e["variants"]}


def _blank(match: re.Match) -> str:
    return re.sub(r"[^\n]", " ", match.group())


def prose_lines(text: str, skip_variant_lines: bool = False) -> list[str]:
    """The lines of ``text`` with everything that is not prose blanked (same line count)."""
    out: list[str] = []
    stack: list[tuple[str, int, bool]] = []  # (fence char, length, body is prose)
    in_math = False
    for line in text.split("\n"):
        fence = FENCE.match(line)
        if in_math:
            if line.strip().startswith("$$"):
                in_math = False
            out.append("")
            continue
        if stack and not stack[-1][2]:  # inside code: only its closing fence matters
            char, length, _ = stack[-1]
            if (
                fence
                and fence.group(1)[0] == char
                and len(fence.group(1)) >= length
                and not fence.group(2)
            ):
                stack.pop()
            out.append("")
            continue
        if fence:
            marker, info = fence.group(1), fence.group(2)
            if not info and stack and stack[-1][0] == marker[0] and len(marker) >= stack[-1][1]:
                stack.pop()  # closes a prose directive
            else:
                name = re.match(r"\{([\w:-]+)\}", info)
                prose = bool(name) and name.group(1) not in NON_PROSE
                if marker[0] == ":" and not name:
                    prose = True  # a plain colon fence holds text
                stack.append((marker[0], len(marker), prose))
            out.append("")
            continue
        stripped = line.strip()
        if stripped.startswith("$$"):
            if stripped.count("$$") < 2:
                in_math = True
            out.append("")
            continue
        if (
            (stack and OPTION_LINE.match(line))
            or LABEL_LINE.match(line)
            or (skip_variant_lines and VARIANT_LINE.match(line))
        ):
            out.append("")
            continue
        out.append(line)
    joined = "\n".join(out)
    for pattern in (COMMENT, ROLE, CODE_SPAN, INLINE_MATH, LINK_TARGET):
        joined = pattern.sub(_blank, joined)
    return joined.split("\n")


def join_paragraphs(lines: list[str]) -> tuple[str, list[int]]:
    """One string for the page, the lines of a paragraph joined, and the offset at which
    each line starts (for mapping a match back to its line)."""
    text, starts = "", []
    for i, line in enumerate(lines):
        content = line.strip()
        if i and content and lines[i - 1].strip():
            prev = text[-1] if text else ""
            if not (HAN.match(prev) and HAN.match(content[0])):
                text += " "
        elif i:
            text += "\n"
        starts.append(len(text))
        text += content
    return text, starts


def variant_pattern(variant: str) -> re.Pattern:
    if re.fullmatch(r"[A-Za-z]+", variant):
        return re.compile(rf"(?<![A-Za-z]){re.escape(variant)}(?![A-Za-z])")
    parts = [re.escape(p) for p in variant.split()]
    return re.compile(r"[ \u3000]?".join(parts))


def find_variants(
    text: str, table: dict[str, str], skip_variant_lines: bool = False
) -> list[tuple[int, str, str]]:
    """``(line, variant, term)`` for each use of a rejected variant in the prose."""
    joined, starts = join_paragraphs(prose_lines(text, skip_variant_lines))
    hits = []
    for variant, term in table.items():
        for match in variant_pattern(variant).finditer(joined):
            line = bisect.bisect_right(starts, match.start())
            hits.append((line, variant, term))
    return sorted(hits)


def sections(text: str) -> list[tuple[int, str, list[str]]]:
    """``(level, title, lines)`` for each heading outside fences (lines up to the next
    heading of the same or a higher level are not split further: level 1 and 2 only)."""
    result: list[tuple[int, str, list[str]]] = []
    fence: str | None = None
    for line in text.splitlines():
        match = FENCE.match(line)
        if match:
            marker = match.group(1)
            if fence is None:
                fence = marker
            elif marker[0] == fence[0] and len(marker) >= len(fence) and not match.group(2):
                fence = None
        heading = HEADING.match(line) if fence is None else None
        if heading and len(heading.group(1)) <= 2:
            result.append((len(heading.group(1)), heading.group(2), []))
        elif result:
            result[-1][2].append(line)
    return result


def count_exercises(lines: list[str]) -> int:
    """List items in column 0 outside fences (see the module docstring)."""
    count, stack = 0, []
    for line in lines:
        match = FENCE.match(line)
        if match:
            marker, info = match.group(1), match.group(2)
            if stack and not info and marker[0] == stack[-1][0] and len(marker) >= len(stack[-1]):
                stack.pop()
            elif info or not stack:
                stack.append(marker)
            continue
        if not stack and EXERCISE.match(line):
            count += 1
    return count


# --------------------------------------------------------------------------------------
# the glossary itself
# --------------------------------------------------------------------------------------


def test_glossary_lists_the_house_variants():
    table = variant_table()
    for variant, term in {
        "模式崩塌": "模式崩溃",
        "软标签": "软目标",
        "大型语言模型": "大语言模型",
        "潜空间": "潜在空间",
        "隐空间": "潜在空间",
        "调和网络": "簧风琴",
        "Gibbs 采样": "吉布斯采样",
        "重建": "重构",
        "nats": "奈特",
    }.items():
        assert table.get(variant) == term, f"glossary lacks 不用：{variant} under {term}"


def test_variants_are_not_terms_nor_inside_terms():
    entries = glossary_entries()
    terms = [t for e in entries for t in e["terms"]]
    seen: dict[str, str] = {}
    for entry in entries:
        for variant in entry["variants"]:
            assert variant, f"empty variant in the 不用 line of {entry['terms'][0]}"
            assert variant not in seen, (
                f"{variant} listed under {seen.get(variant)} and {entry['terms'][0]}"
            )
            seen[variant] = entry["terms"][0]
            inside = [t for t in terms if variant_pattern(variant).search(t)]
            assert not inside, (
                f"variant {variant} occurs in the term(s) {inside}: "
                "the term itself would be flagged"
            )


def test_every_entry_points_to_an_existing_chapter():
    problems = []
    for entry in glossary_entries():
        body = " ".join(line for _, line in entry["body"])
        links = DOC_LINK.findall(body)
        if len(links) != 1:
            problems.append(f"{entry['terms'][0]}: {len(links)} links 见 {{doc}}`...`")
        for target in links:
            target = target.split("<")[-1].rstrip(">").strip()
            base = DOCS / target.lstrip("/")
            if not any(
                base.with_name(base.name + ext).exists() for ext in (".md", ".rst", ".ipynb")
            ):
                problems.append(f"{entry['terms'][0]}: {target} does not exist")
    assert not problems, "\n".join(problems)


def test_glossary_definitions_use_no_variant():
    text = GLOSSARY.read_text(encoding="utf-8")
    hits = find_variants(text, variant_table(), skip_variant_lines=True)
    assert not hits, "\n".join(
        f"docs/glossary.md:{line}: {variant} → use {term}" for line, variant, term in hits
    )


# --------------------------------------------------------------------------------------
# the chapters
# --------------------------------------------------------------------------------------


@pytest.mark.parametrize("page", PAGES, ids=lambda p: p.name)
def test_no_rejected_variant_in_the_prose(page):
    hits = find_variants(page.read_text(encoding="utf-8"), variant_table())
    rel = page.relative_to(ROOT)
    assert not hits, f"{len(hits)} rejected variant(s):\n" + "\n".join(
        f"{rel}:{line}: {variant} → use {term}" for line, variant, term in hits
    )


@pytest.mark.parametrize("chapter", CHAPTERS, ids=lambda p: p.name)
def test_chapter_ends_with_summary_and_exercises(chapter):
    found = sections(chapter.read_text(encoding="utf-8"))
    titles = [title for level, title, _ in found if level == 2]
    rel = chapter.relative_to(ROOT)
    assert titles.count("小结") == 1, f"{rel}: {titles.count('小结')} headings '## 小结'"
    assert titles.count("练习") == 1, f"{rel}: {titles.count('练习')} headings '## 练习'"
    assert titles.index("小结") < titles.index("练习"), f"{rel}: 练习 comes before 小结"
    if "参考文献" in titles:
        assert titles.index("练习") < titles.index("参考文献"), (
            f"{rel}: 小结 and 练习 must come before 参考文献"
        )
    exercises = next(lines for level, title, lines in found if level == 2 and title == "练习")
    n = count_exercises(exercises)
    assert 4 <= n <= 8, f"{rel}: {n} exercises under ## 练习 (4 to 8 wanted)"


# --------------------------------------------------------------------------------------
# the checks can fail
# --------------------------------------------------------------------------------------


def test_variant_finder_sees_prose_only():
    table = {
        "模式崩塌": "模式崩溃",
        "Gibbs 采样": "吉布斯采样",
        "nats": "奈特",
        "大型语言模型": "大语言模型",
    }
    text = "\n".join(
        [
            "GAN 会出现模式崩塌。",  # 1: prose
            "`模式崩塌` 与 {ref}`模式崩塌 <x>` 与 $模式崩塌$",  # 2: code, role, math
            "```python",  # 3
            "x = '模式崩塌'",  # 4: code block
            "```",  # 5
            "交替 Gibbs采样，单位 nats/图，natsume 不算，压缩大型",  # 6: two hits, split variant
            "语言模型的做法。",  # 7
            "",  # 8
            ":::{admonition} 提示",  # 9
            ":class: dropdown",  # 10
            "答案：模式崩塌。",  # 11: a hint is prose
            ":::",  # 12
            "$$",  # 13
            "\\text{模式崩塌}",  # 14: display math
            "$$ (eq-x)",  # 15
        ]
    )
    hits = find_variants(text, table)
    assert hits == [
        (1, "模式崩塌", "模式崩溃"),
        (6, "Gibbs 采样", "吉布斯采样"),
        (6, "nats", "奈特"),
        (6, "大型语言模型", "大语言模型"),
        (11, "模式崩塌", "模式崩溃"),
    ], hits


def test_exercise_count_skips_folded_hints():
    lines = [
        "",
        "1. 第一题",
        "",
        ":::{admonition} 提示",
        ":class: dropdown",
        "- 不是练习",
        "2. 也不是",
        ":::",
        "",
        "2. 第二题",
        "   - 子项不算",
        "- 第三题",
        "",
    ]
    assert count_exercises(lines) == 3


HALF_WIDTH_IN_BRACKETS = re.compile(r"（[A-Za-z][A-Za-z -]*, [A-Za-z0-9-]*）")


@pytest.mark.parametrize("page", PAGES, ids=lambda p: p.name)
def test_english_names_in_chinese_brackets_use_the_full_width_comma(page):
    """（variational autoencoder，VAE）: inside Chinese brackets the comma is Chinese too."""
    text = page.read_text(encoding="utf-8")
    found = [
        f"{page.name}:{text.count(chr(10), 0, m.start()) + 1}: {m.group()}"
        for m in HALF_WIDTH_IN_BRACKETS.finditer(text)
    ]
    assert not found, found
