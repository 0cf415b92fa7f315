#!/bin/sh
# Set up (venv, requirements) and run the whole test suite.
set -e
cd "$(dirname "$0")/.."
. scripts/setup_env.sh
"$PY" setup_directories.py
exec "$PY" -m pytest -q "$@"
