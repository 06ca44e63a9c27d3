"""neutral payloads: creations and look-ups waiting in the outbox speak the engine's vocabulary

Creations were stored as a qbXML request name and qbXML keys; look-ups as ListIDs and
FullNames. Every waiting, unconfirmed or failed one (a failed one may be queued again)
is rewritten in the shape of ``qbwc_bridge.operations`` (NewItem, NewCustomer, RecordLookup).

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-03 10:00:00
"""
import json

from alembic import op
import sqlalchemy as sa

revision = '0009'
down_revision = '0008'
branch_labels = None
depends_on = None

_KINDS = {"ItemServiceAdd": "service", "ItemNonInventoryAdd": "non_inventory", "ItemInventoryAdd": "inventory"}
_LINES = ("addr1", "addr2", "addr3", "addr4", "addr5")


def _address(value):
    if not value:
        return None
    converted = {f"line{number}": value[key] for number, key in enumerate(_LINES, start=1) if value.get(key)}
    converted.update({key: value[key] for key in ("city", "state", "postal_code", "country") if value.get(key)})
    return converted or None


def _new_record(payload):
    data = payload.get("data", {})
    if payload["request"] == "CustomerAdd":
        return {"record_id": payload["record_id"], "name": payload["name"], "active": data.get("is_active", True),
                "company_name": data.get("company_name"), "email": data.get("email"), "phone": data.get("phone"),
                "bill_address": _address(data.get("bill_address")), "ship_address": _address(data.get("ship_address"))}
    kind = _KINDS.get(payload["request"], "non_inventory")
    place, sku = "name", payload["name"]
    if data.get("manufacturer_part_number"):
        place, sku = "manufacturer_part_number", data["manufacturer_part_number"]
    elif data.get("bar_code_value"):
        place, sku = "barcode", data["bar_code_value"]
    return {"record_id": payload["record_id"], "name": payload["name"], "kind": kind, "sku": sku, "sku_place": place,
            "description": data.get("sales_desc"), "sales_price": data.get("sales_price"),
            "purchase_cost": data.get("purchase_cost"), "income_account_id": data.get("income_account_list_id"),
            "expense_account_id": data.get("cogs_account_list_id") or data.get("expense_account_list_id"),
            "asset_account_id": data.get("asset_account_list_id"), "active": data.get("is_active", True),
            **({"sent_at": payload["sent_at"]} if "sent_at" in payload else {})}


def _lookup(payload):
    return {"record_id": payload["record_id"], "ids": payload.get("list_ids", []),
            "keys": [["name", name] for name in payload.get("names", [])]}


def upgrade() -> None:
    bind = op.get_bind()
    outbox = sa.table("outbox", sa.column("id", sa.Integer), sa.column("kind", sa.String),
                      sa.column("state", sa.String), sa.column("payload", sa.Text))
    rows = bind.execute(sa.select(outbox.c.id, outbox.c.kind, outbox.c.payload).where(
        outbox.c.kind.in_(["create_item", "create_customer", "resync_item", "resync_customer"]),
        outbox.c.state != "done")).all()
    cast = "CAST(:payload AS jsonb)" if bind.dialect.name == "postgresql" else ":payload"
    for row_id, kind, raw in rows:
        payload = json.loads(raw) if isinstance(raw, str) else raw
        if kind.startswith("create") and "request" in payload:
            payload = _new_record(payload)
        elif kind.startswith("resync") and ("list_ids" in payload or "names" in payload):
            payload = _lookup(payload)
        else:
            continue
        bind.execute(sa.text(f"UPDATE outbox SET payload = {cast} WHERE id = :id"),
                     {"payload": json.dumps(payload), "id": row_id})


def downgrade() -> None:
    """Nothing to undo safely: the old code cannot read the new shape, and done operations were never touched."""
