"""The four tabs of the integration page (help article: General, Items, Customers, Invoices).

Each tab is a page of its own (``/admin/accounts/<id>/<tab>``) so that a filter, a search
and a page number live in the URL and survive a reload or a shared link. Every change
is a small form posting to one action, which calls the same service function as the
JSON API and comes back to the page it was sent from.
"""
from __future__ import annotations

from collections.abc import Callable
from typing import Any

from flask import Blueprint, render_template, request, url_for

from ...services import catalog, invoices, settings as account_settings
from ...services.accounts import get_account
from ...services.status import account_status
from .auth import login_required, require_account
from .pages import act, page_number, settings, unit_of_work

PAGE_SIZE = 50

ITEM_ISSUE_LABELS = {
    "missing_sku": "Missing SKU",
    "not_found": "Not found in QuickBooks",
    "duplicate_name": "Duplicate name in QuickBooks",
    "duplicate_match": "Duplicate match",
    "create_failed": "Create in QuickBooks failed",
}
CUSTOMER_ISSUE_LABELS = {
    "missing_email": "Missing billing email",
    "not_found": "Not found in QuickBooks",
    "duplicate_name": "Duplicate name in QuickBooks",
    "duplicate_match": "Duplicate match",
    "create_failed": "Create in QuickBooks failed",
}
INVOICE_STATUS_LABELS = {
    "waiting": "Waiting",
    "blocked": "Blocked",
    "queued": "Queued for the Web Connector",
    "sent": "Sent to QuickBooks",
    "unconfirmed": "Checking QuickBooks",
    "created": "Created",
    "failed": "Failed",
    "deleted": "Deleted in QuickBooks",
}
CANDIDATE_REASONS = {
    "same_sku": "same SKU",
    "similar_sku": "SKU differs only in case, spaces or dashes",
    "same_name": "same name",
    "same_email": "same email",
    "same_email_user": "same email user name",
}
INVOICE_NUMBERING_LABELS = {
    "order_number": "The BlueTrace order number",
    "quickbooks": "Let QuickBooks number them",
}
MATCH_FIELD_LABELS = {
    "name": "Item Name",
    "manufacturer_part_number": "Manufacturer's Part Number",
    "barcode": "Barcode",
}


def register(bp: Blueprint) -> None:
    """Add the tabs and their actions to the integration blueprint."""
    rules: list[tuple[str, str, Callable, list[str]]] = [
        ("/accounts/<int:account_id>/", "overview", general, ["GET"]),
        ("/accounts/<int:account_id>/general", "general", general, ["GET"]),
        ("/accounts/<int:account_id>/general", "save_general", save_general, ["POST"]),
        ("/accounts/<int:account_id>/items", "items", items, ["GET"]),
        ("/accounts/<int:account_id>/customers", "customers", customers, ["GET"]),
        ("/accounts/<int:account_id>/<any(items,customers):kind>/sync", "save_sync", save_sync, ["POST"]),
        ("/accounts/<int:account_id>/<any(items,customers):kind>/<any(edit,resync,create,match,unmatch):action>",
         "record_action", record_action, ["POST"]),
        ("/accounts/<int:account_id>/invoices", "invoices", invoice_list, ["GET"]),
        ("/accounts/<int:account_id>/invoices/retry", "retry_invoice", retry_invoice, ["POST"]),
    ]  # fmt: skip
    for rule, endpoint, view, methods in rules:
        bp.add_url_rule(rule, endpoint, login_required(view), methods=methods)


def _tab(db, account_id: int, tab: str, title: str, *, template: str | None = None, **context: Any) -> str:
    return render_template(
        f"admin/integration/{template or tab}.html",
        account=get_account(db, account_id),
        status=account_status(db, account_id, silent_after=settings().silent_after, panel=True),
        tab=tab,
        tab_title=title,
        **context,
    )


# -- General -----------------------------------------------------------------------------------


def general(account_id: int):
    require_account(account_id)
    with unit_of_work() as db:
        return _tab(
            db,
            account_id,
            "general",
            "General",
            current=account_settings.get_settings(db, account_id),
            choices=account_settings.setting_choices(db, account_id),
            numbering_labels=INVOICE_NUMBERING_LABELS,
        )


def save_general(account_id: int):
    require_account(account_id)
    form = request.form
    changes = {
        "default_terms": form.get("default_terms") or None,
        "ar_account": form.get("ar_account") or None,
        "ap_account": form.get("ap_account") or None,
        "invoice_creation": form.get("invoice_creation") == "on",
    }
    if "invoice_numbering" in form:  # a form from before the choice existed leaves it as it is
        changes["invoice_numbering"] = form["invoice_numbering"]
    if "live_mode" in form:  # only a Desktop account is shown the field: leave others alone
        changes["live_mode"] = _minutes(form["live_mode"])
    if "tax_code" in form:  # only a company that takes a tax code is shown its select: leave others alone
        changes["tax_code"] = form.get("tax_code") or None
    return act(
        url_for("admin_integration.general", account_id=account_id),
        "General settings saved.",
        lambda db: account_settings.update_settings(db, account_id, changes),
    )


