"""``POST batch``: up to 30 creates, sparse updates and queries in one call (PROTOCOL §5.1).

Each item answers on its own, in the recorded shape (batch_basic): the record, a
``QueryResponse`` or a ``Fault``, beside its ``bId``. The whole batch is one write for
requestid replay and fault injection. Over 30 items the batch is refused as a whole
with 1040 "Batch size exceeds allowed limit" (from Intuit's error list; not recorded); the 40
batch calls per minute are counted in :mod:`.limits`. Deletes and voids are not
modelled and answer an Unsupported Operation fault for their item.
"""
from __future__ import annotations

from typing import Any

from . import faults
from .company import FakeCompany
from .query import run
from .writes import write

MAX_ITEMS = 30
WRITABLE = ("Item", "Customer", "Invoice")


def run_batch(company: FakeCompany, body: Any) -> dict[str, Any]:
    if not isinstance(body, dict) or not isinstance(body.get("BatchItemRequest"), list):
        raise faults.required_missing("BatchItemRequest")
    items = body["BatchItemRequest"]
    if len(items) > MAX_ITEMS:
        raise faults.Fault(400, "1040", "Batch size exceeds allowed limit",
                           f"A batch may carry at most {MAX_ITEMS} items; this one has {len(items)}.")
    return {"BatchItemResponse": [_answer(company, item) for item in items]}


def _answer(company: FakeCompany, item: Any) -> dict[str, Any]:
    bid = item.get("bId") if isinstance(item, dict) else None
    try:
        if not isinstance(item, dict) or not bid:
            raise faults.required_missing("bId")
        if "Query" in item:
            return {"QueryResponse": run(company, item["Query"]), "bId": bid}
        entity = next((name for name in WRITABLE if name in item), None)
        if entity is None or item.get("operation") not in ("create", "update"):
            raise faults.Fault(400, "500", "Unsupported Operation",
                               "The fake QuickBooks Online batches only creates and updates of Item, Customer "
                               "and Invoice, and queries")
        return {entity: write(company, entity, item[entity]), "bId": bid}
    except faults.Fault as fault:
        return {"Fault": fault.fault(), "bId": bid}
