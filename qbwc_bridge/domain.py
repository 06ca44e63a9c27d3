"""Framework-free vocabulary shared by sync, invoices, the API and the admin.

The string values are public: they appear in the JSON API (``issue``, ``status``,
``matched_by``) and in the database, so they are only ever added to, never renamed.
"""
from __future__ import annotations

import enum


class IssueType(str, enum.Enum):
    """Why a BlueTrace record has no QuickBooks match (help article, "Types of match issues")."""

    MISSING_SKU = "missing_sku"  # items: BlueTrace item has no SKU
    MISSING_EMAIL = "missing_email"  # customers: no billing email
    NOT_FOUND = "not_found"  # no QuickBooks record carries the SKU / email
    DUPLICATE_NAME = "duplicate_name"  # Create in QuickBooks collided with an existing name (3100)
    DUPLICATE_MATCH = "duplicate_match"  # several records share the SKU / email: a person picks the pairs
    CREATE_FAILED = "create_failed"  # Create in QuickBooks was refused for another reason


class MatchedBy(str, enum.Enum):
    AUTO = "auto"  # SKU / email matched
    MANUAL = "manual"  # a person picked the pair (or accepted a suggestion)
    CREATED = "created"  # the bridge created the QuickBooks record


class PendingAction(str, enum.Enum):
    """A request to QuickBooks in the outbox for this record; cleared by its answer."""

    CREATING = "creating"
    RESYNCING = "resyncing"


class InvoiceStatus(str, enum.Enum):
    """Where a packed order's invoice stands (Invoices tab, ``GET .../invoice``)."""

    WAITING = "waiting"  # accepted; rules not evaluated yet
    BLOCKED = "blocked"  # a match or a setting is missing: ``action`` says what to do
    QUEUED = "queued"  # in the outbox, waiting for the next Web Connector session
    SENT = "sent"  # inside a message set the Web Connector holds now
    UNCONFIRMED = "unconfirmed"  # sent, answer lost: looked up in QuickBooks before any resend
    CREATED = "created"  # QuickBooks holds it: txn_id and ref_number are set
    FAILED = "failed"  # QuickBooks refused it and retrying will not help: ``action`` says what to do
    # We created it and someone deleted it in QuickBooks: never sent again unless a person asks (Retry).
    DELETED = "deleted"


class PaidStatus(str, enum.Enum):
    """How much of a created invoice is paid in QuickBooks (``paid`` of ``GET .../invoice``, ``?paid=``)."""

    FULLY = "fully"  # nothing owed (a voided invoice is not paid: it is ``voided``)
    PARTLY = "partly"  # some paid, some still owed
    NOT = "not"  # nothing paid yet


class InvoiceNumbering(str, enum.Enum):
    """Who numbers the invoices (General tab). Values are stored: only ever add."""

    # The BlueTrace order number (each backend keeps the last characters its QuickBooks holds).
    ORDER_NUMBER = "order_number"
    # QuickBooks' own next number, for a company whose invoice numbers must run in its own sequence.
    QUICKBOOKS = "quickbooks"


class ItemMatchField(str, enum.Enum):
    """Which QuickBooks field carries BlueTrace's SKU (each backend offers the fields its QuickBooks has)."""

    NAME = "name"
    SKU = "sku"  # QuickBooks Online's Sku (Desktop has no SKU field)
    MANUFACTURER_PART_NUMBER = "manufacturer_part_number"
    BARCODE = "barcode"
