#!/bin/sh
# chainproof install Job (templates/job-install.yaml): creates the database tables and the
# first organisation, prints its owner token once, and makes the configured S3 bucket or OCI
# repository the organisation's default CAS backend. On a database that already has the
# organisation (a reinstall over a restored database) it does nothing.
#
# Environment: CHAINPROOF_DATABASE_URL, CHAINPROOF_SECRET_KEY, CHAINPROOF_ORG, CAS_PROVIDER
# (s3 or oci), CAS_MAX_SIZE, CAS_S3_BUCKET, CAS_S3_ENDPOINT, CAS_S3_REGION, CAS_S3_PREFIX,
# CAS_S3_ACCESS_KEY_ID, CHAINPROOF_CAS_SECRET_ACCESS_KEY, CAS_OCI_REPOSITORY,
# CAS_OCI_USERNAME, CHAINPROOF_CAS_PASSWORD; optional CHAINPROOF_INIT_DIR, CHAINPROOF_INIT_PORT.
set -eu
DATA=${CHAINPROOF_INIT_DIR:-/tmp/chainproof-init}
PORT=${CHAINPROOF_INIT_PORT:-8000}
OUT="$DATA.json"

rc=0
chainproof server init --data-dir "$DATA" --org "$CHAINPROOF_ORG" -o json >"$OUT" || rc=$?
if [ "$rc" = 5 ]; then
  echo "chainproof: organisation $CHAINPROOF_ORG exists already: nothing to do"
  exit 0
fi
[ "$rc" = 0 ] || exit "$rc"
TOKEN=$(python -c 'import json, sys; print(json.load(open(sys.argv[1]))["token"])' "$OUT")
rm -f "$OUT"
echo "chainproof: organisation $CHAINPROOF_ORG created. Its owner token, shown only now:"
echo "$TOKEN"

# The backend is added through the API, as an administrator would: a temporary API process
# in this pod, stopped on the way out.
chainproof server start --data-dir "$DATA" --host 127.0.0.1 --port "$PORT" --no-jobs &
PID=$!
trap 'kill "$PID" 2>/dev/null || true; wait "$PID" 2>/dev/null || true' EXIT
python - "http://127.0.0.1:$PORT/healthz" <<'PY'
import sys, time, urllib.request
deadline = time.monotonic() + 120
while True:
    try:
        urllib.request.urlopen(sys.argv[1], timeout=2)
        break
    except OSError:
        if time.monotonic() > deadline:
            sys.exit("chainproof: the temporary API did not start")
        time.sleep(0.5)
PY

export CHAINPROOF_URL="http://127.0.0.1:$PORT" CHAINPROOF_TOKEN="$TOKEN"
case "$CAS_PROVIDER" in
  s3)
    set -- --bucket "$CAS_S3_BUCKET" --region "${CAS_S3_REGION:-us-east-1}"
    [ -z "${CAS_S3_ENDPOINT:-}" ] || set -- "$@" --endpoint "$CAS_S3_ENDPOINT"
    [ -z "${CAS_S3_PREFIX:-}" ] || set -- "$@" --prefix "$CAS_S3_PREFIX"
    [ -z "${CAS_S3_ACCESS_KEY_ID:-}" ] || set -- "$@" --access-key-id "$CAS_S3_ACCESS_KEY_ID"
    ;;
  oci)
    set -- --repository "$CAS_OCI_REPOSITORY"
    [ -z "${CAS_OCI_USERNAME:-}" ] || set -- "$@" --username "$CAS_OCI_USERNAME"
    ;;
  *)
    echo "chainproof: cas.provider must be s3 or oci, not '$CAS_PROVIDER'" >&2
    exit 2
    ;;
esac
chainproof cas-backend add "$CAS_PROVIDER" --name "$CAS_PROVIDER" --default \
  --max-size "${CAS_MAX_SIZE:-100MB}" "$@"
echo "chainproof: $CAS_PROVIDER is the default CAS backend of $CHAINPROOF_ORG"
