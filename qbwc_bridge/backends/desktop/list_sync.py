"""List sync over the Web Connector: paged pulls, one-record look-ups and "Create in QuickBooks".

:class:`DesktopListSync` is the Desktop side of :class:`~qbwc_bridge.backends.base.Backend`
for list sync: it turns outbox payloads into qbXML requests and ``*Rs`` answers into
domain results. The handlers below add what only Desktop has:

* **Iterators.** A pull asks ``iterator="Start"`` with :data:`PAGE_SIZE` records per
  page; each answer queues the next page as a new operation carrying the iteratorID,
  until ``iteratorRemainingCount`` is 0. Iterators die with the QuickBooks session, so
  a page found in a later Web Connector session starts its list again (records already
  mirrored are skipped by EditSequence); QuickBooks' 3391 "iterator no longer valid"
  does the same at once instead of backing off.
* **Look before re-sending an Add.** A creation whose answer was lost (the session
  died) may have been saved: it is first looked up by name, adopted if found, and only
  sent again if not.
"""
from __future__ import annotations

import datetime as dt
import logging
import math
from typing import Any

from sqlalchemy import select

from ... import outbox
from ...store.models import OperationState, OutboxOperation
from ...sync import pull_results, resolutions
from ...operations import (
    Created,
    KeyKind,
    ListName,
    ListPage,
    ListPull,
    OperationKind,
    RecordLookup,
    RefusalReason,
    Refused,
    new_record_from_payload,
)
from .operations import QUICKBOOKS_CLOCK_MARGIN, DesktopOperation, WorkContext
from .qbxml import QbxmlResponse
from . import rows
from .qbxml.render import CUSTOMER_RET_ELEMENTS, ITEM_RET_ELEMENTS
from .record_limits import QUERY_REQUESTS, add_request, queryable_names
from .status import Outcome

log = logging.getLogger(__name__)

PAGE_SIZE = 500
ITERATOR_GONE = 3391
DUPLICATE_NAME = 3100
TEXT_TOO_LONG = 3070
ITEM_ELEMENTS = ITEM_RET_ELEMENTS + ("ItemDesc",)  # group, discount, subtotal... items describe themselves there
CUSTOMER_ELEMENTS = CUSTOMER_RET_ELEMENTS + ("ParentRef",)
QUERIES = {ListName.ITEMS: (QUERY_REQUESTS[ListName.ITEMS], ITEM_ELEMENTS),
           ListName.CUSTOMERS: (QUERY_REQUESTS[ListName.CUSTOMERS], CUSTOMER_ELEMENTS)}
ROWS = {ListName.ITEMS: rows.item_row, ListName.CUSTOMERS: rows.customer_row}


class DesktopListSync:
    """Build qbXML for list-sync operations and read the answers into domain results."""

    kind = "desktop"
    operations = frozenset({
        OperationKind.SYNC_ITEMS, OperationKind.SYNC_CUSTOMERS, OperationKind.RESYNC_ITEM,
        OperationKind.RESYNC_CUSTOMER, OperationKind.CREATE_ITEM, OperationKind.CREATE_CUSTOMER,
    })  # fmt: skip

    def supports(self, operation: OperationKind) -> bool:
        return operation in self.operations

    def build(self, operation: OperationKind, payload: dict[str, Any]) -> tuple[str, dict[str, Any]]:
        if operation in (OperationKind.SYNC_ITEMS, OperationKind.SYNC_CUSTOMERS):
            pull = ListPull.from_payload(payload)
            request_type, elements = QUERIES[pull.list_name]
            data: dict[str, Any] = {"max_returned": PAGE_SIZE, "active_status": "All",
                                    "include_ret_elements": list(elements)}
            if pull.since is not None:
                data["from_modified_date"] = pull.since
            return request_type, data
        if operation in (OperationKind.RESYNC_ITEM, OperationKind.RESYNC_CUSTOMER):
            lookup = RecordLookup.from_payload(payload)
            list_name = _list_of(operation)
            request_type, elements = QUERIES[list_name]
            names = queryable_names(list_name, lookup.values(KeyKind.NAME))
            selection = {"list_ids": list(lookup.ids)} if lookup.ids else {"full_names": names}
            return request_type, {**selection, "include_ret_elements": list(elements)}
        return add_request(new_record_from_payload(operation, payload))

    def read(self, operation: OperationKind, payload: dict[str, Any], answer: QbxmlResponse):
        """A page of rows for pulls and look-ups; Created or Refused for creations."""
        status = answer.status
        if operation in (OperationKind.CREATE_ITEM, OperationKind.CREATE_CUSTOMER):
            if status.outcome is Outcome.OK or status.outcome is Outcome.WARNING:
                return Created(ROWS[_list_of(operation)](answer.records[0]))
            reason = {DUPLICATE_NAME: RefusalReason.DUPLICATE_NAME, TEXT_TOO_LONG: RefusalReason.TOO_LONG}.get(
                status.code, RefusalReason.OTHER)
            return Refused(status.code_text, status.explanation, status.action, status.message, reason=reason,
                           field="name" if status.code == TEXT_TOO_LONG else None)
        to_row = ROWS[_list_of(operation)]
        return ListPage([to_row(record) for record in answer.records], answer.iterator_remaining_count or 0)


