"""survey_models: reference PyTorch implementations for the survey codebook.

Each theme of the survey has a module (or subpackage) here; the shared pieces are
:mod:`survey_models.data`, :mod:`survey_models.train`, :mod:`survey_models.plotting`
and :mod:`survey_models.report`. Every gallery example starts with
:func:`survey_models.setup_example` (defined in :mod:`survey_models.example`).
"""

__version__ = "0.1.0"
__all__ = ["setup_example", "example_seed", "example_scale", "scaled"]


def __getattr__(name: str):
    # Imported on first use, so that ``import survey_models.report`` (or any other light
    # submodule) does not load PyTorch and matplotlib.
    if name in ("setup_example", "example_seed", "example_scale", "scaled"):
        from . import example

        return getattr(example, name)
    raise AttributeError(f"module 'survey_models' has no attribute {name!r}")
