"""survey_models: reference PyTorch implementations for the survey codebook.

Each theme of the survey has a module (or subpackage) here; the shared pieces are
:mod:`survey_models.data`, :mod:`survey_models.train`, :mod:`survey_models.plotting`
and :mod:`survey_models.report`.
"""

__version__ = "0.1.0"
