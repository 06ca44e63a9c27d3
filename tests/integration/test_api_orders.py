"""The packed-order API over real HTTP, on SQLite and PostgreSQL.

202 only once the event is durable, the same event again is a no-op with the same answer,
a different one a 409, bad input a 400/422 naming the field, tenants isolated, and a
blocked invoice going out by itself, through the simulated Web Connector, once its match
is made.
"""
from __future__ import annotations

import datetime as dt
import json
import random
from concurrent.futures import ThreadPoolExecutor
from decimal import Decimal

import jsonschema
import pytest
import requests
from sqlalchemy import event, func, select

from qbwc_bridge.store.db import Store
from qbwc_bridge.operations import InvoiceState, InvoiceStates
from qbwc_bridge.services import invoices
from qbwc_bridge.store.models import Account, OutboxOperation, PackedOrder
from qbwc_bridge.sync import invoice_states
from tests.integration.conftest import make_tenant
from tests.integration.invoice_world import add_unmatched_item, make_company, match_item, ours, seed_matches

PREFIX = "/api/v1"


class Api:
    """BlueTrace's backend with one account's token."""

    def __init__(self, base_url: str, token: str):
        self.base = base_url + PREFIX
        self.headers = {"Authorization": f"Bearer {token}", "Content-Type": "application/json"}

    def __call__(self, method: str, path: str, body=None, **kwargs) -> requests.Response:
        data = body if body is None or isinstance(body, (str, bytes)) else json.dumps(body)
        return requests.request(method, self.base + path, data=data, headers=self.headers, timeout=30, **kwargs)

    def packed(self, order_id: str, event) -> requests.Response:
        return self("POST", f"/orders/{order_id}/packed", event)


@pytest.fixture
def api(server, tenant) -> Api:
    return Api(server.url, tenant.account.api_token)


@pytest.fixture
def world(store, tenant):
    return seed_matches(store, tenant.account.account_id, make_company(items=6, customers=4, seed=5))


@pytest.fixture(scope="module")
def rng():
    return random.Random(6)


def schema_of(server, method: str, path: str, status: int) -> dict:
    document = requests.get(server.url + PREFIX + "/openapi.json", timeout=10).json()
    schema = document["paths"][path][method]["responses"][str(status)]["content"]["application/json"]["schema"]
    return {**schema, "components": document["components"]}


def test_a_packed_order_is_answered_202_once_it_is_durable(api, server, settings, world, rng, tenant):
    event = world.order(rng, "SO-1001")
    answer = api.packed("o-1", event)
    assert answer.status_code == 202, answer.text
    body = answer.json()
    assert body["status"] == "queued" and body["order_id"] == "o-1" and body["quickbooks"] == {
        "txn_id": None, "ref_number": None}  # fmt: skip
    jsonschema.Draft202012Validator(schema_of(server, "post", "/orders/{order_id}/packed", 202)).validate(body)
    # Another connection (another process, after a crash) sees the order and its outbox operation.
    other = Store(settings.database_url)
    try:
        with other.begin() as db:
            order = db.get(PackedOrder, (tenant.account.account_id, "o-1"))
            assert order.payload["order_number"] == "SO-1001"
            assert db.get(OutboxOperation, order.operation_id).kind == "invoice_add"
    finally:
        other.dispose()
    view = api("GET", "/orders/o-1/invoice").json()
    assert view == body


def test_a_new_order_holds_what_is_stored(store, tenant, world, rng):
    """The new order is built from the values its INSERT sent, not read back: it must hold what the row holds."""
    account_id = tenant.account.account_id
    columns = [column.key for column in PackedOrder.__table__.columns]
    with store.begin() as db:
        view, created = invoices.record_packed_order(db, account_id, "o-held", world.order(rng, "SO-1010"))
        held = db.get(PackedOrder, (account_id, "o-held"))
        answered = {name: getattr(held, name) for name in columns}
    with store.begin() as db:
        stored = db.get(PackedOrder, (account_id, "o-held"))
        assert created and answered == {name: getattr(stored, name) for name in columns}
        assert view == invoices.invoice_view(stored)


