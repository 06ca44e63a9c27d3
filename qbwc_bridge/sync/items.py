"""BlueTrace items against QuickBooks items: re-matching and the resolutions of the Items tab.

Items match by SKU against the QuickBooks field the account chose (Name by default,
ManufacturerPartNumber or BarCodeValue). The work is done by :mod:`.records`, shared
with customers; these are the names the API, the import and the admin call.
"""
from __future__ import annotations

from collections.abc import Iterable

from sqlalchemy.orm import Session

from ..store.models import Account
from . import creation, facts, records, resolutions

SIDE = facts.ITEMS


def rematch_items(db: Session, account: Account, item_ids: Iterable[str] | None = None) -> None:
    """Recompute the match state and issues of these items (None: all of the account's).

    Keeps manual and created matches while their QuickBooks item exists and is active;
    with items sync on, queues "Create in QuickBooks" for items nothing matches; ends by
    letting blocked invoices go out (``sync.invoices.on_matches_changed``).
    """
    records.rematch(db, account, SIDE, None if item_ids is None else list(item_ids))


def rematch_all(db: Session, account: Account) -> None:
    records.rematch(db, account, SIDE)


def rematch_for_quickbooks_changes(db: Session, account: Account, list_ids: Iterable[str]) -> None:
    """Re-match only the items whose QuickBooks counterpart (or a record with their SKU) changed."""
    records.rematch(db, account, SIDE, (), list(list_ids))


def request_resync(db: Session, account: Account, item_id: str) -> None:
    """Re-sync: ask QuickBooks again for this item's counterpart. Raises: NotFound."""
    resolutions.request_resync(db, account, SIDE, item_id)


def request_create(db: Session, account: Account, item_id: str, name: str | None = None) -> None:
    """Create in QuickBooks, with the General tab's accounts, so that the item matches afterwards.

    Matching on Name: the new item's Name is the SKU and the BlueTrace name its
    description; otherwise the SKU goes into ManufacturerPartNumber or BarCodeValue.
    ``name`` renames the new QuickBooks item after a duplicate name.

    Raises:
        NotFound, Conflict (already matched), NeedsPerson (accounts not set, no SKU, a
        field QuickBooks cannot store).
    """
    creation.request_create(db, account, SIDE, item_id, name)


def match_manually(db: Session, account: Account, item_id: str, quickbooks_id: str) -> None:
    """Pick the QuickBooks item (or accept a suggestion). Raises: NotFound, Conflict (inactive)."""
    resolutions.match_manually(db, account, SIDE, item_id, quickbooks_id)


def unmatch(db: Session, account: Account, item_id: str) -> None:
    """Forget the match; that QuickBooks item is not matched to it automatically again. Raises: NotFound."""
    resolutions.unmatch(db, account, SIDE, item_id)
