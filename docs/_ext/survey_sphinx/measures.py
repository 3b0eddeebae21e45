"""Numbers in the prose come from this build: the ``{measure}`` role.

A chapter never types a number it presents as measured. It writes
``{measure}`plot_dcgan_digits/fid``` and the role inserts the value that the example
``plot_dcgan_digits`` recorded under the key ``fid`` (``report(..., key="fid")``) in this
build's results directory, formatted, as a link to the example's page. A format may
follow a colon:

=================  ==============================================  ===============
spec               meaning                                         0.000412 →
=================  ==============================================  ===============
(none)             3 significant digits                            4.12×10⁻⁴
``s2``             2 significant digits (``s1`` … ``s6``)          4.1×10⁻⁴
``p1``             × 100, 1 decimal (percentage points, no sign)   0.0
``x``              × 1 (a ratio): 3 significant digits, then 倍      4.12×10⁻⁴ 倍
``verdict``        the record's verdict: 达到, 未达到 or 仅记录          —
any other          a Python format spec, e.g. ``.2f``, ``.1%``     0.00
=================  ==============================================  ===============

Significant-digit formats switch to ``a×10ⁿ`` below 10⁻³ and from 10⁶ on. A reference to
an example or key that has no record in this build is a warning (an error under ``-W``).
The record file is a dependency of the page, so a page is read again when its numbers
change. The role reads ``<results dir>/<example>.jsonl``, which
:func:`survey_models.report.report` writes and the results page reads.
"""

from __future__ import annotations

import math
import re
from pathlib import Path

from docutils import nodes
from sphinx import addnodes
from sphinx.util import logging
from sphinx.util.docutils import SphinxRole

from . import freshness as gf

logger = logging.getLogger(__name__)

ROLE_TARGET = re.compile(  # plot_example/key[:spec], the text of both roles
    r"(?P<example>plot_[A-Za-z0-9_]+)/(?P<key>[a-z0-9_]+)(?::(?P<spec>.+))?"
)
_SUPERSCRIPT = str.maketrans("-0123456789", "⁻⁰¹²³⁴⁵⁶⁷⁸⁹")


def significant(value: float, digits: int) -> str:
    """``value`` rounded to ``digits`` significant digits, ``a×10ⁿ`` when very small or large."""
    if value == 0:
        return "0"
    exponent = math.floor(math.log10(abs(value)))
    mantissa = round(value / 10**exponent, digits - 1)
    if abs(mantissa) >= 10:  # 9.996 rounds up to 10.0
        mantissa, exponent = mantissa / 10, exponent + 1
    if -3 <= exponent < 6:
        decimals = max(digits - 1 - exponent, 0)
        return f"{round(value, decimals):.{decimals}f}"
    return f"{mantissa:.{digits - 1}f}×10{str(exponent).translate(_SUPERSCRIPT)}"


def format_value(value: float, spec: str | None) -> str:
    """The text the role shows for ``value`` under ``spec`` (see the module docstring).

    A negative number is written with the minus sign (−), not a hyphen.
    """
    return _format(value, spec).replace("-", "−")


def _format(value: float, spec: str | None) -> str:
    if spec is None:
        return significant(value, 3)
    if re.fullmatch(r"s[1-6]", spec):
        return significant(value, int(spec[1]))
    if re.fullmatch(r"p[0-3]", spec):
        return f"{value * 100:.{int(spec[1])}f}"
    if spec == "x":
        return significant(value, 3) + " 倍"
    return format(value, spec)  # ValueError for a bad spec, reported by the role


def example_label(srcdir: Path, gallery_conf: dict, stem: str) -> str | None:
    """The sphinx-gallery reference label of the example page ``stem``."""
    for example in gf.gallery_examples(srcdir, gallery_conf):
        if example.stem == stem:
            rel = example.target.relative_to(srcdir.resolve()).as_posix()
            return "sphx_glr_" + rel.replace("/", "_")
    return None


def linked(text: str, css_class: str, label: str | None):
    """``text`` in a span of ``css_class``, as a link to the reference ``label`` (if any)."""
    shown = nodes.inline(text, text, classes=[css_class])
    if label is None:
        return shown
    return addnodes.pending_xref(
        text,
        shown,
        refdomain="std",
        reftype="ref",
        reftarget=label,
        refexplicit=True,
        refwarn=True,
    )


class RecordRole(SphinxRole):
    """A role that inserts a recorded number; when it cannot, it warns (an error under
    ``-W``) and shows its own source."""

    subtype = "measure"

    def _fail(self, message: str):
        logger.warning(
            f"{self.subtype}: {message}",
            location=self.get_location(),
            type="survey",
            subtype=self.subtype,
        )
        return [nodes.problematic(self.rawtext, self.rawtext)], []


class MeasureRole(RecordRole):
    """``{measure}`plot_example/key[:spec]```: a number this build measured."""

    def run(self):
        match = ROLE_TARGET.fullmatch(self.text.strip())
        if not match:
            return self._fail(
                f"expected 'plot_example/key' or 'plot_example/key:spec', got {self.text!r}"
            )
        stem, key, spec = match["example"], match["key"], match["spec"]
        results = gf.results_dir()
        if results is None:
            return self._fail("no results directory is configured for this build")
        path = results / f"{stem}.jsonl"
        self.env.note_dependency(str(path))
        records = gf.read_numbers(stem, results)
        if not records:
            return self._fail(f"no readable records of {stem} in this build ({path})")
        found = [r for r in records if r.get("key") == key]
        if len(found) != 1:
            keys = sorted({r["key"] for r in records if r.get("key")})
            what = "no record" if not found else f"{len(found)} records"
            return self._fail(f"{what} with key {key!r} in {stem}; its keys: {keys}")
        try:
            if spec == "verdict":
                text = {True: "达到", False: "未达到"}.get(found[0].get("passed"), "仅记录")
            else:
                text = format_value(float(found[0]["value"]), spec)
        except (ValueError, TypeError) as exc:
            return self._fail(f"cannot format {stem}/{key} with {spec!r}: {exc}")
        label = example_label(Path(self.env.srcdir), self.config.sphinx_gallery_conf, stem)
        return [linked(text, "survey-measure", label)], []
