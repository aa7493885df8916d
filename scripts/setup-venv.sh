#!/usr/bin/env bash
# Create .venv (if missing) with an editable install of chainproof and the given extras.
#   bash scripts/setup-venv.sh              # server,test: what the tests need (default)
#   bash scripts/setup-venv.sh server       # the control plane and the CLI only (the demo)
#   EXTRAS=server bash scripts/setup-venv.sh
# Re-running with the same pyproject.toml and extras does nothing (a stamp in .venv).
set -euo pipefail
cd "$(dirname "$0")/.."
EXTRAS=${1:-${EXTRAS:-server,test}}
PY=${PYTHON:-python3}
if [ ! -x .venv/bin/python ]; then
  "$PY" -m venv .venv || {
    echo "setup-venv: cannot create .venv with $PY (Python 3.11+ with venv, e.g. apt-get install python3-venv)" >&2
    exit 1
  }
fi
STAMP=.venv/.chainproof-extras
WANT="$EXTRAS $(sha256sum pyproject.toml | cut -d' ' -f1)"
# Already installed with these extras (or more): nothing to do.
if [ -f "$STAMP" ] && grep -qxF "$WANT" "$STAMP"; then
  exit 0
fi
.venv/bin/python -m pip install -q --disable-pip-version-check --upgrade pip
.venv/bin/python -m pip install -q --disable-pip-version-check -e ".[$EXTRAS]"
echo "$WANT" >> "$STAMP"
