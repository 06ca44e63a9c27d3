"""Signed webhooks over real HTTP, on SQLite and PostgreSQL: BlueTrace's receiver is a WSGI app on waitress.

What a receiver sees (signed body, the API's view, in order per order), what the API accepts,
and the queue's promises: at least once across a receiver that is down and a deliverer that
dies, given up only after the retry window (the deliverer's clock is injected).
"""
from __future__ import annotations

import datetime as dt
import json
import logging
import random
import re
from decimal import Decimal
from pathlib import Path

import jsonschema
import pytest
import requests
from sqlalchemy import event, func, select

from qbwc_bridge import metrics, outbox
from qbwc_bridge.operations import InvoiceState, InvoiceStates
from qbwc_bridge.services import invoices
from qbwc_bridge.store.models import Account, PackedOrder, QbItem, SyncCursor, WebhookDelivery, WebhookEndpoint, utcnow
from qbwc_bridge.sync import deletions, invoice_states
from qbwc_bridge.sync import invoices as rules
from qbwc_bridge.webhooks import signature
from qbwc_bridge.webhooks.deliverer import CLAIM, KEEP, RETRY_WINDOW, Deliverer, Outcome
from qbwc_bridge.webhooks.events import EVENT_TYPES, EventType, invoice_key, record, record_invoice
from qbwc_bridge.webhooks.sealed_secret import SecretBox
from tests.integration.conftest import make_tenant
from tests.integration.invoice_world import add_unmatched_item, make_company, seed_matches
from tests.integration.webhook_receiver import LiveReceiver

PREFIX = "/api/v1"


class Api:
    def __init__(self, base_url: str, token: str):
        self.base = base_url + PREFIX
        self.headers = {"Authorization": f"Bearer {token}", "Content-Type": "application/json"}

    def __call__(self, method: str, path: str, body=None) -> requests.Response:
        data = body if body is None or isinstance(body, (str, bytes)) else json.dumps(body)
        return requests.request(method, self.base + path, data=data, headers=self.headers, timeout=30)


class Clock:
    """The deliverer's now: the real time moved forward by the test (events are stamped with the real time)."""

    def __init__(self):
        self.offset = dt.timedelta()

    def __call__(self) -> dt.datetime:
        return utcnow() + self.offset

    def advance(self, **delta) -> None:
        self.offset += dt.timedelta(**delta)


@pytest.fixture
def api(server, tenant) -> Api:
    return Api(server.url, tenant.account.api_token)


@pytest.fixture
def live_receiver():
    live = LiveReceiver()
    with live as receiver:
        receiver.url = live.url
        yield receiver


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def deliverer(store, settings, clock):
    deliverer = Deliverer(store, SecretBox(settings.secret_key), clock=clock, draw=lambda: 0.5)
    yield deliverer
    deliverer.close()


@pytest.fixture
def world(store, tenant):
    return seed_matches(store, tenant.account.account_id, make_company(items=4, customers=3, seed=11))


def subscribe(api: Api, url: str, events=EVENT_TYPES) -> str:
    answer = api("PUT", "/webhook", {"url": url, "events": list(events)})
    assert answer.status_code == 201, answer.text
    return answer.json()["secret"]


def schema_of(server, method: str, path: str, status: int) -> dict:
    document = requests.get(server.url + PREFIX + "/openapi.json", timeout=10).json()
    schema = document["paths"][path][method]["responses"][str(status)]["content"]["application/json"]["schema"]
    return {**schema, "components": document["components"]}


def drain(deliverer: Deliverer, clock: Clock, store, rounds: int = 60) -> None:
    """Run the deliverer, moving its clock past every backoff, until nothing is pending."""
    for _ in range(rounds):
        deliverer.run_once()
        with store.begin() as db:
            if not db.scalar(select(func.count()).select_from(WebhookDelivery).where(WebhookDelivery.state == "pending")):
                return
        clock.advance(hours=1, minutes=1)
    raise AssertionError("events still pending")


