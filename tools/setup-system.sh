#!/usr/bin/env bash
# System packages the project needs beyond Python, from Debian's archive; idempotent.
#   chromium, chromium-driver  headless browser for tests/test_browser.py
#   fonts-noto-cjk             Chinese glyphs for the browser (screenshots of the pages
#                              show text, not boxes; figures use mplfonts' own font) and
#                              the PDF's Chinese text (Noto Serif/Sans CJK SC)
#   texlive-xetex, latexmk,    the PDF (make pdf, tools/build-pdf.sh): xelatex with xeCJK;
#   texlive-lang-chinese,      Sphinx's LaTeX needs the recommended and extra packages
#   texlive-latex-recommended, (fncychap, capt-of, ...); Latin text in GNU FreeFont
#   texlive-latex-extra,
#   texlive-fonts-recommended,
#   fonts-freefont-otf
#   poppler-utils              pdftotext, pdffonts, pdfinfo for tests/test_pdf.py
# (MathJax for the offline site comes from PyPI with the docs extra: django-static-mathjax.)
# Skips everything already installed; needs root (or sudo) only when something is missing.
# SURVEY_SYSTEM_PACKAGES=skip skips this step (a hosted docs build without root, where
# only the site is built and no browser test runs).
set -euo pipefail

if [ "${SURVEY_SYSTEM_PACKAGES:-}" = "skip" ]; then
    echo "setup-system: skipped (SURVEY_SYSTEM_PACKAGES=skip)"
    exit 0
fi

need=()
[ -x /usr/bin/chromium ] || need+=(chromium)
[ -x /usr/bin/chromedriver ] || need+=(chromium-driver)
[ -f /usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc ] || need+=(fonts-noto-cjk)
# the PDF: each package is checked by a file it ships
TEX=/usr/share/texlive/texmf-dist
[ -x /usr/bin/xelatex ] || need+=(texlive-xetex)
[ -x /usr/bin/latexmk ] || need+=(latexmk)
[ -f $TEX/tex/xelatex/xecjk/xeCJK.sty ] || need+=(texlive-lang-chinese)
[ -f $TEX/tex/latex/fancyvrb/fancyvrb.sty ] || need+=(texlive-latex-recommended)
[ -f $TEX/tex/latex/capt-of/capt-of.sty ] || need+=(texlive-latex-extra)
[ -f $TEX/fonts/tfm/adobe/helvetic/phvr7t.tfm ] || need+=(texlive-fonts-recommended)
[ -f /usr/share/fonts/opentype/freefont/FreeSerif.otf ] || need+=(fonts-freefont-otf)
[ -x /usr/bin/pdffonts ] || need+=(poppler-utils)

if [ ${#need[@]} -eq 0 ]; then
    echo "setup-system: chromium, chromedriver, CJK fonts and TeX Live already installed"
    exit 0
fi

if [ "$(id -u)" -eq 0 ]; then
    SUDO=()
elif command -v sudo >/dev/null 2>&1; then
    SUDO=(sudo)
else
    echo "setup-system: need root to install: ${need[*]} (apt-get install ${need[*]})" >&2
    exit 1
fi

export DEBIAN_FRONTEND=noninteractive
"${SUDO[@]}" apt-get update -qq
"${SUDO[@]}" apt-get install -y -qq --no-install-recommends "${need[@]}"
echo "setup-system: installed ${need[*]}"
