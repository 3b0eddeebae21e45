"""Hosting configuration: .readthedocs.yaml (v2) and the GitHub Pages workflow.

Neither can run here, so their structure is checked: the keys each service requires, and
that both build the same site as the README (``make docs`` into docs/_build/html).
"""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[1]
RTD = ROOT / ".readthedocs.yaml"
PAGES = ROOT / ".github" / "workflows" / "pages.yml"
SITE_DIR = "docs/_build/html"


def _load(path: Path) -> dict:
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    assert isinstance(data, dict), f"{path.name} is not a mapping"
    return data


@pytest.fixture(scope="module")
def rtd() -> dict:
    return _load(RTD)


@pytest.fixture(scope="module")
def pages() -> dict:
    return _load(PAGES)


def test_readme_and_makefile_build_into_site_dir():
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    makefile = (ROOT / "Makefile").read_text(encoding="utf-8")
    assert "make docs" in readme
    assert re.search(
        r"^docs:.*\n(\t.*\n)*\t.*sphinx.*docs " + re.escape(SITE_DIR), makefile, re.MULTILINE
    ), "the Makefile's docs target no longer builds " + SITE_DIR


# -- Read the Docs -----------------------------------------------------------------------


def test_rtd_version_and_build_environment(rtd):
    assert rtd["version"] == 2
    build = rtd["build"]
    assert re.fullmatch(r"ubuntu-\d\d\.\d\d|ubuntu-lts-latest", build["os"]), build["os"]
    python = str(build["tools"]["python"])
    assert re.fullmatch(r"3\.(1[1-9])", python), f"python {python}: the package needs >= 3.11"


def test_rtd_keys_are_known(rtd):
    known = {
        "version",
        "build",
        "sphinx",
        "python",
        "formats",
        "submodules",
        "search",
        "conda",
        "mkdocs",
    }
    assert set(rtd) <= known, set(rtd) - known
    assert set(rtd["build"]) <= {"os", "tools", "jobs", "commands", "apt_packages"}


def test_rtd_builds_the_readme_site(rtd):
    commands = rtd["build"]["commands"]
    assert all(isinstance(c, str) for c in commands)
    assert any(re.search(r"\bmake docs\b", c) for c in commands)
    # with build.commands, Read the Docs serves what lands in $READTHEDOCS_OUTPUT/html
    assert any(SITE_DIR in c and "$READTHEDOCS_OUTPUT/html" in c for c in commands)
    # no root there: the apt step must be skipped, and the skip must be honoured
    assert any("SURVEY_SYSTEM_PACKAGES=skip" in c for c in commands)


def test_system_setup_skip_is_honoured():
    result = subprocess.run(
        ["bash", str(ROOT / "tools" / "setup-system.sh")],
        env={"PATH": "/usr/bin:/bin", "SURVEY_SYSTEM_PACKAGES": "skip"},
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert result.returncode == 0 and "skipped" in result.stdout


# -- GitHub Pages ------------------------------------------------------------------------


def _triggers(pages: dict) -> dict:
    # YAML 1.1 reads the bare key `on` as the boolean True
    return pages.get("on", pages.get(True))


def test_pages_workflow_triggers_and_permissions(pages):
    assert pages.get("name")
    triggers = _triggers(pages)
    assert triggers and "push" in triggers
    perms = pages["permissions"]
    assert perms.get("pages") == "write" and perms.get("id-token") == "write"


def test_pages_workflow_jobs(pages):
    jobs = pages["jobs"]
    assert set(jobs) >= {"build", "deploy"}
    for name, job in jobs.items():
        assert "runs-on" in job and job["steps"], name
        for step in job["steps"]:
            assert ("uses" in step) != ("run" in step), f"{name}: {step}"
    build_steps = jobs["build"]["steps"]
    uses = [s.get("uses", "") for s in build_steps]
    runs = [s.get("run", "") for s in build_steps]
    assert any(u.startswith("actions/checkout@") for u in uses)
    assert any(re.search(r"\bmake docs\b", r) for r in runs), "must build as the README does"
    assert any("tests/test_browser.py" in r for r in runs), "browser tests must run in CI"
    artifact = next(
        s for s in build_steps if s.get("uses", "").startswith("actions/upload-pages-artifact@")
    )
    assert artifact["with"]["path"] == SITE_DIR
    deploy = jobs["deploy"]
    assert deploy["needs"] in ("build", ["build"])
    assert deploy["environment"]["name"] == "github-pages"
    assert any(s.get("uses", "").startswith("actions/deploy-pages@") for s in deploy["steps"])


def test_pages_workflow_uses_debian_for_chromium(pages):
    container = pages["jobs"]["build"].get("container", "")
    image = container if isinstance(container, str) else container.get("image", "")
    assert re.search(r"bookworm|trixie|debian", image), (
        "the browser tests use Debian's chromium: build in a Debian container"
    )
