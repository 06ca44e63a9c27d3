"""QuickBooks Desktop as a backend: its facts, and the checks only its qbXML can make.

Desktop is a *pull* backend: nothing travels until the Web Connector calls, and the
outbox is drained inside its sessions (``web_connector`` → ``conversation`` → the
handlers of ``registry``), which report to the same engine functions a push driver does.
"""
from __future__ import annotations

import datetime as dt

from ...domain import ItemMatchField
from ...errors import NeedsPerson
from ...operations import Delivery, KeyKind, Limits, ListName, NewItem, NewRecord, OperationKind, SkuPlace
from ...store.models import Account
from ..base import Backend
from . import record_limits
from .qbxml import QbxmlVersion


class DesktopBackend(Backend):
    kind = "desktop"
    delivery = Delivery.PULL
    # Names: ItemNonInventoryAdd/Name 31, CustomerAdd/Name 41; RefNumber 11; text is Latin-1 (qbXML's encoding).
    limits = Limits(item_name=31, customer_name=41, invoice_number=record_limits.REF_NUMBER_LENGTH, latin1_only=True)
    # QuickBooks stamps TimeCreated with the PC's clock, which may be off ours (and it reports daylight saving
    # wrongly by an hour): look-ups compare its times with ours this loosely.
    clock_margin = dt.timedelta(hours=24)
    item_match_fields = (ItemMatchField.NAME, ItemMatchField.MANUFACTURER_PART_NUMBER, ItemMatchField.BARCODE)
    # ListDeletedQuery / TxnDeletedQuery (qbXML 2.0, older than any file we talk to): see ``deletion_sync``.
    deletion_kinds = frozenset({OperationKind.SYNC_ITEM_DELETIONS, OperationKind.SYNC_CUSTOMER_DELETIONS,
                                OperationKind.SYNC_INVOICE_DELETIONS})

    def can_look_up(self, list_name: ListName, kind: KeyKind, value: str) -> bool:
        # Desktop's list queries filter by ListID or FullName only; an email or SKU cannot be asked for.
        return kind in (KeyKind.ID, KeyKind.NAME) and bool(record_limits.queryable_names(list_name, [value]))

    def check_new_record(self, account: Account, spec: NewRecord) -> None:
        """Render the Add once now, against the company's qbXML version (the oldest we support when unknown).

        Raises:
            NeedsPerson: the SKU's place needs a newer QuickBooks.
            DataError: what to change, naming the record and the field.
        """
        if isinstance(spec, NewItem) and spec.sku_place is SkuPlace.BARCODE and account.qbxml_version \
                and QbxmlVersion.parse(account.qbxml_version) < QbxmlVersion.parse("12.0"):
            raise NeedsPerson("This QuickBooks is too old to store bar codes (QuickBooks 2012 or newer is needed).",
                              action="Match items by name or manufacturer part number on the Items tab.")
        record_limits.check_new_record(spec, account.qbxml_version)
