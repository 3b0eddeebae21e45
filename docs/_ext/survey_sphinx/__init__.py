"""The book's own Sphinx extension: one entry, every hook connected here, in order.

The gallery pipeline (``builder-inited``; sphinx-gallery's own ``generate_gallery_rst``
runs at the default priority 500, between our two steps)::

    before_gallery (400)   shards.restrict_to_shard              (``k/N``: only shard k executes)
                           freshness.invalidate_stale_examples   stale examples lose their md5
                           scheduler.run_pending_examples        run them, longest first
    [sphinx-gallery 500]   assembles the pages (runs nothing more)
    after_gallery (600)    freshness.forget_failed_runs          a failed example stays stale
                           results.write_results_page            the page 实验结果总览

Around every example (in the process that runs it) the ``reset_modules`` hook
:func:`.runs.around_example` times it, keeps the network blocked and ends the process
with the build. Chapters then insert the recorded numbers with the ``{measure}`` role
(:mod:`.measures`), and the spread of a claim over the seeds of ``benchmarks/claims.py``'s
committed record with the ``{seeds}`` role (:mod:`.seeds`).

The reader's side: sphinx-gallery's strings in Chinese (:mod:`.gallery_zh`), CJK line
joining (:mod:`.cjk`), glossary links (:mod:`.glossary`) and their hover previews (:mod:`.tips`),
links from the prose's ``图 N`` to the figure (:mod:`.figure_refs`),
Chinese search (:mod:`.search`), offline MathJax (:mod:`.assets`), one citation number
per work (:mod:`.numbering`), per-page BibTeX downloads (:mod:`.downloads`), a faster
pybtex plugin lookup (:mod:`.pybtex_cache`) and, in the PDF, reference lists in their
chapters and page titles for references outside the book (:mod:`.latex`).

Configuration is through ``conf.py`` (or ``-D name=value``):

===============================  =====================================================
``survey_results_dir``           where examples record their numbers; default
                                 ``<outdir>/../results``
``survey_results_page``          the generated results page (``results.md``)
``survey_freshness_packages``    packages whose changes make examples rerun
``survey_gallery_global_pool``   run pending examples in one pool (default on)
``survey_gallery_cost_hints``    measured CPU seconds per example, for a clean build
                                 (and for dealing examples to shards)
``survey_gallery_shard``         ``k/N``: run only shard k of N (:mod:`.shards`)
``survey_offline``               block the network during the build (default on)
``survey_mathjax``               ``local`` (served by the site) or ``cdn``
``survey_citation_file``         the book's ``CITATION.cff`` (:mod:`.scholar`)
``survey_scholar_pages``         pages that get Google Scholar ``citation_*`` tags
``survey_claims_record``         ``benchmarks/claims.py``'s record of the claims over
                                 five seeds (:mod:`.seeds`)
===============================  =====================================================

Environment variables the build sets for the processes that run examples (not for
people to set): ``SURVEY_RESULTS_DIR`` (read by :func:`survey_models.report.report`),
``SURVEY_EXAMPLE`` (the running example's name), ``SURVEY_OFFLINE_BUILD`` and
``SURVEY_NETWORK_LOG`` (the network guard in worker processes); ``SURVEY_DEVICE=cpu``
and ``SURVEY_SCALE=1`` (examples at the book's size on the CPU, whatever the shell set). A person may set
``SURVEY_RESULTS_DIR`` to record elsewhere; conf.py documents its own overrides.
"""

from __future__ import annotations

import os
from pathlib import Path

from . import (
    assets,
    cjk,
    downloads,
    figure_refs,
    freshness,
    gallery_zh,
    glossary,
    latex,
    measures,
    numbering,
    offline,
    pybtex_cache,
    results,
    scheduler,
    scholar,
    search,
    seeds,
    shards,
    tips,
)

__all__ = ["setup"]


def before_gallery(app) -> None:
    """``builder-inited`` before sphinx-gallery: decide what is stale, then run it."""
    shards.restrict_to_shard(app)
    freshness.invalidate_stale_examples(app)
    scheduler.run_pending_examples(app)


def after_gallery(app) -> None:
    """``builder-inited`` after sphinx-gallery: keep failures stale, write the results."""
    freshness.forget_failed_runs(app)
    results.write_results_page(app)


def _results_dir(app, config) -> None:
    """``config-inited``: where examples record, for this process and its workers."""
    chosen = (
        config.survey_results_dir
        or os.environ.get(freshness.RESULTS_DIR_ENV)
        or str(Path(app.outdir).parent / "results")
    )
    os.environ[freshness.RESULTS_DIR_ENV] = str(Path(app.confdir, chosen).resolve())


def _book_sized_examples(app, config) -> None:
    """``config-inited``: examples run on the CPU at the book's size, whatever the shell says
    (the book's numbers are CPU numbers; workers inherit the environment)."""
    os.environ["SURVEY_DEVICE"] = "cpu"
    os.environ["SURVEY_SCALE"] = "1"


def setup(app):
    app.add_config_value("survey_results_dir", "", "env", types=[str])
    app.add_config_value("survey_results_page", "results.md", "")
    app.add_config_value("survey_freshness_packages", ["survey_models"], "")
    app.add_config_value("survey_gallery_global_pool", True, "", types=[bool, int])
    app.add_config_value(
        "survey_gallery_cost_hints", "../gallery/example_costs.json", "", types=[str]
    )
    app.add_config_value("survey_gallery_shard", "", "", types=[str])
    app.add_config_value("survey_offline", True, "", types=[bool, int])
    app.add_config_value("survey_mathjax", "local", "html", types=[str])
    app.add_config_value("survey_citation_file", "../CITATION.cff", "html", types=[str])
    app.add_config_value("survey_scholar_pages", ["survey/[0-9]*"], "html", types=[list])
    app.add_config_value(
        "survey_claims_record", "../benchmarks/results/claims.json", "env", types=[str]
    )

    numbering.number_by_bib_order()
    pybtex_cache.register_entry_point_plugins()
    app.add_role("measure", measures.MeasureRole())
    app.add_role("seeds", seeds.SeedsRole())
    app.add_post_transform(cjk.JoinCJKLines)
    figure_refs.setup(app)
    latex.setup(app)
    app.add_js_file(None, body=search.synonyms_script())
    app.add_js_file("zh_search.js")
    app.add_search_language(search.LazyChineseSearch)

    app.connect("config-inited", _results_dir)
    app.connect("config-inited", _book_sized_examples)
    app.connect("config-inited", assets.use_local_mathjax)
    app.connect("config-inited", search.add_user_dictionary)
    app.connect("builder-inited", offline.start, priority=1)
    app.connect("builder-inited", before_gallery, priority=400)
    app.connect("builder-inited", after_gallery, priority=600)
    app.connect("env-before-read-docs", shards.read_no_pages)
    app.connect("source-read", gallery_zh.translate_gallery_page)
    app.connect("doctree-read", glossary.link_glossary_terms)
    app.connect("doctree-read", downloads.collect_bibliographies)
    app.connect("html-page-context", scholar.add_chapter_tags)
    app.connect("html-page-context", tips.glossary_previews, priority=460)  # after sphinx-tippy
    app.connect("build-finished", freshness.recheck_after_build)
    app.connect("build-finished", shards.write_artifact)
    app.connect("build-finished", offline.report)
    app.connect("build-finished", downloads.write_downloads)
    app.connect("build-finished", assets.copy_mathjax)
    return {"version": "2.0", "parallel_read_safe": True, "parallel_write_safe": True}
