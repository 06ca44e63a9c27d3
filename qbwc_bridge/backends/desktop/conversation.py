"""Draining the outbox inside a Web Connector session: message sets out, results in.

No IO here beyond the unit of work handed in: the SOAP layer does the talking.
"""
from __future__ import annotations

import datetime as dt
import logging

from sqlalchemy import bindparam, select
from sqlalchemy.orm import Session

from ... import metrics, outbox
from ...errors import DataError
from ...store.models import Account, DesktopSend, OperationState, OutboxOperation, SessionState, WebConnectorSession
from . import list_sync
from .operations import WorkContext
from .registry import REGISTRY
from .qbxml import QbxmlParseError, QbxmlVersion, parse_response, render_message_set, render_request
from .status import PARSE_ERROR, proves_nothing_ran

log = logging.getLogger(__name__)

# A round trip stays small: QBWC times out on slow responses, QuickBooks locks while it works.
MAX_REQUESTS_PER_SET = 50
MAX_SET_BYTES = 256 * 1024
# A look-up answers with every record that might be ours: an invoice look-up returns all of its
# customer's invoices modified since a day before the send, with their lines, and after a lost set
# dozens of orders of one busy customer are looked up together. Ten per set keeps each answer far below
# the body limit (a limit no Web Connector run could ever get past); the rest go in the next set.
MAX_LOOKUPS_PER_SET = 10


def build_message_set(db: Session, ws: WebConnectorSession, account: Account, ctx: WorkContext) -> str | None:
    """Mark the next batch of ready operations as sent and return their message set.

    Returns None when nothing is ready. Operations that cannot be rendered (a name too
    long, a character QuickBooks cannot store) fail here with an action for a person,
    before anything reaches QuickBooks.
    """
    fragments: list[str] = []
    request_ids: dict[str, int] = {}
    size = lookups = 0
    ready = outbox.ready(db, account.id, ctx.now, limit=MAX_REQUESTS_PER_SET)
    sends = desktop_sends(db, ready)
    for op in ready:
        alone = op.id in sends and sends[op.id].send_alone
        if alone and fragments:
            break
        if op.verify_first:
            if lookups == MAX_LOOKUPS_PER_SET:
                continue
            lookups += 1
        handler = REGISTRY.get(op.kind)
        if handler is None:
            outbox.fail(op, "unknown_operation", f"The bridge does not know how to send a {op.kind!r} to QuickBooks Desktop")
            continue
        request_id = f"{op.id}.{op.attempts + 1}"
        try:
            request_type, data = handler.build(op, ctx)
            fragment = render_request(request_type, request_id, data, ctx.version)
        except DataError as exc:
            handler.refuse(op, exc, ctx)
            continue
        if fragments and size + len(fragment) > MAX_SET_BYTES:
            break
        op.attempts += 1
        op.state = OperationState.SENT.value
        if op.id not in sends:
            sends[op.id] = DesktopSend(outbox_id=op.id, send_alone=False)
            db.add(sends[op.id])
        sends[op.id].session_id = ws.id
        op.request_id = request_id
        handler.follow(db, op)
        fragments.append(fragment)
        request_ids[request_id] = op.id
        size += len(fragment)
        if alone:
            break
    if not fragments:
        return None
    # When it was handed out: until the in-flight timeout has passed, QuickBooks may still be applying it.
    ws.in_flight = {"request_ids": request_ids, "sent_at": ctx.now.isoformat()}
    return render_message_set(fragments, ctx.version, on_error="continueOnError")


def desktop_sends(db: Session, ops: list[OutboxOperation]) -> dict[int, DesktopSend]:
    """Desktop's facts (session, send alone) of those of ``ops`` that have any, by operation id: one SELECT."""
    if not ops:
        return {}
    rows = db.scalars(_DESKTOP_SENDS, {"ids": [op.id for op in ops]})
    return {row.outbox_id: row for row in rows}


def held_by_session(db: Session, session_id: int) -> list[OutboxOperation]:
    """The operations inside the message set a session handed out and never got an answer for (row-locked)."""
    return list(db.scalars(_HELD_BY_SESSION, {"session_id": session_id}).all())


# Built once, lists as expanding parameters: building and keying a statement cost more than running it,
# and these run in every sendRequestXML, receiveResponseXML and closeConnection.
_DESKTOP_SENDS = select(DesktopSend).where(DesktopSend.outbox_id.in_(bindparam("ids", expanding=True)))
_HELD_BY_SESSION = (select(OutboxOperation).join(DesktopSend, DesktopSend.outbox_id == OutboxOperation.id)
                    .where(DesktopSend.session_id == bindparam("session_id"),
                           OutboxOperation.state == OperationState.SENT.value)
                    .with_for_update(of=OutboxOperation))
