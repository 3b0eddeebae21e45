#!/usr/bin/env bash
# Set up everything the project needs on a fresh machine; safe to run again.
#   1. system packages for the browser tests (tools/setup-system.sh);
#   2. a virtual environment in .venv with PyTorch's CPU build installed FIRST
#      (a bare `pip install torch` may pull a multi-GB CUDA build), then the project
#      with its docs and test extras.
set -euo pipefail
cd "$(dirname "$0")/.."

PYTHON=${PYTHON:-python3}
VENV=${VENV:-.venv}
TORCH_VERSION=${TORCH_VERSION:-2.13.0}

if [ -f tools/setup-system.sh ]; then
    bash tools/setup-system.sh
fi

if [ ! -x "$VENV/bin/python" ]; then
    "$PYTHON" -m venv "$VENV"
fi
"$VENV/bin/python" -m pip install --quiet --upgrade pip
if ! "$VENV/bin/python" -c "import torch, sys; sys.exit(torch.__version__.split('+')[0] != '$TORCH_VERSION')" 2>/dev/null; then
    "$VENV/bin/python" -m pip install --quiet "torch==$TORCH_VERSION"
fi
"$VENV/bin/python" -m pip install --quiet -e ".[docs,test]"
touch "$VENV/.installed"
echo "set-up done: $("$VENV/bin/python" -c 'import torch, sphinx; print("torch", torch.__version__, "| sphinx", sphinx.__version__)')"
