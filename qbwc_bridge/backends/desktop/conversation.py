"""Draining the outbox inside a Web Connector session: message sets out, results in.

No IO here beyond the unit of work handed in: the SOAP layer does the talking.
"""
from __future__ import annotations

import datetime as dt
import logging

from sqlalchemy.orm import Session

from ... import outbox
from ...errors import DataError
from ...store.models import Account, OperationState, OutboxOperation, SessionState, WebConnectorSession
from . import list_sync
from .operations import WorkContext
from .registry import REGISTRY
from .qbxml import QbxmlParseError, QbxmlVersion, parse_response, render_message_set, render_request

log = logging.getLogger(__name__)

# A round trip stays small: QBWC times out on slow responses, QuickBooks locks while it works.
MAX_REQUESTS_PER_SET = 50
MAX_SET_BYTES = 256 * 1024


def build_message_set(db: Session, ws: WebConnectorSession, account: Account, ctx: WorkContext) -> str | None:
    """Mark the next batch of ready operations as sent and return their message set.

    Returns None when nothing is ready. Operations that cannot be rendered (a name too
    long, a character QuickBooks cannot store) fail here with an action for a person,
    before anything reaches QuickBooks.
    """
    fragments: list[str] = []
    request_ids: dict[str, int] = {}
    size = 0
    for op in outbox.ready(db, account.id, ctx.now, limit=MAX_REQUESTS_PER_SET):
        if op.send_alone and fragments:
            break
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
        op.session_id = ws.id
        op.request_id = request_id
        handler.follow(db, op)
        fragments.append(fragment)
        request_ids[request_id] = op.id
        size += len(fragment)
        if op.send_alone:
            break
    if not fragments:
        return None
    ws.in_flight = {"request_ids": request_ids}
    return render_message_set(fragments, ctx.version, on_error="continueOnError")


def in_flight_operations(db: Session, ws: WebConnectorSession) -> dict[str, OutboxOperation]:
    ids = (ws.in_flight or {}).get("request_ids", {})
    found = {rid: db.get(OutboxOperation, op_id) for rid, op_id in ids.items()}
    return {rid: op for rid, op in found.items() if op is not None and op.state == OperationState.SENT.value}


def apply_response(db: Session, ws: WebConnectorSession, ctx: WorkContext, response_xml: str) -> None:
    """Hand every *Rs to its operation's handler.

    Raises:
        QbxmlParseError: the response was unreadable; the operations become unconfirmed
            (QuickBooks may have applied them) and are reconciled before any resend.
    """
    waiting = in_flight_operations(db, ws)
    ws.in_flight = None
    try:
        responses = parse_response(response_xml)
    except QbxmlParseError:
        for op in waiting.values():
            op.state = OperationState.UNCONFIRMED.value
            REGISTRY[op.kind].follow(db, op)
        raise
    for response in responses:
        op = waiting.pop(response.request_id or "", None)
        if op is None:
            log.warning("response %s for request %r matches no operation in flight", response.rs_type, response.request_id)
            continue
        REGISTRY[op.kind].handle(op, response, ctx)
        if op.state == OperationState.DONE.value:
            ws.operations_done += 1
        elif op.state == OperationState.FAILED.value:
            ws.operations_failed += 1
    # A request without a response (a truncated answer): a query is simply asked again, but
    # QuickBooks may have applied an Add, so that is looked up first (sets use continueOnError).
    for op in waiting.values():
        handler = REGISTRY[op.kind]
        op.state = OperationState.PENDING.value if handler.idempotent else OperationState.UNCONFIRMED.value
        handler.follow(db, op)


def return_in_flight(
    db: Session, ws: WebConnectorSession, *, parse_error: bool, code: str, message: str, retry_at: dt.datetime | None = None
) -> None:
    """QuickBooks answered a message set with an HRESULT and no response: nothing was applied.

    A parse error (0x80040400) is our bug. With one operation in the set it fails and is
    logged with the request (the session's exchange log holds the message set); with
    several, each is sent alone next time to find the culprit. A transient HRESULT (data
    locked, QuickBooks starting) backs off: ``retry_at`` is now, for outbox.retry_later.
    """
    waiting = in_flight_operations(db, ws)
    ws.in_flight = None
    for op in waiting.values():
        if parse_error and (len(waiting) == 1 or op.send_alone):
            log.error("QuickBooks could not parse our %s #%s (request %s of session %s; its message set is in the "
                      "exchange log)", op.kind, op.id, op.request_id, ws.id)  # fmt: skip
            outbox.fail(op, code, message)
            ws.operations_failed += 1
        elif parse_error:
            op.state = OperationState.PENDING.value
            op.send_alone = True
        elif retry_at is not None:
            outbox.retry_later(op, retry_at, code, message)
        else:
            op.state = OperationState.PENDING.value
            op.error_code, op.error_message = code, message
        REGISTRY[op.kind].follow(db, op)


def end_session(db: Session, ws: WebConnectorSession, state: SessionState, now: dt.datetime) -> None:
    """End an open session (closed, superseded, expired, revoked); what QBWC still held becomes unconfirmed."""
    if ws.state != SessionState.OPEN.value:
        return
    ws.state = state.value
    ws.closed_at = now
    ws.in_flight = None
    # Whatever QBWC still held has an unknown outcome now: reconcile before resending.
    abandon(db, ws)


def abandon(db: Session, ws: WebConnectorSession) -> None:
    """The session ended without an answer to what QBWC held: those operations become unconfirmed."""
    for op in outbox.mark_unconfirmed_for_session(db, ws.id):
        handler = REGISTRY.get(op.kind)
        if handler is not None:
            handler.follow(db, op)


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
