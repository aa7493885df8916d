#!/usr/bin/env bash
# Run the whole test suite: lint, types, unit, integration (SQLite + PostgreSQL), e2e.
# Needs PostgreSQL on 127.0.0.1:5432 with trust auth (started here if it is installed but down).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup-venv.sh
. .venv/bin/activate

if ! pg_isready -q -h 127.0.0.1 -p 5432 2>/dev/null; then
  if command -v pg_ctlcluster >/dev/null 2>&1; then
    pg_ctlcluster --skip-systemctl-redirect "$(ls /etc/postgresql | head -1)" main start || true
    for _ in $(seq 1 30); do pg_isready -q -h 127.0.0.1 -p 5432 && break; sleep 1; done
  fi
fi

ruff check src tests benchmarks
ruff format --check src tests benchmarks
mypy
pytest -q "$@"
