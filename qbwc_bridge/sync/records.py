"""Match state of BlueTrace items and customers: re-matching, and every resolution a person takes.

``sync.items`` and ``sync.customers`` are the public faces (the names in the team
contract); this module holds the one implementation both use, parameterised by a
:class:`Side`.

**Re-matching** reads the whole account as plain tuples (never ORM objects, so 100k
records stay cheap), decides the targeted records with :mod:`.matching`, and writes only
the rows whose state changed. Targeted re-matches (one record edited, one QuickBooks
record changed) also re-decide every record sharing a key with them and every record in
a duplicate match, because one record's change can end or start someone else's
duplicate.

**Issues that come from an action stick.** *Duplicate name* and *create failed* are
QuickBooks' answers to "Create in QuickBooks"; a re-match keeps them (rather than going
back to *not found*, and re-creating in a loop) until the record matches, or a person
creates again (maybe under another name), picks a match or unmatches.

**Automatic creation.** While the account's items (customers) sync is on, a record
that is *not found* - nothing similar in QuickBooks that a person should look at first:
no inactive record with its key, no other BlueTrace record with its key, not just
unmatched by a person - is created in QuickBooks by itself.
"""
from __future__ import annotations

import logging
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from sqlalchemy import func, or_, select
from sqlalchemy.orm import Session

from .. import outbox
from ..backends.base import ListName, NewRecord, OperationKind, RecordLookup, Refused, Created
from ..domain import IssueType, ItemMatchField, MatchedBy, PendingAction
from ..errors import Conflict, DataError, NeedsPerson, NotFound
from ..store.models import (
    Account,
    BtCustomer,
    BtItem,
    OperationState,
    OutboxOperation,
    QbAccount,
    QbCustomer,
    QbItem,
    utcnow,
)
from . import matching, mirror, pulls

log = logging.getLogger(__name__)

CHUNK = 500  # ids per IN (...) list
STREAM = 5000  # rows fetched at a time when reading a whole list: 100k rows never sit in memory twice
STICKY = (IssueType.DUPLICATE_NAME.value, IssueType.CREATE_FAILED.value)
UNMATCHED = (IssueType.NOT_FOUND, IssueType.MISSING_SKU, IssueType.MISSING_EMAIL)  # the issues with suggestions
PINNED_BY = (MatchedBy.MANUAL.value, MatchedBy.CREATED.value)
NONE_REJECTED: frozenset[str] = frozenset()  # one shared object: an empty frozenset per row costs 200 bytes
FIELD_WORDS = {
    ItemMatchField.NAME: "item name",
    ItemMatchField.MANUFACTURER_PART_NUMBER: "manufacturer part number",
    ItemMatchField.BARCODE: "bar code",
}
NAME_LIMITS = {ListName.ITEMS: 31, ListName.CUSTOMERS: 41}


@dataclass(frozen=True)
class Side:
    """What differs between items and customers."""

    list_name: ListName
    noun: str
    model: type
    id_column: str
    qb_model: type
    create_kind: OperationKind
    resync_kind: OperationKind
    sync_switch: str  # the Account attribute that turns automatic creation on
    key_label: str  # the candidates' key in issue_detail JSON

    def id_of(self, row: Any) -> str:
        return getattr(row, self.id_column)

    def column(self):
        return getattr(self.model, self.id_column)


ITEMS = Side(ListName.ITEMS, "item", BtItem, "item_id", QbItem, OperationKind.CREATE_ITEM, OperationKind.RESYNC_ITEM,
             "items_sync", "sku")
CUSTOMERS = Side(ListName.CUSTOMERS, "customer", BtCustomer, "customer_id", QbCustomer, OperationKind.CREATE_CUSTOMER,
                 OperationKind.RESYNC_CUSTOMER, "customers_sync", "email")
SIDES = {ListName.ITEMS: ITEMS, ListName.CUSTOMERS: CUSTOMERS}


# ----------------------------------------------------------------------------- loading facts
def _match_field(account: Account) -> ItemMatchField:
    try:
        return ItemMatchField(account.item_match_field)
    except ValueError:
        return ItemMatchField.NAME


