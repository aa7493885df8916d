#!/usr/bin/env bash
# Run the whole test suite: lint, types, unit, integration (SQLite + PostgreSQL), e2e.
# Installs the services the tests start when missing (scripts/install-test-services.sh: needs
# root or password-less sudo the first time) and starts PostgreSQL on 127.0.0.1:5432 if it is
# installed but down. Extra arguments go to pytest: bash scripts/test.sh -x tests/unit
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup-venv.sh server,test
. .venv/bin/activate
bash scripts/install-test-services.sh

if ! pg_isready -q -h 127.0.0.1 -p 5432 2>/dev/null; then
  if command -v pg_ctlcluster >/dev/null 2>&1; then
    pg_ctlcluster --skip-systemctl-redirect "$(ls /etc/postgresql | head -1)" main start || true
    for _ in $(seq 1 30); do pg_isready -q -h 127.0.0.1 -p 5432 && break; sleep 1; done
  fi
  pg_isready -q -h 127.0.0.1 -p 5432 || {
    echo "test.sh: PostgreSQL is not answering on 127.0.0.1:5432 (trust auth expected)" >&2
    exit 1
  }
fi

ruff check src tests benchmarks
ruff format --check src tests benchmarks
mypy
pytest -q "$@"
