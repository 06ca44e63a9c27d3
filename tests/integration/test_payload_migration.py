"""Migration 0009: creations and look-ups queued by an older bridge are read in the engine's vocabulary."""
from __future__ import annotations

import json

from sqlalchemy import text

from qbwc_bridge.operations import (
    ItemKind,
    KeyKind,
    NewCustomer,
    NewItem,
    OperationKind,
    RecordLookup,
    SkuPlace,
    new_record_from_payload,
)
from qbwc_bridge.store.db import Store
from qbwc_bridge.store.migrate import upgrade

OLD_ITEM = {"record_id": "i1", "request": "ItemInventoryAdd", "name": "Widget", "data": {
    "name": "Widget", "is_active": True, "sales_desc": "Blue widget", "sales_price": "4.50000",
    "income_account_list_id": "A-1", "purchase_desc": "Blue widget", "cogs_account_list_id": "A-2",
    "asset_account_list_id": "A-3", "manufacturer_part_number": "W-1"}, "sent_at": "2026-12-01T10:00:00+00:00"}
OLD_CUSTOMER = {"record_id": "c1", "request": "CustomerAdd", "name": "Harbor", "data": {
    "name": "Harbor", "is_active": True, "email": "ap@harbor.test",
    "bill_address": {"addr1": "1 Quay", "city": "Portland", "postal_code": "97201"}}}
OLD_LOOKUP = {"record_id": "i1", "list_ids": [], "names": ["W-1", "Widget"]}


def test_waiting_creations_and_lookups_are_rewritten(settings):
    store = Store.from_settings(settings)
    try:
        upgrade(store, "0006")
        with store.begin() as db:
            db.execute(text("INSERT INTO accounts (id, name, kind, api_token_hash, file_id, status, invoice_creation, "
                            "items_sync, customers_sync, item_match_field, created_at) VALUES (1, 'A', 'desktop', 'h', "
                            "'{F}', 'connected', false, false, false, 'manufacturer_part_number', CURRENT_TIMESTAMP)"))
            for op_id, kind, payload, state in ((1, "create_item", OLD_ITEM, "unconfirmed"),
                                                (2, "create_customer", OLD_CUSTOMER, "failed"),
                                                (3, "resync_item", OLD_LOOKUP, "pending")):
                db.execute(text("INSERT INTO outbox (id, account_id, kind, payload, state, priority, attempts, send_alone, "
                                "verify_first, created_at, updated_at) VALUES (:id, 1, :kind, :payload, :state, 50, 1, "
                                "false, false, CURRENT_TIMESTAMP, CURRENT_TIMESTAMP)"),
                           {"id": op_id, "kind": kind, "payload": json.dumps(payload), "state": state})
        upgrade(store)
        with store.begin() as db:
            payloads = dict(db.execute(text("SELECT id, payload FROM outbox ORDER BY id")).all())
        payloads = {key: value if isinstance(value, dict) else json.loads(value)
                    for key, value in payloads.items()}
    finally:
        store.dispose()
    item = new_record_from_payload(OperationKind.CREATE_ITEM, payloads[1])
    assert isinstance(item, NewItem)
    assert (item.kind, item.sku, item.sku_place, item.expense_account_id, item.asset_account_id) == (
        ItemKind.INVENTORY, "W-1", SkuPlace.MANUFACTURER_PART_NUMBER, "A-2", "A-3")
    assert payloads[1]["sent_at"] == OLD_ITEM["sent_at"]  # the look-up after a lost answer still knows when it went
    customer = new_record_from_payload(OperationKind.CREATE_CUSTOMER, payloads[2])
    assert customer == NewCustomer("c1", "Harbor", email="ap@harbor.test",
                                   bill_address={"line1": "1 Quay", "city": "Portland", "postal_code": "97201"})
    lookup = RecordLookup.from_payload(payloads[3])
    assert lookup.keys == ((KeyKind.NAME, "W-1"), (KeyKind.NAME, "Widget"))