def test_a_blocked_invoice_is_delivered_signed_with_the_apis_view(api, server, store, tenant, world, live_receiver,
                                                                    deliverer, clock):
    rng = random.Random(1)
    secret = subscribe(api, live_receiver.url)
    assert secret.startswith("whsec_")
    add_unmatched_item(store, tenant.account.account_id, "NEW-1", "NEW-1")
    assert api("POST", "/orders/o-1/packed", world.order(rng, "SO-1", item_ids=["NEW-1"])).json()["status"] == "blocked"

    assert deliverer.run_once() == 1
    [got] = live_receiver.delivered
    event = got.event
    assert event["type"] == "invoice.blocked" and event["account_id"] == tenant.account.account_id
    assert event["data"] == api("GET", "/orders/o-1/invoice").json()
    assert got.headers["X-Qbwc-Bridge-Event"] == "invoice.blocked"
    assert got.headers["X-Qbwc-Bridge-Delivery"] == event["id"]
    assert got.headers["Content-Type"] == "application/json"
    header = got.headers["X-Qbwc-Bridge-Signature"]
    now = int(clock().timestamp())
    assert signature.verify(secret, header, got.body, now)
    assert not signature.verify("whsec_wrong", header, got.body, now)
    assert not signature.verify(secret, header, got.body.replace(b"SO-1", b"SO-2"), now)
    assert not signature.verify(secret, header, got.body, now + signature.TOLERANCE_SECONDS + 1)  # a replay, later

    page = api("GET", "/webhook/deliveries").json()
    jsonschema.Draft202012Validator(schema_of(server, "get", "/webhook/deliveries", 200)).validate(page)
    assert [(d["event_id"], d["state"], d["attempts"], d["last_status"]) for d in page["deliveries"]] == [
        (event["id"], "delivered", 1, 200)]  # fmt: skip
    assert deliverer.run_once() == 0  # delivered once, not again


def test_created_and_failed_invoices_are_delivered_as_the_engine_sets_them(api, store, tenant, world, live_receiver,
                                                                            deliverer):
    rng = random.Random(2)
    subscribe(api, live_receiver.url, ["invoice.created", "invoice.failed"])
    for order_id in ("o-c", "o-f"):
        assert api("POST", f"/orders/{order_id}/packed", world.order(rng, order_id)).json()["status"] == "queued"
    with store.begin() as db:  # what a backend does with QuickBooks' answers
        created = db.get(PackedOrder, (tenant.account.account_id, "o-c"))
        op = db.get(rules.OutboxOperation, created.operation_id)
        outbox.succeed(op, {"txn_id": "1A-2", "ref_number": "o-c"})
        rules.follow(created, op)
        failed = db.get(PackedOrder, (tenant.account.account_id, "o-f"))
        rules.fail(failed, db.get(rules.OutboxOperation, failed.operation_id), code="3000", action="Call support",
                   error="QuickBooks refused it")  # fmt: skip
    drain(deliverer, Clock(), store)
    by_order = {got.event["data"]["order_id"]: got.event for got in live_receiver.delivered}
    assert {order: event["type"] for order, event in by_order.items()} == {"o-c": "invoice.created", "o-f": "invoice.failed"}
    assert by_order["o-c"]["data"] == api("GET", "/orders/o-c/invoice").json()
    assert by_order["o-c"]["data"]["quickbooks"] == {"txn_id": "1A-2", "ref_number": "o-c"}
    assert by_order["o-f"]["data"] == api("GET", "/orders/o-f/invoice").json()


def test_paid_comes_after_created_for_the_same_order_with_the_apis_view(api, store, tenant, world, live_receiver,
                                                                         deliverer):
    rng = random.Random(4)
    subscribe(api, live_receiver.url, ["invoice.created", "invoice.paid"])
    api("POST", "/orders/o-p/packed", world.order(rng, "o-p"))
    with store.begin() as db:
        order = db.get(PackedOrder, (tenant.account.account_id, "o-p"))
        op = db.get(rules.OutboxOperation, order.operation_id)
        outbox.succeed(op, {"txn_id": "9-9", "ref_number": "o-p"})
        rules.follow(order, op)
    with store.begin() as db:  # what the invoice-state pull will do when QuickBooks says it is paid
        record_invoice(db, db.get(PackedOrder, (tenant.account.account_id, "o-p")), EventType.INVOICE_PAID)
    drain(deliverer, Clock(), store)
    created, paid = [got.event for got in live_receiver.delivered]
    assert (created["type"], paid["type"]) == ("invoice.created", "invoice.paid")
    assert paid["data"] == api("GET", "/orders/o-p/invoice").json()