def _bt_facts(db: Session, side: Side, account: Account, *where) -> list:
    """What matching needs of the account's BlueTrace records (those meeting ``where``), streamed."""
    model = side.model
    rejected = model.issue_detail["rejected"]
    if side is ITEMS:
        columns = (model.item_id, model.sku, model.name)
    else:
        columns = (model.customer_id, model.billing_email, model.name, model.company_name)
    rows = db.execute(
        select(*columns, model.qb_list_id, model.matched_by, rejected)
        .where(model.account_id == account.id, *where)
        .execution_options(yield_per=STREAM)
    )
    facts = []
    for *values, qb_list_id, matched_by, refused in rows:
        pinned = qb_list_id if matched_by in PINNED_BY else None
        refused = frozenset(refused) if isinstance(refused, list) else NONE_REJECTED
        if side is ITEMS:
            facts.append(matching.BtItemFacts(values[0], values[1], values[2], pinned, refused))
        else:
            facts.append(matching.BtCustomerFacts(values[0], values[1], values[2], values[3], pinned, refused))
    return facts


def _qb_facts(db: Session, side: Side, account: Account, *where) -> list:
    """What matching needs of the mirrored QuickBooks records (those meeting ``where``), streamed."""
    if side is ITEMS:
        q = QbItem
        rows = db.execute(
            select(q.list_id, q.name, q.full_name, q.manufacturer_part_number, q.barcode, q.is_active)
            .where(q.account_id == account.id, *where)
            .execution_options(yield_per=STREAM)
        )
        return [matching.QbItemFacts(*row) for row in rows]
    q = QbCustomer
    rows = db.execute(
        select(q.list_id, q.name, q.full_name, q.company_name, q.email, q.is_active, q.parent_list_id)
        .where(q.account_id == account.id, *where)
        .execution_options(yield_per=STREAM)
    )
    return [matching.QbCustomerFacts(*row) for row in rows]


def _bt_key(side: Side, fact) -> str | None:
    return matching.exact_key(fact.sku) if side is ITEMS else matching.email_key(fact.email)


def _qb_keys(side: Side, fact, field: ItemMatchField) -> tuple[str, ...]:
    if side is CUSTOMERS:
        return matching.email_keys(fact.email)
    value = {ItemMatchField.NAME: fact.name, ItemMatchField.MANUFACTURER_PART_NUMBER: fact.manufacturer_part_number,
             ItemMatchField.BARCODE: fact.barcode}[field]
    key = matching.exact_key(value)
    return (key,) if key else ()


# ----------------------------------------------------------------------------- re-matching
def rematch(db: Session, account: Account, side: Side, ids: Iterable[str] | None = None,
            changed_qb: Iterable[str] | None = None) -> None:
    """Re-decide the given BlueTrace records (None and no ``changed_qb``: all of them).

    ``changed_qb``: QuickBooks ListIDs that changed; the records matched to them or
    carrying one of their keys are re-decided too. Does nothing before the list's initial
    pull is done (there is nothing complete to match against yet). Ends with the invoice
    engine's re-evaluation, so blocked invoices go out once their matches exist.
    """
    if not pulls.initial_done(db, account.id, side.list_name):
        return
    field = _match_field(account)
    decide = (lambda bt, qb, targets: matching.match_items(bt, qb, field, targets)) if side is ITEMS else \
        matching.match_customers
    found = None
    if ids is not None or changed_qb is not None:
        ids, changed_qb = list(ids or ()), sorted(set(changed_qb or ()))
        found = _neighbourhood(db, side, account, ids, changed_qb, field, suggestions=False)
        if found is not None and any(d.issue in UNMATCHED for d in decide(*found).values()):
            found = _neighbourhood(db, side, account, ids, changed_qb, field, suggestions=True)
    if found is None:  # everything (or too many targets to look up one by one)
        bt, qb = _bt_facts(db, side, account), _qb_facts(db, side, account)
        targets = None if ids is None and changed_qb is None else \
            _targets(db, side, account, bt, qb, ids, changed_qb, field)
    else:
        bt, qb, targets = found
    if targets is not None and not targets:
        _invoices_follow(db, account)
        return
    decisions = decide(bt, qb, targets)
    keys = {fact.id: fact.sku if side is ITEMS else fact.email  # the key as typed, for the issue messages
            for fact in bt if (decided := decisions.get(fact.id)) is not None and decided.issue is not None}
    del bt, qb  # what matching needed: the writes below need only decisions
    _apply(db, side, account, decisions, keys, field)
    _invoices_follow(db, account)


