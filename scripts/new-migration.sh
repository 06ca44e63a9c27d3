#!/usr/bin/env bash
# Write the next Alembic revision from the models (autogenerate against a scratch SQLite
# database at head). Usage, from the repository root: scripts/new-migration.sh "what changed"
# Review the generated file: autogenerate misses renames and data moves.
set -euo pipefail
message=${1:?usage: scripts/new-migration.sh "what changed"}
versions=qbwc_bridge/store/migrations/versions
next=$(printf '%04d' $((10#$(ls "$versions" | grep -oE '^[0-9]{4}' | sort | tail -1) + 1)))
db=$(mktemp -d)/autogen.sqlite3
.venv/bin/python - "$db" "$message" "$next" <<'PY'
import sys
from alembic import command
from qbwc_bridge.store.db import Store
from qbwc_bridge.store.migrate import alembic_config, upgrade
store = Store(f"sqlite:///{sys.argv[1]}")
upgrade(store)
command.revision(alembic_config(store), message=sys.argv[2], autogenerate=True, rev_id=sys.argv[3])
PY
# Alembic renders JSONB's argument without its module prefix.
sed -i 's/astext_type=Text()/astext_type=sa.Text()/g' "$versions/${next}_"*.py
