"""The device helper (``SURVEY_DEVICE``) and the scale knob (``SURVEY_SCALE``) of the examples."""

from __future__ import annotations

import pytest
import torch

from survey_models import example_scale, scaled, train


def _accelerators(monkeypatch, cuda: bool, mps: bool) -> None:
    monkeypatch.setattr(torch.cuda, "is_available", lambda: cuda)
    monkeypatch.setattr(torch.backends.mps, "is_available", lambda: mps)


@pytest.mark.parametrize(
    ("cuda", "mps", "expected"),
    [(True, True, "cuda"), (True, False, "cuda"), (False, True, "mps"), (False, False, "cpu")],
)
def test_select_device_prefers_cuda_then_mps_then_cpu(monkeypatch, cuda, mps, expected):
    monkeypatch.delenv("SURVEY_DEVICE", raising=False)
    _accelerators(monkeypatch, cuda, mps)
    assert train.select_device() == torch.device(expected)
    monkeypatch.setenv("SURVEY_DEVICE", " Auto ")
    assert train.select_device() == torch.device(expected)


def test_survey_device_cpu_forces_the_cpu(monkeypatch):
    _accelerators(monkeypatch, True, True)
    monkeypatch.setenv("SURVEY_DEVICE", "cpu")
    assert train.select_device() == torch.device("cpu")


def test_an_explicit_accelerator_is_used_or_is_an_error(monkeypatch):
    _accelerators(monkeypatch, False, True)
    monkeypatch.setenv("SURVEY_DEVICE", "mps")
    assert train.select_device() == torch.device("mps")
    monkeypatch.setenv("SURVEY_DEVICE", "cuda")
    with pytest.raises(ValueError, match="SURVEY_DEVICE='cuda'"):
        train.select_device()


@pytest.mark.parametrize("bad", ["gpu", "cuda:0", "tpu"])
def test_an_unknown_survey_device_names_the_variable(monkeypatch, bad):
    monkeypatch.setenv("SURVEY_DEVICE", bad)
    with pytest.raises(ValueError, match="SURVEY_DEVICE must be one of"):
        train.select_device()


def test_setup_example_returns_the_selected_device_and_checks_it_first(monkeypatch):
    from survey_models import example

    monkeypatch.setattr(example.train, "select_device", lambda: torch.device("meta"))
    monkeypatch.setattr(example.train, "set_seed", lambda seed: None)
    monkeypatch.setattr(example, "use_style", lambda: None)
    monkeypatch.setattr(example, "threadpool_limits", lambda limits: None)
    monkeypatch.setattr(torch, "set_num_threads", lambda n: None)
    for name in example._THREAD_VARIABLES:
        monkeypatch.setenv(name, "1")  # what setup_example writes, restored after the test
    assert example.setup_example(0) == torch.device("meta")


def test_example_scale_reads_survey_scale(monkeypatch):
    monkeypatch.delenv("SURVEY_SCALE", raising=False)
    assert example_scale() == 1.0
    assert scaled(2000) == 2000  # the book's size, exactly
    monkeypatch.setenv("SURVEY_SCALE", " 2.5 ")
    assert example_scale() == 2.5
    assert scaled(2000) == 5000
    assert scaled(3, 0.1) == 1  # never below one
    for bad in ("0", "-1", "two", "nan", "inf"):
        monkeypatch.setenv("SURVEY_SCALE", bad)
        with pytest.raises(ValueError, match="SURVEY_SCALE must be a positive number"):
            example_scale()


def test_scaled_checks_its_arguments():
    with pytest.raises(TypeError, match="size"):
        scaled(2.0)
    with pytest.raises(ValueError, match="scale"):
        scaled(10, 0)


def test_the_docs_build_runs_examples_on_the_cpu_at_the_books_size(monkeypatch):
    from pathlib import Path

    monkeypatch.syspath_prepend(str(Path(__file__).resolve().parents[1] / "docs" / "_ext"))
    monkeypatch.setenv("SURVEY_DEVICE", "cuda")
    monkeypatch.setenv("SURVEY_SCALE", "4")
    import survey_sphinx

    survey_sphinx._book_sized_examples(None, None)  # config-inited, before any example runs
    assert train.select_device() == torch.device("cpu")
    assert example_scale() == 1.0