def test_a_packed_order_is_six_statements(api, store, world, rng):
    """A new, matched order: a statement more is paid on every packed order (issue 14's p99 target)."""
    assert world.default_terms_id  # they come with the customers, not in a statement of their own
    seen: list[tuple[str, str]] = []

    def record(conn, cursor, statement, parameters, context, executemany):
        words = statement.split()
        table = {"SELECT": lambda: words[words.index("FROM") + 1], "INSERT": lambda: words[2],
                 "UPDATE": lambda: words[1]}.get(words[0], lambda: "")()  # fmt: skip
        seen.append((words[0], table))

    event.listen(store.engine, "before_cursor_execute", record)
    try:
        assert api.packed("o-counted", world.order(rng, "SO-1011")).status_code == 202
    finally:
        event.remove(store.engine, "before_cursor_execute", record)
    assert [statement for statement in seen if statement[0] not in ("BEGIN", "COMMIT")] == [
        ("SELECT", "accounts"), ("INSERT", "packed_orders"), ("SELECT", "bt_customers"), ("SELECT", "bt_items"),
        ("INSERT", "outbox"), ("UPDATE", "packed_orders"),
    ], seen


def test_the_same_event_again_is_a_no_op_with_the_same_answer(api, store, world, rng):
    event = world.order(rng, "SO-1002")
    first = api.packed("o-2", event)
    # The same event, spelt differently: key order, spacing, 2 vs "2.00".
    respelt = {key: event[key] for key in reversed(list(event))}
    respelt["lines"] = [{**line, "quantity": line["quantity"] + ".000" if "." not in line["quantity"] else
                         line["quantity"] + "00"} for line in event["lines"]]  # fmt: skip
    again = api.packed("o-2", json.dumps(respelt, indent=3))
    assert (first.status_code, again.status_code) == (202, 202)
    assert again.json() == first.json()
    with store.begin() as db:
        assert db.scalar(select(func.count()).select_from(OutboxOperation).where(OutboxOperation.kind == "invoice_add")) == 1


def test_identical_events_racing_make_one_order_and_one_operation(api, store, world, rng):
    event = world.order(rng, "SO-1003")
    with ThreadPoolExecutor(8) as pool:
        answers = list(pool.map(lambda _: api.packed("o-3", event), range(8)))
    assert {answer.status_code for answer in answers} == {202}
    assert len({json.dumps(answer.json(), sort_keys=True) for answer in answers}) == 1
    with store.begin() as db:
        assert db.scalar(select(func.count()).select_from(PackedOrder)) == 1
        assert db.scalar(select(func.count()).select_from(OutboxOperation).where(OutboxOperation.kind == "invoice_add")) == 1


def test_a_different_event_for_an_order_on_its_way_is_a_conflict(api, world, rng):
    event = world.order(rng, "SO-1004")
    assert api.packed("o-4", event).status_code == 202
    changed = {**event, "lines": [{**event["lines"][0], "quantity": "999"}]}
    answer = api.packed("o-4", changed)
    assert answer.status_code == 409
    assert answer.json()["error"]["code"] == "conflict" and "o-4" in answer.json()["error"]["message"]
    assert api("GET", "/orders/o-4/invoice").json()["total"] != "0.00"


def test_a_corrected_event_replaces_a_blocked_one(api, store, tenant, world, rng):
    add_unmatched_item(store, tenant.account.account_id, "NEW-9", "NEW-9")
    event = world.order(rng, "SO-1005", item_ids=["NEW-9"])
    assert api.packed("o-5", event).json()["status"] == "blocked"
    corrected = world.order(rng, "SO-1005", item_ids=[next(iter(world.items))])
    answer = api.packed("o-5", corrected)
    assert answer.status_code == 202 and answer.json()["status"] == "queued"


GOOD = {
    "order_number": "SO-1", "customer_id": "C000", "packed_at": "2024-05-01T10:00:00Z",
    "lines": [{"item_id": "I000", "quantity": 1, "unit_price": "2.50"}],
}  # fmt: skip


def _with(**changes):
    event = json.loads(json.dumps(GOOD))
    for path, value in changes.items():
        target, *rest = path.split("__")
        if rest:
            event["lines"][0][rest[0]] = value
        else:
            event[target] = value
    return event