_OPERATIONS = select(OutboxOperation).where(OutboxOperation.id.in_(bindparam("ids", expanding=True)))


def in_flight_operations(db: Session, ws: WebConnectorSession) -> dict[str, OutboxOperation]:
    ids = (ws.in_flight or {}).get("request_ids", {})
    if not ids:
        return {}
    # One SELECT for the whole message set (a page of items and one of customers, usually), not one each.
    found = {op.id: op for op in db.scalars(_OPERATIONS, {"ids": sorted(set(ids.values()))})}
    return {rid: op for rid, op_id in ids.items()
            if (op := found.get(op_id)) is not None and op.state == OperationState.SENT.value}


def apply_response(db: Session, ws: WebConnectorSession, ctx: WorkContext, response_xml: str) -> set[int]:
    """Hand every *Rs to its operation's handler; return the status codes other than 0 QuickBooks gave.

    Raises:
        QbxmlParseError: the response was unreadable; the operations become unconfirmed
            (QuickBooks may have applied them) and are reconciled before any resend.
    """
    waiting = in_flight_operations(db, ws)
    ws.in_flight = None
    codes: set[int] = set()
    try:
        responses = parse_response(response_xml)
    except QbxmlParseError:
        for op in waiting.values():
            _outcome_unknown(db, op)
        raise
    for response in responses:
        op = waiting.pop(response.request_id or "", None)
        if op is None:
            log.warning("response %s for request %r matches no operation in flight", response.rs_type, response.request_id)
            continue
        if response.status.code != 0:
            metrics.count_quickbooks_status(response.status.code)
            codes.add(response.status.code)
        REGISTRY[op.kind].handle(op, response, ctx)
        if op.state == OperationState.DONE.value:
            ws.operations_done += 1
        elif op.state == OperationState.FAILED.value:
            ws.operations_failed += 1
    # A request without a response (a truncated answer): a query is simply asked again, but
    # QuickBooks may have applied an Add, so that is looked up first (sets use continueOnError).
    for op in waiting.values():
        _outcome_unknown(db, op)
    return codes


def apply_late_response(db: Session, ws: WebConnectorSession, ctx: WorkContext, response_xml: str) -> int:
    """An answer to a set of a session that has ended (superseded, expired): evidence, not a transaction.

    Each ``*Rs`` is applied only to an operation that is still unconfirmed since that very set
    (same session, same request id): QuickBooks' answer is then exactly what the look-up would
    have found out. Operations that have moved on (looked up, resent, done) are left alone, and
    queries are simply asked again. Returns how many operations the answer settled.
    """
    try:
        responses = parse_response(response_xml)
    except QbxmlParseError:
        log.warning("late answer for ended session %s could not be read; its operations stay unconfirmed", ws.id)
        return 0
    waiting = {
        op.request_id: op
        for op in db.scalars(
            select(OutboxOperation)
            .join(DesktopSend, DesktopSend.outbox_id == OutboxOperation.id)
            .where(DesktopSend.session_id == ws.id, OutboxOperation.state == OperationState.UNCONFIRMED.value)
            .with_for_update(of=OutboxOperation)
        )
    }
    settled = 0
    for response in responses:
        op = waiting.get(response.request_id or "")
        handler = REGISTRY.get(op.kind) if op is not None else None
        if handler is None or handler.idempotent:
            continue
        log.info("late answer of ended session %s settles %s #%s (request %s)", ws.id, op.kind, op.id, op.request_id)
        handler.handle(op, response, ctx)
        settled += 1
    return settled


