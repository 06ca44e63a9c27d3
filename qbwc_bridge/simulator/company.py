"""A fake QuickBooks Desktop company file: the lists, their identities and rules.

The company is plain state plus the rules QuickBooks applies to it whatever the
request looks like: realistic ListIDs (``80000001-1700000000``) and TxnIDs, an
EditSequence and TimeModified bumped on every change, one name namespace shared by
customers, vendors, employees and other names, unique item names, references that
must exist. qbXML parsing and rendering live elsewhere (:mod:`.request_processor`,
:mod:`.rets`); tests and support staff use this class directly to seed data, make
edits "in QuickBooks" between sessions and inspect what a session left behind.

Build one with :func:`.seeding.company_from_description` / :func:`.seeding.load_company`
or :func:`.generation.generate_company`; :func:`.seeding.save_company` writes it back.
"""
from __future__ import annotations

import logging
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from decimal import Decimal
from typing import TypeVar

from .records import (
    Account,
    DataExtension,
    Deletion,
    Entity,
    EntityKind,
    Invoice,
    Item,
    Payment,
    Stamp,
    Terms,
    money,
)

logger = logging.getLogger(__name__)

# What QuickBooks Desktop writes before the memo of an invoice it voids.
VOID_MEMO = "VOID:"
FIRST_LIST_SEQUENCE = 0x80000001
FIRST_TXN_SEQUENCE = 0x10
DEFAULT_VERSIONS = ("1.0", "1.1", "2.0", "2.1", "3.0", "4.0", "4.1", "5.0", "6.0", "7.0",
                    "8.0", "9.0", "10.0", "11.0", "12.0", "13.0")

Named = TypeVar("Named", Account, Terms, Item, Entity)


class QuickBooksStatus(Exception):
    """A per-request outcome QuickBooks reports as ``statusCode`` (3100, 3140, ...)."""

    def __init__(self, code: int, message: str, severity: str = "Error"):
        super().__init__(f"{code}: {message}")
        self.code = code
        self.message = message
        self.severity = severity


@dataclass
class CompanySettings:
    """What the Host/Company/Preferences queries report about the file."""

    company_name: str = "Simulated Company"
    legal_name: str | None = None
    product_name: str = "QuickBooks Pro 2014"
    product_major_version: str = "24"
    country: str = "US"
    supported_versions: tuple[str, ...] = DEFAULT_VERSIONS
    file_path: str = "C:\\Users\\Public\\Documents\\Intuit\\QuickBooks\\Company Files\\Simulated.QBW"
    file_mode: str = "SingleUser"
    uses_inventory: bool = True
    utc_offset_minutes: int = -300

    @property
    def max_version(self) -> tuple[int, int]:
        return max(_version_tuple(v) for v in self.supported_versions)

    @property
    def timezone(self) -> timezone:
        return timezone(timedelta(minutes=self.utc_offset_minutes))


def _version_tuple(text: str) -> tuple[int, int]:
    major, _, minor = text.partition(".")
    return int(major), int(minor or 0)