@pytest.mark.parametrize(
    "body, status, field",
    [
        (b"{not json", 400, None),
        ([GOOD], 400, None),
        ('{"order_number": NaN}', 400, None),
        ({}, 422, "lines"),
        (_with(lines=[]), 422, "lines"),
        ({k: v for k, v in GOOD.items() if k != "order_number"}, 422, "order_number"),
        (_with(order_number="x" * 101), 422, "order_number"),
        (_with(customer_id=" C000"), 422, "customer_id"),
        (_with(packed_at="yesterday"), 422, "packed_at"),
        (_with(ship_address="12 Dock Road"), 422, "ship_address"),
        (_with(colour="red"), 422, "colour"),
        (_with(lines__qty=2), 422, "lines[0].qty"),
        (_with(lines__quantity="two"), 422, "lines[0].quantity"),
        (_with(lines__quantity=0), 422, "lines[0].quantity"),
        (_with(lines__unit_price=-1), 422, "lines[0].unit_price"),
        (_with(lines__unit_price="1.123456"), 422, "lines[0].unit_price"),
        (_with(lines__item_id=None), 422, "lines[0].item_id"),
    ],
)
def test_bad_input_is_refused_naming_the_field(api, body, status, field):
    answer = api.packed("o-bad", body)
    assert answer.status_code == status, answer.text
    error = answer.json()["error"]
    assert error["message"]
    assert error.get("field") == field
    assert api("GET", "/orders/o-bad/invoice").status_code == 404


def test_without_a_valid_token_nothing_is_accepted(server):
    answer = Api(server.url, "not-a-token").packed("o-1", GOOD)
    assert answer.status_code == 401


def test_tenants_never_see_each_others_orders(api, server, store, world, rng):
    other = make_tenant(store, "Other Co")
    theirs = Api(server.url, other.account.api_token)
    assert api.packed("shared-id", world.order(rng, "SO-1")).status_code == 202
    assert theirs("GET", "/orders/shared-id/invoice").status_code == 404
    # The same order id in another account is another order: no conflict, no replay.
    answer = theirs.packed("shared-id", {**GOOD, "order_number": "THEIRS"})
    assert answer.status_code == 202 and answer.json()["status"] == "blocked"  # nothing matched in their account
    assert [row["order_number"] for row in theirs("GET", "/invoices").json()["invoices"]] == ["THEIRS"]
    assert [row["order_number"] for row in api("GET", "/invoices").json()["invoices"]] == ["SO-1"]


def test_the_invoice_list_filters_by_status_pages_and_counts(api, server, store, tenant, world, rng):
    add_unmatched_item(store, tenant.account.account_id, "NEW-1", "NEW-1")
    for n in range(3):
        api.packed(f"q-{n}", world.order(rng, f"Q-{n}"))
    for n in range(2):
        api.packed(f"b-{n}", world.order(rng, f"B-{n}", item_ids=["NEW-1"]))
    page = api("GET", "/invoices?status=blocked&page_size=1").json()
    jsonschema.Draft202012Validator(schema_of(server, "get", "/invoices", 200)).validate(page)
    assert (page["total"], page["pages"], len(page["invoices"])) == (2, 2, 1)
    assert page["invoices"][0]["order_id"] == "b-1"  # newest first
    assert page["counts"]["queued"] == 3 and page["counts"]["blocked"] == 2 and page["counts"]["total"] == 5
    second = api("GET", "/invoices?status=blocked&page_size=1&page=2").json()
    assert second["invoices"][0]["order_id"] == "b-0"
    answer = api("GET", "/invoices?status=lost")
    assert answer.status_code == 422 and answer.json()["error"]["field"] == "status"


def _created(store, account_id: str, *order_ids: str) -> None:
    """Orders whose invoices QuickBooks holds (as if the Web Connector had been)."""
    with store.begin() as db:
        for order_id in order_ids:
            order = db.get(PackedOrder, (account_id, order_id))
            order.status, order.txn_id, order.ref_number = "created", f"TX-{order_id}", order.order_number[-11:]


