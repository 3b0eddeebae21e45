#!/usr/bin/env bash
# The book as one PDF, made after the HTML site (`make pdf` runs `make docs` first):
#   1. Sphinx's LaTeX builder, warnings as errors. It runs the same gallery pipeline as the
#      HTML build, which left every example fresh, so nothing executes: the PDF shows that
#      build's figures and recorded numbers.
#   2. latexmk with xelatex (xeCJK, Noto CJK SC): stops at the first LaTeX error and exits
#      non-zero (-halt-on-error); -file-line-error names the .tex line.
#   3. a copy into the site (the front page links to survey-models.pdf).
# Needs TeX Live's xelatex and latexmk (tools/setup-system.sh installs them).
# Usage: tools/build-pdf.sh [site dir, default docs/_build/html]
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PY:-.venv/bin/python}
SITE=${1:-docs/_build/html}
LATEX=docs/_build/latex
NAME=survey-models

for tool in xelatex latexmk; do
    command -v "$tool" >/dev/null || {
        echo "build-pdf: $tool not found; run tools/setup-system.sh as root" >&2
        exit 1
    }
done
[ -f "$SITE/index.html" ] || { echo "build-pdf: no site in $SITE (make docs first)" >&2; exit 1; }

"$PY" -m sphinx -W --keep-going -q -b latex docs "$LATEX"
rm -f "$LATEX/$NAME.pdf"  # a stale PDF must not survive a failed run
if ! make -C "$LATEX" --no-print-directory "$NAME.pdf" LATEXMKOPTS=-silent \
    LATEXOPTS="-interaction=nonstopmode -halt-on-error -file-line-error"; then
    grep -A4 -E "^(\./$NAME\.tex:[0-9]+:|! )" "$LATEX/$NAME.log" >&2 || true
    echo "build-pdf: LaTeX failed; the whole log is $LATEX/$NAME.log" >&2
    exit 1
fi
cp "$LATEX/$NAME.pdf" "$SITE/$NAME.pdf"
echo "build-pdf: $LATEX/$NAME.pdf ($(pdfinfo "$LATEX/$NAME.pdf" 2>/dev/null | awk '/^Pages:/ {print $2}') pages), copied into $SITE"
