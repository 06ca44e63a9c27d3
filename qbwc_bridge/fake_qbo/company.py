"""One QuickBooks Online company (realm): its lists, invoices, preferences and flags.

Records are kept as the JSON objects QuickBooks answers with (``Id``, ``SyncToken``,
``MetaData``, refs with ``value``/``name``), so reads serve them as they are. Money is
``Decimal``. The seeding and changing methods here are for tests, the demo and the
bench; API writes go through :mod:`.creation`, which validates first.

Not thread-safe by itself: every caller holds the :class:`~.intuit.FakeIntuit` lock
(the public methods take it themselves).
"""
from __future__ import annotations

import threading
from dataclasses import dataclass
from datetime import date, timezone
from decimal import Decimal
from typing import Any

from .clock import PACIFIC, Clock, metadata_time
from .records import Record, RecordTable

# URL segment -> entity name, for the entities the fake serves.
ENTITIES = {
    "item": "Item", "customer": "Customer", "invoice": "Invoice", "term": "Term", "account": "Account",
    "vendor": "Vendor", "employee": "Employee", "taxcode": "TaxCode",
}
# TaxCode answers its active records only unless asked, as the name lists do: our decision, the recordings
# hold no TaxCode query (Intuit's reference lists Active among its filterable fields).
NAME_LISTS = ("Item", "Customer", "Term", "Account", "Vendor", "Employee", "TaxCode")
# The sales tax codes a new company outside the US starts with (a subset, as QuickBooks names them):
# (Name, Description). Our decision, not recorded: the names follow what QuickBooks shows UK and Canadian
# users; any other country gets a generic standard/zero/exempt trio. A US company has none here: its
# automated sales tax needs no code on a line (QuickBooks' own "TAX"/"NON" are not TaxCode records).
TAX_CODES = {
    "GB": (("20.0% S", "Standard rate"), ("5.0% R", "Reduced rate"), ("0.0% Z", "Zero-rated"),
           ("Exempt", "Exempt"), ("No VAT", "Outside the scope of VAT")),
    "CA": (("GST", "GST 5%"), ("HST ON", "HST Ontario 13%"), ("GST/QST QC - 9.975", "GST and QST Quebec"),
           ("Zero-rated", "Zero-rated"), ("Exempt", "Exempt")),
    "AU": (("GST", "GST 10%"), ("GST free", "GST free"), ("Input taxed", "Input taxed")),
}
TAX_CODES["UK"] = TAX_CODES["GB"]  # both spellings of the country, as HOME_CURRENCIES takes them
OTHER_TAX_CODES = (("Standard", "Standard rate"), ("Zero-rated", "Zero-rated"), ("Exempt", "Exempt"))
CURRENCY_NAMES = {"USD": "United States Dollar", "GBP": "British Pound Sterling", "EUR": "Euro",
                  "CAD": "Canadian Dollar", "AUD": "Australian Dollar"}
ACCOUNT_CLASSIFICATION = {
    "Income": "Revenue", "Other Income": "Revenue", "Expense": "Expense", "Other Expense": "Expense",
    "Cost of Goods Sold": "Expense", "Other Current Asset": "Asset", "Bank": "Asset",
    "Accounts Receivable": "Asset", "Fixed Asset": "Asset", "Accounts Payable": "Liability",
}
FIRST_AUTO_DOC_NUMBER = 1001
REQUEST_ID_MEMORY = 100_000


@dataclass
class CompanySettings:
    """What a company's owner decides in QuickBooks' settings, plus account status flags.

    ``custom_transaction_numbers`` off: QuickBooks numbers invoices itself and ignores a
    DocNumber we send (our decision; a client must not count on its number then).
    ``forbid_duplicate_doc_numbers``: QuickBooks' "warn if duplicate invoice number"
    is a UI warning; the API refusal 6140 models it (PROTOCOL §5.1).
    ``closed_through``: invoices dated on or before it are refused (6210).
    """

    name: str
    country: str = "US"
    home_currency: str = "USD"
    multicurrency: bool = False
    custom_transaction_numbers: bool = True
    forbid_duplicate_doc_numbers: bool = True
    subscription_ended: bool = False
    closed_through: date | None = None
    zone: timezone = PACIFIC
    sku_enabled: bool = True