def test_the_invoice_shows_how_it_stands_in_quickbooks_and_the_list_filters_by_paid(api, server, store, tenant,
                                                                                     world, rng):
    account_id = tenant.account.account_id
    events = {order_id: world.order(rng, f"SO-{order_id}") for order_id in ("p-not", "p-part", "p-full", "p-void")}
    for order_id, event in events.items():
        assert api.packed(order_id, event).status_code == 202
    api.packed("p-queued", world.order(rng, "SO-queued"))
    _created(store, account_id, *events)
    fresh = api("GET", "/orders/p-not/invoice").json()
    total = fresh["total"]
    assert (fresh["paid"], fresh["balance"], fresh["quickbooks_total"], fresh["voided"], fresh["total_difference"]) \
        == ("not", total, total, False, None)
    queued = api("GET", "/orders/p-queued/invoice").json()
    assert (queued["paid"], queued["balance"], queued["quickbooks_total"], queued["voided"]) == (None, None, None, False)
    part_total = Decimal(api("GET", "/orders/p-part/invoice").json()["total"])
    full_total = Decimal(api("GET", "/orders/p-full/invoice").json()["total"])
    with store.begin() as db:
        invoice_states.apply(db, db.get(Account, account_id), InvoiceStates((
            InvoiceState("TX-p-part", part_total + Decimal("1.50"), Decimal("1.00"), False),  # edited, then paid
            InvoiceState("TX-p-full", full_total, Decimal("0"), False),
            InvoiceState("TX-p-void", Decimal("0"), Decimal("0"), True))))
    part = api("GET", "/orders/p-part/invoice").json()
    jsonschema.Draft202012Validator(schema_of(server, "get", "/orders/{order_id}/invoice", 200)).validate(part)
    assert (part["paid"], part["balance"], part["quickbooks_total"], part["total_difference"]) == (
        "partly", "1.00", f"{part_total + Decimal('1.50'):.2f}", "1.50")
    void = api("GET", "/orders/p-void/invoice").json()
    assert (void["voided"], void["paid"], void["balance"], void["status"]) == (True, None, "0.00", "created")

    def listed(paid: str) -> list[str]:
        page = api("GET", f"/invoices?paid={paid}").json()
        jsonschema.Draft202012Validator(schema_of(server, "get", "/invoices", 200)).validate(page)
        return sorted(row["order_id"] for row in page["invoices"])

    assert (listed("not"), listed("partly"), listed("fully")) == (["p-not"], ["p-part"], ["p-full"])
    answer = api("GET", "/invoices?paid=maybe")
    assert answer.status_code == 422 and answer.json()["error"]["field"] == "paid"


def test_an_older_answer_never_overwrites_a_newer_invoice_state(api, store, tenant, world, rng):
    account_id = tenant.account.account_id
    api.packed("p-late", world.order(rng, "SO-late"))
    _created(store, account_id, "p-late")
    total = Decimal(api("GET", "/orders/p-late/invoice").json()["total"])
    later = dt.datetime(2026, 12, 3, 12, 0, tzinfo=dt.timezone.utc)
    with store.begin() as db:
        account = db.get(Account, account_id)
        assert invoice_states.apply(db, account, InvoiceStates((
            InvoiceState("TX-p-late", total, Decimal(0), False, later),))) == ["p-late"]
        # A pull that read the invoice before the payment, answered after it: kept out.
        assert invoice_states.apply(db, account, InvoiceStates((
            InvoiceState("TX-p-late", total, total, False, later - dt.timedelta(minutes=5)),))) == []
    assert api("GET", "/orders/p-late/invoice").json()["paid"] == "fully"


def test_retry_is_only_for_blocked_or_failed_invoices(api, store, tenant, world, rng):
    api.packed("o-r", world.order(rng, "SO-R"))
    assert api("POST", "/orders/o-r/invoice/retry").status_code == 409
    assert api("POST", "/orders/nope/invoice/retry").status_code == 404


def test_a_blocked_invoice_names_its_fix_and_goes_out_once_the_match_is_made(
    api, shared_dir, settings, store, server, tenant, tmp_path, rng
):
    from tests.integration.test_simulated_session import connector_for

    connector, company = connector_for(shared_dir, settings, store, server, tenant, tmp_path, tenant.password, seed=7)
    world = seed_matches(store, tenant.account.account_id, company)
    add_unmatched_item(store, tenant.account.account_id, "NEW-7", "ABC-12")
    event = world.order(rng, "SO-2024-000777", item_ids=["NEW-7", next(iter(world.items))])
    blocked = api.packed("o-7", event).json()
    assert blocked["status"] == "blocked"
    assert blocked["action"] == "Item ABC-12 has no match in QuickBooks — enter its SKU or create it in QuickBooks (Items tab)."
    assert connector.run_session().ok
    assert api("GET", "/orders/o-7/invoice").json()["status"] == "blocked"
    assert company.invoices == {}

    target = company.sorted_items()[0]
    match_item(store, tenant.account.account_id, "NEW-7", target)
    transcript = connector.run_session()
    assert transcript.ok, transcript.to_text()
    view = api("GET", "/orders/o-7/invoice").json()
    [invoice] = ours(company, "o-7")
    assert view["status"] == "created" and view["action"] is None
    assert view["quickbooks"] == {"txn_id": invoice.stamp.id, "ref_number": "2024-000777"}
    assert invoice.memo.startswith("BlueTrace order SO-2024-000777 (order id o-7)")
    assert [line.item_id for line in invoice.lines] == [target.stamp.id, world.items[event["lines"][1]["item_id"]].stamp.id]
