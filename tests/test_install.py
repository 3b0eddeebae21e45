"""A reader's install: the package as a wheel in a fresh environment outside the repository,
an example downloaded as a script or as the notebook its page offers, the same numbers.

The README's section "只有 pip" gives two lines; these tests parse them and run what they
say, offline: the wheel ``pip install .`` would build is built here once, installed without
its dependencies into a new virtual environment in a temporary folder, and that
environment borrows the dependencies (PyTorch, NumPy, ...) from the project's ``.venv``
through a ``.pth`` line, never the project's source (the editable install's own ``.pth``
is not read from there). The tests need the built site's records (``built_site``): they
compare the ``[测量]`` lines printed by the script and by the notebook with those the
build recorded for the same example.
"""

from __future__ import annotations

import json
import os
import re
import runpy
import shlex
import shutil
import subprocess
import sys
import sysconfig
from pathlib import Path

import pytest

from survey_models.report import Measurement


def slow(test):
    """A wheel, a venv and real examples, compared with the built site's records."""
    return pytest.mark.build(pytest.mark.site(test))


ROOT = Path(__file__).resolve().parents[1]
GALLERY = ROOT / "gallery"
# small examples (seconds each) that print several measured numbers
EXAMPLES = ("02_autoencoders/plot_linear_ae_pca.py", "01_attention/plot_exact_properties.py")
CPU_INDEX = "https://download.pytorch.org/whl/cpu"


def readme_pip_lines() -> list[str]:
    """The command lines of the README's "只有 pip" section (comments dropped)."""
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    section = re.search(r"^## 只有 pip\n(.*?)(?=^## )", text, re.S | re.M)
    assert section, "README.md has no section '## 只有 pip'"
    block = re.search(r"```bash\n(.*?)```", section.group(1), re.S)
    assert block, "the section '只有 pip' has no ```bash block"
    lines = [line.split("#")[0].strip() for line in block.group(1).splitlines()]
    return [line for line in lines if line]


def torch_requirement() -> str:
    import tomllib

    deps = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["dependencies"]
    return next(d for d in deps if d.startswith("torch"))


def test_readme_pip_lines_install_cpu_torch_then_the_package_then_run_a_script():
    install, run = readme_pip_lines()
    torch_step, package_step = (shlex.split(step) for step in install.split("&&"))
    # PyTorch first, from its CPU index, in the range pyproject admits: a bare
    # `pip install torch` on Linux would fetch a multi-GB CUDA build.
    assert torch_step == ["pip", "install", torch_requirement(), "--index-url", CPU_INDEX]
    assert package_step == ["pip", "install", "."]  # from the source folder; not on PyPI
    command, script = shlex.split(run)
    assert command == "python" and Path(script).name.startswith("plot_")
    assert Path(script).suffix == ".py"


def _clean_env(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "VIRTUAL_ENV")}
    env.update(SURVEY_DEVICE="cpu", MPLBACKEND="agg", **extra)
    for name in ("SURVEY_SEED", "SURVEY_SCALE", "SURVEY_RESULTS_DIR", "SURVEY_EXAMPLE"):
        env.pop(name, None)  # the book's run, recording nowhere
    return env


