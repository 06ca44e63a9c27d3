"""The steps the contract scenarios share: a connected company, BlueTrace's records and orders, what the bridge holds."""
from __future__ import annotations

from qbwc_bridge.services import invoices, settings as account_settings
from qbwc_bridge.store.models import Account, BtCustomer, BtItem, PackedOrder

from tests.contract.worlds import World

ITEMS = ("W-1", "W-2", "W-3", "W-4", "W-5")  # more than one page of the memory backend (3)


def connected(world: World, *, invoice_creation: bool = False) -> dict[str, str]:
    """A company with terms, accounts, five items and three customers, synced until Connected."""
    ids = {"net30": world.add_terms("Net 30"), "sales": world.add_account("Sales", "Income"),
           "cogs": world.add_account("Cost of Goods Sold", "CostOfGoodsSold")}
    for name in ITEMS:
        ids[name] = world.add_item(name)
    ids["harbor"] = world.add_customer("Harbor Supply", "ap@harbor.test", terms="Net 30")
    ids["lake"] = world.add_customer("Lake Traders", "billing@lake.test")
    ids["quay"] = world.add_customer("Quay Stores", "orders@quay.test")
    world.run()
    with world.store.begin() as db:
        account_settings.update_settings(db, world.account_id, {
            "ar_account": "Sales", "ap_account": "Cost of Goods Sold", "default_terms": "Net 30",
            "invoice_creation": invoice_creation})
    return ids


def account(world: World) -> Account:
    with world.store.begin() as db:
        found = db.get(Account, world.account_id)
        db.expunge(found)
        return found


def item(world: World, item_id: str) -> BtItem:
    with world.store.begin() as db:
        found = db.get(BtItem, (world.account_id, item_id))
        db.expunge(found)
        return found


def customer(world: World, customer_id: str) -> BtCustomer:
    with world.store.begin() as db:
        found = db.get(BtCustomer, (world.account_id, customer_id))
        db.expunge(found)
        return found


def order_status(world: World, order_id: str) -> PackedOrder:
    with world.store.begin() as db:
        found = db.get(PackedOrder, (world.account_id, order_id))
        db.expunge(found)
        return found


def send_order(world: World, order_id: str, number: str, customer_id: str, *item_ids: str) -> None:
    with world.store.begin() as db:
        invoices.record_packed_order(db, world.account_id, order_id, {
            "order_number": number, "customer_id": customer_id, "packed_at": "2026-11-30T15:00:00-05:00",
            "lines": [{"item_id": item_id, "quantity": "2", "unit_price": "9.99"} for item_id in item_ids]})