def return_in_flight(
    db: Session, ws: WebConnectorSession, *, code: int | None, message: str, retry_at: dt.datetime | None = None
) -> None:
    """QuickBooks answered a message set with an HRESULT (``code``, parsed) and no response.

    Only an HRESULT that proves nothing ran (:func:`~.status.proves_nothing_ran`) lets the
    operations go again as they were. After any other, QuickBooks may have applied part of
    the set: every non-idempotent operation becomes unconfirmed, to be looked up first.

    A parse error (0x80040400) is our bug. With one operation in the set it fails and is
    logged with the request (the session's exchange log holds the message set); with
    several, each is sent alone next time to find the culprit. A transient HRESULT (data
    locked, QuickBooks starting) backs off: ``retry_at`` is now, for outbox.retry_later.
    """
    waiting = in_flight_operations(db, ws)
    ws.in_flight = None
    sends = desktop_sends(db, list(waiting.values()))
    nothing_ran = proves_nothing_ran(code)
    parse_error = code == PARSE_ERROR
    code_text = f"0x{code:08X}" if code is not None else "unknown"
    for op in waiting.values():
        if not nothing_ran and not REGISTRY[op.kind].idempotent:
            outbox.mark_unconfirmed(op)
            op.error_code, op.error_message = code_text, message
            if retry_at is not None:
                outbox.retry_later(op, retry_at, code_text, message)
        elif parse_error and (len(waiting) == 1 or sends[op.id].send_alone):
            log.error("QuickBooks could not parse our %s #%s (request %s of session %s; its message set is in the "
                      "exchange log)", op.kind, op.id, op.request_id, ws.id)  # fmt: skip
            outbox.fail(op, code_text, message)
            ws.operations_failed += 1
        elif parse_error:
            outbox.back_to_ready(op)
            sends[op.id].send_alone = True  # and stays so: going alone costs a round trip, never a duplicate
        elif retry_at is not None:
            outbox.retry_later(op, retry_at, code_text, message)
        else:
            outbox.back_to_ready(op)
            op.error_code, op.error_message = code_text, message
        REGISTRY[op.kind].follow(db, op)


def open_sessions(db: Session, account_id: int) -> list[WebConnectorSession]:
    """The account's sessions that still accept calls."""
    return list(db.scalars(_OPEN_SESSIONS, {"account_id": account_id}))


_OPEN_SESSIONS = select(WebConnectorSession).where(  # built once: every authenticate asks
    WebConnectorSession.account_id == bindparam("account_id"), WebConnectorSession.state == SessionState.OPEN.value)


def end_session(
    db: Session, ws: WebConnectorSession, state: SessionState, now: dt.datetime, *, inflight_timeout: dt.timedelta
) -> None:
    """End an open session (closed, superseded, expired, revoked); what QBWC still held becomes unconfirmed."""
    if ws.state != SessionState.OPEN.value:
        return
    sent_at = dt.datetime.fromisoformat(ws.in_flight["sent_at"]) if (ws.in_flight or {}).get("sent_at") else now
    ws.state = state.value
    ws.closed_at = now
    metrics.SESSIONS.labels(outcome="failed" if state is SessionState.CLOSED and ws.last_error else state.value).inc()
    ws.in_flight = None
    # Whatever QBWC still held has an unknown outcome now: reconcile before resending.
    abandon(db, ws, hold_until=sent_at + inflight_timeout)


def abandon(db: Session, ws: WebConnectorSession, *, hold_until: dt.datetime) -> None:
    """The session ended without an answer to the set QBWC held.

    Its queries go again at once. Its Adds become unconfirmed and wait until ``hold_until``:
    QuickBooks (perhaps on another PC of a multi-user file) may still be applying that set,
    and a look-up made meanwhile could miss what it is about to save. A look-up that was in
    the set does not wait: whatever it was checking for was sent earlier and is past its own wait.
    """
    for op in held_by_session(db, ws.id):
        handler = REGISTRY.get(op.kind)
        if handler is None or handler.idempotent:
            outbox.back_to_ready(op)
            continue
        outbox.mark_unconfirmed(op, not_before=None if op.verify_first else hold_until)
        handler.follow(db, op)


def _outcome_unknown(db: Session, op: OutboxOperation) -> None:
    """No answer for ``op`` in an answered set: ask a query again; look an Add up before resending it."""
    if REGISTRY[op.kind].idempotent:
        outbox.back_to_ready(op)
    else:
        outbox.mark_unconfirmed(op)
    REGISTRY[op.kind].follow(db, op)


def progress(db: Session, ws: WebConnectorSession, ctx: WorkContext) -> int:
    """Honest percent done for QBWC's progress bar; 100 only when nothing is ready."""
    remaining = outbox.count_ready(db, ctx.account.id, ctx.now)
    if remaining == 0:
        return 100
    remaining += list_sync.pages_beyond_ready(db, ctx.account.id)  # a pull's later pages are work too
    done = ws.operations_done + ws.operations_failed
    return min(99, done * 100 // (done + remaining))


def version_of(ws: WebConnectorSession) -> QbxmlVersion:
    return QbxmlVersion.parse(ws.qbxml_version or "13.0")