BACKEND = DesktopListSync()


def _list_of(operation: OperationKind) -> ListName:
    customers = (OperationKind.SYNC_CUSTOMERS, OperationKind.RESYNC_CUSTOMER, OperationKind.CREATE_CUSTOMER)
    return ListName.CUSTOMERS if operation in customers else ListName.ITEMS


# ----------------------------------------------------------------------------- handlers
class ListPullOperation(DesktopOperation):
    """One page of an item or customer pull; the answer queues the next page."""

    def __init__(self, kind: OperationKind):
        self.kind = kind.value
        self.operation = kind

    def build(self, op, ctx):
        request_type, data = BACKEND.build(self.operation, op.payload)
        iterator_id = op.payload.get("iterator_id")
        if iterator_id and op.payload.get("iterator_session") == ctx.session_id:
            return request_type, {**data, "iterator": "Continue", "iterator_id": iterator_id}
        if iterator_id:
            log.info("%s #%s: the iterator died with its QuickBooks session; starting the list again", op.kind, op.id)
        return request_type, {**data, "iterator": "Start"}

    def handle(self, op, response, ctx):
        if response.status.code == ITERATOR_GONE:
            log.info("%s #%s: QuickBooks forgot the iterator (3391); starting the list again", op.kind, op.id)
            op.payload = {key: value for key, value in op.payload.items() if key not in ("iterator_id", "iterator_session")}
            op.state = OperationState.PENDING.value
            return
        super().handle(op, response, ctx)

    def on_records(self, op, response, ctx):
        payload = op.payload
        pull = ListPull.from_payload(payload)
        page = BACKEND.read(self.operation, payload, response)
        restarted = response.iterator_id is None or response.iterator_id != payload.get("iterator_id")
        result = pull_results.apply_page(ctx.db, ctx.account, pull, page, restarted=restarted)
        earlier = dt.datetime.fromisoformat(payload["newest"]) if payload.get("newest") else None
        newest = max(filter(None, [earlier, result.newest]), default=None)
        outbox.succeed(op, {"records": result.seen, "changed": len(result.changed), "remaining": page.remaining})
        if page.remaining and response.iterator_id:
            following = {**payload, "iterator_id": response.iterator_id, "iterator_session": ctx.session_id,
                         "remaining": page.remaining, "page": payload.get("page", 1) + 1,
                         "newest": newest.isoformat() if newest else None}
            outbox.enqueue(ctx.db, ctx.account.id, op.kind, following, priority=op.priority)
        else:
            pull_results.finish_pull(ctx.db, ctx.account, pull, newest, ctx.now)


class LookupOperation(DesktopOperation):
    """Re-sync: ask QuickBooks for the records one BlueTrace record may match, then re-match it."""

    def __init__(self, kind: OperationKind):
        self.kind = kind.value
        self.operation = kind

    def build(self, op, ctx):
        return BACKEND.build(self.operation, op.payload)

    def handle(self, op, response, ctx):
        super().handle(op, response, ctx)
        if op.state == OperationState.FAILED.value:
            resolutions.lookup_failed(ctx.db, ctx.account, _list_of(self.operation),
                                  RecordLookup.from_payload(op.payload).record_id, op.error_message or "")

    def on_records(self, op, response, ctx):
        page = BACKEND.read(self.operation, op.payload, response)
        lookup = RecordLookup.from_payload(op.payload)
        resolutions.lookup_answered(ctx.db, ctx.account, _list_of(self.operation), lookup, page.rows)
        outbox.succeed(op, {"records": len(page.rows)})


