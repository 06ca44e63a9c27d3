"""The requests the sync engine sends day to day, as data: shared by golden and version tests."""
from __future__ import annotations

import datetime as dt
import uuid
from decimal import Decimal

ADDRESS = {"addr1": "Müller & Söhne GmbH", "addr2": "12 “Harbour” Road", "addr5": "Suite 5", "city": "Zürich",
           "postal_code": "8001", "country": "Switzerland", "note": "Ring twice"}  # fmt: skip

TYPICAL: dict[str, tuple[str, dict]] = {
    "item_query_start": (
        "ItemQuery",
        {"iterator": "Start", "max_returned": 200, "active_status": "All",
         "from_modified_date": dt.datetime(2024, 3, 1, 8, 30, tzinfo=dt.timezone(dt.timedelta(hours=-5)))},
    ),
    "item_query_continue": (
        "ItemQuery",
        {"iterator": "Continue", "iterator_id": "{eb05f701-e727-472f-8ade-6753c4f67a46}", "max_returned": 200,
         "active_status": "All"},
    ),
    "item_query_by_name": ("ItemQuery", {"full_names": ["SPREE-T-SHIRT", "Widget <Blue> & Co"]}),
    "customer_query_by_id": ("CustomerQuery", {"list_ids": ["80000013-1416570432", "8000001B-1405768916"]}),
    "terms_query": ("TermsQuery", {"active_status": "ActiveOnly"}),
    "account_query": ("AccountQuery", {"account_types": ["Income", "Expense", "CostOfGoodsSold"]}),
    "invoice_query_by_ref": ("InvoiceQuery", {"ref_numbers": ["R1001", "R1002"], "include_line_items": True}),
    "invoice_query_modified": (
        "InvoiceQuery",
        {"iterator": "Start", "max_returned": 100, "from_modified_date": dt.datetime(2024, 3, 1),
         "to_modified_date": dt.datetime(2024, 3, 2), "customer_list_ids": ["80000013-1416570432"]},
    ),
    "list_deleted_query": (
        "ListDeletedQuery",
        {"del_types": ["ItemService", "ItemNonInventory", "ItemInventory", "ItemInventoryAssembly", "ItemOtherCharge",
                       "ItemFixedAsset", "ItemSubtotal", "ItemDiscount", "ItemPayment", "ItemSalesTax",
                       "ItemSalesTaxGroup", "ItemGroup"],
         "from_deleted_date": dt.datetime(2024, 3, 1, 7, 20, tzinfo=dt.timezone.utc)},
    ),
    "txn_deleted_query": (
        "TxnDeletedQuery",
        {"del_types": ["Invoice"], "from_deleted_date": dt.datetime(2024, 3, 1, 7, 20, tzinfo=dt.timezone.utc)},
    ),
    "item_service_add": (
        "ItemServiceAdd",
        {"name": "Gift wrapping", "sales_desc": "Wrapped with a bow…", "sales_price": Decimal("4.5"),
         "income_account_list_id": "8000001A-1415022649", "purchase_cost": Decimal("1.25"),
         "expense_account_list_id": "8000001C-1415022649", "bar_code_value": "4006381333931",
         "external_guid": uuid.UUID("6f1c5a8e-2b9d-4c1e-9a57-0e2f3b4c5d6e")},
    ),
    "item_non_inventory_add": (
        "ItemNonInventoryAdd",
        {"name": "TSHIRT-BLUE-M", "manufacturer_part_number": "TS-B-M", "is_active": True,
         "sales_desc": "Blue T-shirt, size M", "sales_price": Decimal("19.99000"),
         "income_account_list_id": "8000001A-1415022649", "expense_account_list_id": "8000001C-1415022649"},
    ),
    "item_inventory_add": (
        "ItemInventoryAdd",
        {"name": "MUG-RED", "manufacturer_part_number": "MUG-R", "sales_desc": "Red mug", "sales_price": Decimal(12),
         "income_account_list_id": "8000001A-1415022649", "purchase_cost": Decimal("3.10"),
         "cogs_account_list_id": "8000001B-1415022649", "asset_account_list_id": "8000001D-1415022649",
         "quantity_on_hand": Decimal("40"), "total_value": Decimal("124"), "inventory_date": dt.date(2024, 3, 1)},
    ),
    "customer_add": (
        "CustomerAdd",
        {"name": "O'Brien & Daughters", "company_name": "O'Brien & Daughters Ltd", "first_name": "Siobhán",
         "last_name": "O'Brien", "bill_address": ADDRESS, "ship_address": ADDRESS, "phone": "+353 1 234 5678",
         "email": "accounts@obrien.example", "terms_list_id": "80000002-1414518217",
         "notes": "Prefers invoices by e-mail", "external_guid": uuid.UUID("0b4a3b8e-1111-4c1e-9a57-0e2f3b4c5d6e")},
    ),
    "invoice_add": (
        "InvoiceAdd",
        {"customer_list_id": "80000013-1416570432", "txn_date": dt.date(2024, 3, 5), "ref_number": "R1001",
         "bill_address": ADDRESS, "ship_address": {"addr1": "Dock 4", "city": "Basel"}, "po_number": "PO-77/2024",
         "terms_list_id": "80000002-1414518217", "memo": "BlueTrace order R1001", "is_to_be_printed": False,
         "is_to_be_emailed": True, "external_guid": uuid.UUID("8d0e2d8c-7b55-4a4a-9d1a-3e1f0c2b7a61"),
         "lines": [
             {"item_list_id": "80000034-1415899267", "desc": "T-shirt — blue, M", "quantity": Decimal("2"),
              "rate": Decimal("103.00")},
             {"item_list_id": "80000035-1415899267", "quantity": Decimal("0.5"), "rate": Decimal("9.12345"),
              "amount": Decimal("4.56")},
             {"desc": "Thank you for your order!"},
         ]},
    ),
}  # fmt: skip
