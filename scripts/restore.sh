#!/usr/bin/env bash
# Restore a backup made by scripts/backup.sh into a new data dir.
#   bash scripts/restore.sh BACKUP_DIR NEW_DATA_DIR [DATABASE_URL]
# SQLite backups become NEW_DATA_DIR/chainproof.db. PostgreSQL backups are restored with
# pg_restore into DATABASE_URL (default: the URL the backup's config.toml names), which must be
# an empty database; a DATABASE_URL given here is stored in the new config.toml. Then start
# the server on NEW_DATA_DIR. docs/deployment.md, "Backup and restore".
set -euo pipefail
[ $# -ge 2 ] && [ $# -le 3 ] || { echo "usage: $0 BACKUP_DIR NEW_DATA_DIR [DATABASE_URL]" >&2; exit 2; }
SRC=$(cd "$1" && pwd)
DATA=$2
NEW_URL=${3:-}
PY=${CHAINPROOF_PYTHON:-python3}
if [ -e "$DATA" ] && [ -n "$(ls -A "$DATA")" ]; then
  echo "restore: $DATA is not empty" >&2
  exit 2
fi
umask 077
mkdir -p "$DATA"
DATA=$(cd "$DATA" && pwd)
chmod 0700 "$DATA"
for file in secret.key config.toml; do
  [ ! -f "$SRC/$file" ] || cp -p "$SRC/$file" "$DATA/$file"
done
tar -C "$DATA" -xf "$SRC/cas.tar"

case "$(cat "$SRC/database.kind")" in
  sqlite)
    cp "$SRC/chainproof.db" "$DATA/chainproof.db"
    ;;
  postgresql)
    URL=$("$PY" - "$DATA" "$NEW_URL" <<'PY'
import sys
from chainproof.server.settings import read_config, write_config
from pathlib import Path
data, new = Path(sys.argv[1]), sys.argv[2]
values = read_config(data)
if new:
    values["database_url"] = new
    write_config(data, values)
print(values.get("database_url", ""))
PY
)
    [ -n "$URL" ] || { echo "restore: no database URL: pass DATABASE_URL" >&2; exit 2; }
    pg_restore --no-owner --no-privileges --exit-on-error \
      --dbname "$(echo "$URL" | sed -E 's#^postgresql\+[a-z0-9]+://#postgresql://#')" \
      "$SRC/database.pgdump"
    ;;
esac
echo "restore: $SRC -> $DATA; next: chainproof server start --data-dir $DATA"
