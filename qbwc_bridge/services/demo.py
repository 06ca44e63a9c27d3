"""The demo `make run` starts: one Desktop account and an admin login, kept under ./var.

Secrets are hashed in the database, so the demo keeps its own plain copy in
var/demo-credentials.json (mode 0600) to print them on every start. Demo only.
"""
from __future__ import annotations

import json
import os

from ..backends.desktop.qwc import render_qwc
from ..config import Settings
from ..store.db import Store
from ..store.migrate import upgrade
from .accounts import create_account
from .users import create_user

DEMO_ACCOUNT = "Demo Distribution"
DEMO_ADMIN = "admin@example.com"
DEMO_BOOKKEEPER = "bookkeeper@example.com"


def prepare_demo(store: Store, settings: Settings) -> dict:
    upgrade(store)
    path = settings.data_dir / "demo-credentials.json"
    if path.is_file():
        facts = json.loads(path.read_text())
    else:
        from .. import security

        with store.begin() as db:
            created = create_account(db, DEMO_ACCOUNT, "desktop")
            admin_password = security.new_password()
            create_user(db, DEMO_ADMIN, admin_password, "support")
            bookkeeper_password = security.new_password()
            create_user(db, DEMO_BOOKKEEPER, bookkeeper_password, "bookkeeper", created.account_id)
        facts = {
            "account_id": created.account_id,
            "account_name": created.name,
            "api_token": created.api_token,
            "wc_username": created.wc_username,
            "wc_password": created.wc_password,
            "admin_email": DEMO_ADMIN,
            "admin_password": admin_password,
            "bookkeeper_email": DEMO_BOOKKEEPER,
            "bookkeeper_password": bookkeeper_password,
        }
        settings.data_dir.mkdir(parents=True, exist_ok=True)
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w") as handle:
            json.dump(facts, handle, indent=2)
    qwc_path = settings.data_dir / "demo.qwc"
    with store.begin() as db:
        qwc_path.write_text(render_qwc(db, settings, facts["account_id"]), encoding="utf-8")
    facts["qwc_path"] = str(qwc_path)
    return facts
