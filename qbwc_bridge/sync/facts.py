"""Reading what matching needs from the store: whole lists, or just a few records' neighbourhood.

Everything is read as plain tuples (never ORM objects), streamed, so 100k records stay
cheap. A full re-match reads both whole lists; re-matching a few records (an API edit,
a Re-sync, a QuickBooks change) reads only what their decisions depend on, through
indexed look-ups (:func:`neighbourhood`), and decides exactly as reading everything
would.
"""
from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from sqlalchemy import case, func, or_, select
from sqlalchemy.orm import Session

from ..operations import ListName, OperationKind
from ..domain import IssueType, ItemMatchField, MatchedBy
from ..errors import NotFound
from ..store.db import plain_rows
from ..store.models import Account, BtCustomer, BtItem, QbCustomer, QbItem
from . import matching

CHUNK = 500  # ids per IN (...) list
STREAM = 5000  # rows fetched at a time when reading a whole list: 100k rows never sit in memory twice
PINNED_BY = (MatchedBy.MANUAL.value, MatchedBy.CREATED.value)
NONE_REJECTED: frozenset[str] = frozenset()  # one shared object: an empty frozenset per row costs 200 bytes
# Facts are built from full rows with tuple.__new__: a NamedTuple's own __new__ is a Python
# call, and a whole-list re-match builds 100k facts on each side.
_new = tuple.__new__


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


def record(db: Session, side: Side, account: Account, record_id: str):
    """The BlueTrace record of this account.

    Raises:
        NotFound: the account has no such record.
    """
    row = db.get(side.model, (account.id, record_id))
    if row is None:
        raise NotFound(f"There is no {side.noun} {record_id!r} in this account.")
    return row


def match_field(account: Account) -> ItemMatchField:
    try:
        return ItemMatchField(account.item_match_field)
    except ValueError:
        return ItemMatchField.NAME


def bt_facts(db: Session, side: Side, account: Account, *where) -> list:
    """What matching needs of the account's BlueTrace records (those meeting ``where``), streamed."""
    model = side.model
    # Only where there is a detail: a JSON path into NULL still comes back as JSON text ('null')
    # on SQLite, and decoding 100k of those costs more than reading the records.
    rejected = case((model.issue_detail.is_not(None), model.issue_detail["rejected"]))
    if side is ITEMS:
        columns = (model.item_id, model.sku, model.name)
    else:
        columns = (model.customer_id, model.billing_email, model.name, model.company_name)
    rows = plain_rows(
        db,
        select(*columns, model.qb_list_id, model.matched_by, rejected)
        .where(model.account_id == account.id, *where)
        .execution_options(yield_per=STREAM)
    )
    kind = matching.BtItemFacts if side is ITEMS else matching.BtCustomerFacts
    return [_new(kind, (*values, qb_list_id if matched_by in PINNED_BY else None,
                        frozenset(refused) if isinstance(refused, list) else NONE_REJECTED))
            for *values, qb_list_id, matched_by, refused in rows]


def qb_facts(db: Session, side: Side, account: Account, *where) -> list:
    """What matching needs of the mirrored QuickBooks records (those meeting ``where``)."""
    return list(each_qb_fact(db, side, account, *where))


def each_qb_fact(db: Session, side: Side, account: Account, *where) -> Iterator:
    """:func:`qb_facts` one by one as the database streams them, for a reader that keeps only what it
    derives from each: a whole-list re-match, whose peak memory the 100k facts raised by about 10 MB."""
    if side is ITEMS:
        q = QbItem
        columns = (q.list_id, q.name, q.full_name, q.manufacturer_part_number, q.barcode, q.is_active, q.sku)
        kind = matching.QbItemFacts
    else:
        q = QbCustomer
        columns = (q.list_id, q.name, q.full_name, q.company_name, q.email, q.is_active, q.parent_list_id)
        kind = matching.QbCustomerFacts
    rows = plain_rows(db, select(*columns).where(q.account_id == account.id, *where).execution_options(yield_per=STREAM))
    return (_new(kind, row) for row in rows)


def bt_key(side: Side, fact) -> str | None:
    return matching.exact_key(fact.sku) if side is ITEMS else matching.email_key(fact.email)


