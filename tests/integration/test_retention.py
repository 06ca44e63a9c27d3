"""Retention: old exchange-log entries and finished sessions go, in batches; sessions unsettled operations need stay."""
from __future__ import annotations

import datetime as dt
import json
import secrets
import threading

from click.testing import CliRunner
from sqlalchemy import func, select

from qbwc_bridge.cli import main
from qbwc_bridge.retention import Pruner, prune
from qbwc_bridge.store.models import DesktopSend, ExchangeLogEntry, LoginThrottle, OutboxOperation, WebConnectorSession, utcnow

RETENTION = dt.timedelta(days=30)


def _session(db, account_id: int, *, days_ago: float, state: str = "closed", entries: int = 2) -> int:
    at = utcnow() - dt.timedelta(days=days_ago)
    ws = WebConnectorSession(account_id=account_id, ticket_hash=secrets.token_hex(32),
                             state=state, created_at=at, last_seen_at=at, expires_at=at + dt.timedelta(minutes=30),
                             closed_at=None if state == "open" else at)  # fmt: skip
    db.add(ws)
    db.flush()
    for _ in range(entries):
        db.add(ExchangeLogEntry(account_id=account_id, session_id=ws.id, at=at, operation="sendRequestXML", direction="out", summary="1 request(s)"))
    return ws.id


def _operation(db, account_id: int, session_id: int, key: str, state: str, verify_first: bool = False) -> None:
    op = OutboxOperation(account_id=account_id, kind="invoice_add", dedupe_key=key, payload={}, state=state,
                         request_id="3", verify_first=verify_first)
    db.add(op)
    db.flush()
    db.add(DesktopSend(outbox_id=op.id, session_id=session_id))


def _world(store, account_id: int) -> dict[str, int]:
    """Old and recent sessions, some still needed by an operation, and old logins outside any session."""
    with store.begin() as db:
        ids = {
            "old": _session(db, account_id, days_ago=40),
            "old_superseded": _session(db, account_id, days_ago=45, state="superseded"),
            "old_unconfirmed": _session(db, account_id, days_ago=50, state="superseded"),
            "old_verify_first": _session(db, account_id, days_ago=50, state="expired"),
            "old_sent": _session(db, account_id, days_ago=35, state="expired"),
            "old_done": _session(db, account_id, days_ago=60),
            "old_open": _session(db, account_id, days_ago=31, state="open"),
            "recent": _session(db, account_id, days_ago=29),
        }
        _operation(db, account_id, ids["old_unconfirmed"], "u", "unconfirmed", verify_first=True)
        _operation(db, account_id, ids["old_verify_first"], "v", "pending", verify_first=True)
        _operation(db, account_id, ids["old_sent"], "s", "sent")
        _operation(db, account_id, ids["old_done"], "d", "done")
        for days in (31, 90, 1):
            db.add(ExchangeLogEntry(account_id=account_id, session_id=None, at=utcnow() - dt.timedelta(days=days),
                                    operation="authenticate", direction="in", summary="none: nothing to do"))  # fmt: skip
    return ids


def _counts(store) -> tuple[int, int]:
    with store.begin() as db:
        return db.scalar(select(func.count()).select_from(ExchangeLogEntry)), db.scalar(select(func.count()).select_from(WebConnectorSession))


def test_prune_deletes_old_entries_and_finished_sessions_in_batches_and_keeps_what_operations_need(store, tenant):
    ids = _world(store, tenant.account.account_id)
    entries_before, sessions_before = _counts(store)

    dry = prune(store, RETENTION, dry_run=True)
    assert (dry.log_entries, dry.sessions, dry.sessions_kept, dry.dry_run) == (2 * 7 + 2, 3, 3, True)
    assert _counts(store) == (entries_before, sessions_before)

    result = prune(store, RETENTION, batch_size=3)  # several batches of each table
    assert (result.log_entries, result.sessions, result.sessions_kept) == (16, 3, 3)
    with store.begin() as db:
        left = set(db.scalars(select(WebConnectorSession.id)))
        assert left == {ids[name] for name in ("old_unconfirmed", "old_verify_first", "old_sent", "old_open", "recent")}
        assert db.scalar(select(func.count()).select_from(ExchangeLogEntry)) == 3  # the recent session's two and one login
        links = select(OutboxOperation.state, OutboxOperation.request_id, DesktopSend.session_id).join(
            DesktopSend, DesktopSend.outbox_id == OutboxOperation.id)
        done = db.execute(links.where(OutboxOperation.dedupe_key == "d")).one()
        assert done == ("done", "3", None)  # the operation stays; only its link to the session went
        kept = db.execute(links.where(OutboxOperation.dedupe_key == "u")).one()
        assert kept == ("unconfirmed", "3", ids["old_unconfirmed"])

    assert prune(store, RETENTION).log_entries == 0  # nothing left to do


def test_the_prune_command_reports_in_json_and_dry_run_deletes_nothing(store, tenant, settings):
    _world(store, tenant.account.account_id)
    env = {"QBWC_BRIDGE_DATABASE_URL": settings.database_url, "QBWC_BRIDGE_DATA_DIR": str(settings.data_dir),
           "QBWC_BRIDGE_SECRET_KEY": settings.secret_key, "QBWC_BRIDGE_LOG_RETENTION_DAYS": "30"}
    before = _counts(store)
    dry = CliRunner().invoke(main, ["prune", "--dry-run", "--json"], env=env)
    assert dry.exit_code == 0, dry.output
    assert json.loads(dry.output) | {"cutoff": None} == {"cutoff": None, "log_entries": 16, "sessions": 3, "sessions_kept": 3, "login_throttles": 0, "dry_run": True}
    assert _counts(store) == before
    done = CliRunner().invoke(main, ["prune"], env=env)
    assert done.exit_code == 0, done.output
    assert "deleted 16 exchange-log entries and 3 finished sessions; kept 3" in done.output
    longer = CliRunner().invoke(main, ["prune", "--json"], env={**env, "QBWC_BRIDGE_LOG_RETENTION_DAYS": "365"})
    assert json.loads(longer.output)["log_entries"] == 0


def test_the_background_pruner_runs_at_once_and_stops_cleanly(store, tenant):
    _world(store, tenant.account.account_id)
    pruner = Pruner(store, RETENTION, interval_seconds=3600)
    pruner.start()
    deadline = threading.Event()
    for _ in range(100):
        if _counts(store)[1] == 5:
            break
        deadline.wait(0.1)
    pruner.stop()
    assert _counts(store)[1] == 5
    assert not pruner._thread.is_alive()


def test_throttle_rows_a_day_past_their_last_failure_go_unless_still_locked(store):
    """Rows exist for made-up logins too (they cost like real ones): without pruning, anyone could grow
    the table for ever by trying invented usernames from many addresses."""
    now = utcnow()
    with store.begin() as db:
        for login, days_ago, locked_until in (("bt-nobody", 2, None), ("bt-gone", 3, now - dt.timedelta(days=2)),
                                              ("bt-today", 0.01, None), ("bt-held", 2, now + dt.timedelta(minutes=3))):
            db.add(LoginThrottle(kind="web_connector", login=login, source="192.0.2.7", failed_attempts=5,
                                 locked_until=locked_until, last_failed_at=now - dt.timedelta(days=days_ago)))
    assert prune(store, RETENTION, dry_run=True).login_throttles == 2
    assert prune(store, RETENTION).login_throttles == 2
    with store.begin() as db:
        assert sorted(db.scalars(select(LoginThrottle.login))) == ["bt-held", "bt-today"]
