"""A Web Connector session's row is written once per call (issue 14, target 1).

sendRequestXML and receiveResponseXML each change the session row several times (last seen, company
verified, round trips, in flight, operations done). Written as they happened, the ORM's autoflush split
them into one UPDATE per read in between: three a call. Each call now writes the row once, at its end,
with everything it changed; these tests check both the count and that nothing is lost on either database.
"""
from __future__ import annotations

import datetime as dt

from lxml import etree
from sqlalchemy import event

from qbwc_bridge import outbox
from qbwc_bridge.operations import OperationKind
from qbwc_bridge.store.models import OperationState, OutboxOperation, SessionState, WebConnectorSession
from tests.integration.soap_helpers import hcp_response, terms_response
# Fixtures: the service on a clock the test moves, and the account as after its initial sync.
from tests.integration.test_quiet_poll import clock, connected, service  # noqa: F401


def _statements(store, action) -> list[str]:
    """The statements ``action`` runs, on one line each."""
    seen: list[str] = []

    def record(conn, cursor, statement, parameters, context, executemany):
        seen.append(" ".join(statement.split()))

    event.listen(store.engine, "before_cursor_execute", record)
    try:
        action()
    finally:
        event.remove(store.engine, "before_cursor_execute", record)
    return seen


def _session_updates(statements: list[str]) -> int:
    return sum(statement.startswith("UPDATE wc_sessions ") for statement in statements)


def _open_session(service, store, tenant) -> tuple[str, int]:
    """A session with one operation to send."""
    with store.begin() as db:
        op_id = outbox.enqueue(db, tenant.account.account_id, OperationKind.SYNC_TERMS.value, {}).id
    ticket, status = service.authenticate(tenant.username, tenant.password)[:2]
    assert status == ""
    return ticket, op_id


def _send(service, tenant, ticket) -> str:
    return service.send_request_xml(ticket, hcp_response(tenant.owner_id, tenant.account.file_id), "C:\\a.QBW",
                                    "US", 13, 0)


def _session_row(store) -> WebConnectorSession:
    with store.begin() as db:
        row = db.query(WebConnectorSession).one()
        db.expunge(row)
        return row


def test_send_and_receive_each_write_the_session_row_once(service, store, connected, clock):
    ticket, op_id = _open_session(service, store, connected)
    clock.now += dt.timedelta(seconds=3)
    sent = []
    statements = _statements(store, lambda: sent.append(_send(service, connected, ticket)))
    assert _session_updates(statements) == 1, statements
    row = _session_row(store)
    # everything the call changed is in that one UPDATE
    assert (row.last_seen_at, row.company_verified, row.company_file_name, row.qbxml_version, row.round_trips) == \
        (clock.now, True, "C:\\a.QBW", "13.0", 1)
    request_id = etree.fromstring(sent[0].encode()).find("QBXMLMsgsRq")[0].get("requestID")
    assert row.in_flight["request_ids"] == {request_id: op_id}

    clock.now += dt.timedelta(seconds=3)
    answers = []
    statements = _statements(store, lambda: answers.append(
        service.receive_response_xml(ticket, terms_response(request_id), "", "")))
    assert answers == [100]
    assert _session_updates(statements) == 1, statements
    row = _session_row(store)
    assert (row.last_seen_at, row.in_flight, row.operations_done) == (clock.now, None, 1)
    with store.begin() as db:
        assert db.get(OutboxOperation, op_id).state == OperationState.DONE.value

    statements = _statements(store, lambda: service.close_connection(ticket))
    assert _session_updates(statements) == 1, statements
    assert _session_row(store).state == SessionState.CLOSED.value


def test_a_refused_company_file_keeps_the_sessions_error(service, store, connected):
    ticket, op_id = _open_session(service, store, connected)
    assert service.send_request_xml(ticket, hcp_response(connected.owner_id, "{00000000-0000-0000-0000-000000000000}"),
                                     "C:\\other.QBW", "US", 13, 0) == ""
    row = _session_row(store)
    assert row.fatal_error and "company file" in row.last_error, row.last_error
    assert service.get_last_error(ticket) == row.last_error
    with store.begin() as db:
        assert db.get(OutboxOperation, op_id).state == OperationState.PENDING.value


def test_an_expired_ticket_ends_its_session_and_gives_back_its_work(service, store, connected, clock, settings):
    ticket, op_id = _open_session(service, store, connected)
    assert _send(service, connected, ticket)
    clock.now += dt.timedelta(seconds=settings.ticket_idle_seconds + 1)
    assert service.receive_response_xml(ticket, "", "0x80040408", "timed out") == -1
    assert _session_row(store).state == SessionState.EXPIRED.value
    with store.begin() as db:
        assert db.get(OutboxOperation, op_id).state != OperationState.SENT.value


def test_the_owner_id_is_read_once_per_service(service, store, connected):
    for _ in range(2):
        ticket, _ = _open_session(service, store, connected)
        statements = _statements(store, lambda: _send(service, connected, ticket))
        service.close_connection(ticket)
    assert not [s for s in statements if "FROM installation" in s], statements
