"""The worker's side of the outbox: drive push backends (QuickBooks Online) through the engine.

A worker (``qbwc_bridge.worker``) holds one account's lease and calls :meth:`PushDriver.drive_account`.
The drive asks the engine what the account needs now (``sync.schedule``), then takes the ready
operations one by one, each in three steps:

1. **Mark it sent**, in one committed transaction that also checks the lease is still ours
   (``leases.hold``): a write's request id and send time are durable *before* the request leaves,
   so a crash afterwards is found by the next holder (``leases.unconfirm_in_flight``) and looked up.
2. **Call QuickBooks** through the backend's :class:`~.base.PushLink`, holding no transaction open.
3. **Report the answer** to the engine in a second transaction, unless the operation has moved on
   meanwhile (a takeover made it unconfirmed: the answer is then not believed, it is looked up).

**Exactly once.** A write whose answer is lost (timeout, 5xx, connection gone, our crash) becomes
*unconfirmed* and waits :data:`UNCONFIRMED_WAIT` (QuickBooks may still be applying it). Then it is
**looked up first**: a record or invoice provably ours is adopted. Only when QuickBooks holds none is
it sent again, with the **same request id**, so a QuickBooks that did apply it in the meantime
answers with the original instead of a second copy. Looking up before resending (rather than
resending first and relying on the request id) is deliberate: Intuit does not say how long it
remembers request ids, and one it forgot would make a blind resend a duplicate.
"""
from __future__ import annotations

import datetime as dt
import logging
import uuid
from dataclasses import dataclass
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from .. import backends, leases, outbox
from ..config import Settings
from ..errors import DataError
from ..leases import Lease
from ..operations import (
    NOT_IDEMPOTENT,
    Created,
    DeletionsPull,
    Delivery,
    FoundInvoice,
    Gone,
    InvoiceChangesPull,
    InvoiceStates,
    ListName,
    ListPage,
    ListPull,
    NeedsReconnect,
    NewInvoice,
    NewRecord,
    OperationKind,
    RecordLookup,
    RefusalReason,
    Refused,
    RetryLater,
    Unconfirmed,
    new_record_from_payload,
)
from ..services.status import RECONNECT_NEEDED
from ..store.db import Store
from ..store.models import Account, ConnectionStatus, OperationState, OutboxOperation, PackedOrder, utcnow
from ..sync import deletions, invoice_states, invoices, mirror, pull_results, resolutions, schedule
from ..sync.incremental import next_pull_at
from ..sync.initial import refresh_connection_status
from .base import PushBackend, PushLink

log = logging.getLogger(__name__)

BATCH = 20  # operations read per round; each is sent and answered on its own
MAX_OPERATIONS_PER_DRIVE = 1000  # then the lease goes back, so one huge company cannot starve the others
# A write whose answer was lost may still be applied by QuickBooks for a moment: it is looked up after this.
UNCONFIRMED_WAIT = dt.timedelta(seconds=30)
WHOLE_LISTS = {OperationKind.SYNC_TERMS: ListName.TERMS, OperationKind.SYNC_ACCOUNTS: ListName.ACCOUNTS,
               OperationKind.SYNC_TAX_CODES: ListName.TAX_CODES}
WHOLE_LIST_MIRRORS = {OperationKind.SYNC_TERMS: mirror.upsert_terms, OperationKind.SYNC_ACCOUNTS: mirror.upsert_accounts,
                      OperationKind.SYNC_TAX_CODES: mirror.upsert_tax_codes}
