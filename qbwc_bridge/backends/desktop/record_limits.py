"""What QuickBooks Desktop can store, asked before anything is queued.

The engine calls these while a person waits (Create in QuickBooks, Re-sync), so a name
too long or a character Desktop cannot hold is told at once rather than discovered in a
Web Connector session. They render the request the session would send, with the same
text policy, and import nothing of the engine: ``sync/`` may call them without a circle.
"""
from __future__ import annotations

from collections.abc import Iterable
from decimal import Decimal
from typing import Any

from ...errors import DataError
from ..base import ListName, NewRecord
from .qbxml import QbxmlVersion, render_request

QUERY_REQUESTS = {ListName.ITEMS: "ItemQuery", ListName.CUSTOMERS: "CustomerQuery"}
OLDEST_COMPANY_VERSION = "13.0"  # what an account that has not told us its version is checked against


def add_data(spec: NewRecord) -> dict[str, Any]:
    """The qbXML data of a creation, money back from the payload's strings to Decimal."""
    return {key: Decimal(value) if key in NewRecord.money_fields and value is not None else value
            for key, value in spec.data.items()}


def check_new_record(spec: NewRecord, qbxml_version: str | None) -> None:
    """Render the Add once now, against the company's qbXML version (``None``: not known yet).

    Raises:
        DataError: what to change, naming the record and the field.
    """
    render_request(spec.request, "check", add_data(spec), QbxmlVersion.parse(qbxml_version or OLDEST_COMPANY_VERSION))


def queryable_names(list_name: ListName, names: Iterable[str | None]) -> list[str]:
    """The names QuickBooks can be asked for (a FullName filter): trimmed, unique, storable.

    A name QuickBooks could not hold (too long, not Latin-1) cannot be in QuickBooks
    either, so it is left out of the look-up rather than failing it.
    """
    found: dict[str, None] = {}
    for name in names:
        name = (name or "").strip()
        if not name or name.casefold() in {n.casefold() for n in found}:
            continue
        try:
            render_request(QUERY_REQUESTS[list_name], "check", {"full_names": [name]})
        except DataError:
            continue
        found[name] = None
    return list(found)