def _targets(db, side, account, bt, qb, ids, changed_qb, field) -> set[str]:
    """The records to re-decide: the ones named, their key-mates, every duplicate match, and
    those touched by changed QuickBooks records."""
    model = side.model
    targets = set(ids or ()) | _duplicates(db, side, account)
    changed = set(changed_qb or ())
    wanted_keys = {key for fact in qb if fact.list_id in changed for key in _qb_keys(side, fact, field)}
    changed_list = sorted(changed)
    for start in range(0, len(changed_list), CHUNK):
        targets.update(db.scalars(select(side.column()).where(
            model.account_id == account.id, model.qb_list_id.in_(changed_list[start:start + CHUNK]))))
    wanted_keys |= {key for fact in bt if fact.id in targets and (key := _bt_key(side, fact))}
    if wanted_keys:
        targets.update(fact.id for fact in bt if _bt_key(side, fact) in wanted_keys)
    return targets


def _duplicates(db: Session, side: Side, account: Account) -> set[str]:
    model = side.model
    return set(db.scalars(
        select(side.column()).where(model.account_id == account.id, model.issue == IssueType.DUPLICATE_MATCH.value)))


# ----------------------------------------------------------------------------- a few records: their neighbourhood
FEW = 200  # targets looked up through indexes; more, and reading whole lists is cheaper


def _neighbourhood(db, side, account, ids, changed, field, *, suggestions: bool = True):
    """Just the records a few targets' decisions depend on: ``(bt, qb, targets)``, or None.

    Matching a few records (an API edit, a Re-sync, a QuickBooks change) must not read
    100k of them. A decision depends only on records sharing a key or a suggestion key
    with it, on pins, and - for "is this candidate already taken" - on the records sharing
    the candidates' keys; all are found with a handful of queries, and matching the
    neighbourhood decides exactly as matching everything would. None (read everything
    instead) when there are too many targets, or keys outside ASCII, which SQL's
    ``lower()`` does not fold the way Python does on every database. Without
    ``suggestions`` the (costlier) records only suggestions need are left out: enough
    for records that match or are duplicates.
    """
    model, qb_model = side.model, side.qb_model
    targets = set(ids) | _duplicates(db, side, account)
    if len(targets) > FEW or len(changed) > FEW:
        return None
    if changed:
        targets |= set(db.scalars(select(side.column()).where(
            model.account_id == account.id, model.qb_list_id.in_(changed))))
    bt = {fact.id: fact for fact in _bt_facts(db, side, account, side.column().in_(sorted(targets)))}
    qb = {fact.list_id: fact for fact in _qb_facts(db, side, account, qb_model.list_id.in_(changed))} if changed else {}
    keys = {key for fact in bt.values() if (key := _bt_key(side, fact))}
    keys |= {key for fact in qb.values() for key in _qb_keys(side, fact, field)}
    names = {name for fact in bt.values() for name in _names_of(side, fact) if name}
    if not all(text.isascii() for text in keys | names):
        return None
    for fact in _bt_with_keys(db, side, account, keys):  # key-mates are re-decided too
        bt.setdefault(fact.id, fact)
        targets.add(fact.id)
    if len(targets) > FEW:
        return None
    qb.update((f.list_id, f) for f in _qb_with_keys(db, side, account, keys, field))
    if suggestions:
        qb.update((f.list_id, f) for f in _qb_suggestions(db, side, account, [bt[i] for i in targets if i in bt],
                                                          field))
    # Whether a suggested record is taken depends on who else carries its key.
    more = {key for fact in qb.values() for key in _qb_keys(side, fact, field)} - keys
    if len(more) > FEW * 5 or not all(key.isascii() for key in more):
        return None
    for fact in _bt_with_keys(db, side, account, more):
        bt.setdefault(fact.id, fact)
    qb.update((f.list_id, f) for f in _qb_with_keys(db, side, account, more, field))
    # Pins on either side.
    for fact in _bt_facts(db, side, account, model.qb_list_id.in_(sorted(qb)), model.matched_by.in_(PINNED_BY)):
        bt.setdefault(fact.id, fact)
    pins = sorted({fact.pinned for fact in bt.values() if fact.pinned and fact.pinned not in qb})
    if pins:
        qb.update((f.list_id, f) for f in _qb_facts(db, side, account, qb_model.list_id.in_(pins)))
    return list(bt.values()), list(qb.values()), targets


