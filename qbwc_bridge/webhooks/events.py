"""Webhook events, recorded in the unit of work of the change that causes them.

An event is a row of the durable delivery queue (``webhook_deliveries``), added to the same
transaction as the change: an invoice that commits as created commits with its
``invoice.created``, and a rolled-back change leaves no event. Only accounts whose endpoint
subscribes to the type get a row; asking costs one primary-key read per account and unit of
work (:func:`endpoint`), so the packed-order path stays as fast without webhooks.

**Where each kind comes from.** Changes are *noted* where they happen and *recorded* once, just
before the unit of work commits, comparing the state first noted with the final one. So a
unit of work that blocks an order and then queues it sends nothing, and every body shows the
state that was committed:

- invoice status: :func:`invoice_changing`, called by ``sync.invoices._set`` (every status change);
  ``invoice.created``, ``invoice.blocked``, ``invoice.failed`` when the status becomes that;
- match issues: :func:`match_issue_changing`, called by ``sync.records`` for its bulk writes, and
  a listener on the ``issue`` column of items and customers for the ORM writes (a person's
  match, unmatch, create); ``match_issue.opened`` when a record gets an issue or another one,
  ``match_issue.resolved`` when its issue goes;
- connection status: a listener on ``accounts.status`` (written by the Web Connector's session,
  the initial sync and the push driver); ``connection.status_changed``.

``invoice.paid`` comes from the invoice-state pull (``sync.invoice_states``, issue 16) and
``invoice.deleted`` from the deletions pull (``sync.deletions``): each calls :func:`record_invoice`
once it has stored what QuickBooks said, only when it changed something (so a state or a deletion
read again in the pulls' overlap records nothing).

Bodies: ``{"id", "type", "account_id", "occurred_at", "data"}``; ``data`` is the API's view
(``GET /orders/{id}/invoice``, ``GET /items/{id}``, ``GET /customers/{id}``) or, for the
connection, ``{"status", "previous_status", "message", "error_code", "error_at"}``.
"""
from __future__ import annotations

import enum
import json
import uuid
from typing import Any

from sqlalchemy import event
from sqlalchemy.orm import Session, object_session

from ..domain import InvoiceStatus
from ..services.invoice_view import invoice_view
from ..services.match_view import customer_view, item_view
from ..store.models import Account, BtCustomer, BtItem, PackedOrder, WebhookDelivery, WebhookEndpoint, utcnow


class EventType(str, enum.Enum):
    INVOICE_CREATED = "invoice.created"
    INVOICE_BLOCKED = "invoice.blocked"
    INVOICE_FAILED = "invoice.failed"
    INVOICE_PAID = "invoice.paid"
    INVOICE_DELETED = "invoice.deleted"
    MATCH_ISSUE_OPENED = "match_issue.opened"
    MATCH_ISSUE_RESOLVED = "match_issue.resolved"
    CONNECTION_STATUS_CHANGED = "connection.status_changed"


EVENT_TYPES = tuple(kind.value for kind in EventType)
_INVOICE_EVENTS = {
    InvoiceStatus.CREATED.value: EventType.INVOICE_CREATED,
    InvoiceStatus.BLOCKED.value: EventType.INVOICE_BLOCKED,
    InvoiceStatus.FAILED.value: EventType.INVOICE_FAILED,
}
_ISSUE_EVENTS = (EventType.MATCH_ISSUE_OPENED.value, EventType.MATCH_ISSUE_RESOLVED.value)
_ENDPOINTS = "qbwc_bridge.webhooks.endpoints"  # db.info: account id -> WebhookEndpoint | None
_NOTED = "qbwc_bridge.webhooks.noted"  # db.info: (kind, account id, key) -> (first state, object or None)
_LISTENING = "qbwc_bridge.webhooks.listening"
_RECORDS = {"item": (BtItem, item_view), "customer": (BtCustomer, customer_view)}


def invoice_key(order_id: str) -> str:
    """The order key of an order's events: they are delivered in the order they occurred."""
    return f"order:{order_id}"


# -- who listens -------------------------------------------------------------------------------


def endpoint(db: Session, account_id: int) -> WebhookEndpoint | None:
    """The account's endpoint, read once per unit of work."""
    known = db.info.setdefault(_ENDPOINTS, {})
    if account_id not in known:
        with db.no_autoflush:  # called from attribute events: never flush half-made changes
            known[account_id] = db.get(WebhookEndpoint, account_id)
    return known[account_id]


def remember_endpoint(db: Session, account_id: int, found: WebhookEndpoint | None) -> None:
    """The caller has just read the account's endpoint (or that it has none): :func:`endpoint` need not ask."""
    db.info.setdefault(_ENDPOINTS, {})[account_id] = found


def forget_endpoint(db: Session, account_id: int) -> None:
    """The endpoint was changed in this unit of work: read it again when next asked."""
    db.info.get(_ENDPOINTS, {}).pop(account_id, None)


def subscribes(db: Session, account_id: int, *types: str) -> bool:
    found = endpoint(db, account_id)
    return found is not None and any(kind in found.events for kind in types)


# -- recording -----------------------------------------------------------------------------------


