"""The General, Items and Customers tab settings of an account.

Terms and accounts are stored as QuickBooks ids but may be given by name (what a
person sees) or id (what a script keeps); either is checked against our mirror of
the QuickBooks lists, so a setting can never point at something QuickBooks lacks.
Answers always carry both the id and the name.

The tax code (a sales tax code of the company, put on every invoice line) is offered only
where the company needs one (QuickBooks Online outside the US, as its backend says); a US
company's QuickBooks applies sales tax itself and takes none.

Some changes have consequences the engine must act on at once: turning a sync on or
changing the field SKUs match re-matches every record; turning invoice creation on (or
setting the default terms or the tax code) lets blocked invoices go. Live mode (minutes a contact
with QuickBooks that has finished its work stays open, asking for new work every few seconds; 0 = off) is
offered only where the backend can wait so (Desktop) and needs no action either: it is read at each ask.
Who numbers invoices needs
no action: an invoice's request is built when it is sent, so every invoice not yet sent follows
the new choice, and those QuickBooks holds keep their numbers.
"""
from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from .. import backends
from ..domain import InvoiceNumbering
from ..errors import NotFound
from ..store.models import Account, QbAccount, QbTaxCode, QbTerms
from ..sync import invoices, records
from ..sync.facts import CUSTOMERS, ITEMS
from . import validation as v

REFERENCE_SETTINGS = {
    "default_terms": ("default_terms_id", QbTerms),
    "ar_account": ("ar_account_id", QbAccount),
    "ap_account": ("ap_account_id", QbAccount),
    "tax_code": ("tax_code_id", QbTaxCode),
}
SWITCHES = ("invoice_creation", "items_sync", "customers_sync")
SETTING_NAMES = (*REFERENCE_SETTINGS, *SWITCHES, "item_match_field", "invoice_numbering", "live_mode")
# Live mode's longest duration: a working day, so a contact left open is still ended every day.
MAX_LIVE_MODE_MINUTES = 480
NO_LIVE_MODE = ("Live mode is only for QuickBooks Desktop: QuickBooks Online receives each invoice as soon as "
                "it is ready anyway.")
INVOICE_NUMBERINGS = [numbering.value for numbering in InvoiceNumbering]
_WHAT = {"default_terms": "terms", "ar_account": "account", "ap_account": "account", "tax_code": "tax code"}
NO_TAX_CODE = ("This QuickBooks company takes no tax code: QuickBooks applies US sales tax itself "
               "(a tax code is only chosen for a QuickBooks Online company outside the US).")


class InvalidSetting(v.InvalidInput):
    """A setting's value is refused; ``field`` names the setting (a NeedsPerson: the API answers 422)."""


def get_settings(db: Session, account_id: int) -> dict[str, Any]:
    """The settings as the API and the General tab show them.

    ``default_terms`` / ``ar_account`` / ``ap_account`` are ``{"id", "name", ...}`` or null;
    ``missing`` is true when the id is no longer in the mirror (deleted in QuickBooks).

    Raises:
        NotFound: no such account.
    """
    account = _account(db, account_id)
    view: dict[str, Any] = {}
    for name, (column, model) in REFERENCE_SETTINGS.items():
        view[name] = _reference_view(db, account_id, model, getattr(account, column))
    for name in SWITCHES:
        view[name] = bool(getattr(account, name))
    view["item_match_field"] = account.item_match_field
    view["invoice_numbering"] = account.invoice_numbering
    view["live_mode"] = account.live_mode_minutes or 0
    return view


def setting_choices(db: Session, account_id: int) -> dict[str, Any]:
    """What each setting may be set to: active terms, accounts and tax codes from the mirror, match fields.

    ``tax_code_needed`` says whether the company takes a tax code at all (else ``tax_codes`` is empty).
    """
    terms = db.scalars(
        select(QbTerms).where(QbTerms.account_id == account_id, QbTerms.is_active.is_(True)).order_by(QbTerms.full_name)
    )
    accounts = db.scalars(
        select(QbAccount)
        .where(QbAccount.account_id == account_id, QbAccount.is_active.is_(True))
        .order_by(QbAccount.full_name)
    )
    account = _account(db, account_id)
    backend = backends.for_account(account)
    needed = backend.tax_code_needed(account)
    tax_codes = db.scalars(
        select(QbTaxCode)
        .where(QbTaxCode.account_id == account_id, QbTaxCode.is_active.is_(True))
        .order_by(QbTaxCode.full_name)
    ) if needed else []
    return {
        "terms": [{"id": t.list_id, "name": t.full_name, "days_due": t.days_due} for t in terms],
        "accounts": [{"id": a.list_id, "name": a.full_name, "account_type": a.account_type} for a in accounts],
        "item_match_fields": [f.value for f in backend.item_match_fields],
        "tax_code_needed": needed,
        "tax_codes": [{"id": c.list_id, "name": c.full_name, "description": c.description} for c in tax_codes],
        "live_mode_offered": backend.live_mode,
        "live_mode_max_minutes": MAX_LIVE_MODE_MINUTES,
    }