def qb_keys(side: Side, fact, field: ItemMatchField) -> tuple[str, ...]:
    if side is CUSTOMERS:
        return matching.email_keys(fact.email)
    value = getattr(fact, matching.ITEM_KEY_FIELDS[field])
    key = matching.exact_key(value)
    return (key,) if key else ()



def targets_of(db, side, account, bt, qb, ids, changed_qb, field) -> set[str]:
    """The records to re-decide: the ones named, their key-mates, every duplicate match, and
    those touched by changed QuickBooks records."""
    model = side.model
    targets = set(ids or ()) | duplicates(db, side, account)
    changed = set(changed_qb or ())
    wanted_keys = {key for fact in qb if fact.list_id in changed for key in qb_keys(side, fact, field)}
    changed_list = sorted(changed)
    for start in range(0, len(changed_list), CHUNK):
        targets.update(db.scalars(select(side.column()).where(
            model.account_id == account.id, model.qb_list_id.in_(changed_list[start:start + CHUNK]))))
    wanted_keys |= {key for fact in bt if fact.id in targets and (key := bt_key(side, fact))}
    if wanted_keys:
        targets.update(fact.id for fact in bt if bt_key(side, fact) in wanted_keys)
    return targets


def duplicates(db: Session, side: Side, account: Account) -> set[str]:
    model = side.model
    return set(db.scalars(
        select(side.column()).where(model.account_id == account.id, model.issue == IssueType.DUPLICATE_MATCH.value)))


# ----------------------------------------------------------------------------- a few records: their neighbourhood
FEW = 200  # targets looked up through indexes; more, and reading whole lists is cheaper


def neighbourhood(db, side, account, ids, changed, field, *, suggestions: bool = True):
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
    targets = set(ids) | duplicates(db, side, account)
    if len(targets) > FEW or len(changed) > FEW:
        return None
    if changed:
        targets |= set(db.scalars(select(side.column()).where(
            model.account_id == account.id, model.qb_list_id.in_(changed))))
    bt = {fact.id: fact for fact in bt_facts(db, side, account, side.column().in_(sorted(targets)))}
    qb = {fact.list_id: fact for fact in qb_facts(db, side, account, qb_model.list_id.in_(changed))} if changed else {}
    keys = {key for fact in bt.values() if (key := bt_key(side, fact))}
    keys |= {key for fact in qb.values() for key in qb_keys(side, fact, field)}
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
    more = {key for fact in qb.values() for key in qb_keys(side, fact, field)} - keys
    if len(more) > FEW * 5 or not all(key.isascii() for key in more):
        return None
    for fact in _bt_with_keys(db, side, account, more):
        bt.setdefault(fact.id, fact)
    qb.update((f.list_id, f) for f in _qb_with_keys(db, side, account, more, field))
    # Pins on either side.
    for fact in bt_facts(db, side, account, model.qb_list_id.in_(sorted(qb)), model.matched_by.in_(PINNED_BY)):
        bt.setdefault(fact.id, fact)
    pins = sorted({fact.pinned for fact in bt.values() if fact.pinned and fact.pinned not in qb})
    if pins:
        qb.update((f.list_id, f) for f in qb_facts(db, side, account, qb_model.list_id.in_(pins)))
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
        found.extend(f for f in bt_facts(db, side, account, column.in_(ordered[start:start + CHUNK]))
                     if bt_key(side, f) in keys)
    return found


def _qb_with_keys(db, side, account, keys: set[str], field: ItemMatchField) -> list:
    """Mirrored QuickBooks records carrying one of ``keys`` (ASCII), active or not."""
    if not keys:
        return []
    if side is ITEMS:
        condition = _lowered(_item_column(field)).in_(sorted(keys))
    else:
        condition = or_(*(func.lower(QbCustomer.email).like(f"%{_like(key)}%", escape="\\") for key in sorted(keys)))
    return [f for f in qb_facts(db, side, account, condition) if keys & set(qb_keys(side, f, field))]


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
    return qb_facts(db, side, account, or_(*conditions)) if conditions else []


def _item_column(field: ItemMatchField):
    return getattr(QbItem, matching.ITEM_KEY_FIELDS[field])
