"""BlueTrace customers against QuickBooks customers: re-matching and the Customers tab resolutions.

Customers match by billing email against every address in the QuickBooks Email field,
ignoring case and surrounding spaces. The work is done by :mod:`.records`, shared with
items; these are the names the API, the import and the admin call.
"""
from __future__ import annotations

from collections.abc import Iterable

from sqlalchemy.orm import Session

from ..store.models import Account
from . import creation, facts, records, resolutions

SIDE = facts.CUSTOMERS


def rematch_customers(db: Session, account: Account, customer_ids: Iterable[str] | None = None) -> None:
    """Recompute the match state and issues of these customers (None: all of the account's).

    Keeps manual and created matches while their QuickBooks customer exists and is
    active; with customers sync on, queues "Create in QuickBooks" for customers nothing
    matches; ends by letting blocked invoices go out (``sync.invoices.on_matches_changed``).
    """
    records.rematch(db, account, SIDE, None if customer_ids is None else list(customer_ids))


def rematch_all(db: Session, account: Account) -> None:
    records.rematch(db, account, SIDE)


def rematch_for_quickbooks_changes(db: Session, account: Account, list_ids: Iterable[str]) -> None:
    """Re-match only the customers whose QuickBooks counterpart (or a customer with their email) changed."""
    records.rematch(db, account, SIDE, (), list(list_ids))


def request_resync(db: Session, account: Account, customer_id: str) -> None:
    """Re-sync: ask QuickBooks again for this customer's counterpart. Raises: NotFound."""
    resolutions.request_resync(db, account, SIDE, customer_id)


def request_create(db: Session, account: Account, customer_id: str, name: str | None = None) -> None:
    """Create in QuickBooks so that the customer matches afterwards.

    The new customer gets the BlueTrace name (``name`` instead, after a duplicate name:
    customers, vendors, employees and other names share one namespace in Desktop),
    company name, billing email, phone and addresses.

    Raises:
        NotFound, Conflict (already matched), NeedsPerson (no name, a field QuickBooks
        cannot store: the ``DataError`` names it).
    """
    creation.request_create(db, account, SIDE, customer_id, name)


def match_manually(db: Session, account: Account, customer_id: str, quickbooks_id: str) -> None:
    """Pick the QuickBooks customer (or accept a suggestion). Raises: NotFound, Conflict (inactive)."""
    resolutions.match_manually(db, account, SIDE, customer_id, quickbooks_id)


def unmatch(db: Session, account: Account, customer_id: str) -> None:
    """Forget the match; that QuickBooks customer is not matched to it automatically again. Raises: NotFound."""
    resolutions.unmatch(db, account, SIDE, customer_id)