def _names_of(side: Side, fact) -> tuple[str | None, ...]:
    raw = (fact.name,) if side is ITEMS else (fact.name, fact.company_name)
    return tuple(matching.name_key(value) for value in raw)


def _lowered(column):
    return func.lower(func.trim(column))


def _like(text: str) -> str:
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def _bt_with_keys(db, side, account, keys: set[str]) -> list:
    """BlueTrace records whose SKU / billing email is one of ``keys`` (ASCII), through the search-key index."""
    if not keys:
        return []
    column = side.model.sku_key if side is ITEMS else side.model.email_key
    found = []
    ordered = sorted(keys)
    for start in range(0, len(ordered), CHUNK):
        found.extend(f for f in _bt_facts(db, side, account, column.in_(ordered[start:start + CHUNK]))
                     if _bt_key(side, f) in keys)
    return found


def _qb_with_keys(db, side, account, keys: set[str], field: ItemMatchField) -> list:
    """Mirrored QuickBooks records carrying one of ``keys`` (ASCII), active or not."""
    if not keys:
        return []
    if side is ITEMS:
        condition = _lowered(_item_column(field)).in_(sorted(keys))
    else:
        condition = or_(*(func.lower(QbCustomer.email).like(f"%{_like(key)}%", escape="\\") for key in sorted(keys)))
    return [f for f in _qb_facts(db, side, account, condition) if keys & set(_qb_keys(side, f, field))]


def _qb_suggestions(db, side, account, targets: list, field: ItemMatchField) -> list:
    """Mirrored records a suggestion could name for ``targets``: same name, similar SKU, same mailbox."""
    names = sorted({name for fact in targets for name in _names_of(side, fact) if name})
    conditions = []
    if side is ITEMS:
        if names:
            conditions.append(_lowered(QbItem.name).in_(names))
        loose = sorted({key for fact in targets if (key := matching.loose_key(fact.sku))})
        if loose:
            squeezed = func.lower(_item_column(field))
            for character in (" ", "-", "_", "\u00a0", "\t"):  # what QuickBooks' Latin-1 can hold of them
                squeezed = func.replace(squeezed, character, "")
            conditions.append(squeezed.in_(loose))
    else:
        if names:
            conditions.extend(_lowered(column).in_(names)
                              for column in (QbCustomer.name, QbCustomer.full_name, QbCustomer.company_name))
        users = sorted({user for fact in targets if (key := matching.email_key(fact.email))
                        and (user := matching.local_part(key)) and user.isascii()})
        conditions.extend(func.lower(QbCustomer.email).like(f"%{_like(user)}@%", escape="\\") for user in users)
    return _qb_facts(db, side, account, or_(*conditions)) if conditions else []


def _item_column(field: ItemMatchField):
    return {ItemMatchField.NAME: QbItem.name, ItemMatchField.MANUFACTURER_PART_NUMBER: QbItem.manufacturer_part_number,
            ItemMatchField.BARCODE: QbItem.barcode}[field]


def _state_rows(db: Session, side: Side, account: Account, ids: list[str]) -> list:
    model = side.model
    columns = (side.column(), model.qb_list_id, model.matched_by, model.issue, model.issue_detail, model.pending,
               model.active)
    return list(db.execute(select(*columns).where(model.account_id == account.id, side.column().in_(ids))))