def test_the_invoice_state_pull_records_paid_once_per_payment_and_deleted_once(api, store, tenant, world,
                                                                              live_receiver, deliverer):
    rng = random.Random(5)
    account_id = tenant.account.account_id
    subscribe(api, live_receiver.url, ["invoice.paid", "invoice.deleted"])
    for order_id in ("o-s", "o-d"):
        api("POST", f"/orders/{order_id}/packed", world.order(rng, order_id))
        with store.begin() as db:
            order = db.get(PackedOrder, (account_id, order_id))
            op = db.get(rules.OutboxOperation, order.operation_id)
            outbox.succeed(op, {"txn_id": f"TX-{order_id}", "ref_number": order_id})
            rules.follow(order, op)
    total = Decimal(api("GET", "/orders/o-s/invoice").json()["total"])

    def quickbooks_says(*states: InvoiceState) -> None:
        with store.begin() as db:
            invoice_states.apply(db, db.get(Account, account_id), InvoiceStates(states))

    def recorded() -> list[tuple[str, str, str | None]]:
        with store.begin() as db:
            rows = db.scalars(select(WebhookDelivery).where(WebhookDelivery.account_id == account_id)
                              .order_by(WebhookDelivery.id))
            return [(row.type, json.loads(row.body)["data"]["order_id"], json.loads(row.body)["data"]["paid"])
                    for row in rows]

    quickbooks_says(InvoiceState("TX-o-s", total + 5, total + 5, False))  # edited in QuickBooks: nothing paid
    assert recorded() == []
    quickbooks_says(InvoiceState("TX-o-s", total + 5, total, False), InvoiceState("TX-unknown", total, 0, False))
    quickbooks_says(InvoiceState("TX-o-s", total + 5, total, False))  # the same state read again (overlap)
    assert recorded() == [("invoice.paid", "o-s", "partly")]
    quickbooks_says(InvoiceState("TX-o-s", total + 5, Decimal(0), False))
    assert recorded()[1:] == [("invoice.paid", "o-s", "fully")]
    with store.begin() as db:
        assert deletions.invoices_deleted(db, db.get(Account, account_id), ["TX-o-d"]) == ["o-d"]
    with store.begin() as db:  # the overlap reports the deletion again
        assert deletions.invoices_deleted(db, db.get(Account, account_id), ["TX-o-d"]) == []
    assert recorded()[2:] == [("invoice.deleted", "o-d", None)]
    drain(deliverer, Clock(), store)
    delivered = [got.event for got in live_receiver.delivered]  # in order per order, not across orders
    assert [(e["type"], e["data"]["paid"]) for e in delivered if e["data"]["order_id"] == "o-s"] == [
        ("invoice.paid", "partly"), ("invoice.paid", "fully")]
    [deleted] = [e for e in delivered if e["data"]["order_id"] == "o-d"]
    assert deleted["type"] == "invoice.deleted" and deleted["data"] == api("GET", "/orders/o-d/invoice").json()
    assert deleted["data"]["status"] == "deleted"


def test_a_unit_of_work_that_rolls_back_leaves_no_event(api, store, tenant, world, live_receiver):
    rng = random.Random(3)
    subscribe(api, live_receiver.url)
    api("POST", "/orders/o-r/packed", world.order(rng, "o-r"))
    with pytest.raises(RuntimeError), store.begin() as db:
        order = db.get(PackedOrder, (tenant.account.account_id, "o-r"))
        rules.fail(order, db.get(rules.OutboxOperation, order.operation_id), code="x", action="y", error="z")
        raise RuntimeError("the change fails after the status was set")
    with store.begin() as db:
        assert db.scalar(select(func.count()).select_from(WebhookDelivery)) == 0


def finish_initial_sync(store, account_id: int) -> None:
    with store.begin() as db:
        db.get(Account, account_id).status = "connected"
        for list_name in ("terms", "accounts", "items", "customers"):
            db.add(SyncCursor(account_id=account_id, list_name=list_name, initial_done=True))


def test_match_issues_opened_and_resolved(api, store, tenant, live_receiver, deliverer):
    account_id = tenant.account.account_id
    finish_initial_sync(store, account_id)
    with store.begin() as db:
        db.add(QbItem(account_id=account_id, list_id="8000-1", item_type="ItemNonInventory", full_name="WID-1",
                      name="WID-1", edit_sequence="1", is_active=True))  # fmt: skip
    subscribe(api, live_receiver.url, ["match_issue.opened", "match_issue.resolved"])
    assert api("PUT", "/items/i-1", {"name": "Widget"}).json()["issue"] == "missing_sku"
    deliverer.run_once()
    assert api("PUT", "/items/i-1", {"sku": "WID-1"}).json()["issue"] is None
    deliverer.run_once()
    opened, resolved = [got.event for got in live_receiver.delivered]
    assert (opened["type"], opened["data"]["item_id"], opened["data"]["issue"]) == ("match_issue.opened", "i-1", "missing_sku")
    assert resolved["type"] == "match_issue.resolved"
    assert resolved["data"] == api("GET", "/items/i-1").json()