PAGED_LISTS = {OperationKind.SYNC_ITEMS: ListName.ITEMS, OperationKind.SYNC_CUSTOMERS: ListName.CUSTOMERS}
LOOKUPS = {OperationKind.RESYNC_ITEM: ListName.ITEMS, OperationKind.RESYNC_CUSTOMER: ListName.CUSTOMERS}
CREATIONS = {OperationKind.CREATE_ITEM: ListName.ITEMS, OperationKind.CREATE_CUSTOMER: ListName.CUSTOMERS}
# Deletions pulls: asked only of a backend that offers them (``Backend.deletion_kinds``; the engine queues no
# other), and answered with ``PushLink.deleted_since`` (QuickBooks Online: Change Data Capture).
DELETIONS = frozenset({OperationKind.SYNC_ITEM_DELETIONS, OperationKind.SYNC_CUSTOMER_DELETIONS,
                       OperationKind.SYNC_INVOICE_DELETIONS})
_AFTER_FIX = " Then click Retry on the Invoices tab."


@dataclass(frozen=True)
class Request:
    """What one operation asks of QuickBooks, read from the store while the operation was marked sent."""

    kind: OperationKind
    payload: dict[str, Any]
    verifying: bool  # a look-up owed after a lost answer, instead of the write itself
    request_id: str | None
    sent_at: dt.datetime | None
    spec: NewRecord | NewInvoice | None = None