def _minutes(text: str) -> Any:
    """The live-mode field as the settings read JSON: empty is off, digits a number; anything else is
    passed on as it is, so the settings refuse it with the same words the API gives."""
    text = text.strip()
    if not text:
        return 0
    return int(text) if text.isascii() and text.isdigit() and len(text) <= 6 else text


# -- Items and Customers -----------------------------------------------------------------------


def items(account_id: int):
    return _catalog_tab(account_id, "items")


def customers(account_id: int):
    return _catalog_tab(account_id, "customers")


def _catalog_tab(account_id: int, kind: str):
    require_account(account_id)
    issue = request.args.get("issue") or None
    search = (request.args.get("q") or "").strip() or None
    with unit_of_work() as db:
        if kind == "items":
            page = catalog.list_items(db, account_id, issue=issue, search=search, page=page_number(), page_size=PAGE_SIZE)
            views = [catalog.item_view(row) for row in page.rows]
            labels = ITEM_ISSUE_LABELS
        else:
            page = catalog.list_customers(
                db, account_id, issue=issue, search=search, page=page_number(), page_size=PAGE_SIZE
            )
            views = [catalog.customer_view(row) for row in page.rows]
            labels = CUSTOMER_ISSUE_LABELS
        return _tab(
            db,
            account_id,
            kind,
            "Items" if kind == "items" else "Customers",
            template="catalog",
            kind=kind,
            current=account_settings.get_settings(db, account_id),
            summary=catalog.match_summary(db, account_id, kind),
            issue_labels=labels,
            candidate_reasons=CANDIDATE_REASONS,
            match_field_labels=MATCH_FIELD_LABELS,
            issue=issue,
            search=search or "",
            pager_page=page,
            records=views,
        )


def save_sync(account_id: int, kind: str):
    require_account(account_id)
    changes: dict[str, Any] = {f"{kind}_sync": request.form.get("sync") == "on"}
    if kind == "items" and request.form.get("item_match_field"):
        changes["item_match_field"] = request.form["item_match_field"]
    state = "on" if changes[f"{kind}_sync"] else "off"
    return act(
        url_for(f"admin_integration.{kind}", account_id=account_id),
        f"{kind.capitalize()} sync is {state}.",
        lambda db: account_settings.update_settings(db, account_id, changes),
    )


_RESOLUTIONS: dict[tuple[str, str], Callable] = {
    ("items", "edit"): catalog.upsert_item,
    ("items", "resync"): catalog.resync_item,
    ("items", "create"): catalog.create_item_in_quickbooks,
    ("items", "match"): catalog.match_item,
    ("items", "unmatch"): catalog.unmatch_item,
    ("customers", "edit"): catalog.upsert_customer,
    ("customers", "resync"): catalog.resync_customer,
    ("customers", "create"): catalog.create_customer_in_quickbooks,
    ("customers", "match"): catalog.match_customer,
    ("customers", "unmatch"): catalog.unmatch_customer,
}


def record_action(account_id: int, kind: str, action: str):
    """One resolution on one item or customer (its id travels in the form: ids may hold '/')."""
    require_account(account_id)
    form = request.form
    record_id = form.get("record_id", "")
    noun = "Item" if kind == "items" else "Customer"
    arguments: tuple = ()
    options: dict[str, Any] = {}
    if action == "edit":
        field, what = ("sku", "SKU") if kind == "items" else ("billing_email", "billing email")
        arguments = ({field: form.get(field, "")},)
        message = f"{noun} {record_id}: {what} saved, and matched again against QuickBooks."
    elif action == "create":
        options["name"] = (form.get("name") or "").strip() or None
        message = f"{noun} {record_id} will be created in QuickBooks on the next Web Connector run."
    elif action == "match":
        arguments = (form.get("quickbooks_id", ""),)
        message = f"{noun} {record_id} is matched."
    elif action == "resync":
        message = f"Re-sync requested: the next Web Connector run asks QuickBooks again for {noun.lower()} {record_id}."
    else:
        message = f"{noun} {record_id} is no longer matched."
    resolve = _RESOLUTIONS[(kind, action)]
    return act(
        url_for(f"admin_integration.{kind}", account_id=account_id),
        message,
        lambda db: resolve(db, account_id, record_id, *arguments, **options),
    )


# -- Invoices ----------------------------------------------------------------------------------


def invoice_list(account_id: int):
    require_account(account_id)
    status = request.args.get("status") or None
    with unit_of_work() as db:
        page = invoices.list_invoices(db, account_id, status=status, page=page_number(), page_size=PAGE_SIZE)
        return _tab(
            db,
            account_id,
            "invoices",
            "Invoices",
            counts=invoices.invoice_counts(db, account_id),
            status_labels=INVOICE_STATUS_LABELS,
            status_filter=status,
            pager_page=page,
            orders=[invoices.invoice_view(row) for row in page.rows],
        )


def retry_invoice(account_id: int):
    require_account(account_id)
    order_id = request.form.get("order_id", "")
    return act(
        url_for("admin_integration.invoices", account_id=account_id),
        f"Order {order_id}: the invoice was tried again.",
        lambda db: invoices.retry_invoice(db, account_id, order_id),
    )
