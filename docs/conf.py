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
    "myst_nb",
    "sphinx.ext.autodoc",
    "sphinx.ext.napoleon",
    "sphinx.ext.mathjax",
    "sphinx.ext.viewcode",
    "sphinx_copybutton",
    "sphinx_togglebutton",
    "sphinx_gallery.gen_gallery",
    "sphinxcontrib.bibtex",
    # hover previews: citations, glossary terms, equations, figures (see "hover previews")
    "sphinx_tippy",
    # the book's own extension (docs/_ext/survey_sphinx): the gallery pipeline (stale
    # examples rerun, longest first, a results page), the {measure} role for numbers in
    # the prose, an offline build, Chinese search, CJK line joining, glossary links,
    # citation numbering and per-page BibTeX downloads. Its docstring lists its settings.
    "survey_sphinx",
]

# --- pages: MyST through myst-nb ------------------------------------------------------
myst_enable_extensions = ["dollarmath", "amsmath", "colon_fence", "deflist", "attrs_inline"]
myst_heading_anchors = 3
nb_execution_mode = "off"  # chapters are prose; computation lives in the gallery
# sphinx-gallery writes notebooks next to its pages; they are downloads, not pages.
exclude_patterns = [
    "_build",
    "_static/vendor",  # third-party files served as they are (their README is not a page)
    "auto_examples/**/*.ipynb",
    "**/.ipynb_checkpoints",
    "auto_examples/**/*.py",
    "auto_examples/**/*.zip",
    "auto_examples/**/*.json",
    "auto_examples/**/*.md5",
]
nb_execution_excludepatterns = ["auto_examples/*"]
source_suffix = {".rst": "restructuredtext", ".md": "myst-nb", ".ipynb": "myst-nb"}

# --- bibliography -----------------------------------------------------------------------
bibtex_bibfiles = ["../references.bib"]
bibtex_encoding = "utf-8"
# GB/T 7714—2025 numeric style (pybtex_gbt7714, registered as a pybtex plugin through
# the package's entry points); "gbt7714-2015" selects the 2015 edition, the form of the
# seed's own reference list (-D bibtex_default_style=gbt7714-2015 at the command line).
# survey_sphinx numbers works by references.bib order.
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
# Examples record their measured numbers in survey_results_dir (default
# docs/_build/results); the results page and the {measure} role read them.
# Two overrides for a person at the command line:
#   SURVEY_GALLERY_PATTERN=/plot_vae  execute only matching examples while drafting;
#   SURVEY_GALLERY_JOBS=1             examples run in that many worker processes.
sphinx_gallery_conf = {
    "examples_dirs": "../gallery",
    "gallery_dirs": "auto_examples",
    "filename_pattern": os.environ.get("SURVEY_GALLERY_PATTERN", r"/plot_"),
    # Around every example: the project's figure style and seed, then the book's hook
    # (run record, network guard, the worker ends with the build).
    "reset_modules": (
        "survey_models.plotting.reset_for_example",
        "survey_sphinx.runs.around_example",
    ),
    "reset_modules_order": "both",
    "parallel": int(os.environ.get("SURVEY_GALLERY_JOBS", "2")),
    "download_all_examples": False,
    "remove_config_comments": True,
    "show_memory": False,
    "min_reported_time": 1,
    # The timing pages would load Bootstrap and jQuery from CDNs; the results page
    # lists every example's time and memory instead.
    "write_computation_times": False,
    "matplotlib_animations": False,
    "image_scrapers": ("matplotlib",),
    "default_thumb_file": None,
    # The notebook each example page offers starts with how to install what it needs;
    # the same two steps as the README's "只有 pip" (tests/test_install.py checks both).
    "first_notebook_cell": (
        "# 在新的环境里先安装（需要联网，只需一次；去掉下面两行开头的 # 再运行）：\n"
        "# 先装 PyTorch 的 CPU 版本（不指定时 Linux 上的 pip 会下载几个 GB 的 CUDA 版本），\n"
        "# 再装 survey-models。它尚未发布到 PyPI：在它的源代码目录里运行第二行，\n"
        "# 或把 . 换成源代码目录的路径。\n"
        '# %pip install "torch>=2.3,<2.15" --index-url https://download.pytorch.org/whl/cpu\n'
        "# %pip install ."
    ),
}

# --- HTML ------------------------------------------------------------------------------
html_theme = "sphinx_book_theme"
html_title = "深度生成模型综述代码本"
html_theme_options = {
    "show_toc_level": 2,
    "use_download_button": True,
    "home_page_in_toc": True,
    # The left sidebar lists every part and opens the current one only. Expanding all
    # of them put the whole table of contents (66 examples included) into every page:
    # writing the pages took 118 s instead of 80 s (benchmarks/build.py, 2 cores).
    "collapse_navbar": True,
}
html_search_language = "zh"
# survey_sphinx.search adds html_search_options["dict"]: a jieba user dictionary of the
# book's terms; _static/zh_search.js segments the query the way the index was cut.
html_static_path = ["_static"]
html_css_files = ["survey.css"]

