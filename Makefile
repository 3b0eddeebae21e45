# The two commands of the README:
#   make docs   set up (if needed), then build the whole site, executing every example
#   make test   set up (if needed), then run the whole test suite (includes a full docs
#               build with warnings as errors, and browser tests of the built site)
# Sharded (one machine per shard, e.g. a CI matrix; see docs/_ext/survey_sphinx/shards.py):
#   make docs SHARD=k/N        run only shard k of N's examples (no pages); the artifact
#                              is docs/_build/shards/k-of-N
#   make docs MERGE="a b ..."  copy the artifacts in, then build the site (reruns nothing)
# The book as one PDF:
#   make pdf    the site (as make docs; reruns only stale examples), then the LaTeX build
#               reusing its outputs and records, then xelatex (tools/build-pdf.sh); any
#               LaTeX error fails. docs/_build/latex/survey-models.pdf, copied into the site
# For contributors:
#   make check  the fast loop (< 60 s): ruff lint and format check, unit tests without
#               the site build, the browser or the toy builds
VENV ?= .venv
PY := $(VENV)/bin/python

.PHONY: setup docs pdf test check clean

setup: $(VENV)/.installed

$(VENV)/.installed: pyproject.toml tools/setup.sh
	bash tools/setup.sh

SHARD ?=
MERGE ?=

docs: setup
	@if [ -n "$(strip $(SHARD))" ]; then \
		set -x; $(PY) -m sphinx -W --keep-going -b dummy -D survey_gallery_shard=$(SHARD) docs docs/_build/dummy; \
	else \
		set -ex; if [ -n "$(strip $(MERGE))" ]; then \
			PYTHONPATH=docs/_ext $(PY) -m survey_sphinx.shards docs docs/_build/results $(MERGE); fi; \
		$(PY) -m sphinx -W --keep-going -b html docs docs/_build/html; \
	fi

pdf: docs
	PY=$(PY) bash tools/build-pdf.sh docs/_build/html

test: setup
	$(PY) -m pytest

check: setup
	$(PY) -m ruff check .
	$(PY) -m ruff format --check .
	$(PY) -m pytest -q -m "not site and not browser and not build"

clean:
	rm -rf docs/_build docs/auto_examples docs/api/generated docs/sg_execution_times.rst docs/results.md
