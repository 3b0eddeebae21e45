"""Sphinx configuration of the survey-models site (Simplified Chinese)."""

from __future__ import annotations

import os
import sys
import warnings
from pathlib import Path

DOCS = Path(__file__).resolve().parent
ROOT = DOCS.parent
sys.path.insert(0, str(ROOT / "src"))
sys.path.insert(0, str(DOCS / "_ext"))

project = "深度生成模型综述代码本"
author = "survey-models 贡献者"
copyright = "2026, survey-models 贡献者"
release = version = "0.1.0"
language = "zh_CN"

extensions = [
    "bib_numbering",
    "cjk_linebreaks",
    "bib_downloads",
    "offline_assets",
    "zh_search",
    "glossary_links",
    "myst_nb",
    "sphinx.ext.autodoc",
    "sphinx.ext.napoleon",
    "sphinx.ext.mathjax",
    "sphinx.ext.viewcode",
    "sphinx_copybutton",
    "sphinx_gallery.gen_gallery",
    "sphinxcontrib.bibtex",
    # the build as a product (issue 9): no network, no stale examples, a results page
    "offline_guard",
    "pybtex_plugin_cache",
    "gallery_freshness",
    "gallery_scheduler",
    "results_page",
    # numbers in the prose: {measure}`plot_example/key` inserts what this build recorded
    "measured_numbers",
]

# --- pages: MyST through myst-nb ------------------------------------------------------
myst_enable_extensions = ["dollarmath", "amsmath", "colon_fence", "deflist", "attrs_inline"]
myst_heading_anchors = 3
nb_execution_mode = "off"  # chapters are prose; computation lives in the gallery
# sphinx-gallery writes notebooks next to its pages; they are downloads, not pages.
exclude_patterns = ["_build", "auto_examples/**/*.ipynb", "**/.ipynb_checkpoints",
                    "auto_examples/**/*.py", "auto_examples/**/*.zip",
                    "auto_examples/**/*.json", "auto_examples/**/*.md5"]
nb_execution_excludepatterns = ["auto_examples/*"]
source_suffix = {".rst": "restructuredtext", ".md": "myst-nb", ".ipynb": "myst-nb"}

# --- bibliography -----------------------------------------------------------------------
bibtex_bibfiles = ["../references.bib"]
bibtex_encoding = "utf-8"
# GB/T 7714-2015 numeric style: survey_models.gbt7714, registered as a pybtex plugin
# through the package's entry points; bib_numbering numbers works by references.bib order.
bibtex_default_style = "gbt7714"
bibtex_reference_style = "label"
# Each chapter ends with a local bibliography (``:filter: docname in docnames``) and the
# references page lists everything, so one work appears in several lists by design.
# sphinxcontrib-bibtex resolves a citation to the list on its own page first, and
# tests/test_site.py checks that every citation link stays on its page; the warning that
# a key is in more than one list is therefore expected and silenced, nothing else is.
suppress_warnings = ["bibtex.duplicate_citation"]

# --- API reference ----------------------------------------------------------------------
autodoc_member_order = "bysource"
autodoc_typehints = "description"
autodoc_default_options = {"members": True, "show-inheritance": True}

# --- gallery ------------------------------------------------------------------------------
# Examples write their measured numbers here; the results page reads them.
os.environ.setdefault("SURVEY_RESULTS_DIR", str(DOCS / "_build" / "results"))
sphinx_gallery_conf = {
    "examples_dirs": "../gallery",
    "gallery_dirs": "auto_examples",
    # SURVEY_GALLERY_PATTERN lets a writer execute only some examples while drafting.
    "filename_pattern": os.environ.get("SURVEY_GALLERY_PATTERN", r"/plot_"),
    # record_run times each example and measures its peak memory for the results page.
    "reset_modules": ("survey_models.plotting.reset_for_example",
                      "gallery_freshness.record_run"),
    "reset_modules_order": "both",
    "parallel": int(os.environ.get("SURVEY_GALLERY_JOBS", "2")),
    "download_all_examples": False,
    "remove_config_comments": True,
    "show_memory": False,
    "min_reported_time": 1,
    "matplotlib_animations": False,
    "image_scrapers": ("matplotlib",),
    "default_thumb_file": None,
}

# --- HTML ------------------------------------------------------------------------------
html_theme = "sphinx_book_theme"
html_title = "深度生成模型综述代码本"
html_theme_options = {
    "show_toc_level": 2,
    "use_download_button": True,
    "home_page_in_toc": True,
}
html_search_language = "zh"
# zh_search (docs/_ext) adds html_search_options["dict"]: a jieba user dictionary of the
# book's terms; _static/zh_search.js segments the query the way the index was cut.
html_static_path = ["_static"]
# MathJax: served from _static/mathjax by offline_assets (SURVEY_MATHJAX=cdn for a CDN).
html_last_updated_fmt = None
copybutton_prompt_text = r">>> |\$ "
copybutton_prompt_is_regexp = True

# A Chinese glyph missing from the figure font is a broken figure, not a warning.
warnings.filterwarnings("error", message=r"Glyph .* missing from")