class CreateOperation(DesktopOperation):
    """Create in QuickBooks. An Add whose answer was lost is looked up by name before any resend."""

    idempotent = False

    def __init__(self, kind: OperationKind):
        self.kind = kind.value
        self.operation = kind

    def build(self, op, ctx):
        spec = new_record_from_payload(self.operation, op.payload)
        if op.verify_first:
            request_type, elements = QUERIES[_list_of(self.operation)]
            return request_type, {"full_names": [spec.name], "include_ret_elements": [*elements, "TimeCreated"]}
        request = BACKEND.build(self.operation, op.payload)
        # When the Add was last sent: a record of this name created well before cannot be ours.
        op.payload = {**op.payload, "sent_at": ctx.now.isoformat()}
        return request

    def handle(self, op, response, ctx):
        list_name = _list_of(self.operation)
        spec = new_record_from_payload(self.operation, op.payload)
        if response.rs_type.endswith("QueryRs"):  # the look-up after a lost answer
            if response.records and not self._created_before_sent(op, response.records[0]):
                created = Created(ROWS[list_name](response.records[0]))
                resolutions.created(ctx.db, ctx.account, list_name, spec.record_id, created)
                outbox.succeed(op, {"list_id": created.list_id, "adopted": True})
            elif response.records or response.status.outcome in (Outcome.EMPTY, Outcome.NOT_FOUND):
                # Not saved after all: send the Add. A record of the name that predates our send is
                # somebody else's: QuickBooks refuses the Add as a duplicate name, which a person resolves.
                outbox.looked_up(op)
            else:  # the look-up itself failed: it stays owed (verify_first) whatever happens next
                super().handle(op, response, ctx)
            return
        if response.status.outcome in (Outcome.OK, Outcome.WARNING) and not response.records:
            outbox.mark_unconfirmed(op)  # saved, but QuickBooks did not say as what: look it up
            return
        op.verify_first = False  # QuickBooks answered the Add itself: what it says is final
        result = BACKEND.read(self.operation, op.payload, response)
        if isinstance(result, Created):
            resolutions.created(ctx.db, ctx.account, list_name, spec.record_id, result)
            outbox.succeed(op, {"list_id": result.list_id})
        elif response.status.outcome is Outcome.RETRY:
            outbox.retry_later(op, ctx.now, result.code, result.explanation)
        else:
            outbox.fail(op, result.code, result.explanation)
            resolutions.create_refused(ctx.db, ctx.account, list_name, spec, result)

    @staticmethod
    def _created_before_sent(op: OutboxOperation, record) -> bool:
        sent_at, created = op.payload.get("sent_at"), rows.quickbooks_time(record.get("TimeCreated"))
        return bool(sent_at and created) and created < dt.datetime.fromisoformat(sent_at) - QUICKBOOKS_CLOCK_MARGIN


def handlers() -> list[DesktopOperation]:
    """Every list-sync handler, for ``registry._build()``."""
    return [
        ListPullOperation(OperationKind.SYNC_ITEMS),
        ListPullOperation(OperationKind.SYNC_CUSTOMERS),
        LookupOperation(OperationKind.RESYNC_ITEM),
        LookupOperation(OperationKind.RESYNC_CUSTOMER),
        CreateOperation(OperationKind.CREATE_ITEM),
        CreateOperation(OperationKind.CREATE_CUSTOMER),
    ]


def pages_beyond_ready(db, account_id: int) -> int:
    """Pages of running pulls still to come after the one waiting in the outbox (for honest progress)."""
    payloads = db.scalars(
        select(OutboxOperation.payload).where(
            OutboxOperation.account_id == account_id,
            OutboxOperation.kind.in_([OperationKind.SYNC_ITEMS.value, OperationKind.SYNC_CUSTOMERS.value]),
            OutboxOperation.state.in_(outbox.READY_STATES),
        )
    )
    return sum(max(math.ceil((payload.get("remaining") or 0) / PAGE_SIZE) - 1, 0) for payload in payloads)
