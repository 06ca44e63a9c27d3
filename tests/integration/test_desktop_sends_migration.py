"""Migration 0014: the outbox's Web Connector columns move, with their values, to ``desktop_sends``."""
from __future__ import annotations

from sqlalchemy import inspect, text

from qbwc_bridge.store.db import Store
from qbwc_bridge.store.migrate import upgrade


def test_sessions_and_send_alone_survive_the_move(settings):
    store = Store.from_settings(settings)
    try:
        upgrade(store, "0013")
        with store.begin() as db:
            db.execute(text("INSERT INTO accounts (id, name, kind, api_token_hash, file_id, status, invoice_creation, "
                            "items_sync, customers_sync, item_match_field, created_at) VALUES (1, 'A', 'desktop', 'h', "
                            "'{F}', 'connected', false, false, false, 'name', CURRENT_TIMESTAMP)"))
            db.execute(text("INSERT INTO wc_sessions (id, account_id, ticket_hash, state, created_at, last_seen_at, "
                            "expires_at, company_verified, fatal_error, round_trips, noops, operations_done, "
                            "operations_failed) VALUES (7, 1, 't', 'open', CURRENT_TIMESTAMP, CURRENT_TIMESTAMP, "
                            "CURRENT_TIMESTAMP, true, false, 1, 0, 0, 0)"))
            for op_id, session_id, send_alone in ((1, 7, False), (2, None, True), (3, None, False), (4, 7, True)):
                db.execute(text("INSERT INTO outbox (id, account_id, kind, payload, state, priority, attempts, "
                                "session_id, send_alone, verify_first, depends_on_id, created_at, updated_at) VALUES "
                                "(:id, 1, 'invoice_add', '{}', 'sent', 50, 1, :session, :alone, false, :depends, "
                                "CURRENT_TIMESTAMP, CURRENT_TIMESTAMP)"),
                           {"id": op_id, "session": session_id, "alone": send_alone, "depends": 1 if op_id == 4 else None})
        upgrade(store)
        with store.begin() as db:
            moved = db.execute(text("SELECT outbox_id, session_id, send_alone FROM desktop_sends "
                                    "ORDER BY outbox_id")).all()
            outbox_columns = {column["name"] for column in inspect(db.connection()).get_columns("outbox")}
            depends = db.execute(text("SELECT depends_on_id FROM outbox WHERE id = 4")).scalar()
    finally:
        store.dispose()
    assert [tuple(row) for row in moved] == [(1, 7, False), (2, None, True), (4, 7, True)]  # op 3 had nothing to move
    assert not {"session_id", "send_alone"} & outbox_columns
    # SQLite rebuilds the outbox to drop the columns: what pointed at it (here an operation waiting on
    # another; packed orders likewise) must not be cascaded away by the rebuild.
    assert depends == 1