def update_settings(db: Session, account_id: int, changes: Any) -> dict[str, Any]:
    """Apply ``changes`` (any subset of the settings), then act on what they imply.

    Raises:
        InvalidSetting: an unknown setting, a wrong type, or terms/an account QuickBooks
        does not have (or has made inactive). Nothing is changed then.
        NotFound: no such account.
    """
    account = _account(db, account_id)
    if not isinstance(changes, Mapping):
        raise InvalidSetting("body", "must be a JSON object")
    for name in changes:
        if name not in SETTING_NAMES:
            raise InvalidSetting(str(name), f"is not a setting; the settings are {', '.join(SETTING_NAMES)}")
    try:
        new = _read_changes(db, account_id, changes)
    except v.InvalidInput as exc:
        raise InvalidSetting(exc.field, exc.problem) from None

    before = {column: getattr(account, column) for column in new}
    for column, value in new.items():
        setattr(account, column, value)
    changed = {column for column in new if before[column] != new[column]}
    db.flush()
    _act_on(db, account, changed)
    return get_settings(db, account_id)


def _read_changes(db: Session, account_id: int, changes: Mapping[str, Any]) -> dict[str, Any]:
    """Column -> new value for every setting in ``changes``. Raises: validation.InvalidInput."""
    new: dict[str, Any] = {}
    if changes.get("tax_code") is not None:  # clearing it is always allowed
        account = _account(db, account_id)
        if not backends.for_account(account).tax_code_needed(account):
            raise v.InvalidInput("tax_code", NO_TAX_CODE)
    for name, (column, model) in REFERENCE_SETTINGS.items():
        if name in changes:
            new[column] = _resolve_reference(db, account_id, name, model, changes[name])
    for name in SWITCHES:
        if name in changes:
            new[name] = v.boolean(changes[name], name)
    if "item_match_field" in changes:
        offered = backends.for_account(_account(db, account_id)).item_match_fields
        new["item_match_field"] = v.choice(changes["item_match_field"], "item_match_field", [f.value for f in offered])
    if "invoice_numbering" in changes:
        new["invoice_numbering"] = v.choice(changes["invoice_numbering"], "invoice_numbering", INVOICE_NUMBERINGS)
    if "live_mode" in changes:  # null is off, like 0
        minutes = 0 if changes["live_mode"] is None else \
            v.json_whole_number(changes["live_mode"], "live_mode", minimum=0, maximum=MAX_LIVE_MODE_MINUTES)
        if minutes and not backends.for_account(_account(db, account_id)).live_mode:
            raise v.InvalidInput("live_mode", NO_LIVE_MODE)
        new["live_mode_minutes"] = minutes
    return new


def _act_on(db: Session, account: Account, changed: set[str]) -> None:
    """Re-match, or release blocked invoices, when a change calls for it."""
    # A new match field changes every item's match, sync on or off; with sync on, new
    # accounts also let the engine create the items it could not create before.
    if "item_match_field" in changed or (account.items_sync and {"items_sync", "ar_account_id", "ap_account_id"} & changed):
        records.rematch(db, account, ITEMS)
    if account.customers_sync and "customers_sync" in changed:
        records.rematch(db, account, CUSTOMERS)
    # A re-match ends with this too, but only once the initial sync is done; invoices
    # waiting on the switch or the default terms must not depend on that.
    if {"invoice_creation", "default_terms_id", "tax_code_id"} & changed:
        invoices.on_matches_changed(db, account)


def _resolve_reference(db: Session, account_id: int, name: str, model: type, value: Any) -> str | None:
    """The QuickBooks id that ``value`` (an id or a QuickBooks name, any case) designates; None clears.

    Raises:
        validation.InvalidInput: not a string, not in the mirror, or inactive in QuickBooks.
    """
    text = v.text(value, name, max_length=400)
    if text is None:
        return None
    record = db.get(model, (account_id, text))
    if record is None:
        matches = list(
            db.scalars(
                select(model).where(model.account_id == account_id, func.lower(model.full_name) == text.lower()).limit(2)
            )
        )
        exact = [m for m in matches if m.full_name == text]
        record = exact[0] if exact else (matches[0] if len(matches) == 1 else None)
    what = _WHAT[name]
    if record is None:
        raise v.InvalidInput(
            name,
            f"QuickBooks has no {what} named {text!r} (as of the last sync). Use the name shown in QuickBooks, "
            f"or its QuickBooks id; GET /api/v1/settings/choices lists them.",
        )
    if not record.is_active:
        raise v.InvalidInput(name, f"The QuickBooks {what} {record.full_name!r} is inactive; make it active in QuickBooks or pick another.")
    return record.list_id


def _reference_view(db: Session, account_id: int, model: type, list_id: str | None) -> dict[str, Any] | None:
    if list_id is None:
        return None
    record = db.get(model, (account_id, list_id))
    if record is None:
        return {"id": list_id, "name": None, "missing": True}
    view = {"id": record.list_id, "name": record.full_name, "missing": False, "active": record.is_active}
    if isinstance(record, QbAccount):
        view["account_type"] = record.account_type
    return view


def _account(db: Session, account_id: int) -> Account:
    account = db.get(Account, account_id)
    if account is None:
        raise NotFound(f"account {account_id} does not exist")
    return account
