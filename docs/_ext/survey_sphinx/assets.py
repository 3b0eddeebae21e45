"""Pages that need no network: MathJax from the site, no CDN in the timing tables.

* MathJax. By default the site serves MathJax 3 itself, from ``_static/mathjax/``,
  copied at build time from the ``django-static-mathjax`` package (a pip-installed copy of
  the MathJax 3 distribution, in the ``docs`` extra). Set ``SURVEY_MATHJAX=cdn`` for a
  hosted build that prefers Sphinx's default CDN address.
* sphinx-gallery's computation-time pages (``sg_execution_times``) load Bootstrap,
  jQuery and DataTables from three CDNs to make the table sortable. The table is already
  sorted by time; the raw HTML block that loads those files is removed when the page is
  read, so the page is a plain table that needs nothing from outside. These pages are
  also kept out of the search index (``:nosearch:``): they only repeat example titles.
"""

from __future__ import annotations

import os
import re
import shutil
from pathlib import Path

from sphinx.errors import ConfigError

MATHJAX_MODE_VAR = "SURVEY_MATHJAX"
MATHJAX_ENTRY = "tex-mml-chtml.js"
# The combined TeX+MathML->CHTML component, the pieces it loads on demand, and fonts.
MATHJAX_PARTS = (MATHJAX_ENTRY, "input", "output/chtml", "a11y", "ui", "sre", "adaptors")

_SG_CDN_BLOCK = re.compile(
    r"^(?P<indent>[ \t]*)\.\. raw:: html\n\n(?:(?P=indent)[ \t]+.*\n|[ \t]*\n)*?"
    r"(?:(?P=indent)[ \t]+.*(?:cdn\.|code\.jquery\.com).*\n)"
    r"(?:(?P=indent)[ \t]+.*\n|[ \t]*\n)*?(?=(?P=indent)\.\. list-table::)",
    re.MULTILINE,
)


def mathjax_source() -> Path:
    """The ``es5`` folder of the installed MathJax 3 distribution."""
    try:
        import mathjax  # django-static-mathjax
    except ImportError as exc:  # pragma: no cover - depends on the environment
        raise ConfigError(
            "offline MathJax needs the package django-static-mathjax (pip install -e '.[docs]'),"
            f" or build with {MATHJAX_MODE_VAR}=cdn") from exc
    es5 = Path(mathjax.__file__).resolve().parent / "static" / "mathjax" / "es5"
    if not (es5 / MATHJAX_ENTRY).is_file():
        raise ConfigError(f"MathJax not found at {es5}")
    return es5


def mathjax_mode() -> str:
    mode = os.environ.get(MATHJAX_MODE_VAR, "local").strip().lower() or "local"
    if mode not in {"local", "cdn"}:
        raise ConfigError(f"{MATHJAX_MODE_VAR} must be 'local' or 'cdn', got {mode!r}")
    return mode


def strip_cdn_block(text: str) -> str:
    """Remove sphinx-gallery's raw HTML block that loads CSS/JS from CDNs."""
    return _SG_CDN_BLOCK.sub("", text)


def _config_inited(app, config) -> None:
    if mathjax_mode() == "local":
        mathjax_source()  # fail early, with a clear message, when it is missing
        config.mathjax_path = "mathjax/" + MATHJAX_ENTRY


def _source_read(app, docname: str, source: list[str]) -> None:
    if docname.endswith("sg_execution_times"):
        # A timing table is no answer to a reader's search: keep it out of the index.
        text = strip_cdn_block(source[0])
        if ":nosearch:" not in text:
            text = text.replace(":orphan:", ":orphan:\n:nosearch:", 1)
        source[0] = text


def _build_finished(app, exception) -> None:
    if exception is not None or app.builder.format != "html" or mathjax_mode() != "local":
        return
    source = mathjax_source()
    target = Path(app.outdir) / "_static" / "mathjax"
    for part in MATHJAX_PARTS:
        src, dst = source / part, target / part
        if src.is_dir():
            shutil.copytree(src, dst, dirs_exist_ok=True)
        elif src.is_file():
            dst.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(src, dst)
    license_file = source.parent / "LICENSE"
    if license_file.exists():
        shutil.copy2(license_file, target / "LICENSE")


def setup(app):
    app.connect("config-inited", _config_inited)
    app.connect("source-read", _source_read)
    app.connect("build-finished", _build_finished)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