class PushDriver:
    """Drives push accounts for a worker: ``due_accounts`` lists them, ``drive_account`` works one."""

    def __init__(self, settings: Settings, clock=utcnow):
        self.settings = settings
        self.clock = clock

    # -- what is due -------------------------------------------------------------------------
    def due_accounts(self, db: Session, now: dt.datetime) -> list[int]:
        """Push accounts with something to do now: ready operations, or pulls the schedule owes."""
        kinds = [kind for kind in backends.kinds() if backends.for_kind(kind).delivery is Delivery.PUSH]
        if not kinds:
            return []
        accounts = db.scalars(select(Account).where(Account.kind.in_(kinds)).order_by(Account.id))
        return [account.id for account in accounts
                if self._drivable(db, account) and (outbox.has_ready(db, account.id, now) or self._pulls_due(db, account, now))]

    def _drivable(self, db: Session, account: Account) -> bool:
        backend = backends.for_account(account)
        return account.error_code != RECONNECT_NEEDED and backend.ready_to_drive(db, account)

    def _pulls_due(self, db: Session, account: Account, now: dt.datetime) -> bool:
        if account.status == ConnectionStatus.NOT_CONNECTED.value:
            return True
        due_at = next_pull_at(db, account, self.settings.run_every_minutes)
        return due_at is not None and due_at <= now

    # -- one drive ---------------------------------------------------------------------------
    def drive_account(self, store: Store, account_id: int, lease: Lease) -> dt.datetime | None:
        """Send what the account needs now; returns when it next needs a drive (None: nothing planned)."""
        with store.begin() as db:
            leases.hold(db, lease, self.clock())
            account = db.get(Account, account_id, with_for_update=True)
            if account is None or not self._drivable(db, account):
                return None
            schedule.plan(db, account, self.clock(), self.settings.run_every_minutes)
            backend = backends.for_account(account)
        link = backend.link(store, self.settings, account_id)
        try:
            sent = 0
            while sent < MAX_OPERATIONS_PER_DRIVE:
                with store.begin() as db:
                    ready = [op.id for op in outbox.ready(db, account_id, self.clock(), BATCH)]
                if not ready:
                    break
                for op_id in ready:
                    sent += 1
                    if not self._perform(store, backend, link, lease, account_id, op_id):
                        return None  # QuickBooks no longer accepts us: paused until a person reconnects
        finally:
            link.close()
        with store.begin() as db:
            account = db.get(Account, account_id)
            refresh_connection_status(db, account)
            return self._next_due(db, account)

    def _next_due(self, db: Session, account: Account) -> dt.datetime | None:
        now = self.clock()
        if outbox.has_ready(db, account.id, now):
            return now
        waiting = db.scalar(select(func.min(OutboxOperation.not_before)).where(
            OutboxOperation.account_id == account.id, OutboxOperation.state.in_(outbox.READY_STATES)))
        pulls = next_pull_at(db, account, self.settings.run_every_minutes)
        return min(filter(None, [waiting, pulls]), default=None)

    def _perform(self, store: Store, backend: PushBackend, link: PushLink, lease: Lease, account_id: int,
                 op_id: int) -> bool:
        """Send one operation and report its answer. Returns False when the account must pause."""
        with store.begin() as db:
            leases.hold(db, lease, self.clock())
            op = db.get(OutboxOperation, op_id, with_for_update=True, populate_existing=True)
            if op is None or op.state not in outbox.READY_STATES:
                return True
            account = db.get(Account, account_id)
            request = self._mark_sent(db, account, op)
        if request is None:
            return True
        try:
            answer = self._call(link, request)
        except Exception:  # a bug or a transport we did not foresee: never a blind resend
            log.exception("account %s: %s #%s failed in the backend", account_id, request.kind.value, op_id)
            answer = (Unconfirmed("The call to QuickBooks failed unexpectedly.") if request.kind in NOT_IDEMPOTENT
                      else RetryLater(None, "error", "The call to QuickBooks failed unexpectedly."))
        with store.begin() as db:
            op = db.get(OutboxOperation, op_id, with_for_update=True, populate_existing=True)
            if op is None or op.state != OperationState.SENT.value:
                return True  # moved on (a takeover): what we heard is not believed, the look-up decides
            account = db.get(Account, account_id, with_for_update=True)
            if isinstance(answer, NeedsReconnect):
                outbox.back_to_ready(op)
                self._follow(db, op)
                _pause(account, answer)
                return False
            self._report(db, backend, account, op, request, answer)
            if op.state != OperationState.FAILED.value:  # a failed invoice's order was told why by _invoice
                self._follow(db, op)
        return True

    # -- step 1: mark sent -------------------------------------------------------------------
    def _mark_sent(self, db: Session, account: Account, op: OutboxOperation) -> Request | None:
        kind = OperationKind(op.kind)
        now = self.clock()
        spec = None
        if kind in DELETIONS and kind not in backends.for_account(account).deletion_kinds:
            # Only a bug (or a backend switched under a queued pull) puts one here.
            log.error("account %s: %s #%s is not offered by this backend; dropped", account.id, kind.value, op.id)
            outbox.fail(op, "not_offered", "This QuickBooks does not tell the bridge of deletions this way.")
            return None
        if kind is OperationKind.SYNC_INVOICE_CHANGES and not backends.for_account(account).tells_invoice_changes:
            log.error("account %s: %s #%s is not offered by this backend; dropped", account.id, kind.value, op.id)
            outbox.fail(op, "not_offered", "This QuickBooks does not tell the bridge how invoices stand.")
            return None
        if kind is OperationKind.INVOICE_ADD:
            order = invoices.order_for(db, op)
            try:
                spec = invoices.invoice_request(db, account, order)
            except invoices.InvoiceBlocked as blocked:
                invoices.hold(order, op, blocked)
                return None
            except DataError as refused:
                action = (refused.action or str(refused)) + " Then send the corrected order from BlueTrace."
                invoices.block(order, op, code="data", action=action, error=str(refused))
                return None
        elif kind in CREATIONS:
            spec = new_record_from_payload(kind, op.payload)
        verifying = op.verify_first
        if kind in NOT_IDEMPOTENT and not verifying:
            # The same id on every attempt of this write, resends after a look-up included (see the module docstring).
            op.request_id = op.request_id or str(uuid.uuid4())
            # An invoice also keeps what it carried: the look-up after a lost answer recognises that.
            content = {"sent": invoices.SentContent.of(spec).as_payload()} if kind is OperationKind.INVOICE_ADD else {}
            op.payload = {**op.payload, "sent_at": now.isoformat(), **content}
        op.state = OperationState.SENT.value
        op.attempts += 1
        self._follow(db, op)
        sent_at = op.payload.get("sent_at")
        return Request(kind, dict(op.payload), verifying, op.request_id,
                       dt.datetime.fromisoformat(sent_at) if sent_at else None, spec)

    # -- step 2: call ------------------------------------------------------------------------
    def _call(self, link: PushLink, request: Request):
        kind, payload = request.kind, request.payload
        if kind in WHOLE_LISTS:
            return link.pull_whole_list(WHOLE_LISTS[kind])
        if kind in PAGED_LISTS:
            return link.pull_page(ListPull.from_payload(payload), payload.get("cursor"))
        if kind in LOOKUPS:
            return link.look_up(LOOKUPS[kind], RecordLookup.from_payload(payload))
        if kind in DELETIONS:
            return link.deleted_since(DeletionsPull.from_payload(payload))
        if kind is OperationKind.SYNC_INVOICE_CHANGES:
            return link.invoices_changed_since(InvoiceChangesPull.from_payload(payload))
        if kind in CREATIONS:
            if request.verifying:
                return link.find_created(CREATIONS[kind], request.spec)
            return link.create(CREATIONS[kind], request.spec, request.request_id)
        if request.verifying:
            return link.find_invoices(request.spec, request.sent_at or self.clock())
        return link.add_invoice(request.spec, request.request_id)

    # -- step 3: report ----------------------------------------------------------------------
    def _report(self, db: Session, backend: PushBackend, account: Account, op: OutboxOperation, request: Request,
                answer) -> None:
        now = self.clock()
        if isinstance(answer, RetryLater):
            outbox.retry_later(op, now, answer.code, answer.explanation)
            if answer.after is not None:
                op.not_before = max(op.not_before or answer.after, answer.after)
            return
        if isinstance(answer, Unconfirmed):
            outbox.mark_unconfirmed(op, not_before=now + UNCONFIRMED_WAIT)
            return
        kind = request.kind
        if kind in WHOLE_LISTS:
            outbox.succeed(op, {"records": WHOLE_LIST_MIRRORS[kind](db, account.id, answer)})
        elif kind in PAGED_LISTS:
            self._page(db, account, op, request, answer, now)
        elif kind in LOOKUPS:
            resolutions.lookup_answered(db, account, LOOKUPS[kind], RecordLookup.from_payload(request.payload),
                                        answer.rows)
            outbox.succeed(op, {"records": len(answer.rows)})
        elif kind in DELETIONS:
            gone: Gone = answer
            concerned = deletions.apply(db, account, gone) if gone.ids else []
            outbox.succeed(op, {"gone": len(gone.ids), "ours": len(concerned)})
        elif kind is OperationKind.SYNC_INVOICE_CHANGES:
            states: InvoiceStates = answer
            changed = invoice_states.apply(db, account, states)
            outbox.succeed(op, invoice_states.result(states, changed, InvoiceChangesPull.from_payload(request.payload)))
        elif kind in CREATIONS:
            self._creation(db, backend, account, op, request, answer)
        else:
            self._invoice(db, account, op, request, answer)

    def _page(self, db: Session, account: Account, op: OutboxOperation, request: Request, page: ListPage,
              now: dt.datetime) -> None:
        payload = request.payload
        pull = ListPull.from_payload(payload)
        result = pull_results.apply_page(db, account, pull, page, restarted=payload.get("cursor") is None)
        earlier = dt.datetime.fromisoformat(payload["newest"]) if payload.get("newest") else None
        newest = max(filter(None, [earlier, result.newest]), default=None)
        outbox.succeed(op, {"records": result.seen, "changed": len(result.changed), "remaining": page.remaining})
        if page.cursor is not None:
            following = {**payload, "cursor": page.cursor, "remaining": page.remaining,
                         "page": payload.get("page", 1) + 1, "newest": newest.isoformat() if newest else None}
            outbox.enqueue(db, account.id, op.kind, following, priority=op.priority)
        else:
            pull_results.finish_pull(db, account, pull, newest, now)

    def _creation(self, db: Session, backend: PushBackend, account: Account, op: OutboxOperation, request: Request,
                  answer) -> None:
        list_name, spec = CREATIONS[request.kind], request.spec
        if request.verifying:
            earliest = (request.sent_at or self.clock()) - backend.clock_margin
            ours = [row for row in answer if row.get("created_at") is None or row["created_at"] >= earliest]
            if ours:
                row = {key: value for key, value in ours[0].items() if key != "created_at"}
                resolutions.created(db, account, list_name, spec.record_id, Created(row))
                outbox.succeed(op, {"list_id": row["list_id"], "adopted": True})
            else:  # not saved: send it again, with the same request id
                outbox.looked_up(op)
            return
        op.verify_first = False  # QuickBooks answered the write itself: what it says is final
        if isinstance(answer, Created):
            resolutions.created(db, account, list_name, spec.record_id, answer)
            outbox.succeed(op, {"list_id": answer.list_id})
        else:
            outbox.fail(op, answer.code, answer.explanation)
            resolutions.create_refused(db, account, list_name, spec, answer)

    def _invoice(self, db: Session, account: Account, op: OutboxOperation, request: Request, answer) -> None:
        order = invoices.order_for(db, op)
        spec: NewInvoice = request.spec
        if request.verifying:
            found: list[FoundInvoice] = answer
            # What went out (kept when it was sent); an operation sent by an older bridge has only the order's spec.
            sent = request.payload.get("sent")
            invoices.settle_lookup(order, op, account, found,
                                   invoices.SentContent.from_payload(sent) if sent else invoices.SentContent.of(spec))
            return
        op.verify_first = False
        if isinstance(answer, Created):
            outbox.succeed(op, {"txn_id": answer.row.get("txn_id"), "ref_number": answer.row.get("ref_number")})
            return
        refused: Refused = answer
        said = refused.explanation + (f" QuickBooks said: {refused.quickbooks_message}" if refused.quickbooks_message
                                      else "")
        if refused.reason is RefusalReason.SETTING_NEEDED:
            # The action names the setting; choosing it releases the order (sync.invoices.on_matches_changed).
            invoices.block(order, op, code=refused.code, error=said, action=refused.action)
        elif refused.reason is RefusalReason.INVALID_REFERENCE:
            invoices.block(order, op, code=refused.code, error=said, action=refused.action + _AFTER_FIX)
        elif refused.reason in (RefusalReason.TOO_LONG, RefusalReason.TEXT_NOT_ALLOWED):
            invoices.block(order, op, code=refused.code, error=said,
                           action=refused.action + " Then send the corrected order from BlueTrace.")
        elif refused.reason is RefusalReason.OUR_BUG:
            log.error("QuickBooks refused invoice of order %s (operation #%s) as malformed: %s %s", order.order_id,
                      op.id, refused.code, refused.quickbooks_message)
            invoices.fail(order, op, code=refused.code, action=invoices.REPORT_TO_SUPPORT, error=refused.explanation)
        else:
            invoices.fail(order, op, code=refused.code, action=refused.action + _AFTER_FIX, error=said)

    @staticmethod
    def _follow(db: Session, op: OutboxOperation) -> None:
        """An invoice's order shows where its operation stands."""
        if op.kind == OperationKind.INVOICE_ADD.value:
            order = db.get(PackedOrder, (op.account_id, op.payload["order_id"]))
            if order is not None:
                invoices.follow(order, op)


def _pause(account: Account, reason: NeedsReconnect) -> None:
    """QuickBooks no longer accepts our authorization: say so; work waits (never fails) until a reconnect."""
    account.status = ConnectionStatus.ERROR.value
    account.error_code = RECONNECT_NEEDED
    account.error_at = utcnow()
    account.status_message = f"{reason.explanation} {reason.action}"
