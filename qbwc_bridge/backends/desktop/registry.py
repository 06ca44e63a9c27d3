"""Every Desktop operation kind the outbox may hold, and the handler that sends it.

Handlers live beside their feature (list sync, invoices); this is the one place that
lists them, so the conversation can look any operation up by its kind.
"""
from __future__ import annotations

from ...sync import mirror
from . import deletion_sync, list_sync, rows
from .invoice_state_sync import InvoiceChangesOperation
from .invoice_operations import InvoiceAddOperation
from .operations import DesktopOperation, SyncList


def _build() -> dict[str, DesktopOperation]:
    handlers: list[DesktopOperation] = [
        SyncList("sync_terms", "TermsQuery", mirror.upsert_terms, rows.terms_row),
        SyncList("sync_accounts", "AccountQuery", mirror.upsert_accounts, rows.account_row),
        InvoiceAddOperation(),
        *list_sync.handlers(),
        *deletion_sync.handlers(),
        InvoiceChangesOperation(),
    ]
    return {handler.kind: handler for handler in handlers}


REGISTRY: dict[str, DesktopOperation] = _build()
