import json

import pytest

from survey_models.report import EXAMPLE_ENV, RESULTS_DIR_ENV, report


def test_report_prints_and_records(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv(RESULTS_DIR_ENV, str(tmp_path))
    returned = report(
        "误差", 0.5, unit="nats", claim="c", target="< 1", passed=0.5 < 1, example="plot_demo"
    )
    out = capsys.readouterr().out
    assert "误差 = 0.5 nats" in out and "达到" in out
    line = json.loads((tmp_path / "plot_demo.jsonl").read_text(encoding="utf-8"))
    assert line == {
        "example": "plot_demo",
        "name": "误差",
        "value": 0.5,
        "unit": "nats",
        "claim": "c",
        "target": "< 1",
        "passed": True,
        "key": None,
    }
    assert returned is None  # sphinx-gallery would show a returned value under the cell


def test_report_without_directory_only_prints(monkeypatch, tmp_path, capsys):
    monkeypatch.delenv(RESULTS_DIR_ENV, raising=False)
    monkeypatch.chdir(tmp_path)
    report("x", 1.0, passed=False, example="plot_demo")
    assert "未达到" in capsys.readouterr().out
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize(
    "value, exc",
    [(float("nan"), ValueError), (float("inf"), ValueError), ("abc", TypeError), (True, TypeError)],
)
def test_report_rejects_non_numbers(value, exc):
    with pytest.raises(exc, match="value"):
        report("x", value, example="plot_demo")


@pytest.mark.parametrize(
    "kwargs, exc, match",
    [
        ({"example": "../../escaped"}, ValueError, "example"),
        ({"example": "a/b"}, ValueError, "example"),
        ({"passed": "no"}, TypeError, "passed"),
        ({"passed": 1}, TypeError, "passed"),
        ({"key": "Has Space"}, ValueError, "key"),
        ({"unit": 3}, TypeError, "unit"),
    ],
)
def test_report_rejects_bad_arguments_and_writes_nothing(kwargs, exc, match, tmp_path, monkeypatch):
    monkeypatch.setenv(RESULTS_DIR_ENV, str(tmp_path / "results"))
    with pytest.raises(exc, match=match):
        report("x", 1.0, **{"example": "plot_demo", **kwargs})
    assert list(tmp_path.iterdir()) == []  # refused before anything is written


def test_report_accepts_numpy_and_torch_verdicts(tmp_path, monkeypatch):
    import numpy as np
    import torch

    monkeypatch.setenv(RESULTS_DIR_ENV, str(tmp_path))
    report("a", 1.0, passed=np.float64(1.0) < 2, example="plot_demo", key="a")
    report("b", 1.0, passed=torch.tensor(3.0) < 2, example="plot_demo", key="b")
    lines = (tmp_path / "plot_demo.jsonl").read_text(encoding="utf-8").splitlines()
    assert [json.loads(x)["passed"] for x in lines] == [True, False]


def _recorded_example(tmp_path):
    (line,) = [
        json.loads(x)
        for f in tmp_path.glob("*.jsonl")
        for x in f.read_text(encoding="utf-8").splitlines()
    ]
    return line["example"]


def test_example_from_the_argument_wins(tmp_path, monkeypatch):
    monkeypatch.setenv(RESULTS_DIR_ENV, str(tmp_path))
    monkeypatch.setenv(EXAMPLE_ENV, "plot_from_env")
    monkeypatch.setattr("sys.argv", ["gallery/x/plot_from_argv.py"])
    report("x", 1.0, example="plot_from_arg")
    assert _recorded_example(tmp_path) == "plot_from_arg"


def test_example_from_the_environment(tmp_path, monkeypatch):
    # The docs build sets SURVEY_EXAMPLE around each example; it wins over sys.argv.
    monkeypatch.setenv(RESULTS_DIR_ENV, str(tmp_path))
    monkeypatch.setenv(EXAMPLE_ENV, "plot_from_env")
    monkeypatch.setattr("sys.argv", ["gallery/x/plot_from_argv.py"])
    report("x", 1.0)
    assert _recorded_example(tmp_path) == "plot_from_env"


def test_example_from_the_script_run_alone(tmp_path, monkeypatch):
    monkeypatch.setenv(RESULTS_DIR_ENV, str(tmp_path))
    monkeypatch.delenv(EXAMPLE_ENV, raising=False)
    monkeypatch.setattr("sys.argv", ["gallery/03_generative/plot_gan_ring.py", "--flag"])
    report("x", 1.0)
    assert _recorded_example(tmp_path) == "plot_gan_ring"


@pytest.mark.parametrize("argv", [["-c"], [""], [], ["/usr/bin/pytest"], ["gallery/plot_x.txt"]])
def test_example_is_interactive_otherwise(argv, tmp_path, monkeypatch):
    monkeypatch.setenv(RESULTS_DIR_ENV, str(tmp_path))
    monkeypatch.delenv(EXAMPLE_ENV, raising=False)
    monkeypatch.setattr("sys.argv", argv)
    report("x", 1.0)
    assert _recorded_example(tmp_path) == "interactive"


def test_a_bad_example_name_in_the_environment_is_refused(tmp_path, monkeypatch):
    monkeypatch.setenv(RESULTS_DIR_ENV, str(tmp_path))
    monkeypatch.setenv(EXAMPLE_ENV, "../escaped")
    with pytest.raises(ValueError, match="example"):
        report("x", 1.0)
    assert list(tmp_path.iterdir()) == []
