"""Resolutions a person takes on the Items and Customers tabs, and QuickBooks' answers to them.

Pick a match (or accept a suggestion), unmatch, Re-sync (Create in QuickBooks is
:func:`.creation.request_create`, which re-matching calls too); then,
when the backend brings QuickBooks' answer, :func:`lookup_answered`,
:func:`created` and :func:`create_refused` put the record where it now stands.
"""
from __future__ import annotations

import logging

from sqlalchemy import select
from sqlalchemy.orm import Session

from .. import backends, outbox
from ..operations import Created, KeyKind, ListName, NewRecord, RecordLookup, Refused
from ..domain import IssueType, ItemMatchField, MatchedBy, PendingAction
from ..errors import Conflict, NotFound
from ..store.models import Account, OperationState, OutboxOperation, utcnow
from . import facts, matching, mirror
from .creation import failure_detail, rename_action
from .facts import CUSTOMERS, ITEMS, SIDES, Side, record
from .incremental import queue_pull
from .records import rematch

log = logging.getLogger(__name__)

LOOKUP_PRIORITY = 30  # Re-sync look-ups: after the list pulls (a person waits), before creations

def match_manually(db: Session, account: Account, side: Side, record_id: str, quickbooks_id: str) -> None:
    """A person picks the QuickBooks record (or accepts a suggestion); the match is kept from now on.

    Raises:
        NotFound: no such record, or the QuickBooks record is not in the last sync.
        Conflict: the QuickBooks record is inactive, or a creation for this record is on its way.
    """
    row = record(db, side, account, record_id)
    qb = db.get(side.qb_model, (account.id, quickbooks_id))
    if qb is None:
        raise NotFound(f"QuickBooks has no {side.noun} with id {quickbooks_id!r} (as of the last sync).")
    if not qb.is_active:
        raise Conflict(
            f"The QuickBooks {side.noun} \u201c{qb.full_name}\u201d is inactive.",
            action="Make it active in QuickBooks, click Re-sync, then pick it again.",
        )
    if row.pending == PendingAction.CREATING.value:
        _cancel_creation(db, account, side, record_id)
    row.qb_list_id, row.matched_by = quickbooks_id, MatchedBy.MANUAL.value
    row.issue = row.issue_detail = row.pending = None
    db.flush()
    rematch(db, account, side, [record_id])


def unmatch(db: Session, account: Account, side: Side, record_id: str) -> None:
    """Forget the match; the record is not matched to that QuickBooks record again automatically.

    Raises:
        NotFound: no such record.
    """
    row = record(db, side, account, record_id)
    if row.qb_list_id is None:
        return
    rejected = list(dict.fromkeys([*((row.issue_detail or {}).get("rejected") or []), row.qb_list_id]))
    row.qb_list_id = row.matched_by = row.issue = None
    row.issue_detail = {"rejected": rejected}
    db.flush()
    rematch(db, account, side, [record_id])


def request_resync(db: Session, account: Account, side: Side, record_id: str) -> None:
    """Ask QuickBooks again for this record's counterpart (and for everything changed lately).

    Queues a look-up of the matched record (by its QuickBooks id) or of the names it could have, plus
    an incremental pull of the list, which finds a SKU or email just typed into any
    QuickBooks record; the record is re-matched when the answers arrive.

    Raises:
        NotFound: no such record.
    """
    row = record(db, side, account, record_id)
    if row.pending == PendingAction.RESYNCING.value:
        return
    if row.qb_list_id:
        lookup = RecordLookup(record_id, ids=(row.qb_list_id,))
    else:
        lookup = RecordLookup(record_id, keys=_lookup_keys(side, account, row))
    queue_pull(db, account, side.list_name, utcnow())
    if lookup.ids or lookup.keys:
        outbox.enqueue(db, account.id, side.resync_kind.value, lookup.to_payload(), priority=LOOKUP_PRIORITY)
        row.pending = PendingAction.RESYNCING.value


def _lookup_keys(side: Side, account: Account, row) -> tuple[tuple[KeyKind, str], ...]:
    """What a QuickBooks record matching ``row`` may carry, as far as this account's QuickBooks can be asked."""
    if side is CUSTOMERS:
        wanted = [(KeyKind.EMAIL, row.billing_email), (KeyKind.NAME, row.name), (KeyKind.NAME, row.company_name)]
    else:
        sku_kind = {ItemMatchField.NAME: KeyKind.NAME, ItemMatchField.SKU: KeyKind.SKU}.get(facts.match_field(account))
        wanted = ([(sku_kind, row.sku)] if sku_kind else []) + [(KeyKind.NAME, row.name)]
    backend = backends.for_account(account)
    keys: dict[tuple[KeyKind, str], None] = {}
    for kind, value in wanted:
        value = (value or "").strip()
        if value and (kind, value.casefold()) not in {(k, v.casefold()) for k, v in keys}:
            if backend.can_look_up(side.list_name, kind, value):
                keys[(kind, value)] = None
    return tuple(keys)


