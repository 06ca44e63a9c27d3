"""The schema and the outbox behave the same on SQLite and PostgreSQL."""
from __future__ import annotations

import datetime as dt

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext

from qbwc_bridge import outbox
from qbwc_bridge.store.migrate import upgrade
from qbwc_bridge.store.models import Base, OutboxOperation, utcnow
from tests.integration.conftest import make_tenant


def test_migrations_match_the_models_and_are_idempotent(store):
    upgrade(store)
    with store.engine.connect() as connection:
        assert compare_metadata(MigrationContext.configure(connection), Base.metadata) == []


def test_enqueue_with_a_dedupe_key_keeps_the_first(store):
    tenant = make_tenant(store, "Acme")
    account_id = tenant.account.account_id
    with store.begin() as db:
        first = outbox.enqueue(db, account_id, "sync_terms", {"a": 1}, dedupe_key="k")
        assert first is not None
    with store.begin() as db:
        assert outbox.enqueue(db, account_id, "sync_terms", {"a": 2}, dedupe_key="k") is None
        assert db.query(OutboxOperation).filter_by(account_id=account_id).one().payload == {"a": 1}


def test_enqueue_answers_the_operation_as_stored(store):
    """The new operation is built from the values sent, not read back: it must hold what the row holds."""
    tenant = make_tenant(store, "Acme")
    columns = [column.key for column in OutboxOperation.__table__.columns]
    with store.begin() as db:
        op = outbox.enqueue(db, tenant.account.account_id, "sync_terms", {"since": None, "ids": ("a", "b")},
                            dedupe_key="k", priority=7)
        answered = {name: getattr(op, name) for name in columns}
    with store.begin() as db:
        stored = db.get(OutboxOperation, answered["id"])
        assert answered == {name: getattr(stored, name) for name in columns}
        assert answered["payload"] == {"since": None, "ids": ["a", "b"]}  # as JSON stores it


def test_ready_respects_backoff_dependencies_and_accounts(store):
    a, b = make_tenant(store, "A"), make_tenant(store, "B")
    now = utcnow()
    with store.begin() as db:
        parent = outbox.enqueue(db, a.account.account_id, "customer", {})
        child = outbox.enqueue(db, a.account.account_id, "invoice", {}, depends_on_id=parent.id)
        later = outbox.enqueue(db, a.account.account_id, "later", {})
        later.not_before = now + dt.timedelta(minutes=5)
        outbox.enqueue(db, b.account.account_id, "other", {})
    with store.begin() as db:
        assert [op.kind for op in outbox.ready(db, a.account.account_id, now, 10)] == ["customer"]
        outbox.succeed(db.get(OutboxOperation, parent.id))
    with store.begin() as db:
        assert [op.kind for op in outbox.ready(db, a.account.account_id, now, 10)] == ["invoice"]
        assert outbox.count_ready(db, a.account.account_id, now + dt.timedelta(minutes=6)) == 2
        assert outbox.depth(db, a.account.account_id)[0] == 2
