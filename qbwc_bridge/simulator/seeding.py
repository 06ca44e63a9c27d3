"""Fake companies from a small JSON description or a saved state, and back to JSON.

JSON description (every key optional; references are by name / full name)::

    {
      "company": {"name": "Demo Hardware LLC", "product_name": "QuickBooks Pro 2014",
                  "supported_versions": ["12.0", "13.0"], "file_path": "C:\\\\...\\\\Demo.QBW",
                  "file_mode": "SingleUser", "uses_inventory": true, "utc_offset_minutes": -300},
      "accounts":  [{"name": "Sales", "type": "Income", "number": "4000"}],
      "terms":     [{"name": "Net 30", "due_days": 30},
                    {"name": "15th", "day_of_month_due": 15, "due_next_month_days": 5}],
      "items":     [{"kind": "service", "name": "Installation", "description": "...",
                     "price": "75.00", "account": "Sales"},
                    {"kind": "non_inventory", "name": "Cable", "sales_and_purchase": true,
                     "description": "...", "price": "3.50", "income_account": "Sales",
                     "purchase_cost": "1.20", "expense_account": "Cost of Goods Sold"},
                    {"kind": "inventory", "name": "WIDGET-1", "price": "19.99",
                     "income_account": "Sales", "cogs_account": "Cost of Goods Sold",
                     "asset_account": "Inventory Asset", "quantity_on_hand": "10",
                     "manufacturer_part_number": "W-1", "active": false},
                    {"kind": "other_charge", "name": "Freight", "price": "12.00", "account": "Sales"}],
      "customers": [{"name": "Acme Corp", "email": "ap@acme.test; boss@acme.test",
                     "terms": "Net 30", "company_name": "Acme", "first_name": "Ann",
                     "last_name": "Lee", "phone": "555-0100", "parent": "Acme Group",
                     "bill_address": {"addr1": "1 Main St", "city": "Springfield",
                                      "state": "IL", "postal_code": "62701"}}],
      "vendors": [{"name": "..."}], "employees": [{"name": "..."}], "other_names": [{"name": "..."}],
      "invoices":  [{"customer": "Acme Corp", "ref_number": "1001", "txn_date": "2024-01-05",
                     "memo": "...", "terms": "Net 30",
                     "lines": [{"item": "Installation", "quantity": "2", "rate": "75.00"}]}],
      "data_extensions": [{"owner_id": "{...}", "name": "FileID", "value": "{...}"}],
      "deleted_list_records": [{"del_type": "ItemService", "id": "80000009-...", "time_created": "...",
                                "time_deleted": "...", "name": "Old item"}],
      "deleted_txns": [{"del_type": "Invoice", "id": "1A-...", "time_created": "...", "time_deleted": "...",
                        "name": "1001"}]
    }

Records are created in the order above (parents before children). The deleted ones are
what ListDeletedQuery / TxnDeletedQuery report (deletions and merges made "in QuickBooks"),
kept across runs so that a bridge not yet told still hears of them. A saved company
(:func:`save_company`) uses the same format plus ``list_id``/``txn_id``,
``time_created``, ``time_modified``, ``edit_sequence`` on every record and a
``counters`` object, so loading it gives back the same identities: the CLI keeps a
company across runs that way.
"""
from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import asdict
from datetime import date, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

from .adds import due_date
from .company import CompanySettings, FakeCompany, QuickBooksStatus
from .records import (
    Address,
    Deletion,
    Entity,
    EntityKind,
    Invoice,
    InvoiceLine,
    Item,
    ItemKind,
    Stamp,
    Terms,
    money,
)

ITEM_KINDS = {"service": ItemKind.SERVICE, "non_inventory": ItemKind.NON_INVENTORY,
              "inventory": ItemKind.INVENTORY, "other_charge": ItemKind.OTHER_CHARGE}
ENTITY_LISTS = {"customers": EntityKind.CUSTOMER, "vendors": EntityKind.VENDOR,
                "employees": EntityKind.EMPLOYEE, "other_names": EntityKind.OTHER_NAME}
