"""pybtex_gbt7714 installs on its own: its wheel (built from src/pybtex_gbt7714 alone)
carries every module, declares its dependency on pybtex and registers the styles."""

from __future__ import annotations

import configparser
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

SRC = Path(__file__).resolve().parents[1] / "src" / "pybtex_gbt7714"

pytestmark = pytest.mark.build  # pip builds a wheel (seconds)


@pytest.fixture(scope="module")
def wheel(tmp_path_factory) -> zipfile.ZipFile:
    work = tmp_path_factory.mktemp("gbt7714")
    # a copy, so that the build leaves nothing in the source folder
    shutil.copytree(
        SRC,
        work / "pybtex_gbt7714",
        ignore=shutil.ignore_patterns("__pycache__", "build", "*.egg-info"),
    )
    subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "-q", "--no-deps", "--no-build-isolation",
         "-w", str(work / "dist"), str(work / "pybtex_gbt7714")],
        check=True, capture_output=True, text=True,
    )  # fmt: skip
    (path,) = (work / "dist").glob("pybtex_gbt7714-*.whl")
    return zipfile.ZipFile(path)


def _read(wheel: zipfile.ZipFile, name: str) -> str:
    (member,) = [n for n in wheel.namelist() if n.endswith(".dist-info/" + name)]
    return wheel.read(member).decode("utf-8")


def test_wheel_carries_every_module_of_the_package(wheel):
    modules = {f"pybtex_gbt7714/{p.name}" for p in SRC.glob("*.py")} | {"pybtex_gbt7714/py.typed"}
    packaged = {n for n in wheel.namelist() if not n.split("/")[0].endswith(".dist-info")}
    assert packaged == modules


def test_wheel_requires_pybtex(wheel):
    requires = [
        line for line in _read(wheel, "METADATA").splitlines() if line.startswith("Requires-Dist:")
    ]
    assert len(requires) == 1 and requires[0].startswith("Requires-Dist: pybtex"), requires


def test_wheel_registers_both_editions_as_pybtex_plugins(wheel):
    points = configparser.ConfigParser(delimiters=("=",))
    points.optionxform = str  # entry point names are case sensitive
    points.read_string(_read(wheel, "entry_points.txt"))
    assert dict(points["pybtex.style.formatting"]) == {
        "gbt7714": "pybtex_gbt7714:GBT7714Style",
        "gbt7714-2025": "pybtex_gbt7714:GBT7714Style",
        "gbt7714-2015": "pybtex_gbt7714:GBT7714Style2015",
    }
    assert dict(points["pybtex.style.labels"]) == {"gbt7714": "pybtex_gbt7714:BibOrderLabelStyle"}
    assert dict(points["pybtex.style.sorting"]) == {
        "gbt7714": "pybtex_gbt7714:BibOrderSortingStyle"
    }


def test_the_book_registers_the_same_plugins_as_the_wheel(wheel):
    import tomllib

    book = tomllib.loads((SRC.parents[1] / "pyproject.toml").read_text(encoding="utf-8"))
    own = tomllib.loads((SRC / "pyproject.toml").read_text(encoding="utf-8"))
    assert book["project"]["entry-points"] == own["project"]["entry-points"]
