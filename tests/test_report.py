import json

import pytest

from survey_models.report import RESULTS_DIR_ENV, report


def test_report_prints_and_records(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv(RESULTS_DIR_ENV, str(tmp_path))
    m = report("误差", 0.5, unit="nats", claim="c", target="< 1", passed=0.5 < 1,
               example="plot_demo")
    out = capsys.readouterr().out
    assert "误差 = 0.5 nats" in out and "达到" in out
    line = json.loads((tmp_path / "plot_demo.jsonl").read_text(encoding="utf-8"))
    assert line == {"example": "plot_demo", "name": "误差", "value": 0.5, "unit": "nats",
                    "claim": "c", "target": "< 1", "passed": True}
    assert m.passed is True


def test_report_without_directory_only_prints(monkeypatch, tmp_path, capsys):
    monkeypatch.delenv(RESULTS_DIR_ENV, raising=False)
    monkeypatch.chdir(tmp_path)
    report("x", 1.0, passed=False, example="plot_demo")
    assert "未达到" in capsys.readouterr().out
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize("value, exc", [(float("nan"), ValueError), ("abc", TypeError)])
def test_report_rejects_non_numbers(value, exc):
    with pytest.raises(exc, match="value"):
        report("x", value, example="plot_demo")