def lookup_answered(db: Session, account: Account, list_name: ListName, lookup: RecordLookup, rows: list[dict]) -> None:
    """QuickBooks answered a Re-sync: mirror what came back and re-match the record.

    A QuickBooks id asked for and not returned was deleted in QuickBooks: its
    mirror copy becomes inactive, so nothing stays matched to a record that is gone.
    """
    side = SIDES[list_name]
    upsert = mirror.upsert_items if side is ITEMS else mirror.upsert_customers
    result = upsert(db, account.id, rows)
    gone = sorted(set(lookup.ids) - {row["list_id"] for row in rows})
    for list_id in gone:
        copy = db.get(side.qb_model, (account.id, list_id))
        if copy is not None and copy.is_active:
            copy.is_active = False
            result.changed.append(list_id)
    db.flush()
    row = db.get(side.model, (account.id, lookup.record_id))
    if row is not None and row.pending == PendingAction.RESYNCING.value:
        row.pending = None
        db.flush()
    rematch(db, account, side, [lookup.record_id] if row is not None else [], result.changed)


def lookup_failed(db: Session, account: Account, list_name: ListName, record_id: str, explanation: str) -> None:
    side = SIDES[list_name]
    row = db.get(side.model, (account.id, record_id))
    if row is not None and row.pending == PendingAction.RESYNCING.value:
        row.pending = None
        log.warning("account %s: re-sync of %s %s failed: %s", account.id, side.noun, record_id, explanation)


def created(db: Session, account: Account, list_name: ListName, record_id: str, result: Created) -> None:
    """QuickBooks saved the record the bridge asked for: mirror it and pin the match."""
    side = SIDES[list_name]
    upsert = mirror.upsert_items if side is ITEMS else mirror.upsert_customers
    upsert(db, account.id, [result.row])
    row = db.get(side.model, (account.id, record_id))
    if row is not None:
        row.qb_list_id, row.matched_by = result.list_id, MatchedBy.CREATED.value
        row.issue = row.issue_detail = row.pending = None
        db.flush()
    rematch(db, account, side, [record_id] if row is not None else [], [result.list_id])


def create_refused(db: Session, account: Account, list_name: ListName, spec: NewRecord, refused: Refused) -> None:
    """QuickBooks would not create it: a duplicate name (with the rename action) or another failure."""
    side = SIDES[list_name]
    row = db.get(side.model, (account.id, spec.record_id))
    if row is None:
        return
    row.pending = None
    if refused.duplicate_name:
        row.issue = IssueType.DUPLICATE_NAME.value
        holders = _same_name(db, side, account, spec.name)
        shared = (" Customers, vendors, employees and other names share one list in QuickBooks Desktop."
                  if side is CUSTOMERS else " Every item name must be unique in QuickBooks.")
        row.issue_detail = {
            "message": f"QuickBooks already uses the name \u201c{spec.name}\u201d.{shared}",
            "action": ("Create it under another name, or rename the existing record in QuickBooks and click "
                       f"Re-sync, or pick the existing {side.noun} as the match."),
            "attempted_name": spec.name,
            "quickbooks_message": refused.quickbooks_message,
            "candidates": [matching.Candidate(q.list_id, q.full_name, _shown_key(side, account, q), "same_name")
                           .as_json(side.key_label) for q in holders],
            "actions": [rename_action(side, account)],
        }
    else:
        row.issue = IssueType.CREATE_FAILED.value
        row.issue_detail = failure_detail(side, account, refused.explanation, refused.action,
                                          refused.quickbooks_message, refused.field or "other")
        row.issue_detail["code"] = refused.code


def _same_name(db: Session, side: Side, account: Account, name: str) -> list:
    """Mirror records holding ``name`` (QuickBooks compares names ignoring case)."""
    model = side.qb_model
    wanted = name.strip().casefold()
    column = model.name if side is ITEMS else model.full_name
    rows = db.scalars(select(model).where(model.account_id == account.id, column.ilike(name.strip())))
    return [q for q in rows if (q.name if side is ITEMS else q.full_name).strip().casefold() == wanted][:5]


def _shown_key(side: Side, account: Account, q) -> str | None:
    if side is CUSTOMERS:
        return q.email
    return getattr(q, matching.ITEM_KEY_FIELDS[facts.match_field(account)])


def _cancel_creation(db: Session, account: Account, side: Side, record_id: str) -> None:
    """A person picked a match while a creation waits: drop it unless it is already with QuickBooks.

    Raises:
        Conflict: the Add was sent and its answer is not in yet.
    """
    waiting = db.scalars(select(OutboxOperation).where(
        OutboxOperation.account_id == account.id, OutboxOperation.kind == side.create_kind.value,
        OutboxOperation.state.in_(outbox.READY_STATES + (OperationState.SENT.value,))))
    for op in waiting:
        if op.payload.get("record_id") != record_id:
            continue
        if op.state != OperationState.PENDING.value:
            raise Conflict(
                f"The bridge is creating this {side.noun} in QuickBooks right now.",
                action=f"Wait until QuickBooks has answered ({backends.for_account(account).answer_wait}), "
                       "then pick the match if it is still needed.",
            )
        outbox.fail(op, "cancelled", "A person picked an existing QuickBooks record instead.")
