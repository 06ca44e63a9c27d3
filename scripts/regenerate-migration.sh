#!/usr/bin/env bash
# Development aid while 0002 is unreleased: rebuild it from the models (alembic autogenerate
# against a database at 0001). Run from the repository root; review the diff afterwards.
set -euo pipefail
db=$(mktemp -d)/autogen.sqlite3
rm -f qbwc_bridge/store/migrations/versions/0002_*.py
.venv/bin/python - "$db" <<'PY'
import sys
from alembic import command
from qbwc_bridge.store.db import Store
from qbwc_bridge.store.migrate import alembic_config, upgrade
store = Store(f"sqlite:///{sys.argv[1]}")
upgrade(store, "0001")
command.revision(alembic_config(store), message="matching, invoices, admin", autogenerate=True, rev_id="0002")
PY
# Alembic renders JSONB's argument without its module prefix.
sed -i 's/astext_type=Text()/astext_type=sa.Text()/g' qbwc_bridge/store/migrations/versions/0002_*.py
