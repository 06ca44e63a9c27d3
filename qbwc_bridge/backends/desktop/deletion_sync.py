"""Deletion sync over the Web Connector: ListDeletedQuery and TxnDeletedQuery since the last pull.

QuickBooks Desktop keeps a record of what was deleted (ListID or TxnID, its type and
TimeDeleted); a merge appears there as the merged-away record deleted. Each deletions
pull asks for one subject since the moment its list's incremental pull asks from (the
high-water mark minus the overlap, see ``sync.pulls``): a deletion reported twice is
harmless, one missed would leave a match on a record that is gone. The answer has no
iterator (the Ret is four short fields), and goes to the engine's ``sync.deletions``.

QuickBooks keeps deletions for :data:`KEPT` only, so a start further back (a company whose
lists have not changed for months keeps an old high-water mark) is brought forward to what
it can still answer: nothing older exists to be told, and a date outside its window is not
one to ask with.
"""
from __future__ import annotations

import datetime as dt
import logging
from typing import Any

from ... import outbox
from ...operations import Deletable, DeletionsPull, Gone, OperationKind
from ...sync import deletions
from .operations import DesktopOperation
from .rows import ITEM_TYPES

log = logging.getLogger(__name__)

KEPT = dt.timedelta(days=90)
# A day inside the window: the QuickBooks PC's clock and its daylight-saving hour may be off ours.
ASK_WITHIN = KEPT - dt.timedelta(days=1)
# Every kind ItemQuery brings into the mirror, as ListDelType names it ("ItemService"...).
ITEM_DEL_TYPES = tuple(f"Item{kind}" for kind in ITEM_TYPES.values())
# (request, its types, the Ret field holding the id) per subject; jobs are deleted as "Customer".
QUERIES: dict[Deletable, tuple[str, tuple[str, ...], str]] = {
    Deletable.ITEMS: ("ListDeletedQuery", ITEM_DEL_TYPES, "ListID"),
    Deletable.CUSTOMERS: ("ListDeletedQuery", ("Customer",), "ListID"),
    Deletable.INVOICES: ("TxnDeletedQuery", ("Invoice",), "TxnID"),
}


def build_request(pull: DeletionsPull, now: dt.datetime) -> tuple[str, dict[str, Any]]:
    request_type, del_types, _id_field = QUERIES[pull.subject]
    since = None if pull.since is None else max(pull.since, now - ASK_WITHIN)
    return request_type, {"del_types": list(del_types), "from_deleted_date": since}


def read_gone(pull: DeletionsPull, records) -> Gone:
    """The ids in a ``*DeletedQueryRs``, of the types asked for only (QuickBooks answers nothing else, but a
    record of another list must never be taken for one of ours)."""
    _request_type, del_types, id_field = QUERIES[pull.subject]
    type_field = "ListDelType" if id_field == "ListID" else "TxnDelType"
    ids = [record.fields[id_field] for record in records
           if record.fields.get(id_field) and record.fields.get(type_field, del_types[0]) in del_types]
    return Gone(pull.subject, tuple(dict.fromkeys(ids)))


class DeletionsOperation(DesktopOperation):
    """One deletions pull: a single request, its answer applied by the engine."""

    def __init__(self, kind: OperationKind):
        self.kind = kind.value

    def build(self, op, ctx):
        return build_request(DeletionsPull.from_payload(op.payload), ctx.now)

    def on_records(self, op, response, ctx):
        pull = DeletionsPull.from_payload(op.payload)
        gone = read_gone(pull, response.records)
        concerned = deletions.apply(ctx.db, ctx.account, gone) if gone.ids else []
        outbox.succeed(op, {"gone": len(gone.ids), "ours": len(concerned)})


def handlers() -> list[DesktopOperation]:
    """Every deletion-sync handler, for ``registry._build()``."""
    return [DeletionsOperation(OperationKind.SYNC_ITEM_DELETIONS),
            DeletionsOperation(OperationKind.SYNC_CUSTOMER_DELETIONS),
            DeletionsOperation(OperationKind.SYNC_INVOICE_DELETIONS)]
