#!/usr/bin/env bash
# System packages the project needs beyond Python, from Debian's archive; idempotent.
#   chromium, chromium-driver  headless browser for tests/test_browser.py
#   fonts-noto-cjk             Chinese glyphs for the browser (screenshots of the pages
#                              show text, not boxes; figures use mplfonts' own font)
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

if [ ${#need[@]} -eq 0 ]; then
    echo "setup-system: chromium, chromedriver and CJK fonts already installed"
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
