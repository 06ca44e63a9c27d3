"""How our invoices stand in QuickBooks Desktop: an InvoiceQuery of the invoices modified since the last pull.

Receiving a payment, voiding an invoice or editing its lines modifies the invoice in QuickBooks,
so the invoice-state pull (``SYNC_INVOICE_CHANGES``, queued by ``sync.incremental``) asks for
every invoice modified since its start with a ``ModifiedDateRangeFilter``, and only the elements
that say how it stands (``IncludeRetElement``: no lines, no addresses), so the answer stays
small however many invoices a bookkeeper touched. The engine (``sync.invoice_states``) keeps
the ones we created and ignores the rest.

What an ``InvoiceRet`` says (qbXML 13.0 order): ``Subtotal``, ``SalesTaxTotal``, ``AppliedAmount``
(payments and credits applied, negative), ``BalanceRemaining``, ``Memo``, ``IsPaid``. The total is
``Subtotal`` plus ``SalesTaxTotal``. InvoiceRet has no voided flag: QuickBooks Desktop keeps a voided
invoice with every amount zeroed and "VOID:" before its memo, so both together say it (an invoice
merely edited down to zero keeps its memo).
"""
from __future__ import annotations

import datetime as dt
from decimal import Decimal, InvalidOperation
from typing import Any

from ... import outbox
from ...operations import InvoiceChangesPull, InvoiceState, InvoiceStates, OperationKind
from ...sync import invoice_states
from .operations import DesktopOperation
from .rows import quickbooks_time

VOID_MEMO = "VOID:"
STATE_ELEMENTS = ["TxnID", "TimeModified", "Subtotal", "SalesTaxTotal", "BalanceRemaining", "Memo"]


def build_request(pull: InvoiceChangesPull) -> tuple[str, dict[str, Any]]:
    return "InvoiceQuery", {"from_modified_date": pull.since, "include_ret_elements": STATE_ELEMENTS}


def _amount(value: Any) -> Decimal:
    try:
        return Decimal(str(value).strip()) if value not in (None, "") else Decimal(0)
    except InvalidOperation:
        return Decimal(0)


def read_state(fields: dict[str, Any]) -> InvoiceState | None:
    """One InvoiceRet as the engine's state; None without a TxnID (never ours)."""
    txn_id = fields.get("TxnID")
    if not txn_id:
        return None
    total = _amount(fields.get("Subtotal")) + _amount(fields.get("SalesTaxTotal"))
    memo = str(fields.get("Memo") or "")
    modified: dt.datetime | None = quickbooks_time(fields.get("TimeModified"))
    return InvoiceState(id=str(txn_id), total=total, balance=_amount(fields.get("BalanceRemaining")),
                        voided=total == 0 and memo.startswith(VOID_MEMO), modified_at=modified)


class InvoiceChangesOperation(DesktopOperation):
    """One invoice-state pull: a single InvoiceQuery, its answer applied by the engine."""

    kind = OperationKind.SYNC_INVOICE_CHANGES.value

    def build(self, op, ctx):
        return build_request(InvoiceChangesPull.from_payload(op.payload))

    def on_records(self, op, response, ctx):
        states = InvoiceStates(tuple(state for state in (read_state(record.fields) for record in response.records)
                                     if state is not None))
        changed = invoice_states.apply(ctx.db, ctx.account, states) if states.invoices else []
        outbox.succeed(op, invoice_states.result(states, changed, InvoiceChangesPull.from_payload(op.payload)))