def test_connection_status_changes_are_delivered_and_accounts_without_webhook_record_nothing(
        api, store, tenant, live_receiver, deliverer):
    other = make_tenant(store, "No Hooks Inc").account.account_id
    subscribe(api, live_receiver.url, ["connection.status_changed"])
    for account_id in (tenant.account.account_id, other):
        with store.begin() as db:
            account = db.get(Account, account_id)
            account.status, account.status_message, account.error_code = "error", "QuickBooks is not running", "0x8004"
        with store.begin() as db:
            db.get(Account, account_id).status = "error"  # the same status again is no change
    deliverer.run_once()
    [got] = live_receiver.delivered
    assert got.event["type"] == "connection.status_changed"
    assert got.event["data"] == {"status": "error", "previous_status": "not_connected",
                                 "message": "QuickBooks is not running", "error_code": "0x8004", "error_at": None}
    with store.begin() as db:
        assert db.scalar(select(func.count()).select_from(WebhookDelivery).where(WebhookDelivery.account_id == other)) == 0


def _emit(store, account_id: int, order_id: str, sequence: int) -> None:
    with store.begin() as db:
        record(db, account_id, EventType.INVOICE_PAID, {"order_id": order_id, "sequence": sequence},
               order_key=invoice_key(order_id))  # fmt: skip


def test_a_receiver_down_for_a_while_gets_every_event_once_in_order_per_order_across_a_restart(
        api, store, settings, tenant, live_receiver, deliverer, clock):
    account_id = tenant.account.account_id
    subscribe(api, live_receiver.url, ["invoice.paid"])
    orders = [f"o-{n}" for n in range(4)]
    for sequence in range(3):
        for order_id in orders:
            _emit(store, account_id, order_id, sequence)
    live_receiver.down = True
    assert deliverer.run_once() == 4  # the first event of each order; the later ones wait for it
    clock.advance(hours=2)
    assert deliverer.run_once() == 4
    assert live_receiver.delivered == []
    with store.begin() as db:
        waiting = db.scalars(select(WebhookDelivery.attempts).where(WebhookDelivery.order_key == invoice_key("o-0"))
                             .order_by(WebhookDelivery.id)).all()  # fmt: skip
        assert waiting == [2, 0, 0]

    live_receiver.down = False
    restarted = Deliverer(store, SecretBox(settings.secret_key), clock=clock)  # a new process, the same database
    try:
        drain(restarted, clock, store)
    finally:
        restarted.close()
    got = [received.event for received in live_receiver.delivered]
    assert len(got) == 12 and len({event["id"] for event in got}) == 12
    for order_id in orders:
        assert [e["data"]["sequence"] for e in got if e["data"]["order_id"] == order_id] == [0, 1, 2]


def test_a_deliverer_that_dies_mid_send_leaves_its_events_to_another(api, store, settings, tenant, live_receiver,
                                                                        deliverer, clock):
    subscribe(api, live_receiver.url, ["invoice.paid"])
    _emit(store, tenant.account.account_id, "o-9", 0)
    [claimed] = deliverer.claim()  # ... and the process dies before sending
    other = Deliverer(store, SecretBox(settings.secret_key), clock=clock)
    try:
        clock.advance(seconds=1)
        assert other.run_once() == 0  # still the first one's
        clock.advance(seconds=CLAIM.total_seconds())
        assert other.run_once() == 1
    finally:
        other.close()
    deliverer.finish([(claimed, Outcome(False, None, "late answer of a dead deliverer"))])  # changes nothing
    with store.begin() as db:
        row = db.scalar(select(WebhookDelivery))
        assert (row.state, row.attempts, row.last_error) == ("delivered", 2, None)
    assert len(live_receiver.delivered) == 1


