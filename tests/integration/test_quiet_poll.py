"""A Web Connector polling an account with nothing to do is answered from one read (issue 14, target 1).

The answer "none" may only come from that read while nothing could have made work since the last
full look: work queued, a pull falling due, a session opening (which may leave a refused list to ask
for again), the account leaving Connected, or a session another process opened. Each of those is a
case here, after a quiet answer has been given, on both databases.
"""
from __future__ import annotations

import datetime as dt

import pytest
from lxml import etree
from sqlalchemy import event

from qbwc_bridge import outbox
from qbwc_bridge.backends.desktop.web_connector import NO_WORK_ANSWER, WebConnectorService
from qbwc_bridge.operations import ListName, OperationKind
from qbwc_bridge.store.models import (Account, ConnectionStatus, ExchangeLogEntry, SessionState, SyncCursor,
                                      WebConnectorSession, utcnow)
from tests.integration.soap_helpers import hcp_response
from tests.integration.test_refused_pull import PERSONAL_DATA_REFUSED


class Clock:
    def __init__(self):
        self.now = utcnow()

    def __call__(self) -> dt.datetime:
        return self.now


@pytest.fixture
def clock():
    return Clock()


@pytest.fixture
def service(store, settings, clock):
    return WebConnectorService(store, settings, clock=clock)


@pytest.fixture
def connected(store, tenant, clock):
    """The tenant as after its initial sync: Connected, every list pulled just now."""
    with store.begin() as db:
        db.get(Account, tenant.account.account_id).status = ConnectionStatus.CONNECTED.value
        for name in ListName:
            db.add(SyncCursor(account_id=tenant.account.account_id, list_name=name.value, initial_done=True,
                              updated_at=clock.now))
    return tenant


def _authenticate(service, tenant) -> list[str]:
    return service.authenticate(tenant.username, tenant.password)


def _statements(store, action) -> list[str]:
    seen: list[str] = []

    def record(conn, cursor, statement, parameters, context, executemany):
        seen.append(statement.split(None, 1)[0].upper())

    event.listen(store.engine, "before_cursor_execute", record)
    try:
        action()
    finally:
        event.remove(store.engine, "before_cursor_execute", record)
    return [s for s in seen if s not in ("BEGIN", "COMMIT", "ROLLBACK")]


def test_a_quiet_poll_is_one_read_and_writes_nothing_new(service, connected, store, clock):
    assert _authenticate(service, connected)[1] == NO_WORK_ANSWER
    clock.now += dt.timedelta(seconds=1)
    answers = []
    statements = _statements(store, lambda: answers.append(_authenticate(service, connected)))
    assert answers[0][1] == NO_WORK_ANSWER
    assert statements == ["SELECT"], statements


def test_a_quiet_poll_still_records_the_contact_and_logs_it_when_minutes_apart(service, connected, store, clock):
    assert _authenticate(service, connected)[1] == NO_WORK_ANSWER
    clock.now += dt.timedelta(seconds=50)
    in_transaction, answers = [], []

    def record(conn, cursor, statement, parameters, context, executemany):
        in_transaction.append(not getattr(conn.connection.dbapi_connection, "autocommit", False))

    event.listen(store.engine, "before_cursor_execute", record)
    try:
        statements = _statements(store, lambda: answers.append(_authenticate(service, connected)))
    finally:
        event.remove(store.engine, "before_cursor_execute", record)
    assert answers[0][1] == NO_WORK_ANSWER
    if store.is_postgresql:  # the contact's UPDATE rides in the INSERT as a CTE, with no BEGIN or COMMIT
        assert (statements, in_transaction) == (["SELECT", "WITH"], [False, False])
    else:
        assert statements == ["SELECT", "UPDATE", "INSERT"], statements
    with store.begin() as db:
        assert db.get(Account, connected.account.account_id).last_contact_at == clock.now
        logged = db.query(ExchangeLogEntry).filter_by(account_id=connected.account.account_id,
                                                      summary="none: nothing to do").count()
    assert logged == 2


def test_work_queued_after_a_quiet_answer_opens_a_session_at_once(service, connected, store, clock):
    assert _authenticate(service, connected)[1] == NO_WORK_ANSWER
    with store.begin() as db:
        outbox.enqueue(db, connected.account.account_id, OperationKind.SYNC_TERMS.value, {})
    assert _authenticate(service, connected)[1] == ""


def test_a_pull_falling_due_after_a_quiet_answer_opens_a_session(service, connected, settings, clock):
    assert _authenticate(service, connected)[1] == NO_WORK_ANSWER
    clock.now += dt.timedelta(minutes=settings.run_every_minutes) - dt.timedelta(seconds=20)
    assert _authenticate(service, connected)[1] == NO_WORK_ANSWER
    clock.now += dt.timedelta(seconds=10)  # the schedule allows 15 s of slack
    assert _authenticate(service, connected)[1] == ""


def test_an_account_leaving_connected_is_looked_at_in_full(service, connected, store):
    assert _authenticate(service, connected)[1] == NO_WORK_ANSWER
    with store.begin() as db:
        db.get(Account, connected.account.account_id).status = ConnectionStatus.NOT_CONNECTED.value
    assert _authenticate(service, connected)[1] == ""  # the initial sync is queued again


def test_a_session_another_process_opened_is_seen(service, connected, store, clock):
    assert _authenticate(service, connected)[1] == NO_WORK_ANSWER
    with store.begin() as db:
        db.add(WebConnectorSession(account_id=connected.account.account_id, ticket_hash="x" * 64,
                                   state=SessionState.OPEN.value, created_at=clock.now, last_seen_at=clock.now,
                                   expires_at=clock.now + dt.timedelta(minutes=5)))
    assert _authenticate(service, connected)[1] == "busy"


def test_a_list_refused_in_the_session_after_a_quiet_answer_is_asked_for_again_at_once(service, connected, store, clock):
    assert _authenticate(service, connected)[1] == NO_WORK_ANSWER
    with store.begin() as db:
        outbox.enqueue(db, connected.account.account_id, OperationKind.SYNC_TERMS.value, {})
    ticket, status = _authenticate(service, connected)
    assert status == ""
    message_set = service.send_request_xml(ticket, hcp_response(connected.owner_id, connected.account.file_id),
                                           "C:\\Acme.QBW", "US", 13, 0)
    request_id = etree.fromstring(message_set.encode()).find("QBXMLMsgsRq")[0].get("requestID")
    refused = f'<?xml version="1.0" ?><QBXML><QBXMLMsgsRs><TermsQueryRs requestID="{request_id}" {PERSONAL_DATA_REFUSED} />' \
              '</QBXMLMsgsRs></QBXML>'
    assert service.receive_response_xml(ticket, refused, "", "") == 100
    service.close_connection(ticket)
    clock.now += dt.timedelta(seconds=1)
    assert _authenticate(service, connected)[1] == ""  # the refused terms, asked for again