def record(db: Session, account_id: int, kind: EventType, data: dict[str, Any], *, order_key: str) -> WebhookDelivery | None:
    """Queue one event for delivery in ``db``'s unit of work, if the account's endpoint subscribes to it.

    ``order_key``: events with the same key are delivered one after the other, in this order.
    """
    if not subscribes(db, account_id, kind.value):
        return None
    now = utcnow()
    event_id = str(uuid.uuid4())
    body = {
        "id": event_id,
        "type": kind.value,
        "account_id": account_id,
        "occurred_at": now.isoformat().replace("+00:00", "Z"),
        "data": data,
    }
    delivery = WebhookDelivery(
        event_id=event_id, account_id=account_id, type=kind.value, occurred_at=now,
        body=json.dumps(body, separators=(",", ":"), ensure_ascii=False), order_key=order_key[:220],
        state="pending", attempts=0, next_attempt_at=now,
    )  # fmt: skip
    db.add(delivery)
    return delivery


def record_invoice(db: Session, order: PackedOrder, kind: EventType) -> WebhookDelivery | None:
    """An invoice event its status does not carry (``invoice.paid``, ``invoice.deleted``), with the invoice's
    view as stored now (flushed first, so ``updated_at`` is the change's), in the order's sequence."""
    db.flush()
    return record(db, order.account_id, kind, invoice_view(order), order_key=invoice_key(order.order_id))


def invoice_changing(order: PackedOrder) -> None:
    """Note an order whose invoice status is about to be set (before the assignment)."""
    db = object_session(order)
    if db is not None and subscribes(db, order.account_id, *(kind.value for kind in _INVOICE_EVENTS.values())):
        _note(db, ("invoice", order.account_id, order.order_id), order.status, order)


def match_issue_changing(db: Session, account_id: int, noun: str, record_id: str, previous_issue: str | None) -> None:
    """Note a BlueTrace item or customer (``noun``) whose issue is being written, with the issue it had."""
    if subscribes(db, account_id, *_ISSUE_EVENTS):
        _note(db, (noun, account_id, record_id), previous_issue, None)


def _note(db: Session, key: tuple[str, int, str], first_state: str | None, target: Any) -> None:
    noted = db.info.setdefault(_NOTED, {})
    if key not in noted:
        noted[key] = (first_state, target)
    if not db.info.get(_LISTENING):
        db.info[_LISTENING] = True
        event.listen(db, "before_commit", _record_noted)
        event.listen(db, "after_rollback", _forget_noted)


def _forget_noted(db: Session) -> None:
    db.info.pop(_NOTED, None)


def _record_noted(db: Session) -> None:
    """Compare what was noted with the state about to commit; queue an event for each real change."""
    noted = db.info.pop(_NOTED, None)
    if not noted:
        return
    db.flush()  # final values (updated_at, bulk writes) before they are shown
    for (kind, account_id, key), (first, target) in noted.items():
        if kind == "invoice":
            status = target.status
            if status != first and status in _INVOICE_EVENTS:
                record(db, account_id, _INVOICE_EVENTS[status], invoice_view(target), order_key=invoice_key(key))
        elif kind == "connection":
            _record_connection(db, target, first)
        else:
            model, view = _RECORDS[kind]
            row = db.get(model, (account_id, key))
            issue = row.issue if row is not None else None
            if issue is not None and issue != first:
                record(db, account_id, EventType.MATCH_ISSUE_OPENED, view(row), order_key=f"{kind}:{key}")
            elif first is not None and issue is None and row is not None:
                record(db, account_id, EventType.MATCH_ISSUE_RESOLVED, view(row), order_key=f"{kind}:{key}")
    db.flush()


def _record_connection(db: Session, account: Account, first: str | None) -> None:
    if account.status == first:
        return
    data = {
        "status": account.status,
        "previous_status": first,
        "message": account.status_message,
        "error_code": account.error_code,
        "error_at": account.error_at.isoformat().replace("+00:00", "Z") if account.error_at else None,
    }
    record(db, account.id, EventType.CONNECTION_STATUS_CHANGED, data, order_key="connection")


# -- column listeners: the writes made in many places ---------------------------------------------


@event.listens_for(Account.status, "set", active_history=True)
def _account_status_set(account: Account, value: str, previous: Any, _initiator) -> None:
    db = object_session(account)
    if db is None or value == previous or not isinstance(previous, str):
        return  # a new account (no previous status) is not a change of status
    if subscribes(db, account.id, EventType.CONNECTION_STATUS_CHANGED.value):
        _note(db, ("connection", account.id, ""), previous, account)


def _issue_set(noun: str, id_attribute: str):
    def listener(row: Any, value: str | None, previous: Any, _initiator) -> None:
        db = object_session(row)
        if db is None or value == previous or row.account_id is None:
            return
        match_issue_changing(db, row.account_id, noun, getattr(row, id_attribute), previous if isinstance(previous, str) else None)

    return listener


event.listen(BtItem.issue, "set", _issue_set("item", "item_id"), active_history=True)
event.listen(BtCustomer.issue, "set", _issue_set("customer", "customer_id"), active_history=True)
