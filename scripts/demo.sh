#!/usr/bin/env bash
# One machine, one command: an embedded chainproof server (SQLite + filesystem CAS) and a
# sample attestation end to end: contract -> workflow -> robot token -> init -> add -> push
# -> verified run -> evidence downloaded back. Installs only chainproof[server] into .venv.
#   PORT=8800 bash scripts/demo.sh     # another port (default 8765)
#   DATA=/tmp/cp bash scripts/demo.sh  # another data dir (default ./demo-data, replaced)
set -euo pipefail
cd "$(dirname "$0")/.."
DATA=${DATA:-demo-data}
PORT=${PORT:-8765}

# Before installing anything: the port must be free, and DATA must be ours to replace.
if ! python3 - "$PORT" <<'EOF'
import socket, sys
with socket.socket() as s:
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        s.bind(("127.0.0.1", int(sys.argv[1])))
    except OSError:
        sys.exit(1)
EOF
then
  echo "demo: port $PORT on 127.0.0.1 is already in use; choose another: PORT=8800 bash scripts/demo.sh" >&2
  exit 1
fi
if [ -e "$DATA" ] && [ -n "$(ls -A "$DATA" 2>/dev/null)" ] && [ ! -f "$DATA/secret.key" ]; then
  echo "demo: $DATA exists and is not a chainproof data dir; choose another: DATA=/tmp/chainproof-demo bash scripts/demo.sh" >&2
  exit 1
fi

echo "== installing chainproof[server] into .venv (first run only)"
bash scripts/setup-venv.sh server
. .venv/bin/activate
rm -rf "$DATA"
export CHAINPROOF_STATE_DIR="$DATA/state"

echo "== server init (SQLite, filesystem CAS, org acme)"
OWNER=$(chainproof server init --data-dir "$DATA" --org acme -o json | python -c 'import json,sys; print(json.load(sys.stdin)["token"])')
chainproof server start --data-dir "$DATA" --port "$PORT" > "$DATA/server.log" 2>&1 &
SERVER=$!
trap 'kill $SERVER 2>/dev/null || true' EXIT
export CHAINPROOF_URL="http://127.0.0.1:$PORT"

# Wait (at most 30 s) for *our* server: alive, and answering /healthz.
up=
for _ in $(seq 1 150); do
  if ! kill -0 "$SERVER" 2>/dev/null; then break; fi
  if python -c 'import sys, urllib.request; urllib.request.urlopen(sys.argv[1], timeout=1)' \
    "$CHAINPROOF_URL/healthz" 2>/dev/null; then
    up=1
    break
  fi
  sleep 0.2
done
if [ -z "$up" ] || ! kill -0 "$SERVER" 2>/dev/null; then
  echo "demo: the server did not come up on port $PORT; its log ($DATA/server.log):" >&2
  cat "$DATA/server.log" >&2
  exit 1
fi

echo "== the security team declares what the build workflow must attest"
export CHAINPROOF_TOKEN=$OWNER
chainproof project create --name shop
chainproof workflow contract create --name release -f examples/contract.yaml
chainproof workflow create --name build --project shop --contract release
ROBOT=$(chainproof api-token create --name ci --project shop --workflow build -o json | python -c 'import json,sys; print(json.load(sys.stdin)["token"])')

echo "== a CI job, with nothing but its robot token"
export CHAINPROOF_TOKEN=$ROBOT
chainproof attestation init --workflow build --project shop
chainproof attestation add --name sbom --value examples/sbom.cdx.json
chainproof attestation add --name image --value "registry.example.com/shop/api@sha256:$(printf shop | sha256sum | cut -d' ' -f1)"
chainproof attestation add --name version --value 1.2.3
chainproof attestation status
chainproof attestation push --bundle "$DATA/bundle.json"

echo "== the security team checks the run"
export CHAINPROOF_TOKEN=$OWNER
chainproof workflow run list --project shop
RUN=$(chainproof workflow run list --project shop -o json | python -c 'import json,sys; print(json.load(sys.stdin)[0]["id"])')
chainproof workflow run describe --id "$RUN" --verify
SBOM_DIGEST=$(chainproof workflow run describe --id "$RUN" -o json | python -c 'import json,sys; print(next(m["digest"] for m in json.load(sys.stdin)["materials"] if m["name"]=="sbom"))')
chainproof artifact download "$SBOM_DIGEST" --to "$DATA/sbom.downloaded.json"
cmp examples/sbom.cdx.json "$DATA/sbom.downloaded.json" && echo "== evidence downloaded back byte for byte: OK"
