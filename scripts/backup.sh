#!/usr/bin/env bash
# Back up a chainproof installation: database, server key, config.toml and filesystem CAS.
#   bash scripts/backup.sh DATA_DIR BACKUP_DIR
# Safe while the server runs: SQLite through its online backup API, PostgreSQL with pg_dump
# (one consistent snapshot), then the CAS files. The CAS is copied after the database: every
# blob a database row names was stored before that row was committed, so the copy holds it
# (it may hold a few newer blobs too, which is harmless). Blobs in S3, OCI or Azure backends
# are not copied: back those up with the store's own tools. docs/deployment.md, "Backup and
# restore". Needs the python that has chainproof installed (CHAINPROOF_PYTHON, default
# python3) and, for PostgreSQL, pg_dump.
set -euo pipefail
[ $# -eq 2 ] || { echo "usage: $0 DATA_DIR BACKUP_DIR" >&2; exit 2; }
DATA=$(cd "$1" && pwd)
DEST=$2
PY=${CHAINPROOF_PYTHON:-python3}
if [ -e "$DEST" ] && [ -n "$(ls -A "$DEST")" ]; then
  echo "backup: $DEST is not empty" >&2
  exit 2
fi
umask 077
mkdir -p "$DEST"

# The database the server uses: flag-less resolution, as `server start` does it.
URL=$("$PY" - "$DATA" <<'PY'
import sys
from chainproof.server.settings import Settings
print(Settings.of_data_dir(sys.argv[1]).database_url)
PY
)
case "$URL" in
  sqlite*)
    "$PY" - "$URL" "$DEST/chainproof.db" <<'PY'
import sqlite3, sys
from sqlalchemy.engine import make_url
source = sqlite3.connect(f"file:{make_url(sys.argv[1]).database}?mode=ro", uri=True)
target = sqlite3.connect(sys.argv[2])
with target:
    source.backup(target)  # a consistent copy while writers go on
target.close()
source.close()
PY
    echo sqlite >"$DEST/database.kind"
    ;;
  postgresql*)
    # libpq wants postgresql://, without SQLAlchemy's +driver.
    pg_dump --format=custom --no-owner --no-privileges --file "$DEST/database.pgdump" \
      --dbname "$(echo "$URL" | sed -E 's#^postgresql\+[a-z0-9]+://#postgresql://#')"
    echo postgresql >"$DEST/database.kind"
    ;;
  *)
    echo "backup: cannot back up the database $URL" >&2
    exit 2
    ;;
esac

for file in secret.key config.toml; do
  [ ! -f "$DATA/$file" ] || cp -p "$DATA/$file" "$DEST/$file"
done
if [ ! -f "$DATA/secret.key" ]; then
  echo "backup: $DATA has no secret.key: back up CHAINPROOF_SECRET_KEY yourself" >&2
fi
dirs=()
for dir in cas cas-backends; do
  [ ! -d "$DATA/$dir" ] || dirs+=("$dir")
done
tar -C "$DATA" -cf "$DEST/cas.tar" "${dirs[@]}" --files-from /dev/null
echo "backup: $DATA -> $DEST ($(cat "$DEST/database.kind"), ${#dirs[@]} CAS dir(s))"