def test_an_event_is_given_up_after_the_retry_window_and_the_next_of_its_order_goes(api, store, tenant, live_receiver,
                                                                                      deliverer, clock):
    subscribe(api, live_receiver.url, ["invoice.paid"])
    _emit(store, tenant.account.account_id, "o-g", 0)
    _emit(store, tenant.account.account_id, "o-g", 1)
    with store.begin() as db:
        first, second = db.scalars(select(WebhookDelivery.event_id).order_by(WebhookDelivery.id)).all()
    live_receiver.refused = {first}
    assert deliverer.run_once() == 1
    clock.advance(seconds=(RETRY_WINDOW - dt.timedelta(minutes=1)).total_seconds())
    assert deliverer.run_once() == 1
    states = {d["event_id"]: d["state"] for d in api("GET", "/webhook/deliveries").json()["deliveries"]}
    assert states == {first: "pending", second: "pending"}  # a day is not over: still tried, the next one waits
    clock.advance(minutes=2)
    given_up = metrics.WEBHOOK_DELIVERIES.labels(outcome="given_up")._value.get()
    assert deliverer.run_once() == 2  # the first given up, then the second sent
    assert metrics.WEBHOOK_DELIVERIES.labels(outcome="given_up")._value.get() == given_up + 1
    deliveries = {d["event_id"]: d for d in api("GET", "/webhook/deliveries").json()["deliveries"]}
    assert (deliveries[first]["state"], deliveries[first]["attempts"], deliveries[first]["last_status"]) == ("failed", 3, 503)
    assert deliveries[second]["state"] == "delivered"
    assert [got.event["id"] for got in live_receiver.delivered] == [second]


@pytest.mark.parametrize(
    "body, status, field",
    [
        ({"url": "http://hooks.example.com/x", "events": ["invoice.created"]}, 422, "url"),
        ({"url": "ftp://hooks.example.com/x", "events": ["invoice.created"]}, 422, "url"),
        ({"url": "https://user:pw@hooks.example.com/x", "events": ["invoice.created"]}, 422, "url"),
        ({"url": "https://hooks.example.com/" + "a" * 2000, "events": ["invoice.created"]}, 422, "url"),
        ({"url": "https://hooks.example.com/\u0000", "events": ["invoice.created"]}, 422, "url"),
        ({"url": "https://hooks.example.com:99999/x", "events": ["invoice.created"]}, 422, "url"),
        ({"url": "https:///x", "events": ["invoice.created"]}, 422, "url"),
        ({"events": ["invoice.created"]}, 422, "url"),
        ({"url": "https://hooks.example.com/x", "events": ["invoice.exploded"]}, 422, "events[0]"),
        ({"url": "https://hooks.example.com/x", "events": []}, 422, "events"),
        ({"url": "https://hooks.example.com/x", "events": "invoice.created"}, 422, "events"),
        ({"url": "https://hooks.example.com/x", "events": ["invoice.created"], "secret": "mine"}, 422, "secret"),
        ({"url": "https://hooks.example.com/x", "events": ["invoice.created"], "rotate_secret": "yes"}, 422,
         "rotate_secret"),
        ("[1, 2]", 400, None),
        ("{not json", 400, None),
    ],
)
def test_bad_endpoints_are_refused_naming_the_field(api, store, body, status, field):
    answer = api("PUT", "/webhook", body)
    assert answer.status_code == status, answer.text
    assert answer.json()["error"].get("field") == field
    with store.begin() as db:
        assert db.scalar(select(func.count()).select_from(WebhookEndpoint)) == 0


def test_http_to_localhost_is_allowed_and_the_secret_is_shown_once(api, server, store, settings):
    first = api("PUT", "/webhook", {"url": "http://127.0.0.1:9/hooks", "events": ["invoice.created", "invoice.created"]})
    assert first.status_code == 201
    jsonschema.Draft202012Validator(schema_of(server, "put", "/webhook", 201)).validate(first.json())
    secret = first.json()["secret"]
    assert first.json()["events"] == ["invoice.created"]
    again = api("PUT", "/webhook", {"url": "https://localhost/hooks", "events": ["invoice.paid"]})
    assert again.status_code == 200 and "secret" not in again.json()
    shown = api("GET", "/webhook")
    assert shown.json()["url"] == "https://localhost/hooks" and "secret" not in shown.json()
    rotated = api("PUT", "/webhook", {"url": "https://localhost/hooks", "events": ["invoice.paid"], "rotate_secret": True})
    assert rotated.status_code == 200 and rotated.json()["secret"] not in (secret, None)
    with store.begin() as db:
        sealed = db.get(WebhookEndpoint, 1).secret_sealed
    assert secret not in sealed and rotated.json()["secret"] not in sealed
    assert SecretBox(settings.secret_key).open(sealed) == rotated.json()["secret"]
    assert api("DELETE", "/webhook").json() == {"deleted": True}
    assert api("GET", "/webhook").status_code == 404
    assert api("DELETE", "/webhook").status_code == 404


