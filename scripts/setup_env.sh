#!/bin/sh
# Create .venv (if missing) and install requirements.txt into it; safe to run again.
# Usage: . scripts/setup_env.sh   (sets $PY to the venv's python)
set -e
cd "$(dirname "$0")/.."
if [ ! -x .venv/bin/python ]; then
    python3 -m venv .venv
fi
stamp=.venv/.requirements.sha
want=$(sha1sum requirements.txt | cut -d' ' -f1)
if [ "$(cat "$stamp" 2>/dev/null)" != "$want" ] || ! .venv/bin/python -c "import torch, torchvision" 2>/dev/null; then
    # torch and torchvision in one resolve, so pip picks a matching pair.
    .venv/bin/python -m pip install --quiet -r requirements.txt
    echo "$want" > "$stamp"
fi
PY="$(pwd)/.venv/bin/python"
export PY
