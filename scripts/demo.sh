#!/usr/bin/env bash
# One machine, one command: an embedded chainproof server (SQLite + filesystem CAS) and a
# sample attestation end to end: contract -> workflow -> robot token -> init -> add -> push
# -> verified run -> evidence downloaded back. Leaves the server's data in ./demo-data.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup-venv.sh
. .venv/bin/activate

DATA=${DATA:-demo-data}
PORT=${PORT:-8765}
rm -rf "$DATA"
export CHAINPROOF_STATE_DIR="$DATA/state"

echo "== server init (SQLite, filesystem CAS, org acme)"
OWNER=$(chainproof server init --data-dir "$DATA" --org acme -o json | python -c 'import json,sys; print(json.load(sys.stdin)["token"])')
chainproof server start --data-dir "$DATA" --port "$PORT" > "$DATA/server.log" 2>&1 &
SERVER=$!
trap 'kill $SERVER 2>/dev/null || true' EXIT
export CHAINPROOF_URL="http://127.0.0.1:$PORT"
for _ in $(seq 1 100); do curl -fs "$CHAINPROOF_URL/healthz" >/dev/null 2>&1 && break; sleep 0.2; done

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