def test_the_secret_is_never_logged_nor_shown_again(api, store, tenant, live_receiver, deliverer, clock, caplog):
    caplog.set_level(logging.DEBUG)
    secret = subscribe(api, live_receiver.url, ["invoice.paid"])
    _emit(store, tenant.account.account_id, "o-s", 0)
    live_receiver.down = True
    deliverer.run_once()
    live_receiver.down = False
    clock.advance(hours=1)
    deliverer.run_once()
    assert len(live_receiver.delivered) == 1
    assert "not delivered" in caplog.text  # the failure was logged ...
    assert secret not in caplog.text  # ... without the secret
    assert secret not in api("GET", "/webhook").text
    assert secret not in api("GET", "/webhook/deliveries").text


def test_a_secret_sealed_under_another_key_is_not_used(api, store, tenant, live_receiver, clock):
    subscribe(api, live_receiver.url, ["invoice.paid"])
    _emit(store, tenant.account.account_id, "o-k", 0)
    other_key = Deliverer(store, SecretBox("k" * 40), clock=clock)
    other_key.run_once()
    other_key.close()
    assert live_receiver.requests == []
    [delivery] = api("GET", "/webhook/deliveries").json()["deliveries"]
    assert delivery["state"] == "pending" and "rotate" in delivery["last_error"]


def test_removing_the_endpoint_gives_up_its_pending_events(api, store, tenant, live_receiver, deliverer):
    subscribe(api, live_receiver.url, ["invoice.paid"])
    _emit(store, tenant.account.account_id, "o-d", 0)
    api("DELETE", "/webhook")
    assert deliverer.run_once() == 0
    with store.begin() as db:
        assert db.scalar(select(WebhookDelivery.state)) == "failed"
    assert live_receiver.requests == []


def test_the_readmes_verification_snippet_verifies_a_real_delivery(api, store, tenant, live_receiver, deliverer):
    readme = (Path(__file__).resolve().parents[2] / "README.md").read_text()
    [snippet] = [block for block in re.findall(r"```python\n(.*?)```", readme, re.S) if "X-QBWC-Bridge-Signature" in block]
    namespace: dict = {}
    exec(snippet, namespace)  # noqa: S102 (our own README)
    secret = subscribe(api, live_receiver.url, ["invoice.paid"])
    _emit(store, tenant.account.account_id, "o-v", 0)
    deliverer.run_once()
    [got] = live_receiver.delivered
    header = got.headers["X-Qbwc-Bridge-Signature"]
    assert namespace["verify"](secret, header, got.body)
    assert not namespace["verify"]("whsec_" + "x" * 43, header, got.body)
    assert not namespace["verify"](secret, header, got.body + b" ")


def test_finished_events_are_pruned_after_the_keeping_time_pending_ones_never(api, store, tenant, live_receiver,
                                                                               deliverer, clock):
    subscribe(api, live_receiver.url, ["invoice.paid"])
    _emit(store, tenant.account.account_id, "o-p", 0)
    deliverer.run_once()
    _emit(store, tenant.account.account_id, "o-q", 0)  # never sent: still pending
    clock.advance(days=KEEP.days - 1)
    assert deliverer.prune() == 0
    clock.advance(days=2)
    assert deliverer.prune() == 1
    with store.begin() as db:
        assert db.scalars(select(WebhookDelivery.state)).all() == ["pending"]


def test_without_a_webhook_a_packed_order_costs_one_primary_key_read_more(store, tenant, world):
    statements: list[str] = []

    def seen(_connection, _cursor, statement, *_args):
        statements.append(statement)

    rng = random.Random(5)
    add_unmatched_item(store, tenant.account.account_id, "NEW-5", "NEW-5")  # blocked: the status that has an event
    event.listen(store.engine, "before_cursor_execute", seen)
    try:
        with store.begin() as db:
            view, _ = invoices.record_packed_order(db, tenant.account.account_id, "o-5", world.order(
                rng, "SO-5", item_ids=["NEW-5"]))  # fmt: skip
    finally:
        event.remove(store.engine, "before_cursor_execute", seen)
    assert view["status"] == "blocked"
    touching = [statement for statement in statements if "webhook_" in statement]
    assert len(touching) == 1 and touching[0].lstrip().upper().startswith("SELECT"), touching
    assert "webhook_endpoints.account_id = " in touching[0]