DEFAULT_ACCOUNTS = [("Accounts Receivable", "AccountsReceivable"), ("Inventory Asset", "OtherCurrentAsset"),
                    ("Sales", "Income"), ("Services", "Income"), ("Cost of Goods Sold", "CostOfGoodsSold"),
                    ("Purchases", "Expense")]
DEFAULT_TERMS = [{"name": "Due on receipt", "due_days": 0}, {"name": "Net 15", "due_days": 15},
                 {"name": "Net 30", "due_days": 30}, {"name": "15th of month", "day_of_month_due": 15,
                                                      "due_next_month_days": 5}]


class SeedError(ValueError):
    """The description is inconsistent (a reference names nothing, a name is taken...)."""


# ------------------------------------------------------------------ loading
def company_from_description(description: dict[str, Any], clock: Callable[[], datetime] | None = None) -> FakeCompany:
    """Build a company from a description (see the module docstring).

    Raises:
        SeedError: a reference names nothing or QuickBooks would refuse a record (3100...).
    """
    settings_data = description.get("company", {})
    settings = CompanySettings(**{key: value for key, value in _settings_kwargs(settings_data).items()})
    company = FakeCompany(settings=settings, clock=clock)
    try:
        _load_lists(company, description)
    except QuickBooksStatus as status:
        raise SeedError(f"the description breaks a QuickBooks rule: {status.message}") from None
    counters = description.get("counters")
    if counters:
        company.next_list_sequence = int(counters["next_list_sequence"])
        company.next_txn_sequence = int(counters["next_txn_sequence"])
        company.next_txn_number = int(counters["next_txn_number"])
    return company


def _settings_kwargs(data: dict[str, Any]) -> dict[str, Any]:
    mapping = {"name": "company_name", "legal_name": "legal_name", "product_name": "product_name",
               "supported_versions": "supported_versions", "file_path": "file_path", "file_mode": "file_mode",
               "uses_inventory": "uses_inventory", "utc_offset_minutes": "utc_offset_minutes", "country": "country"}
    unknown = set(data) - set(mapping)
    if unknown:
        raise SeedError(f"unknown company settings: {', '.join(sorted(unknown))}")
    kwargs = {mapping[key]: value for key, value in data.items()}
    if "supported_versions" in kwargs:
        kwargs["supported_versions"] = tuple(kwargs["supported_versions"])
    return kwargs


def _stamp_factory(company: FakeCompany, record: dict[str, Any], id_key: str) -> Callable[[Stamp], Stamp]:
    """Keep a saved record's identity, or use the fresh stamp the company made."""
    def restore(fresh: Stamp) -> Stamp:
        if id_key not in record:
            return fresh
        return Stamp(record[id_key], datetime.fromisoformat(record["time_created"]),
                     datetime.fromisoformat(record["time_modified"]), str(record["edit_sequence"]))
    return restore


def _decimal(value: Any) -> Decimal | None:
    return None if value is None else Decimal(str(value))


def _lookup(found: Any, kind: str, name: str) -> Any:
    if found is None:
        raise SeedError(f"{kind} {name!r} is referenced but not described")
    return found


def _load_lists(company: FakeCompany, description: dict[str, Any]) -> None:
    accounts = description.get("accounts")
    for entry in accounts if accounts is not None else [{"name": n, "type": t} for n, t in DEFAULT_ACCOUNTS]:
        account = company.add_account(entry["name"], entry["type"], entry.get("number"),
                                      restore=_stamp_factory(company, entry, "list_id"))
        account.is_active = entry.get("active", True)
    terms_list = description.get("terms")
    for entry in terms_list if terms_list is not None else DEFAULT_TERMS:
        company.add_terms(lambda stamp, e=entry: Terms(
            _stamp_factory(company, e, "list_id")(stamp), e["name"], std_due_days=e.get("due_days"),
            std_discount_days=e.get("discount_days"), discount_pct=_decimal(e.get("discount_pct")),
            day_of_month_due=e.get("day_of_month_due"), due_next_month_days=e.get("due_next_month_days"),
            discount_day_of_month=e.get("discount_day_of_month"), is_active=e.get("active", True)))
    for list_key, kind in ENTITY_LISTS.items():
        for entry in description.get(list_key, []):
            add_entity(company, kind, entry)
    for entry in description.get("items", []):
        add_item(company, entry)
    for entry in description.get("invoices", []):
        _add_invoice(company, entry)
    for entry in description.get("data_extensions", []):
        company.set_data_extension(entry["owner_id"], entry["name"], entry["value"])
    for key, deletions in (("deleted_list_records", company.deleted_list_records),
                           ("deleted_txns", company.deleted_txns)):
        deletions.extend(Deletion(entry["del_type"], entry["id"], datetime.fromisoformat(entry["time_created"]),
                                  datetime.fromisoformat(entry["time_deleted"]), entry.get("name"))
                         for entry in description.get(key, []))