def _apply(db: Session, side: Side, account: Account, decisions: dict, keys: dict, field: ItemMatchField) -> None:
    """Write the rows whose state changed, a few thousand at a time, then queue automatic creations.

    Batches keep memory flat at 100k records: no list of every row's new state, nor of
    every UPDATE's parameters, ever exists.
    """
    creatable = []
    automatic = bool(getattr(account, side.sync_switch))
    ordered = sorted(decisions)
    for start in range(0, len(ordered), STREAM):
        matched, issues = [], []
        for record_id, qb_list_id, matched_by, issue, detail, pending, active in _state_rows(
                db, side, account, ordered[start:start + STREAM]):
            decision = decisions[record_id]
            new = _new_state(side, decision, keys.get(record_id), qb_list_id, matched_by, issue, detail, field)
            if new["qb_list_id"] is not None:
                if (new["qb_list_id"], new["matched_by"], issue, detail) != (qb_list_id, matched_by, None, None):
                    matched.append({"account_id": account.id, side.id_column: record_id,
                                    "qb_list_id": new["qb_list_id"], "matched_by": new["matched_by"]})
            elif (new["issue"], new["issue_detail"], qb_list_id, matched_by) != (issue, detail, None, None):
                issues.append({"account_id": account.id, side.id_column: record_id, "issue": new["issue"],
                               "issue_detail": new["issue_detail"]})
            if (automatic and active and not pending and new["issue"] == IssueType.NOT_FOUND.value
                    and not decision.inactive and not decision.shared_with
                    and not (new["issue_detail"] or {}).get("rejected")):
                creatable.append(record_id)
        mirror.update_rows(db, side.model, matched, constants={"issue": None, "issue_detail": None})
        mirror.update_rows(db, side.model, issues, constants={"qb_list_id": None, "matched_by": None})
    for record_id in creatable:
        _create_automatically(db, account, side, record_id)


def _new_state(side, decision, raw_key, qb_list_id, matched_by, issue, detail, field) -> dict[str, Any]:
    if decision.qb_list_id is not None:
        kept = matched_by if decision.pinned and matched_by in PINNED_BY else MatchedBy.AUTO.value
        return {"qb_list_id": decision.qb_list_id, "matched_by": kept, "issue": None, "issue_detail": None}
    rejected = (detail or {}).get("rejected")
    if issue in STICKY and decision.issue is IssueType.NOT_FOUND:
        return {"qb_list_id": None, "matched_by": None, "issue": issue, "issue_detail": detail}
    new_detail = describe(side, decision, raw_key, field)
    if rejected:
        new_detail["rejected"] = rejected
    return {"qb_list_id": None, "matched_by": None, "issue": decision.issue.value, "issue_detail": new_detail}


def describe(side: Side, decision: matching.Decision, raw_key: str | None, field: ItemMatchField) -> dict[str, Any]:
    """The ``issue_detail`` JSON of an issue: what happened and what to do, in plain words, and candidates."""
    noun, label = side.noun, side.key_label
    shown = (raw_key or "").strip()
    if side is ITEMS:
        where = f"as its {FIELD_WORDS[field]}" if field is not ItemMatchField.NAME else "as its name"
        what = {
            IssueType.MISSING_SKU: ("This item has no SKU in BlueTrace, so it cannot be matched to QuickBooks.",
                                    "Enter the SKU in BlueTrace; the bridge then looks for a match in QuickBooks."),
            IssueType.NOT_FOUND: (f"No QuickBooks item has \u201c{shown}\u201d {where}.",
                                  f"If the item is in QuickBooks, enter \u201c{shown}\u201d there {where} and click "
                                  "Re-sync; otherwise click Create in QuickBooks."),
            IssueType.DUPLICATE_MATCH: (f"Several records carry the SKU \u201c{shown}\u201d.",
                                        "Pick the QuickBooks item that matches this one."),
        }[decision.issue]
    else:
        what = {
            IssueType.MISSING_EMAIL: ("This customer has no billing email in BlueTrace, so it cannot be matched.",
                                      "Enter the billing email in BlueTrace; the bridge then looks for a match."),
            IssueType.NOT_FOUND: (f"No QuickBooks customer has \u201c{shown}\u201d in its Email.",
                                  f"If the customer is in QuickBooks, add \u201c{shown}\u201d to its Email there and "
                                  "click Re-sync; otherwise click Create in QuickBooks."),
            IssueType.DUPLICATE_MATCH: (f"Several customers share the email \u201c{shown}\u201d.",
                                        "Pick the QuickBooks customer that matches this one."),
        }[decision.issue]
    message, action = what
    if decision.issue is IssueType.DUPLICATE_MATCH:
        count = len(decision.candidates)
        if count > 1:
            message += f" {count} QuickBooks {noun}s carry it."
        if decision.shared_with:
            message += f" Other BlueTrace {noun}s carry it too: {', '.join(decision.shared_with[:5])}."
    elif decision.inactive:
        names = ", ".join(f"\u201c{c.name}\u201d" for c in decision.inactive[:3])
        message += f" QuickBooks has an inactive {noun} with it: {names}."
        action = f"Make the {noun} active in QuickBooks and click Re-sync, or pick another match."
    elif decision.candidates:
        action += " Or pick one of the suggested QuickBooks records."
    detail: dict[str, Any] = {
        "message": message,
        "action": action,
        "candidates": [candidate.as_json(label) for candidate in decision.candidates],
    }
    if decision.shared_with:
        detail["shared_with"] = list(decision.shared_with)
    if decision.inactive:
        detail["inactive"] = [candidate.as_json(label) for candidate in decision.inactive]
    return detail