# --- hover previews (sphinx-tippy) -----------------------------------------------------
# Built into each page's script at build time, no server. A citation shows its full
# GB/T 7714 entry (the reference list's div.citation), a glossary term its names and
# definition (survey_sphinx.tips), an equation or figure itself (MathJax typesets it).
# Tippy.js and Popper come from the site (_static/vendor/tippy, see its README), not
# unpkg; the Wikipedia and DOI previews would fetch during the build and stay off.
tippy_js = ("vendor/tippy/popper.min.js", "vendor/tippy/tippy-bundle.umd.min.js")
tippy_enable_wikitips = False
tippy_enable_doitips = False
tippy_enable_mathjax = True
tippy_tip_selector = (
    "figure, table, img, p, aside, div.admonition, div.literal-block-wrapper, div.citation"
)
tippy_props = {"placement": "auto-start", "maxWidth": 500, "interactive": True}
# bibtex_tooltips (on by default) keeps a plain title on citation links for readers
# without JavaScript; tippy_defaults.js drops it where a rich preview replaces it.
html_js_files = [("tippy_defaults.js", {"defer": "defer", "priority": 600})]
# MathJax: served from _static/mathjax (survey_sphinx.assets; -D survey_mathjax=cdn for a CDN).
html_last_updated_fmt = None
copybutton_prompt_text = r">>> |\$ "
copybutton_prompt_is_regexp = True

# --- PDF (make pdf): the LaTeX builder, xelatex with xeCJK ------------------------------
# The book is the chapters, then the results page, the glossary and the references as
# appendices; the example pages and the API stay on the site (the chapters show the
# examples' figures and numbers). The LaTeX build reuses the HTML build's example outputs
# and records (nothing reruns); survey_sphinx.latex keeps each chapter's reference list in
# its chapter and writes a reference to a page outside the book as its title.
latex_engine = "xelatex"
latex_documents = [("survey/index", "survey-models.tex", project, author, "manual", True)]
latex_appendices = ["results", "glossary", "references"]
latex_use_xindy = False  # no index in the book; xindy is not installed
latex_show_urls = "no"
latex_elements = {
    "papersize": "a4paper",
    "pointsize": "11pt",
    # Latin text in GNU FreeFont (fonts-freefont-otf), Chinese in Noto CJK SC (fonts-noto-cjk)
    "fontpkg": r"""
\setmainfont{FreeSerif}[Extension=.otf, UprightFont=*, ItalicFont=*Italic,
  BoldFont=*Bold, BoldItalicFont=*BoldItalic]
\setsansfont{FreeSans}[Extension=.otf, UprightFont=*, ItalicFont=*Oblique,
  BoldFont=*Bold, BoldItalicFont=*BoldOblique]
\setmonofont{FreeMono}[Scale=0.9, Extension=.otf, UprightFont=*, ItalicFont=*Oblique,
  BoldFont=*Bold, BoldItalicFont=*BoldOblique]
\setCJKmainfont{Noto Serif CJK SC}[BoldFont=Noto Serif CJK SC Bold,
  ItalicFont=Noto Serif CJK SC, BoldItalicFont=Noto Serif CJK SC Bold]
\setCJKsansfont{Noto Sans CJK SC}[BoldFont=Noto Sans CJK SC Bold,
  ItalicFont=Noto Sans CJK SC, BoldItalicFont=Noto Sans CJK SC Bold]
\setCJKmonofont{Noto Sans CJK SC}[ItalicFont=Noto Sans CJK SC]
""",
    # fncychap would print "Chapter 1"; the book's headings are 第 1 章 and 附录 A
    "fncychap": "",
    "geometry": r"\usepackage[headheight=14pt]{geometry}",  # a line of CJK needs 13.6 pt
    "preamble": r"""
% each chapter numbers its figures in the caption text (图 1　…), as the site shows them
\usepackage{caption}
\captionsetup[figure]{labelformat=empty, labelsep=none}
\makeatletter
\addto\captionsenglish{\renewcommand{\contentsname}{目录}\renewcommand{\bibname}{参考文献}}
% 第 1 章 … 附录 A, in headings and in the page footers (Sphinx's footer adds \@chappos,
% as for Japanese; an appendix has none)
\addto\captionsenglish{\renewcommand{\chaptername}{第}\renewcommand{\appendixname}{附录}}
\def\@chappos{章}
\let\survey@appendix\appendix
\renewcommand{\appendix}{\survey@appendix\gdef\@chappos{}}
\titleformat{\chapter}[display]{\normalfont\sffamily\Huge\bfseries}
  {\LARGE\@chapapp\thechapter\@chappos}{16pt}{}
% A chapter's reference list sits under its own 参考文献 heading: the bibliography
% environment opens no chapter of its own.
\renewenvironment{sphinxthebibliography}[1]
  {\let\chapter\@gobbletwo\let\@mkboth\@gobbletwo\begin{thebibliography}{#1}}
  {\end{thebibliography}}
\makeatother
""",
    "printindex": "",
}

# A Chinese glyph missing from the figure font is a broken figure, not a warning.
warnings.filterwarnings("error", message=r"Glyph .* missing from")
