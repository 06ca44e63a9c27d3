"""Leases (qbwc_bridge.leases): one worker drives a company at a time, and an expired lease is taken over
with the dead worker's in-flight operations sent the unconfirmed way first. SQLite and PostgreSQL."""
from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import select

from qbwc_bridge import leases, outbox
from qbwc_bridge.services.accounts import create_account
from qbwc_bridge.store.models import DesktopSend, OperationState, OutboxOperation, WorkerLease, WebConnectorSession

T0 = dt.datetime(2026, 12, 3, 9, 0, tzinfo=dt.timezone.utc)
TTL = dt.timedelta(minutes=2)


@pytest.fixture
def account_id(store) -> int:
    with store.begin() as db:
        return create_account(db, "Online Co", "online").account_id


def acquire(store, account_id, holder, now, on_takeover=leases.unconfirm_in_flight):
    with store.begin() as db:
        return leases.acquire(db, account_id, holder, now, TTL, on_takeover=on_takeover)


def holder_of(store, account_id) -> str | None:
    with store.begin() as db:
        return db.scalar(select(WorkerLease.holder).where(WorkerLease.account_id == account_id))


def test_a_held_lease_is_refused_to_others_until_it_expires_then_taken_over_once(store, account_id):
    takeovers = []

    def on_takeover(db, account, dead_holder):
        # Inside the taking transaction: the lease row already names the new holder.
        takeovers.append((account, dead_holder, db.get(WorkerLease, account).holder))

    first = acquire(store, account_id, "first", T0, on_takeover)
    assert first is not None and first.took_over_from is None and first.expires_at == T0 + TTL
    assert acquire(store, account_id, "second", T0 + TTL - dt.timedelta(seconds=1), on_takeover) is None
    assert takeovers == []

    second = acquire(store, account_id, "second", T0 + TTL, on_takeover)
    assert second is not None and second.took_over_from == "first" and second.expires_at == T0 + 2 * TTL
    assert takeovers == [(account_id, "first", "second")]
    assert holder_of(store, account_id) == "second"


def test_a_lease_of_its_own_never_released_is_recovered_like_a_dead_workers(store, account_id):
    takeovers = []
    acquire(store, account_id, "first", T0)  # its release failed: the database was away
    again = acquire(store, account_id, "first", T0 + dt.timedelta(seconds=10),
                    lambda db, account, dead: takeovers.append(dead))  # fmt: skip
    assert again is not None and again.took_over_from == "first" and takeovers == ["first"]


def test_the_old_holder_can_neither_renew_nor_release_a_lease_taken_over(store, account_id):
    first = acquire(store, account_id, "first", T0)
    acquire(store, account_id, "second", T0 + TTL)
    with store.begin() as db:
        assert leases.renew(db, first, T0 + TTL) is False
        assert first.lost
        with pytest.raises(leases.LeaseLost):
            leases.hold(db, first, T0 + TTL)
        assert leases.release(db, first) is False
    assert holder_of(store, account_id) == "second"


def test_renewal_keeps_the_lease_past_its_first_expiry_and_release_frees_it_at_once(store, account_id):
    lease = acquire(store, account_id, "first", T0)
    with store.begin() as db:
        assert leases.renew(db, lease, T0 + dt.timedelta(minutes=1))
    assert lease.expires_at == T0 + dt.timedelta(minutes=1) + TTL
    assert acquire(store, account_id, "second", T0 + TTL + dt.timedelta(seconds=1)) is None
    with store.begin() as db:
        assert leases.release(db, lease)
    assert holder_of(store, account_id) is None
    fresh = acquire(store, account_id, "second", T0 + dt.timedelta(seconds=61))
    assert fresh is not None and fresh.took_over_from is None


def _operation(db, account_id, state: OperationState, key: str, session_id: int | None = None) -> int:
    op = outbox.enqueue(db, account_id, "create_invoice", {"order": key}, dedupe_key=key)
    op.state = state.value
    if session_id is not None:
        db.add(DesktopSend(outbox_id=op.id, session_id=session_id))
    return op.id


def test_taking_over_sends_only_the_dead_workers_in_flight_operations_the_unconfirmed_way(store, account_id):
    with store.begin() as db:
        other = create_account(db, "Other Co", "online").account_id
        session = WebConnectorSession(account_id=account_id, ticket_hash="t" * 64, expires_at=T0)
        db.add(session)
        db.flush()
        in_flight = _operation(db, account_id, OperationState.SENT, "a")
        pending = _operation(db, account_id, OperationState.PENDING, "b")
        done = _operation(db, account_id, OperationState.DONE, "c")
        desktop_set = _operation(db, account_id, OperationState.SENT, "d", session_id=session.id)
        elsewhere = _operation(db, other, OperationState.SENT, "e")
    acquire(store, account_id, "dead", T0)
    acquire(store, account_id, "next", T0 + TTL)
    with store.begin() as db:
        states = {op.id: (op.state, op.verify_first) for op in db.scalars(select(OutboxOperation))}
    assert states == {
        in_flight: ("unconfirmed", True),
        pending: ("pending", False),
        done: ("done", False),
        desktop_set: ("sent", False),  # a Web Connector's message set: recovered with its session
        elsewhere: ("sent", False),
    }


def test_abandoning_after_a_crash_unconfirms_and_releases_but_not_a_lease_already_taken_over(store, account_id):
    with store.begin() as db:
        in_flight = _operation(db, account_id, OperationState.SENT, "a")
    crashed = acquire(store, account_id, "crashed", T0)
    with store.begin() as db:
        assert leases.abandon(db, crashed)
    assert holder_of(store, account_id) is None
    with store.begin() as db:
        op = db.get(OutboxOperation, in_flight)
        assert (op.state, op.verify_first) == ("unconfirmed", True)
        op.state = OperationState.SENT.value  # sent again by the next holder

    late = acquire(store, account_id, "late", T0)
    acquire(store, account_id, "new", T0 + TTL)  # takes over: unconfirms, then sends it again
    with store.begin() as db:
        db.get(OutboxOperation, in_flight).state = OperationState.SENT.value
    with store.begin() as db:
        assert leases.abandon(db, late) is False
    assert late.lost and holder_of(store, account_id) == "new"
    with store.begin() as db:
        assert db.get(OutboxOperation, in_flight).state == "sent"  # the new holder's, untouched


def test_holders_are_unique_per_worker():
    assert len({leases.new_holder() for _ in range(50)}) == 50
