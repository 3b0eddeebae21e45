"""MathJax from the site itself, so pages need no network.

By default (``survey_mathjax = "local"``) the site serves MathJax 3 from
``_static/mathjax/``, copied at the end of the build from the ``django-static-mathjax``
package (a pip-installed copy of the MathJax 3 distribution, in the ``docs`` extra), and
Sphinx's own ``mathjax_path`` points at it. ``-D survey_mathjax=cdn`` on the command line
keeps Sphinx's default CDN address (a hosted build that prefers it).

(sphinx-gallery's computation-time pages, which load Bootstrap and jQuery from CDNs, are
not written at all: ``write_computation_times = False`` in conf.py.)
"""

from __future__ import annotations

import shutil
from pathlib import Path

from sphinx.errors import ConfigError

MATHJAX_ENTRY = "tex-mml-chtml.js"
# The combined TeX+MathML->CHTML component, the pieces it loads on demand, and fonts.
MATHJAX_PARTS = (MATHJAX_ENTRY, "input", "output/chtml", "a11y", "ui", "sre", "adaptors")


def mathjax_source() -> Path:
    """The ``es5`` folder of the installed MathJax 3 distribution."""
    try:
        import mathjax  # django-static-mathjax
    except ImportError as exc:  # pragma: no cover - depends on the environment
        raise ConfigError(
            "offline MathJax needs the package django-static-mathjax (pip install -e '.[docs]'),"
            " or build with -D survey_mathjax=cdn"
        ) from exc
    es5 = Path(mathjax.__file__).resolve().parent / "static" / "mathjax" / "es5"
    if not (es5 / MATHJAX_ENTRY).is_file():
        raise ConfigError(f"MathJax not found at {es5}")
    return es5


MATHJAX_MODES = ("local", "cdn")


def mathjax_mode(config) -> str:
    mode = str(config.survey_mathjax).strip().lower()
    if mode not in MATHJAX_MODES:
        raise ConfigError(f"survey_mathjax must be 'local' or 'cdn', got {mode!r}")
    return mode


def use_local_mathjax(app, config) -> None:
    """``config-inited``: point ``mathjax_path`` at the site's own copy."""
    if mathjax_mode(config) == "local":
        mathjax_source()  # fail early, with a clear message, when it is missing
        config.mathjax_path = "mathjax/" + MATHJAX_ENTRY


def copy_mathjax(app, exception) -> None:
    """``build-finished``: copy the MathJax parts the pages load into ``_static``."""
    if exception is not None or app.builder.format != "html" or mathjax_mode(app.config) != "local":
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
