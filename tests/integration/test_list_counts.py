"""``list_counts`` (the status panel's totals) stays exact under every kind of write, on both databases."""
from __future__ import annotations

import pytest
from sqlalchemy import delete, func, insert, select

from qbwc_bridge.services import catalog
from qbwc_bridge.store.migrate import upgrade
from qbwc_bridge.store.models import Account, BtCustomer, BtItem, ListCount
from tests.integration.conftest import make_tenant


def _exact(store, *account_ids: int) -> None:
    """Each account's ``list_counts`` rows equal a count of its records (an account without records: 0 or no row)."""
    with store.begin() as db:
        for account_id in account_ids:
            for model in (BtItem, BtCustomer):
                kept = db.scalar(select(ListCount.total).where(
                    ListCount.account_id == account_id, ListCount.list_name == model.__tablename__)) or 0
                counted = db.scalar(select(func.count()).select_from(model).where(model.account_id == account_id))
                assert (model.__tablename__, account_id, kept) == (model.__tablename__, account_id, counted)


def test_counts_follow_every_kind_of_write(store):
    upgrade(store)  # again: the migration's triggers are created once, not twice
    a, b = (make_tenant(store, name).account.account_id for name in ("A", "B"))
    with store.begin() as db:  # the API's path (ORM, rematched)
        for n in range(3):
            catalog.upsert_item(db, a, f"i{n}", {"name": f"Item {n}", "sku": f"S{n}"})
        catalog.upsert_customer(db, a, "c0", {"name": "Customer 0"})
        catalog.upsert_item(db, a, "i0", {"name": "Renamed"})  # an update counts nothing
    _exact(store, a, b)
    with store.begin() as db:  # bulk insert, two accounts in one statement
        db.execute(insert(BtItem), [{"account_id": acct, "item_id": f"bulk{n}", "name": f"Bulk {n}", "kind": "service",
                                     "active": True} for acct in (a, b) for n in range(5)])  # fmt: skip
        db.execute(insert(BtCustomer), [{"account_id": b, "customer_id": f"bc{n}", "name": f"C {n}", "active": True}
                                        for n in range(4)])  # fmt: skip
    _exact(store, a, b)
    with pytest.raises(RuntimeError), store.begin() as db:  # a rolled-back write leaves the count as it was
        catalog.upsert_item(db, a, "gone", {"name": "Never"})
        db.execute(delete(BtItem).where(BtItem.account_id == b))
        raise RuntimeError
    _exact(store, a, b)
    with store.begin() as db:  # ORM delete and bulk delete
        db.delete(db.get(BtItem, (a, "i1")))
        db.execute(delete(BtItem).where(BtItem.item_id.like("bulk%"), BtItem.account_id.in_([a, b])))
    _exact(store, a, b)
    with store.begin() as db:
        assert catalog.match_summary(db, a, "items")["total"] == 2
        assert catalog.match_summary(db, b, "customers")["total"] == 4
    with store.begin() as db:  # deleting an account takes its records and its counts
        db.execute(delete(Account).where(Account.id == b))
    with store.begin() as db:
        assert db.scalars(select(ListCount).where(ListCount.account_id == b)).all() == []
    _exact(store, a)