def _invoices_follow(db: Session, account: Account) -> None:
    from . import invoices

    invoices.on_matches_changed(db, account)


# ----------------------------------------------------------------------------- resolutions
def record(db: Session, side: Side, account: Account, record_id: str):
    """The BlueTrace record of this account.

    Raises:
        NotFound: the account has no such record.
    """
    row = db.get(side.model, (account.id, record_id))
    if row is None:
        raise NotFound(f"There is no {side.noun} {record_id!r} in this account.")
    return row


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
            action=f"Make it active in QuickBooks, click Re-sync, then pick it again.",
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

    Queues a look-up of the matched record (by ListID) or of the names it could have, plus
    an incremental pull of the list, which finds a SKU or email just typed into any
    QuickBooks record; the record is re-matched when the answers arrive.

    Raises:
        NotFound: no such record.
    """
    row = record(db, side, account, record_id)
    if row.pending == PendingAction.RESYNCING.value:
        return
    from ..backends.desktop import list_sync

    if row.qb_list_id:
        lookup = RecordLookup(record_id, list_ids=(row.qb_list_id,))
    else:
        names = [row.name, row.company_name] if side is CUSTOMERS else [row.name]
        if side is ITEMS and _match_field(account) is ItemMatchField.NAME:
            names.insert(0, row.sku)
        lookup = RecordLookup(record_id, names=tuple(list_sync.queryable_names(side.list_name, names)))
    from .incremental import queue_pull

    queue_pull(db, account, side.list_name, utcnow())
    if lookup.list_ids or lookup.names:
        outbox.enqueue(db, account.id, side.resync_kind.value, lookup.to_payload(), priority=list_sync.LOOKUP_PRIORITY)
        row.pending = PendingAction.RESYNCING.value


def lookup_answered(db: Session, account: Account, list_name: ListName, lookup: RecordLookup, rows: list[dict]) -> None:
    """QuickBooks answered a Re-sync: mirror what came back and re-match the record.

    A ListID asked for and not returned was deleted in QuickBooks (status 500): its
    mirror copy becomes inactive, so nothing stays matched to a record that is gone.
    """
    side = SIDES[list_name]
    upsert = mirror.upsert_items if side is ITEMS else mirror.upsert_customers
    result = upsert(db, rows)
    gone = sorted(set(lookup.list_ids) - {row["list_id"] for row in rows})
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


def request_create(db: Session, account: Account, side: Side, record_id: str, name: str | None = None) -> None:
    """Create in QuickBooks: queue the Add that makes this record match afterwards.

    ``name`` replaces the QuickBooks name (the rename action after a duplicate name).

    Raises:
        NotFound: no such record.
        Conflict: it is already matched.
        NeedsPerson: the General tab's accounts are missing, QuickBooks is still being
            read, or a field cannot go to QuickBooks as it is (``DataError`` names it).
    """
    row = record(db, side, account, record_id)
    if row.qb_list_id:
        raise Conflict(
            f"This {side.noun} already matches a QuickBooks {side.noun}.",
            action="Unmatch it first if the match is wrong.",
        )
    if row.pending == PendingAction.CREATING.value:
        return
    spec = new_record(db, account, side, row, name)
    from ..backends.desktop import list_sync
    from ..backends.desktop.qbxml import QbxmlVersion

    list_sync.check_new_record(spec, QbxmlVersion.parse(account.qbxml_version or "13.0"))
    outbox.enqueue(db, account.id, side.create_kind.value, spec.to_payload(), priority=list_sync.CREATE_PRIORITY)
    row.pending = PendingAction.CREATING.value


def _create_automatically(db: Session, account: Account, side: Side, record_id: str) -> None:
    """Sync is on and nothing matches: create, or say on the record why that cannot happen yet."""
    try:
        request_create(db, account, side, record_id)
    except DataError as refused:
        row = db.get(side.model, (account.id, record_id))
        row.issue = IssueType.CREATE_FAILED.value
        row.issue_detail = _failure_detail(side, refused.explanation, refused.action or "", "", refused.field)
    except (NeedsPerson, Conflict) as blocked:
        row = db.get(side.model, (account.id, record_id))
        detail = dict(row.issue_detail or {})
        detail["create_blocked"] = f"{blocked.explanation} {blocked.action or ''}".strip()
        row.issue_detail = detail


def _failure_detail(side: Side, explanation: str, action: str, quickbooks_message: str, field: str | None) -> dict:
    detail: dict[str, Any] = {"message": explanation, "action": action, "candidates": []}
    if quickbooks_message:
        detail["quickbooks_message"] = quickbooks_message
    if field in (None, "name"):
        detail["actions"] = [_rename_action(side)]
    return detail


def _rename_action(side: Side) -> dict[str, Any]:
    return {"action": "rename", "label": "Create in QuickBooks under another name", "field": "name",
            "max_length": NAME_LIMITS[side.list_name]}


def created(db: Session, account: Account, list_name: ListName, record_id: str, result: Created) -> None:
    """QuickBooks saved the record the bridge asked for: mirror it and pin the match."""
    side = SIDES[list_name]
    upsert = mirror.upsert_items if side is ITEMS else mirror.upsert_customers
    upsert(db, [result.row])
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
            "action": (f"Create it under another name, or rename the existing record in QuickBooks and click "
                       f"Re-sync, or pick the existing {side.noun} as the match."),
            "attempted_name": spec.name,
            "quickbooks_message": refused.quickbooks_message,
            "candidates": [matching.Candidate(q.list_id, q.full_name, _shown_key(side, account, q), "same_name")
                           .as_json(side.key_label) for q in holders],
            "actions": [_rename_action(side)],
        }
    else:
        row.issue = IssueType.CREATE_FAILED.value
        row.issue_detail = _failure_detail(side, refused.explanation, refused.action, refused.quickbooks_message,
                                           "name" if refused.code == "3070" else "other")
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
    field = _match_field(account)
    return {ItemMatchField.NAME: q.name, ItemMatchField.MANUFACTURER_PART_NUMBER: q.manufacturer_part_number,
            ItemMatchField.BARCODE: q.barcode}[field]


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
                action="Wait for the next Web Connector run to finish, then pick the match if it is still needed.",
            )
        outbox.fail(op, "cancelled", "A person picked an existing QuickBooks record instead.")


# ----------------------------------------------------------------------------- what to create
def new_record(db: Session, account: Account, side: Side, row, name: str | None) -> NewRecord:
    """The Add for one record, following the account's settings.

    Raises:
        NeedsPerson: something a person must set first (accounts, a SKU, a name).
    """
    if not pulls.initial_done(db, account.id, side.list_name):
        raise NeedsPerson(
            f"The bridge is still reading QuickBooks' {side.list_name.value}; creating now could make a duplicate.",
            action="Try again once the connection shows Connected.",
        )
    chosen = (name or "").strip() or None
    return _new_item(db, account, row, chosen) if side is ITEMS else _new_customer(row, chosen)


def _account_ref(db: Session, account: Account, list_id: str | None, what: str) -> str:
    found = db.get(QbAccount, (account.id, list_id)) if list_id else None
    if found is None or not found.is_active:
        raise NeedsPerson(
            f"Creating items in QuickBooks needs the {what} account, and it is not set (or no longer in QuickBooks).",
            action="Choose the AR and AP accounts on the General tab, then try again.",
        )
    return list_id


def _inventory_asset(db: Session, account: Account) -> str:
    assets = list(db.scalars(select(QbAccount).where(
        QbAccount.account_id == account.id, QbAccount.account_type == "OtherCurrentAsset", QbAccount.is_active)))
    preferred = [a for a in assets if a.full_name.casefold() == "inventory asset"] or assets
    if not preferred:
        raise NeedsPerson(
            "Inventory items need an inventory asset account, and QuickBooks has none.",
            action="Turn inventory on in QuickBooks (it creates \u201cInventory Asset\u201d), click Re-sync, then try again.",
        )
    return preferred[0].list_id


REQUESTS = {"service": "ItemServiceAdd", "non_inventory": "ItemNonInventoryAdd", "inventory": "ItemInventoryAdd"}


def _new_item(db: Session, account: Account, row: BtItem, name: str | None) -> NewRecord:
    field = _match_field(account)
    sku = (row.sku or "").strip() or None
    if sku is None:
        raise NeedsPerson("This item has no SKU, so an item created from it could never match.",
                          action="Enter the SKU in BlueTrace first.")
    income = _account_ref(db, account, account.ar_account_id, '"AR" (income)')
    expense = _account_ref(db, account, account.ap_account_id, '"AP" (expense)')
    request = REQUESTS.get(row.kind, "ItemNonInventoryAdd")
    if field is ItemMatchField.NAME:
        qb_name, description = name or sku, row.name  # the SKU is the name; BlueTrace's name describes it
    else:
        qb_name, description = name or row.name, row.description or row.name
    data: dict[str, Any] = {
        "name": qb_name,
        "is_active": bool(row.active),
        "sales_desc": description,
        "sales_price": None if row.sales_price is None else str(row.sales_price),
        "income_account_list_id": income,
        "purchase_desc": description,
        "purchase_cost": None if row.purchase_cost is None else str(row.purchase_cost),
    }
    if request == "ItemInventoryAdd":
        data["cogs_account_list_id"] = expense
        data["asset_account_list_id"] = _inventory_asset(db, account)
    else:
        data["expense_account_list_id"] = expense
    if field is ItemMatchField.MANUFACTURER_PART_NUMBER:
        if request == "ItemServiceAdd":
            raise NeedsPerson("QuickBooks service items have no manufacturer part number, so this SKU could not be "
                              "stored where matching looks for it.",
                              action="Match service items by hand, or match items by name on the Items tab.")
        data["manufacturer_part_number"] = sku
    elif field is ItemMatchField.BARCODE:
        if account.qbxml_version and tuple(map(int, account.qbxml_version.split("."))) < (12, 0):
            raise NeedsPerson("This QuickBooks is too old to store bar codes (QuickBooks 2012 or newer is needed).",
                              action="Match items by name or manufacturer part number on the Items tab.")
        data["bar_code_value"] = sku
    return NewRecord(row.item_id, request, qb_name, {k: v for k, v in data.items() if v is not None})


ADDRESS_KEYS = {"line1": "addr1", "line2": "addr2", "line3": "addr3", "line4": "addr4", "line5": "addr5",
                "city": "city", "state": "state", "postal_code": "postal_code", "country": "country"}


def _address(value: dict[str, Any] | None) -> dict[str, str] | None:
    if not value:
        return None
    address = {ADDRESS_KEYS[key]: text for key, text in value.items() if key in ADDRESS_KEYS and text}
    return address or None


def _new_customer(row: BtCustomer, name: str | None) -> NewRecord:
    qb_name = name or (row.name or "").strip()
    if not qb_name:
        raise NeedsPerson("This customer has no name.", action="Enter the customer's name in BlueTrace first.")
    data = {
        "name": qb_name,
        "is_active": bool(row.active),
        "company_name": row.company_name,
        "bill_address": _address(row.bill_address),
        "ship_address": _address(row.ship_address),
        "phone": row.phone,
        "email": (row.billing_email or "").strip() or None,
    }
    return NewRecord(row.customer_id, "CustomerAdd", qb_name, {k: v for k, v in data.items() if v is not None})