def _account_id(company: FakeCompany, name: str | None) -> str | None:
    if name is None:
        return None
    return _lookup(company.find_account(full_name=name), "account", name).stamp.id


def add_entity(company: FakeCompany, kind: EntityKind, entry: dict[str, Any]) -> Entity:
    """Add one described customer / vendor / employee / other name (see the module docstring).

    Raises:
        SeedError: a parent or terms named in ``entry`` do not exist.
        QuickBooksStatus: 3100 when the name is taken.
    """
    parent = None
    if entry.get("parent"):
        parent = _lookup(company.find_entity(kind, full_name=entry["parent"]), kind.value, entry["parent"])
    terms = _lookup(company.find_terms(full_name=entry["terms"]), "terms", entry["terms"]) if entry.get("terms") \
        else None
    address = entry.get("bill_address") or {}
    entity = company.add_entity(lambda stamp: Entity(
        _stamp_factory(company, entry, "list_id")(stamp), kind, entry["name"], entry["name"],
        parent_id=parent.stamp.id if parent else None, is_active=entry.get("active", True),
        company_name=entry.get("company_name"), first_name=entry.get("first_name"),
        last_name=entry.get("last_name"), bill_address=Address(**address), phone=entry.get("phone"),
        email=entry.get("email"), terms_id=terms.stamp.id if terms else None,
        account_number=entry.get("account_number"), notes=entry.get("notes")))
    return entity


def add_item(company: FakeCompany, entry: dict[str, Any]) -> Item:
    """Add one described item of any kind (see the module docstring).

    Raises:
        SeedError: unknown kind, parent or account. QuickBooksStatus: 3100 when the name is taken.
    """
    kind = ITEM_KINDS.get(entry.get("kind", "service"))
    if kind is None:
        raise SeedError(f"item {entry.get('name')!r}: kind must be one of {', '.join(ITEM_KINDS)}")
    parent = None
    if entry.get("parent"):
        parent = _lookup(company.find_item(full_name=entry["parent"]), "item", entry["parent"])
    item = company.add_item(lambda stamp: Item(
        _stamp_factory(company, entry, "list_id")(stamp), kind, entry["name"], entry["name"],
        parent_id=parent.stamp.id if parent else None, is_active=entry.get("active", True),
        sales_and_purchase=entry.get("sales_and_purchase", False), description=entry.get("description"),
        price=_decimal(entry.get("price")), account_id=_account_id(company, entry.get("account")),
        income_account_id=_account_id(company, entry.get("income_account")),
        purchase_description=entry.get("purchase_description"),
        purchase_cost=_decimal(entry.get("purchase_cost")),
        expense_account_id=_account_id(company, entry.get("expense_account")),
        cogs_account_id=_account_id(company, entry.get("cogs_account")),
        asset_account_id=_account_id(company, entry.get("asset_account")),
        quantity_on_hand=_decimal(entry.get("quantity_on_hand")),
        manufacturer_part_number=entry.get("manufacturer_part_number"),
        bar_code_value=entry.get("bar_code_value"), external_guid=entry.get("external_guid")))
    return item