@dataclass
class FakeCompany:
    """One company file's lists and transactions.

    ``clock`` returns "now" for TimeCreated/TimeModified (tests may freeze it).
    """

    settings: CompanySettings = field(default_factory=CompanySettings)
    clock: Callable[[], datetime] | None = None
    accounts: dict[str, Account] = field(default_factory=dict)
    terms: dict[str, Terms] = field(default_factory=dict)
    items: dict[str, Item] = field(default_factory=dict)
    entities: dict[str, Entity] = field(default_factory=dict)
    invoices: dict[str, Invoice] = field(default_factory=dict)
    data_extensions: list[DataExtension] = field(default_factory=list)
    # What ListDeletedQuery / TxnDeletedQuery report: every deletion and merge made "in QuickBooks".
    deleted_list_records: list[Deletion] = field(default_factory=list)
    deleted_txns: list[Deletion] = field(default_factory=list)
    next_list_sequence: int = FIRST_LIST_SEQUENCE
    next_txn_sequence: int = FIRST_TXN_SEQUENCE
    next_txn_number: int = 1
    # casefolded full name -> ListID, per table: QuickBooks finds a name at once in a
    # 100k-item file, and so must the fake (a scan per add would make seeding quadratic).
    _names: dict[int, dict[str, str]] = field(default_factory=dict, repr=False, compare=False)

    # ----------------------------------------------------------------- identity
    def now(self) -> datetime:
        current = self.clock() if self.clock else datetime.now(self.settings.timezone)
        if current.tzinfo is None:
            current = current.replace(tzinfo=self.settings.timezone)
        return current.astimezone(self.settings.timezone).replace(microsecond=0)

    def new_list_stamp(self) -> Stamp:
        now = self.now()
        list_id = f"{self.next_list_sequence:08X}-{int(now.timestamp())}"
        self.next_list_sequence += 1
        return Stamp(list_id, now, now, str(int(now.timestamp())))

    def new_txn_id(self) -> str:
        txn_id = f"{self.next_txn_sequence:X}-{int(self.now().timestamp())}"
        self.next_txn_sequence += 1
        return txn_id

    def new_txn_stamp(self) -> Stamp:
        now = self.now()
        return Stamp(self.new_txn_id(), now, now, str(int(now.timestamp())))

    def touch(self, stamp: Stamp) -> None:
        """Record a change: a newer TimeModified and a different EditSequence."""
        now = self.now()
        stamp.time_modified = max(now, stamp.time_modified)
        stamp.edit_sequence = str(max(int(stamp.edit_sequence) + 1, int(now.timestamp())))

    # ----------------------------------------------------------------- lookups
    def entities_of(self, kind: EntityKind) -> list[Entity]:
        return sorted((e for e in self.entities.values() if e.kind is kind), key=lambda e: e.full_name.casefold())

    @property
    def customers(self) -> list[Entity]:
        return self.entities_of(EntityKind.CUSTOMER)

    @property
    def vendors(self) -> list[Entity]:
        return self.entities_of(EntityKind.VENDOR)

    def sorted_items(self) -> list[Item]:
        return sorted(self.items.values(), key=lambda i: i.full_name.casefold())

    def find_account(self, list_id: str | None = None, full_name: str | None = None) -> Account | None:
        return _find(self.accounts, list_id, full_name, lambda a: a.name)

    def find_terms(self, list_id: str | None = None, full_name: str | None = None) -> Terms | None:
        return _find(self.terms, list_id, full_name, lambda t: t.name)

    def find_item(self, list_id: str | None = None, full_name: str | None = None) -> Item | None:
        if list_id is None and full_name is not None:
            return self.items.get(self.name_index(self.items).get(full_name.casefold(), ""))
        return _find(self.items, list_id, full_name, lambda i: i.full_name)

    def find_entity(self, kind: EntityKind | None, list_id: str | None = None,
                    full_name: str | None = None) -> Entity | None:
        if list_id is None and full_name is not None:
            found = self.entities.get(self.name_index(self.entities).get(full_name.casefold(), ""))
        else:
            found = _find(self.entities, list_id, full_name, lambda e: e.full_name)
        return found if found is not None and (kind is None or found.kind is kind) else None

    def customer_named(self, full_name: str) -> Entity | None:
        return self.find_entity(EntityKind.CUSTOMER, full_name=full_name)

    def item_named(self, full_name: str) -> Item | None:
        return self.find_item(full_name=full_name)

    def invoices_by_ref(self, ref_number: str) -> list[Invoice]:
        """Every invoice with this RefNumber (QuickBooks allows duplicates), oldest first."""
        wanted = ref_number.casefold()
        return [i for i in self.sorted_invoices() if (i.ref_number or "").casefold() == wanted]

    def sorted_invoices(self) -> list[Invoice]:
        return sorted(self.invoices.values(), key=lambda i: i.txn_number)

    def counts(self) -> dict[str, int]:
        """How many records each list holds, for quick assertions and the CLI."""
        result = {
            "accounts": len(self.accounts),
            "terms": len(self.terms),
            "items": len(self.items),
            "invoices": len(self.invoices),
        }
        for kind, key in ((EntityKind.CUSTOMER, "customers"), (EntityKind.VENDOR, "vendors"),
                          (EntityKind.EMPLOYEE, "employees"), (EntityKind.OTHER_NAME, "other_names")):
            result[key] = len(self.entities_of(kind))
        return result

    # ----------------------------------------------------------------- rules
    def name_index(self, table: dict[str, Item] | dict[str, Entity]) -> dict[str, str]:
        """Casefolded full name -> ListID of ``items`` or ``entities``, rebuilt if the table grew behind our back."""
        index = self._names.get(id(table))
        if index is None or len(index) != len(table):
            index = {record.full_name.casefold(): list_id for list_id, record in table.items()}
            self._names[id(table)] = index
        return index

    def check_entity_name_free(self, name: str, parent: Entity | None, ignore_id: str | None = None) -> None:
        """Raise 3100 if the name clashes in the shared customer/vendor/employee/other-name list.

        Raises:
            QuickBooksStatus: 3100, naming the record that holds the name.
        """
        full_name = f"{parent.full_name}:{name}" if parent else name
        holder = self.name_index(self.entities).get(full_name.casefold())
        if holder is not None and holder != ignore_id:
            raise QuickBooksStatus(3100, f'The name "{full_name}" of the list element is already in use.')

    def check_item_name_free(self, name: str, parent: Item | None, ignore_id: str | None = None) -> None:
        """Raise 3100 if another item (of any kind) has this full name.

        Raises:
            QuickBooksStatus: 3100.
        """
        full_name = f"{parent.full_name}:{name}" if parent else name
        holder = self.name_index(self.items).get(full_name.casefold())
        if holder is not None and holder != ignore_id:
            raise QuickBooksStatus(3100, f'The name "{full_name}" of the list element is already in use.')

    def _check_simple_name_free(self, records: Iterable[Account | Terms], name: str) -> None:
        if any(r.name.casefold() == name.casefold() for r in records):
            raise QuickBooksStatus(3100, f'The name "{name}" of the list element is already in use.')

    # ----------------------------------------------------------------- adds
    def add_account(self, name: str, account_type: str, account_number: str | None = None,
                    restore: Callable[[Stamp], Stamp] | None = None) -> Account:
        """Add an account; ``restore`` may swap in a saved identity for the fresh stamp.

        Raises:
            QuickBooksStatus: 3100 on a name clash.
        """
        self._check_simple_name_free(self.accounts.values(), name)
        stamp = self.new_list_stamp()
        account = Account(restore(stamp) if restore else stamp, name, account_type, account_number)
        self.accounts[account.stamp.id] = account
        return account

    def add_terms(self, terms_factory: Callable[[Stamp], Terms]) -> Terms:
        terms = terms_factory(self.new_list_stamp())
        self._check_simple_name_free(self.terms.values(), terms.name)
        self.terms[terms.stamp.id] = terms
        return terms

    def add_item(self, item_factory: Callable[[Stamp], Item]) -> Item:
        """Add an item built by ``item_factory`` (given the new stamp) after the name check.

        Raises:
            QuickBooksStatus: 3100 on a name clash.
        """
        item = item_factory(self.new_list_stamp())
        parent = self.items.get(item.parent_id) if item.parent_id else None
        self.check_item_name_free(item.name, parent)
        item.full_name = f"{parent.full_name}:{item.name}" if parent else item.name
        item.sublevel = parent.sublevel + 1 if parent else 0
        names = self.name_index(self.items)
        self.items[item.stamp.id] = item
        names[item.full_name.casefold()] = item.stamp.id
        return item

    def add_entity(self, entity_factory: Callable[[Stamp], Entity]) -> Entity:
        """Add a customer/vendor/employee/other name after the shared-namespace check.

        Raises:
            QuickBooksStatus: 3100 on a name clash with any of the four lists.
        """
        entity = entity_factory(self.new_list_stamp())
        parent = self.entities.get(entity.parent_id) if entity.parent_id else None
        self.check_entity_name_free(entity.name, parent)
        entity.full_name = f"{parent.full_name}:{entity.name}" if parent else entity.name
        entity.sublevel = parent.sublevel + 1 if parent else 0
        names = self.name_index(self.entities)
        self.entities[entity.stamp.id] = entity
        names[entity.full_name.casefold()] = entity.stamp.id
        return entity

    def add_invoice(self, invoice: Invoice) -> Invoice:
        """Store an invoice already checked by the caller; updates the customer's balance."""
        self.invoices[invoice.stamp.id] = invoice
        self.next_txn_number = max(self.next_txn_number, invoice.txn_number + 1)
        customer = self.entities[invoice.customer_id]
        customer.balance += invoice.subtotal
        return invoice

    def next_invoice_ref_number(self) -> str:
        """QuickBooks' auto-numbering: one more than the highest numeric RefNumber."""
        numbers = [int(i.ref_number) for i in self.invoices.values() if i.ref_number and i.ref_number.isdigit()]
        return str(max(numbers, default=0) + 1)

    def set_data_extension(self, owner_id: str, name: str, value: str) -> None:
        """Store (or replace) a private company data extension, as QBWC does for FileID."""
        for extension in self.data_extensions:
            if extension.owner_id.casefold() == owner_id.casefold() and extension.name == name:
                extension.value = value
                return
        self.data_extensions.append(DataExtension(owner_id, name, value))

    # ----------------------------------------------------------------- edits "in QuickBooks"
    def _list_record(self, list_id: str) -> Account | Terms | Item | Entity:
        for table in (self.entities, self.items, self.accounts, self.terms):
            if list_id in table:
                return table[list_id]
        raise KeyError(f"no list record {list_id}")

    def rename(self, list_id: str, new_name: str) -> None:
        """Rename a record as a user would in QuickBooks (children's full names follow).

        Raises:
            QuickBooksStatus: 3100 when the new name is taken.
            KeyError: no such ListID.
        """
        record = self._list_record(list_id)
        if isinstance(record, Entity):
            parent = self.entities.get(record.parent_id) if record.parent_id else None
            self.check_entity_name_free(new_name, parent, ignore_id=list_id)
            self._rename_tree(record, new_name, self.entities)
        elif isinstance(record, Item):
            parent = self.items.get(record.parent_id) if record.parent_id else None
            self.check_item_name_free(new_name, parent, ignore_id=list_id)
            self._rename_tree(record, new_name, self.items)
        else:
            table = self.accounts.values() if isinstance(record, Account) else self.terms.values()
            self._check_simple_name_free((r for r in table if r.stamp.id != list_id), new_name)
            record.name = new_name
            self.touch(record.stamp)
        logger.info("company edit: %s renamed to %r", list_id, new_name)

    def _rename_tree(self, record: Item | Entity, new_name: str, table: dict) -> None:
        names = self.name_index(table)
        old_full = record.full_name
        record.name = new_name
        record.full_name = old_full[: len(old_full) - len(old_full.split(":")[-1])] + new_name
        self.touch(record.stamp)
        renamed = [record]
        for other in table.values():
            if other.full_name.startswith(old_full + ":"):
                names.pop(other.full_name.casefold(), None)
                other.full_name = record.full_name + other.full_name[len(old_full):]
                self.touch(other.stamp)
                renamed.append(other)
        names.pop(old_full.casefold(), None)
        names.update((r.full_name.casefold(), r.stamp.id) for r in renamed)

    def set_email(self, list_id: str, email: str | None) -> None:
        """Change a customer's (or other name's) Email field, commas and all."""
        entity = self.entities[list_id]
        entity.email = email
        self.touch(entity.stamp)

    def set_active(self, list_id: str, active: bool) -> None:
        """Make a record inactive (hidden from ActiveOnly queries) or active again."""
        record = self._list_record(list_id)
        record.is_active = active
        self.touch(record.stamp)

    def deactivate(self, list_id: str) -> None:
        self.set_active(list_id, False)

    def delete_list_record(self, list_id: str) -> None:
        """Delete an item or a name as a user would; QuickBooks refuses once a transaction uses it.

        The deletion is remembered for ListDeletedQuery, with the time it happened.

        Raises:
            ValueError: an invoice uses it, or another record is its child.
            KeyError: no such ListID.
        """
        table = self.items if list_id in self.items else self.entities
        record = table[list_id]
        used = any(invoice.customer_id == list_id or any(line.item_id == list_id for line in invoice.lines)
                   for invoice in self.invoices.values())
        if used or any(other.parent_id == list_id for other in table.values()):
            raise ValueError(f"{record.full_name!r} cannot be deleted: it is in use")
        self._forget(record, table)
        logger.info("company edit: %s %r deleted", list_id, record.full_name)

    def merge(self, from_id: str, to_id: str) -> None:
        """Merge one item (or customer) into another as a user would, by renaming it to the other's name.

        QuickBooks moves every reference of the merged-away record to the survivor (invoice
        customers and lines, balances), then deletes it: ListDeletedQuery reports it like any
        deletion, and the survivor is modified (a new EditSequence and TimeModified).

        Raises:
            ValueError: the two are the same record, of different lists or kinds, or the merged-away one has
                children (QuickBooks asks to move sub-items and jobs first).
            KeyError: no such ListID.
        """
        table = self.items if from_id in self.items else self.entities
        merged, survivor = table[from_id], table[to_id]
        if from_id == to_id or type(merged) is not type(survivor) or merged.kind is not survivor.kind:
            raise ValueError(f"{merged.full_name!r} cannot be merged into {survivor.full_name!r}: "
                             "only two records of the same list and kind merge")
        if any(other.parent_id == from_id for other in table.values()):
            raise ValueError(f"{merged.full_name!r} cannot be merged: it has sub-records")
        for invoice in self.invoices.values():
            if invoice.customer_id == from_id:
                invoice.customer_id = to_id
                self.touch(invoice.stamp)
            for line in invoice.lines:
                if line.item_id == from_id:
                    line.item_id = to_id
                    self.touch(invoice.stamp)
        if isinstance(merged, Entity):
            survivor.balance += merged.balance
        self._forget(merged, table)
        self.touch(survivor.stamp)
        logger.info("company edit: %s %r merged into %s %r", from_id, merged.full_name, to_id, survivor.full_name)

    def delete_invoice(self, txn_id: str) -> None:
        """Delete an invoice as a user would; TxnDeletedQuery reports it afterwards.

        Raises:
            KeyError: no such TxnID.
        """
        invoice = self.invoices.pop(txn_id)
        self.entities[invoice.customer_id].balance -= invoice.balance_remaining
        self.deleted_txns.append(Deletion("Invoice", txn_id, invoice.stamp.time_created, self.now(),
                                          invoice.ref_number))
        logger.info("company edit: invoice %s (%s) deleted", txn_id, invoice.ref_number)

    def receive_payment(self, txn_id: str, amount: Decimal, payment_id: str | None = None) -> str:
        """Receive a payment from the invoice's customer and apply it to the invoice (Receive Payments).

        The invoice is modified (its BalanceRemaining drops, AppliedAmount grows, IsPaid once nothing is
        owed), so a ModifiedDateRangeFilter finds it; the customer's balance drops. Returns the
        ReceivePayment's TxnID (``payment_id``: one ReceivePaymentAdd applied to several invoices is one
        transaction). Refused: nothing, or more than the balance (the fake keeps no unused credit).

        Raises:
            ValueError: the payment cannot be applied as asked. KeyError: no such TxnID.
        """
        invoice = self.invoices[txn_id]
        amount = money(Decimal(amount))
        if amount <= 0 or amount > invoice.balance_remaining:
            raise ValueError(f"a payment of {amount} cannot be applied to invoice {invoice.ref_number} "
                             f"(balance {invoice.balance_remaining})")
        payment_id = payment_id or self.new_txn_id()
        invoice.payments.append(Payment(payment_id, amount))
        self.touch(invoice.stamp)
        self.entities[invoice.customer_id].balance -= amount
        logger.info("company edit: payment %s of %s applied to invoice %s", payment_id, amount, invoice.ref_number)
        return payment_id

    def void_invoice(self, txn_id: str) -> None:
        """Void an invoice as a user would: it stays, every line's amount zeroed, "VOID:" before its memo.

        That is all QuickBooks Desktop keeps of a void (InvoiceRet has no voided flag), so it is how a
        reader tells it.

        Raises:
            ValueError: payments are applied to it (QuickBooks asks to remove them first). KeyError: no such TxnID.
        """
        invoice = self.invoices[txn_id]
        if invoice.payments:
            raise ValueError(f"invoice {invoice.ref_number} has payments applied: it cannot be voided")
        self.entities[invoice.customer_id].balance -= invoice.balance_remaining
        for line in invoice.lines:
            line.amount = Decimal("0.00")
        invoice.memo = f"{VOID_MEMO} {invoice.memo}" if invoice.memo else VOID_MEMO
        self.touch(invoice.stamp)
        logger.info("company edit: invoice %s (%s) voided", txn_id, invoice.ref_number)

    def change_invoice_line(self, txn_id: str, index: int, quantity: Decimal) -> None:
        """Edit the quantity of one line (0-based) as a user would: its amount and the invoice's total follow.

        Raises:
            ValueError: the new total is below what was already paid. KeyError / IndexError: no such invoice or line.
        """
        invoice = self.invoices[txn_id]
        line = invoice.lines[index]
        before = invoice.subtotal
        line.quantity = Decimal(quantity)
        line.amount = money(line.quantity * (line.rate or Decimal("0")))
        if invoice.balance_remaining < 0:
            raise ValueError(f"invoice {invoice.ref_number} would be paid more than its total")
        self.entities[invoice.customer_id].balance += invoice.subtotal - before
        self.touch(invoice.stamp)

    def _forget(self, record: Item | Entity, table: dict) -> None:
        self.name_index(table).pop(record.full_name.casefold(), None)
        del table[record.stamp.id]
        del_type = f"Item{record.kind.value}" if isinstance(record, Item) else record.kind.value
        self.deleted_list_records.append(Deletion(del_type, record.stamp.id, record.stamp.time_created, self.now(),
                                                  record.full_name))


def _find(table: dict[str, Named], list_id: str | None, full_name: str | None,
          key: Callable[[Named], str]) -> Named | None:
    if list_id is not None:
        return table.get(list_id)
    if full_name is not None:
        wanted = full_name.casefold()
        return next((r for r in table.values() if key(r).casefold() == wanted), None)
    return None