@pytest.fixture(scope="module")
def reader_python(tmp_path_factory) -> Path:
    """Python of a fresh venv (outside the repo) with the wheel installed, not editable."""
    where = tmp_path_factory.mktemp("reader")
    assert ROOT not in where.parents
    wheels = where / "wheels"
    # the source as a download would hold it, copied so the build's scratch (build/,
    # *.egg-info) lands in the temporary folder, not in the checkout
    source = where / "survey-models"
    shutil.copytree(
        ROOT / "src", source / "src", ignore=shutil.ignore_patterns("__pycache__", "*.egg-info")
    )
    for name in ("pyproject.toml", "README.md"):
        shutil.copy2(ROOT / name, source / name)
    # `pip install .` of the README, offline: build the wheel it would build (no build
    # isolation, so setuptools comes from this environment, not from the network) ...
    subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "-q"]
        + ["-w", str(wheels), str(source)],
        check=True,
        capture_output=True,
    )
    (wheel,) = wheels.glob("survey_models-*.whl")
    venv = where / "venv"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(venv)], check=True)
    python = venv / "bin" / "python"
    # ... and install it; the dependencies are the project's, borrowed read-only.
    subprocess.run(
        [sys.executable, "-m", "pip", "--python", str(python), "install", "-q"]
        + ["--no-index", "--no-deps", str(wheel)],
        check=True,
        capture_output=True,
    )
    purelib = subprocess.run(
        [str(python), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
        check=True,
        capture_output=True,
        text=True,
    ).stdout.strip()
    Path(purelib, "borrowed_dependencies.pth").write_text(sysconfig.get_paths()["purelib"] + "\n")
    return python


@slow
def test_the_installed_package_is_the_wheel_not_the_source(reader_python, tmp_path):
    found = subprocess.run(
        [str(reader_python), "-c", "import survey_models; print(survey_models.__file__)"],
        cwd=tmp_path,
        env=_clean_env(),
        check=True,
        capture_output=True,
        text=True,
    ).stdout.strip()
    assert Path(found).is_relative_to(reader_python.parents[1])
    assert not Path(found).is_relative_to(ROOT)


def _recorded_lines(built_site: Path, example: str) -> list[str]:
    records = built_site.parent / "results" / f"{example}.jsonl"
    assert records.is_file(), f"the build recorded nothing for {example}"
    with records.open(encoding="utf-8") as fh:
        return [Measurement(**json.loads(line)).line() for line in fh if line.strip()]


def _measured(text: str) -> list[str]:
    return [line.strip() for line in text.splitlines() if line.startswith("[测量]")]


@slow
@pytest.mark.parametrize("example", EXAMPLES)
def test_a_downloaded_script_prints_the_numbers_of_its_page(
    reader_python, built_site, tmp_path, example
):
    script = tmp_path / Path(example).name  # "downloaded": a copy, away from the repo
    script.write_bytes((GALLERY / example).read_bytes())
    _, run = readme_pip_lines()
    command = [str(reader_python), script.name]  # the README's `python plot_x.py`
    assert shlex.split(run)[0] == "python"
    out = subprocess.run(
        command, cwd=tmp_path, env=_clean_env(), capture_output=True, text=True, timeout=300
    )
    assert out.returncode == 0, out.stderr[-3000:]
    assert _measured(out.stdout) == _recorded_lines(built_site, script.stem)


def _notebook(example: str, path: Path) -> None:
    """The notebook the example's page offers, from sphinx-gallery with the site's conf."""
    from sphinx_gallery.gen_gallery import DEFAULT_GALLERY_CONF
    from sphinx_gallery.notebook import jupyter_notebook, save_notebook
    from sphinx_gallery.py_source_parser import split_code_and_text_blocks

    conf = runpy.run_path(str(ROOT / "docs" / "conf.py"))["sphinx_gallery_conf"]
    gallery_conf = {**DEFAULT_GALLERY_CONF, "first_notebook_cell": conf["first_notebook_cell"]}
    _, blocks = split_code_and_text_blocks(str(GALLERY / example))
    save_notebook(jupyter_notebook(blocks, gallery_conf, path.parent), path)


RUN_NOTEBOOK = """
import sys, nbformat
from nbclient import NotebookClient
nb = nbformat.read(sys.argv[1], as_version=4)
nb.cells = nb.cells[1:]  # the install cell: it needs the network, and the package is here
NotebookClient(nb, timeout=300, kernel_name="python3").execute()
for cell in nb.cells:
    for output in cell.get("outputs", []):
        if output.get("name") == "stdout":
            print(output["text"], end="")
"""


@slow
@pytest.mark.parametrize("example", EXAMPLES[:1])
def test_the_pages_notebook_runs_after_install_and_prints_the_same_numbers(
    reader_python, built_site, tmp_path, example
):
    notebook = tmp_path / Path(example).with_suffix(".ipynb").name
    _notebook(example, notebook)
    first = json.loads(notebook.read_text(encoding="utf-8"))["cells"][0]
    install, _ = readme_pip_lines()
    source = "".join(first["source"])
    for step in install.split("&&"):  # the first cell says what the README says
        assert f"%{step.strip()}" in source
    # executed by the reader's Python (its kernel is that interpreter), outside the repo
    out = subprocess.run(
        [str(reader_python), "-c", RUN_NOTEBOOK, notebook.name],
        cwd=tmp_path,
        env=_clean_env(),
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert out.returncode == 0, out.stderr[-3000:]
    assert _measured(out.stdout) == _recorded_lines(built_site, notebook.stem)