def _add_invoice(company: FakeCompany, entry: dict[str, Any]) -> Invoice:
    customer = _lookup(company.customer_named(entry["customer"]), "customer", entry["customer"])
    terms = _lookup(company.find_terms(full_name=entry["terms"]), "terms", entry["terms"]) if entry.get("terms") \
        else company.terms.get(customer.terms_id or "")
    txn_date = date.fromisoformat(entry["txn_date"]) if entry.get("txn_date") else company.now().date()
    lines = []
    for line in entry.get("lines", []):
        item = _lookup(company.item_named(line["item"]), "item", line["item"]) if line.get("item") else None
        quantity, rate = _decimal(line.get("quantity")), _decimal(line.get("rate"))
        if rate is None and item is not None:
            rate = item.price
        amount = _decimal(line.get("amount"))
        if amount is None:
            amount = (quantity if quantity is not None else Decimal("1")) * (rate or Decimal("0"))
        lines.append(InvoiceLine(line.get("txn_line_id") or company.new_txn_id(), item.stamp.id if item else None,
                                 line.get("description", item.description if item else None), quantity, rate,
                                 money(amount)))
    stamp = _stamp_factory(company, entry, "txn_id")(company.new_txn_stamp())
    ar_account = next((a for a in company.accounts.values() if a.account_type == "AccountsReceivable"), None) \
        or company.add_account("Accounts Receivable", "AccountsReceivable")
    return company.add_invoice(Invoice(
        stamp=stamp, txn_number=int(entry.get("txn_number", company.next_txn_number)),
        customer_id=customer.stamp.id, ar_account_id=ar_account.stamp.id, txn_date=txn_date,
        ref_number=entry.get("ref_number") or company.next_invoice_ref_number(),
        bill_address=Address(**entry["bill_address"]) if entry.get("bill_address") else customer.bill_address,
        po_number=entry.get("po_number"), terms_id=terms.stamp.id if terms else None,
        due_date=date.fromisoformat(entry["due_date"]) if entry.get("due_date") else due_date(terms, txn_date),
        memo=entry.get("memo"), is_to_be_printed=entry.get("is_to_be_printed", True),
        external_guid=entry.get("external_guid"), lines=lines))


def load_company(path: str | Path, clock: Callable[[], datetime] | None = None) -> FakeCompany:
    """Read a description or a saved company from a JSON file.

    Raises:
        SeedError: inconsistent description. OSError / json.JSONDecodeError: unreadable file.
    """
    return company_from_description(json.loads(Path(path).read_text(encoding="utf-8")), clock=clock)