class FakeCompany:
    def __init__(self, realm: str, settings: CompanySettings, clock: Clock, lock: threading.RLock) -> None:
        self.realm = realm
        self.settings = settings
        self.clock = clock
        self.lock = lock
        self.tables = {entity: RecordTable(entity) for entity in ENTITIES.values()}
        # Payments are recorded by a person in QuickBooks (``receive_payment``); the API serves none of them
        # (the bridge never reads or writes one): only change data capture reports them.
        self.tables["Payment"] = RecordTable("Payment")
        self.item_names: dict[str, str] = {}  # folded Name -> Id, active and inactive
        self.party_names: dict[str, tuple[str, str]] = {}  # folded DisplayName -> (entity, Id)
        self.invoices_by_doc_number: dict[str, list[str]] = {}
        self.next_doc_number = FIRST_AUTO_DOC_NUMBER
        self.created_at = clock()
        # requestid -> (status, JSON text) of writes QuickBooks processed, replayed on a retry.
        self.answers_by_request_id: dict[str, tuple[int, str]] = {}

    # --- reading -----------------------------------------------------------------------------

    def table(self, entity: str) -> RecordTable:
        return self.tables[entity]

    def get(self, entity: str, record_id: str) -> Record | None:
        with self.lock:
            return self.tables[entity].get(record_id)

    def invoices(self) -> list[Record]:
        with self.lock:
            return list(self.tables["Invoice"].rows)

    def duplicate_doc_numbers(self) -> dict[str, list[str]]:
        """DocNumber -> invoice Ids, for every DocNumber more than one invoice carries."""
        with self.lock:
            return {doc: list(ids) for doc, ids in self.invoices_by_doc_number.items() if len(ids) > 1}

    def company_info(self) -> Record:
        created = metadata_time(self.created_at, self.settings.zone)
        return {
            "CompanyName": self.settings.name, "LegalName": self.settings.name, "Country": self.settings.country,
            "CompanyAddr": {"Id": "1", "Country": self.settings.country},
            "SupportedLanguages": "en", "domain": "QBO", "sparse": False, "Id": "1", "SyncToken": "1",
            "MetaData": {"CreateTime": created, "LastUpdatedTime": created},
        }

    def preferences(self) -> Record:
        settings = self.settings
        created = metadata_time(self.created_at, settings.zone)
        return {
            "SalesFormsPrefs": {"CustomTxnNumbers": settings.custom_transaction_numbers, "AllowShipping": False},
            "ProductAndServicesPrefs": {"ForSales": True, "ForPurchase": True, "QuantityOnHand": True},
            "CurrencyPrefs": {"MultiCurrencyEnabled": settings.multicurrency,
                              "HomeCurrency": {"value": settings.home_currency}},
            "TaxPrefs": {"UsingSalesTax": settings.country == "US"} if settings.country == "US"
            else {"UsingSalesTax": True, "PartnerTaxEnabled": True},
            "domain": "QBO", "sparse": False, "Id": "1", "SyncToken": "1",
            "MetaData": {"CreateTime": created, "LastUpdatedTime": created},
        }

    def currency_ref(self, code: str | None = None) -> dict[str, str]:
        code = code or self.settings.home_currency
        return {"value": code, "name": CURRENCY_NAMES.get(code, code)}

    # --- building records ----------------------------------------------------------------------

    def stamp_time(self) -> str:
        return metadata_time(self.clock(), self.settings.zone)

    def stamp(self, table: RecordTable, record: Record) -> Record:
        """Give a new record its Id, SyncToken and MetaData, and store it."""
        moment = self.stamp_time()
        record.update({"domain": "QBO", "sparse": False, "Id": table.next_id(), "SyncToken": "0",
                       "MetaData": {"CreateTime": moment, "LastUpdatedTime": moment}})
        return table.insert(record)

    def ref(self, entity: str, record: Record) -> dict[str, str]:
        return {"value": record["Id"], "name": record["Name" if entity in ("Term", "TaxCode") else "FullyQualifiedName"]}

    def add_account(self, name: str, account_type: str, *, sub_type: str | None = None,
                    active: bool = True) -> Record:
        with self.lock:
            record: Record = {
                "Name": name, "SubAccount": False, "FullyQualifiedName": name, "Active": active,
                "Classification": ACCOUNT_CLASSIFICATION.get(account_type, "Expense"), "AccountType": account_type,
                "CurrentBalance": 0, "CurrentBalanceWithSubAccounts": 0, "CurrencyRef": self.currency_ref(),
            }
            if sub_type:
                record["AccountSubType"] = sub_type
            return self.stamp(self.tables["Account"], record)

    def add_term(self, name: str, due_days: int = 0, *, active: bool = True) -> Record:
        with self.lock:
            record: Record = {"Name": name, "DiscountPercent": 0, "DiscountDays": 0, "Type": "STANDARD",
                              "Active": active, "DueDays": due_days}
            return self.stamp(self.tables["Term"], record)

    def add_tax_code(self, name: str, description: str | None = None, *, active: bool = True,
                     taxable: bool = True) -> Record:
        """A sales tax code as a query answers it.

        Our decision, not recorded: Intuit's TaxCode also carries SalesTaxRateList and
        PurchaseTaxRateList (refs to TaxRate records the fake does not hold); they are left out,
        since the bridge only names a code on a line and never reads its rates.
        """
        with self.lock:
            record: Record = {"Name": name, "Description": description or name, "Active": active, "Hidden": False,
                              "Taxable": taxable, "TaxGroup": False}
            return self.stamp(self.tables["TaxCode"], record)

    def seed_tax_codes(self) -> None:
        """The sales tax codes of the company's country (none in the US, see TAX_CODES)."""
        if self.settings.country == "US":
            return
        for name, description in TAX_CODES.get(self.settings.country, OTHER_TAX_CODES):
            self.add_tax_code(name, description, taxable=name not in ("Exempt", "No VAT"))

    def tax_code_named(self, name: str) -> Record:
        with self.lock:
            return next(record for record in self.tables["TaxCode"].rows if record["Name"] == name)

    def account_named(self, name: str) -> Record:
        with self.lock:
            for record in self.tables["Account"].rows:
                if record["Name"] == name:
                    return record
            raise KeyError(f"no account named {name!r}")

    def add_item(self, name: str, *, sku: str | None = None, item_type: str = "Service",
                 unit_price: Decimal | int | str = 0, description: str | None = None,
                 income_account: str = "Sales of Product Income", expense_account: str | None = None,
                 asset_account: str | None = None, qty_on_hand: Decimal | int = 0, active: bool = True) -> Record:
        """An item as QuickBooks stores it; account arguments are account names."""
        with self.lock:
            record: Record = {"Name": name, "FullyQualifiedName": name, "Active": active, "Type": item_type,
                              "UnitPrice": Decimal(str(unit_price)), "Taxable": False, "PurchaseCost": 0,
                              "TrackQtyOnHand": item_type == "Inventory",
                              "IncomeAccountRef": self.ref("Account", self.account_named(income_account))}
            if sku is not None:
                record["Sku"] = sku
            if description is not None:
                record["Description"] = description
            if item_type == "Inventory":
                record["ExpenseAccountRef"] = self.ref("Account", self.account_named(expense_account or "Cost of Goods Sold"))
                record["AssetAccountRef"] = self.ref("Account", self.account_named(asset_account or "Inventory Asset"))
                record["QtyOnHand"] = Decimal(qty_on_hand)
                record["InvStartDate"] = self.clock().astimezone(self.settings.zone).date().isoformat()
            elif expense_account:
                record["ExpenseAccountRef"] = self.ref("Account", self.account_named(expense_account))
            return self.store_item(record)

    def store_item(self, record: Record) -> Record:
        table = self.tables["Item"]
        self.stamp(table, record)
        self.item_names[fold(record["Name"])] = record["Id"]
        return record

    def add_customer(self, display_name: str, *, email: str | None = None, currency: str | None = None,
                     terms: str | None = None, active: bool = True, bill_addr: dict[str, str] | None = None,
                     ship_addr: dict[str, str] | None = None, company_name: str | None = None) -> Record:
        with self.lock:
            record: Record = {"DisplayName": display_name, "Active": active}
            if email is not None:
                record["PrimaryEmailAddr"] = {"Address": email}
            if company_name is not None:
                record["CompanyName"] = company_name
            if bill_addr is not None:
                record["BillAddr"] = dict(bill_addr)
            if ship_addr is not None:
                record["ShipAddr"] = dict(ship_addr)
            if terms is not None:
                term = next(t for t in self.tables["Term"].rows if t["Name"] == terms)
                record["SalesTermRef"] = {"value": term["Id"], "name": term["Name"]}
            if currency is not None:
                record["CurrencyRef"] = self.currency_ref(currency)
            return self.store_customer(record)

    def store_customer(self, record: Record) -> Record:
        record.setdefault("CurrencyRef", self.currency_ref())
        name = record["DisplayName"]
        defaults = {"Taxable": False, "Job": False, "BillWithParent": False, "Balance": 0, "BalanceWithJobs": 0,
                    "PreferredDeliveryMethod": "Print", "FullyQualifiedName": name, "PrintOnCheckName": name[:110],
                    "Active": True}
        for key, value in defaults.items():
            record.setdefault(key, value)
        self.stamp(self.tables["Customer"], record)
        self.party_names[fold(name)] = ("Customer", record["Id"])
        return record

    def add_vendor(self, display_name: str, *, active: bool = True) -> Record:
        return self._add_party("Vendor", display_name, active)

    def add_employee(self, display_name: str, *, active: bool = True) -> Record:
        return self._add_party("Employee", display_name, active)

    def _add_party(self, entity: str, display_name: str, active: bool) -> Record:
        with self.lock:
            record: Record = {"DisplayName": display_name, "PrintOnCheckName": display_name, "Active": active,
                              "Balance": 0, "CurrencyRef": self.currency_ref()}
            self.stamp(self.tables[entity], record)
            self.party_names[fold(display_name)] = (entity, record["Id"])
            return record

    def remember_answer(self, request_id: str, answer: tuple[int, str]) -> None:
        """Keep a write's answer for replays; past REQUEST_ID_MEMORY the oldest is forgotten
        (how long Intuit remembers is undocumented; a long-running demo must not grow forever)."""
        self.answers_by_request_id[request_id] = answer
        if len(self.answers_by_request_id) > REQUEST_ID_MEMORY:
            del self.answers_by_request_id[next(iter(self.answers_by_request_id))]

    def store_invoice(self, record: Record) -> Record:
        self.stamp(self.tables["Invoice"], record)
        if record.get("DocNumber"):
            self.invoices_by_doc_number.setdefault(record["DocNumber"], []).append(record["Id"])
        return record

    def seed_defaults(self) -> None:
        """The accounts, terms and (outside the US) tax codes every new QuickBooks Online company starts with (a subset)."""
        with self.lock:
            self.add_account("Sales of Product Income", "Income", sub_type="SalesOfProductIncome")
            self.add_account("Services", "Income", sub_type="ServiceFeeIncome")
            self.add_account("Cost of Goods Sold", "Cost of Goods Sold", sub_type="SuppliesMaterialsCogs")
            self.add_account("Inventory Asset", "Other Current Asset", sub_type="Inventory")
            self.add_account("Accounts Receivable (A/R)", "Accounts Receivable", sub_type="AccountsReceivable")
            for name, days in (("Due on receipt", 0), ("Net 15", 15), ("Net 30", 30), ("Net 60", 60)):
                self.add_term(name, days)
            self.seed_tax_codes()

    # --- changing records (tests of incremental sync and CDC) ----------------------------------

    def update(self, entity: str, record_id: str, **changes: Any) -> Record:
        """Change fields of a record as a QuickBooks user would: SyncToken and LastUpdatedTime move."""
        with self.lock:
            table = self.tables[entity]
            record = table.by_id[record_id]
            if "Name" in changes and entity == "Item":
                del self.item_names[fold(record["Name"])]
                self.item_names[fold(changes["Name"])] = record_id
                changes.setdefault("FullyQualifiedName", changes["Name"])
            if "DisplayName" in changes and entity in ("Customer", "Vendor", "Employee"):
                del self.party_names[fold(record["DisplayName"])]
                self.party_names[fold(changes["DisplayName"])] = (entity, record_id)
                changes.setdefault("FullyQualifiedName", changes["DisplayName"])
            if "Active" in changes:
                table.set_active(record, bool(changes.pop("Active")))
            record.update(changes)
            self.touch(record)
            return record

    def touch(self, record: Record) -> None:
        record["SyncToken"] = str(int(record["SyncToken"]) + 1)
        record["MetaData"] = {**record["MetaData"], "LastUpdatedTime": self.stamp_time()}

    def delete(self, entity: str, record_id: str) -> None:
        """Remove a record; change data capture reports it as ``"status": "Deleted"``.

        Our decision: QuickBooks only deactivates items and customers ("(deleted)" in the
        name); a hard delete here is what lets tests exercise the Deleted answers CDC
        gives for transactions and merged names.
        """
        with self.lock:
            record = self.tables[entity].delete(record_id, self.clock())
            if entity == "Item":
                self.item_names.pop(fold(record["Name"]), None)
            elif entity in ("Customer", "Vendor", "Employee"):
                self.party_names.pop(fold(record["DisplayName"]), None)
            elif entity == "Invoice" and record.get("DocNumber"):
                self.invoices_by_doc_number[record["DocNumber"]].remove(record_id)

    # --- what a bookkeeper does to an invoice (tests of the invoice-state pull) -------------------

    def receive_payment(self, invoice_id: str, amount: Decimal | str) -> Record:
        """Receive a payment from the invoice's customer, applied to that invoice (Receive payment).

        As QuickBooks does: the Payment links the invoice, the invoice's Balance drops and it is
        updated (SyncToken and LastUpdatedTime move, a LinkedTxn names the payment); so does the
        customer's balance. A payment larger than the balance, of nothing, or to a voided invoice is
        refused here (QuickBooks would keep the excess as a credit, which the fake does not model).

        Raises:
            ValueError: the payment cannot be applied as asked.
        """
        with self.lock:
            invoice = self.tables["Invoice"].by_id[invoice_id]
            paid = Decimal(str(amount))
            balance = Decimal(str(invoice["Balance"]))
            if paid <= 0 or paid > balance:
                raise ValueError(f"a payment of {paid} cannot be applied to invoice {invoice_id} (balance {balance})")
            customer = self.tables["Customer"].by_id[invoice["CustomerRef"]["value"]]
            payment = self.stamp(self.tables["Payment"], {
                "CustomerRef": dict(invoice["CustomerRef"]), "TotalAmt": paid, "UnappliedAmt": Decimal("0"),
                "TxnDate": self.clock().astimezone(self.settings.zone).date().isoformat(),
                "CurrencyRef": dict(invoice["CurrencyRef"]),
                "Line": [{"Amount": paid, "LinkedTxn": [{"TxnId": invoice_id, "TxnType": "Invoice"}]}]})
            invoice["Balance"] = balance - paid
            invoice["LinkedTxn"] = [*invoice.get("LinkedTxn", []), {"TxnId": payment["Id"], "TxnType": "Payment"}]
            self.touch(invoice)
            self._owe(customer, -paid)
            return payment

    def void_invoice(self, invoice_id: str) -> Record:
        """Void an invoice as the recorded ``operation=void`` answer shows: it stays, every amount zeroed,
        "Voided" in its PrivateNote (our decision: put before a note it already had; the recording had none).

        Raises:
            ValueError: payments are applied to it (QuickBooks asks to remove them first).
        """
        with self.lock:
            invoice = self.tables["Invoice"].by_id[invoice_id]
            if any(link.get("TxnType") == "Payment" for link in invoice.get("LinkedTxn", [])):
                raise ValueError(f"invoice {invoice_id} has payments applied: it cannot be voided")
            customer = self.tables["Customer"].by_id[invoice["CustomerRef"]["value"]]
            self._owe(customer, -Decimal(str(invoice["Balance"])))
            for line in invoice["Line"]:
                line["Amount"] = Decimal("0")
                detail = line.get("SalesItemLineDetail")
                if detail and "Qty" in detail:
                    detail["Qty"] = Decimal("0")
            note = invoice.get("PrivateNote")
            invoice["PrivateNote"] = f"Voided {note}" if note else "Voided"
            invoice["TotalAmt"] = invoice["Balance"] = Decimal("0")
            self.touch(invoice)
            return invoice

    def change_invoice_line(self, invoice_id: str, line_number: int, quantity: Decimal | str) -> Record:
        """Edit the quantity of one line (``LineNum``) as a person would: the line's Amount, the subtotal,
        TotalAmt and Balance follow (what was paid stays paid).

        Raises:
            ValueError: the edit would make the balance negative (QuickBooks asks to unapply payments first).
        """
        with self.lock:
            invoice = self.tables["Invoice"].by_id[invoice_id]
            line = next(line for line in invoice["Line"] if line.get("LineNum") == line_number)
            detail = line["SalesItemLineDetail"]
            detail["Qty"] = Decimal(str(quantity))
            line["Amount"] = (detail["Qty"] * Decimal(str(detail["UnitPrice"]))).quantize(Decimal("0.01"))
            total = sum((Decimal(str(other["Amount"])) for other in invoice["Line"]
                         if other.get("DetailType") == "SalesItemLineDetail"), Decimal("0.00"))
            difference = total - Decimal(str(invoice["TotalAmt"]))
            if Decimal(str(invoice["Balance"])) + difference < 0:
                raise ValueError(f"invoice {invoice_id} would be paid more than its total")
            for other in invoice["Line"]:
                if other.get("DetailType") == "SubTotalLineDetail":
                    other["Amount"] = total
            invoice["TotalAmt"] = total
            invoice["Balance"] = Decimal(str(invoice["Balance"])) + difference
            self.touch(invoice)
            self._owe(self.tables["Customer"].by_id[invoice["CustomerRef"]["value"]], difference)
            return invoice

    def _owe(self, customer: Record, change: Decimal) -> None:
        """The customer's balance moves with what its invoices owe (LastUpdatedTime too, as ``_charge``)."""
        customer["Balance"] = Decimal(str(customer["Balance"])) + change
        customer["BalanceWithJobs"] = Decimal(str(customer["BalanceWithJobs"])) + change
        customer["MetaData"] = {**customer["MetaData"], "LastUpdatedTime": self.stamp_time()}

    def merge(self, entity: str, from_id: str, into_id: str) -> Record:
        """Merge one item or customer into another: references move, the merged one is deleted.

        Our decision: CDC reports the merged-away record as Deleted and the survivor as
        updated; QuickBooks' exact CDC answer for a merge is not in the recordings.
        """
        with self.lock:
            survivor = self.tables[entity].by_id[into_id]
            for invoice in self.tables["Invoice"].rows:
                if entity == "Customer" and invoice["CustomerRef"]["value"] == from_id:
                    invoice["CustomerRef"] = self.ref("Customer", survivor)
                for line in invoice["Line"]:
                    detail = line.get("SalesItemLineDetail")
                    if entity == "Item" and detail and detail["ItemRef"]["value"] == from_id:
                        detail["ItemRef"] = self.ref("Item", survivor)
            self.delete(entity, from_id)
            self.touch(survivor)
            return survivor

    def generate(self, items: int, customers: int, *, sku_every: int = 1, email_every: int = 1) -> None:
        """Many records fast (the bench's 100k + 100k): one timestamp, shared refs, no checks.

        The MetaData and ref objects are shared between the records (memory): every
        change replaces a record's MetaData rather than editing it, so that is safe.

        Every ``sku_every``-th item carries a Sku (0: none) and every ``email_every``-th
        customer a PrimaryEmailAddr (0: none).
        """
        with self.lock:
            moment = self.stamp_time()
            metadata = {"CreateTime": moment, "LastUpdatedTime": moment}
            income = self.ref("Account", self.account_named("Sales of Product Income"))
            currency = self.currency_ref()
            item_table, customer_table = self.tables["Item"], self.tables["Customer"]
            for n in range(items):
                name = f"Item {item_table.last_id + 1:06d}"
                record: Record = {
                    "Name": name, "FullyQualifiedName": name, "Active": True, "Type": "Service",
                    "UnitPrice": Decimal(n % 500) + Decimal("0.99"), "Taxable": False, "PurchaseCost": 0,
                    "TrackQtyOnHand": False, "IncomeAccountRef": income, "domain": "QBO", "sparse": False,
                    "Id": item_table.next_id(), "SyncToken": "0", "MetaData": metadata,
                }
                if sku_every and n % sku_every == 0:
                    record["Sku"] = f"SKU-{record['Id']:0>6}"
                item_table.insert(record)
                self.item_names[fold(name)] = record["Id"]
            for n in range(customers):
                name = f"Customer {customer_table.last_id + 1:06d}"
                record = {
                    "DisplayName": name, "FullyQualifiedName": name, "PrintOnCheckName": name, "Active": True,
                    "Taxable": False, "Job": False, "BillWithParent": False, "Balance": 0, "BalanceWithJobs": 0,
                    "CurrencyRef": currency, "PreferredDeliveryMethod": "Print", "domain": "QBO", "sparse": False,
                    "Id": customer_table.next_id(), "SyncToken": "0", "MetaData": metadata,
                }
                if email_every and n % email_every == 0:
                    record["PrimaryEmailAddr"] = {"Address": f"customer{record['Id']}@example.test"}
                customer_table.insert(record)
                self.party_names[fold(name)] = ("Customer", record["Id"])


def fold(name: str) -> str:
    """QuickBooks compares names case-insensitively (our reading; the recordings do not show it)."""
    return name.casefold()

