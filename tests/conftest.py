"""Shared fixtures. The built site is made once per test session (a full build that runs
every example, warnings as errors) and shared by every test that inspects HTML."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
DOCS = ROOT / "docs"


def build_site(
    outdir: Path, *extra: str, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess:
    """Run sphinx-build on docs/ into ``outdir`` with warnings as errors."""
    cmd = [
        sys.executable,
        "-m",
        "sphinx",
        "-W",
        "--keep-going",
        "-b",
        "html",
        str(DOCS),
        str(outdir),
        *extra,
    ]
    return subprocess.run(
        cmd, cwd=ROOT, capture_output=True, text=True, env={**os.environ, **(env or {})}
    )


@pytest.fixture(scope="session")
def built_site() -> Path:
    """Path of the built HTML site.

    ``SURVEY_SITE_DIR`` may name an already built site (to iterate on site tests quickly);
    otherwise the whole site is built here, every example executed, and any warning fails.
    """
    given = os.environ.get("SURVEY_SITE_DIR")
    if given:
        path = Path(given)
        assert (path / "index.html").exists(), f"SURVEY_SITE_DIR={given} has no index.html"
        return path
    out = DOCS / "_build" / "html"
    result = build_site(out)
    assert result.returncode == 0, (
        "docs build failed or warned:\n" + result.stdout[-4000:] + result.stderr[-8000:]
    )
    return out


PDF_NAME = "survey-models.pdf"


@pytest.fixture(scope="session")
def built_pdf(built_site) -> Path:
    """Path of the book's PDF, inside the built site.

    Made from the built site by ``tools/build-pdf.sh`` (what ``make pdf`` runs after the
    site: the LaTeX build, which reruns no example, then xelatex; about a minute and a half
    of CPU), which copies it into the site. A site named by ``SURVEY_SITE_DIR`` is used as
    it is: one built without ``make pdf`` carries no PDF, and the PDF tests are skipped.
    """
    pdf = built_site / PDF_NAME
    if os.environ.get("SURVEY_SITE_DIR"):
        if not pdf.exists():
            pytest.skip(f"the site in SURVEY_SITE_DIR has no {PDF_NAME} (build it with make pdf)")
        return pdf
    result = subprocess.run(
        ["bash", str(ROOT / "tools" / "build-pdf.sh"), str(built_site)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        env={**os.environ, "PY": sys.executable},
    )
    assert result.returncode == 0, (
        "PDF build failed:\n" + result.stdout[-3000:] + result.stderr[-6000:]
    )
    return pdf


@pytest.fixture(autouse=True, scope="session")
def _one_torch_thread():
    """Run every test with one PyTorch thread: on the project's two-core machines one
    thread is as fast for these small models, and results do not depend on the core count."""
    import torch

    previous = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(previous)