# ------------------------------------------------------------------ saving
def describe_company(company: FakeCompany) -> dict[str, Any]:
    """The full state as a description (identities included), for :func:`save_company`."""
    settings = company.settings
    accounts = {a.stamp.id: a for a in company.accounts.values()}
    terms = {t.stamp.id: t for t in company.terms.values()}

    def stamp(record: Any, id_key: str = "list_id") -> dict[str, Any]:
        return {id_key: record.stamp.id, "time_created": record.stamp.time_created.isoformat(),
                "time_modified": record.stamp.time_modified.isoformat(), "edit_sequence": record.stamp.edit_sequence}

    def name_of(table: dict, list_id: str | None) -> str | None:
        return table[list_id].name if list_id in table else None

    def entity(e: Entity) -> dict[str, Any]:
        parent = company.entities.get(e.parent_id or "")
        return _compact({**stamp(e), "name": e.name, "parent": parent.full_name if parent else None,
                         "active": e.is_active, "company_name": e.company_name, "first_name": e.first_name,
                         "last_name": e.last_name, "phone": e.phone, "email": e.email,
                         "terms": name_of(terms, e.terms_id), "account_number": e.account_number, "notes": e.notes,
                         "bill_address": _compact(asdict(e.bill_address)) or None})

    def item(i: Item) -> dict[str, Any]:
        parent = company.items.get(i.parent_id or "")
        kind = next(key for key, value in ITEM_KINDS.items() if value is i.kind)
        return _compact({**stamp(i), "kind": kind, "name": i.name, "parent": parent.full_name if parent else None,
                         "active": i.is_active, "sales_and_purchase": i.sales_and_purchase or None,
                         "description": i.description, "price": _text(i.price),
                         "account": name_of(accounts, i.account_id),
                         "income_account": name_of(accounts, i.income_account_id),
                         "purchase_description": i.purchase_description, "purchase_cost": _text(i.purchase_cost),
                         "expense_account": name_of(accounts, i.expense_account_id),
                         "cogs_account": name_of(accounts, i.cogs_account_id),
                         "asset_account": name_of(accounts, i.asset_account_id),
                         "quantity_on_hand": _text(i.quantity_on_hand),
                         "manufacturer_part_number": i.manufacturer_part_number,
                         "bar_code_value": i.bar_code_value, "external_guid": i.external_guid})

    def invoice(v: Invoice) -> dict[str, Any]:
        return _compact({**stamp(v, "txn_id"), "txn_number": v.txn_number,
                         "customer": company.entities[v.customer_id].full_name, "txn_date": v.txn_date.isoformat(),
                         "ref_number": v.ref_number, "po_number": v.po_number, "terms": name_of(terms, v.terms_id),
                         "due_date": v.due_date.isoformat() if v.due_date else None, "memo": v.memo,
                         "is_to_be_printed": v.is_to_be_printed, "external_guid": v.external_guid,
                         "bill_address": _compact(asdict(v.bill_address)) or None,
                         "lines": [_compact({"txn_line_id": line.txn_line_id,
                                             "item": company.items[line.item_id].full_name if line.item_id else None,
                                             "description": line.description, "quantity": _text(line.quantity),
                                             "rate": _text(line.rate), "amount": str(line.amount)})
                                   for line in v.lines]})

    def by_depth(records: list) -> list:
        return sorted(records, key=lambda r: (r.sublevel, r.full_name.casefold()))

    description: dict[str, Any] = {
        "company": {"name": settings.company_name, "legal_name": settings.legal_name,
                    "product_name": settings.product_name, "supported_versions": list(settings.supported_versions),
                    "file_path": settings.file_path, "file_mode": settings.file_mode,
                    "uses_inventory": settings.uses_inventory, "utc_offset_minutes": settings.utc_offset_minutes,
                    "country": settings.country},
        "accounts": [{**stamp(a), "name": a.name, "type": a.account_type, "number": a.account_number,
                      "active": a.is_active} for a in company.accounts.values()],
        "terms": [_compact({**stamp(t), "name": t.name, "due_days": t.std_due_days,
                            "discount_days": t.std_discount_days, "discount_pct": _text(t.discount_pct),
                            "day_of_month_due": t.day_of_month_due, "due_next_month_days": t.due_next_month_days,
                            "discount_day_of_month": t.discount_day_of_month, "active": t.is_active})
                  for t in company.terms.values()],
    }
    for list_key, kind in ENTITY_LISTS.items():
        description[list_key] = [entity(e) for e in by_depth(company.entities_of(kind))]
    description["items"] = [item(i) for i in by_depth(list(company.items.values()))]
    description["invoices"] = [invoice(v) for v in company.sorted_invoices()]
    description["data_extensions"] = [asdict(e) for e in company.data_extensions]
    for key, deletions in (("deleted_list_records", company.deleted_list_records),
                           ("deleted_txns", company.deleted_txns)):
        description[key] = [_compact({**asdict(d), "time_created": d.time_created.isoformat(),
                                      "time_deleted": d.time_deleted.isoformat()}) for d in deletions]
    description["counters"] = {"next_list_sequence": company.next_list_sequence,
                               "next_txn_sequence": company.next_txn_sequence,
                               "next_txn_number": company.next_txn_number}
    return description


def save_company(company: FakeCompany, path: str | Path) -> None:
    Path(path).write_text(json.dumps(describe_company(company), indent=2, ensure_ascii=False) + "\n",
                          encoding="utf-8")


def _text(value: Decimal | None) -> str | None:
    return None if value is None else str(value)


def _compact(data: dict[str, Any]) -> dict[str, Any]:
    return {key: value for key, value in data.items() if value is not None}
