"""QuickBooks Desktop as a backend: its facts, and the checks only its qbXML can make.

Desktop is a *pull* backend: nothing travels until the Web Connector calls, and the
outbox is drained inside its sessions (``web_connector`` → ``conversation`` → the
handlers of ``registry``), which report to the same engine functions a push driver does.
"""
from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy.orm import Session

from ... import durations, throttle
from ...domain import ItemMatchField
from ...errors import NeedsPerson
from ...operations import Delivery, KeyKind, Limits, ListName, NewItem, NewRecord, OperationKind, SkuPlace
from ...store.models import Account, ConnectionStatus, LoginKind
from ..base import Backend
from . import credentials, record_limits
from .qbxml import QbxmlVersion

SILENT = "web_connector_silent"
SILENT_ACTION = (
    "Check the computer where QuickBooks runs: is it on and awake, is QuickBooks open with this company file, "
    "and is the Web Connector running with Auto-Run ticked for BlueTrace? The error clears at the Web Connector's next run."
)
PASSWORD_REFUSED = "web_connector_password_refused"
PASSWORD_REFUSED_ACTION = (
    "The Web Connector is still calling, with a password that is no longer this account's (was it reset?). "
    "In Settings > Integration, reset the Web Connector password; in the Web Connector, type the new one into "
    "BlueTrace's Password column and press Enter. The error clears at its next run."
)


class DesktopBackend(Backend):
    kind = "desktop"
    delivery = Delivery.PULL
    # Names: ItemNonInventoryAdd/Name 31, CustomerAdd/Name 41; RefNumber 11; text is Latin-1 (qbXML's encoding).
    limits = Limits(item_name=31, customer_name=41, invoice_number=record_limits.REF_NUMBER_LENGTH, latin1_only=True)
    # QuickBooks stamps TimeCreated with the PC's clock, which may be off ours (and it reports daylight saving
    # wrongly by an hour): look-ups compare its times with ours this loosely.
    clock_margin = dt.timedelta(hours=24)
    item_match_fields = (ItemMatchField.NAME, ItemMatchField.MANUFACTURER_PART_NUMBER, ItemMatchField.BARCODE)
    live_mode = True  # see ``live_mode.py``: the session answers NoOp instead of ending
    # ListDeletedQuery / TxnDeletedQuery (qbXML 2.0, older than any file we talk to): see ``deletion_sync``.
    deletion_kinds = frozenset({OperationKind.SYNC_ITEM_DELETIONS, OperationKind.SYNC_CUSTOMER_DELETIONS,
                                OperationKind.SYNC_INVOICE_DELETIONS})
    # An InvoiceQuery of the invoices modified since the last pull (see ``invoice_state_sync``).
    tells_invoice_changes = True
    waiting_message = "Waiting for the first Web Connector run: add the .qwc file to the Web Connector and run it."
    connecting_message = (
        "Connecting: the Web Connector is reading your QuickBooks terms, accounts, items and customers. "
        "This can take up to an hour for a large company file.")
    failed_message = "The last Web Connector run failed."
    answer_wait = "at the next Web Connector run"
    list_refused_action = (
        "Do what QuickBooks' message asks (for example, allow BlueTrace to read personal data in QuickBooks: "
        "Edit > Preferences > Integrated Applications), then run the Web Connector again: the list is asked for "
        "on every run. If it keeps failing, contact BlueTrace support.")

    def silence(self, db: Session, account: Account, now: dt.datetime,
                silent_after: dt.timedelta | None) -> dict[str, Any] | None:
        """The error of an account whose Web Connector stopped calling, or None.

        Computed, never stored: the next call (which sets ``last_contact_at``) clears it, on any
        process, with nothing to reset. Only an account that was connected once (it has a last
        contact) can fall silent; before that, the status already says to run the Web Connector.
        Silence outranks a stored error: that error cannot be fixed or cleared until the Web
        Connector calls again. A Web Connector that does call, but is refused its password (typically
        after a reset), is told apart: checking the PC would not help that bookkeeper.
        """
        if (silent_after is None or account.last_contact_at is None
                or account.status == ConnectionStatus.NOT_CONNECTED.value):  # disconnected: not expected to call
            return None
        quiet = now - account.last_contact_at
        if quiet <= silent_after:
            return None
        refused_at = (throttle.last_failure(db, LoginKind.WEB_CONNECTOR, account.credential.username)
                      if account.credential else None)
        if refused_at is not None and refused_at > account.last_contact_at:
            return {
                "code": PASSWORD_REFUSED,
                "message": f"The Web Connector called {durations.in_words(now - refused_at)} ago, but its password "
                           "was refused, so nothing reaches QuickBooks.",
                "action": PASSWORD_REFUSED_ACTION,
                "at": refused_at.isoformat(),
            }  # fmt: skip
        return {
            "code": SILENT,
            "message": f"The Web Connector has not called for {durations.in_words(quiet)}, so nothing reaches QuickBooks.",
            "action": SILENT_ACTION,
            "at": (account.last_contact_at + silent_after).isoformat(),
        }

    def status_fields(self, account: Account) -> dict[str, Any]:
        return {"qbxml_version": account.qbxml_version}

    def create_login(self, db: Session, account: Account) -> tuple[str, str]:
        return credentials.create_login(db, account)

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
