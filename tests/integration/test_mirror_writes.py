"""Bulk mirror writes store exactly what the ORM would: types converted, constants and NULLs, keys untouched."""
from __future__ import annotations

import datetime as dt
from decimal import Decimal

from sqlalchemy import select

from qbwc_bridge.store.models import BtItem, QbItem
from qbwc_bridge.sync import mirror

MODIFIED = dt.datetime(2024, 3, 1, 8, 30, tzinfo=dt.timezone(dt.timedelta(hours=-5)))


def _item_row(n: int, **changes) -> dict:
    return {"list_id": f"{n:08X}-1415713663", "full_name": f"Parts:SKU-{n}", "edit_sequence": "1",
            "time_modified": MODIFIED, "is_active": n % 2 == 0, "item_type": "Service", "name": f"SKU-{n}",
            "manufacturer_part_number": None, "barcode": f"40063813{n:05d}", "description": "Blue & \u201cgreen\u201d",
            "sales_price": Decimal("1234.56789"), **changes}  # fmt: skip


def test_a_page_is_inserted_then_only_moved_records_are_rewritten(store, tenant):
    account_id = tenant.account.account_id
    with store.begin() as db:
        first = mirror.upsert_items(db, account_id, [_item_row(1), _item_row(2)])
    with store.begin() as db:
        again = mirror.upsert_items(db, account_id, [_item_row(1), _item_row(2, edit_sequence="2", sales_price=None)])
        stored = {item.list_id: item for item in db.scalars(select(QbItem).where(QbItem.account_id == account_id))}
    assert (first.seen, first.changed) == (2, [_item_row(1)["list_id"], _item_row(2)["list_id"]])
    assert again.changed == [_item_row(2)["list_id"]]
    one, two = stored[_item_row(1)["list_id"]], stored[_item_row(2)["list_id"]]
    assert one.time_modified == MODIFIED and one.time_modified.tzinfo == dt.timezone.utc
    assert (one.sales_price, one.is_active, one.manufacturer_part_number) == (Decimal("1234.56789"), False, None)
    assert one.description == "Blue & \u201cgreen\u201d" and one.full_name == "Parts:SKU-1"
    assert (two.edit_sequence, two.sales_price, two.is_active) == ("2", None, True)


def test_text_the_bulk_insert_could_mangle_is_stored_as_given(store, tenant):
    account_id = tenant.account.account_id
    awkward = ["tab\there", "line\nbreak\r\n", "back\\slash \\N", "\\N", "", "quote \" and \u00e9\u4e2d"]
    with store.begin() as db:
        mirror.upsert_items(db, account_id, [_item_row(n, description=text, name=text or "blank")
                                             for n, text in enumerate(awkward)])
    with store.begin() as db:
        stored = {item.list_id: item for item in db.scalars(select(QbItem).where(QbItem.account_id == account_id))}
    assert [stored[_item_row(n)["list_id"]].description for n in range(len(awkward))] == awkward


def test_match_states_are_updated_by_key_with_constants_and_json(store, tenant):
    account_id = tenant.account.account_id
    with store.begin() as db:
        db.add_all([BtItem(account_id=account_id, item_id=f"item-{n}", sku=f"S{n}", name=f"Item {n}",
                           issue="not_found", issue_detail={"message": "old"}) for n in range(3)])  # fmt: skip
    with store.begin() as db:
        mirror.update_rows(db, BtItem, [{"account_id": account_id, "item_id": "item-0", "qb_list_id": "Q0", "matched_by": "auto"}],
                           constants={"issue": None, "issue_detail": None})  # fmt: skip
        mirror.update_rows(db, BtItem, [{"account_id": account_id, "item_id": "item-1", "issue": "duplicate_match",
                                         "issue_detail": {"message": "Several \u201cS1\u201d", "candidates": [1, None]}}])  # fmt: skip
    with store.begin() as db:
        items = {item.item_id: item for item in db.scalars(select(BtItem).where(BtItem.account_id == account_id))}
        nulls = db.scalar(select(BtItem.item_id).where(BtItem.issue_detail.is_(None)))
    assert (items["item-0"].qb_list_id, items["item-0"].matched_by, items["item-0"].issue) == ("Q0", "auto", None)
    assert items["item-0"].issue_detail is None and nulls == "item-0"  # SQL NULL, not JSON null
    assert items["item-1"].issue_detail == {"message": "Several \u201cS1\u201d", "candidates": [1, None]}
    assert (items["item-1"].issue, items["item-1"].qb_list_id) == ("duplicate_match", None)
    assert (items["item-2"].issue, items["item-2"].issue_detail) == ("not_found", {"message": "old"})
    assert items["item-0"].updated_at > items["item-2"].updated_at


def test_objects_loaded_before_a_bulk_update_read_the_new_values(store, tenant):
    account_id = tenant.account.account_id
    with store.begin() as db:
        db.add_all([BtItem(account_id=account_id, item_id=f"item-{n}", sku=f"S{n}", name=f"Item {n}") for n in range(3)])
    with store.begin() as db:
        loaded = db.get(BtItem, (account_id, "item-1"))
        untouched = db.get(BtItem, (account_id, "item-2"))
        assert loaded.qb_list_id is None
        mirror.update_rows(db, BtItem, [{"account_id": account_id, "item_id": f"item-{n}", "qb_list_id": f"Q{n}",
                                         "matched_by": "auto"} for n in range(2)])
        assert (loaded.qb_list_id, loaded.matched_by) == ("Q1", "auto")
        assert "qb_list_id" in untouched.__dict__  # not expired: nothing was written to it
