"""BlueTrace's items and customers API over real HTTP, on SQLite and PostgreSQL.

Records go in with PUT, come back with their QuickBooks match (worked out by the sync
engine against the mirror seeded here), and every resolution route does what the
Items/Customers tabs promise. Tenants never see each other's records.
"""
from __future__ import annotations

import json
from decimal import Decimal

import jsonschema
import pytest
import requests
from sqlalchemy import select

from qbwc_bridge.store.models import Account, BtCustomer, BtItem, QbAccount, QbCustomer, QbItem, SyncCursor
from tests.integration.conftest import make_tenant

PREFIX = "/api/v1"


class Api:
    """A BlueTrace backend talking to the bridge with one account's token."""

    def __init__(self, base_url: str, token: str):
        self.base = base_url + PREFIX
        self.http = requests.Session()
        self.http.headers["Authorization"] = f"Bearer {token}"

    def __call__(self, method: str, path: str, body=None, **kwargs) -> requests.Response:
        if body is not None:
            kwargs["data"] = body if isinstance(body, (str, bytes)) else json.dumps(body)
            kwargs.setdefault("headers", {})["Content-Type"] = "application/json"
        return self.http.request(method, self.base + path, timeout=30, **kwargs)

    def ok(self, method: str, path: str, body=None, status: int | tuple = 200, **kwargs):
        answer = self(method, path, body, **kwargs)
        expected = status if isinstance(status, tuple) else (status,)
        assert answer.status_code in expected, (answer.status_code, answer.text)
        return answer.json()


def finish_initial_sync(store, account_id: int) -> None:
    """The account as the first Web Connector runs leave it: Connected, every list pulled.

    Matching waits for this (there is nothing complete to match against before).
    """
    with store.begin() as db:
        db.get(Account, account_id).status = "connected"
        for list_name in ("terms", "accounts", "items", "customers"):
            cursor = db.get(SyncCursor, (account_id, list_name)) or SyncCursor(account_id=account_id, list_name=list_name)
            cursor.initial_done = True
            db.add(cursor)


def seed_qb_items(store, account_id: int, *items: dict) -> None:
    """Put QuickBooks items into the mirror, as an initial sync would."""
    with store.begin() as db:
        for number, item in enumerate(items, start=1):
            fields = {
                "list_id": f"80000{number:03d}-1",
                "item_type": "ItemNonInventory",
                "full_name": item["name"],
                "edit_sequence": "1",
                "is_active": True,
                **item,
            }
            db.add(QbItem(account_id=account_id, **fields))


def seed_qb_customers(store, account_id: int, *customers: dict) -> None:
    with store.begin() as db:
        for number, customer in enumerate(customers, start=1):
            fields = {"list_id": f"90000{number:03d}-1", "full_name": customer["name"], "edit_sequence": "1", "is_active": True, **customer}
            db.add(QbCustomer(account_id=account_id, **fields))


def seed_bt_items(store, account_id: int, count: int, *, issue_every: int = 0) -> None:
    """BlueTrace items stored directly (no engine): item-00001 .. with every n-th one not found."""
    with store.begin() as db:
        for n in range(1, count + 1):
            issue = "not_found" if issue_every and n % issue_every == 0 else None
            db.add(BtItem(account_id=account_id, item_id=f"item-{n:05d}", sku=f"SKU-{n:05d}", name=f"Widget {n}", issue=issue))


@pytest.fixture
def api(server, tenant, store) -> Api:
    """The tenant's BlueTrace backend, after the initial sync."""
    finish_initial_sync(store, tenant.account.account_id)
    return Api(server.url, tenant.account.api_token)


@pytest.fixture
def account_id(tenant) -> int:
    return tenant.account.account_id


@pytest.fixture
def openapi_document(server) -> dict:
    """The document as served."""
    return requests.get(server.url + PREFIX + "/openapi.json", timeout=10).json()


def assert_valid(document: dict, instance, schema_ref: dict) -> None:
    """Validate ``instance`` against a schema of the OpenAPI document (refs resolved within it)."""
    schema = {**schema_ref, "components": document["components"]}
    jsonschema.Draft202012Validator(schema).validate(instance)


def response_schema(document: dict, method: str, path: str, status: int) -> dict:
    return document["paths"][path][method]["responses"][str(status)]["content"]["application/json"]["schema"]


# -- storing items -----------------------------------------------------------------------


def test_put_creates_then_updates_an_item_and_keeps_money_exact(api, store, account_id):
    created = api.ok(
        "PUT", "/items/it-1",
        '{"sku": " SKU-1 ", "name": "Blue widget", "sales_price": 0.1, "purchase_cost": "12.34567", "kind": "service"}',
        status=201,
    )
    assert created["item_id"] == "it-1" and created["sku"] == "SKU-1"
    assert created["sales_price"] == "0.10" and created["purchase_cost"] == "12.34567"
    assert created["kind"] == "service" and created["active"] is True

    updated = api.ok("PUT", "/items/it-1", {"sales_price": "999999999999999.99999", "description": "Big"})
    assert updated["sales_price"] == "999999999999999.99999"
    assert updated["name"] == "Blue widget"  # absent fields stay as they were
    with store.begin() as db:
        row = db.get(BtItem, (account_id, "it-1"))
        assert row.sales_price == Decimal("999999999999999.99999")
        assert row.sku_key == "sku-1" and row.name_key == "blue widget"
    assert api.ok("GET", "/items/it-1") == updated


def test_skus_are_unique_per_account_and_a_clash_names_the_other_item(api, server, store):
    api.ok("PUT", "/items/a", {"name": "A", "sku": "SKU-9"}, status=201)
    clash = api("PUT", "/items/b", {"name": "B", "sku": "  SKU-9"})
    assert clash.status_code == 409
    error = clash.json()["error"]
    assert error["field"] == "sku" and error["details"]["other_item_id"] == "a"
    assert "'a'" in error["message"] and "SKU-9" in error["message"]
    # Blank means "no SKU": several items may lack one (each shows the missing-SKU issue).
    first = api.ok("PUT", "/items/c", {"name": "C", "sku": "  "}, status=201)
    api.ok("PUT", "/items/d", {"name": "D"}, status=201)
    assert first["sku"] is None and first["issue"] == "missing_sku"
    # Another account may use the same SKU.
    other = make_tenant(store, "Other Co")
    Api(server.url, other.account.api_token).ok("PUT", "/items/a", {"name": "A", "sku": "SKU-9"}, status=201)


@pytest.mark.parametrize(
    "body, field",
    [
        ({"name": "x", "sku": 12}, "sku"),
        ({"name": "x", "sku": "s" * 101}, "sku"),
        ({"name": "x" * 401}, "name"),
        ({"name": "x", "sales_price": "1.000001"}, "sales_price"),
        ({"name": "x", "sales_price": -1}, "sales_price"),
        ({"name": "x", "purchase_cost": "12,50"}, "purchase_cost"),
        ({"name": "x", "kind": "bundle"}, "kind"),
        ({"name": "x", "active": "yes"}, "active"),
        ({"sku": "only"}, "name"),
        ({"name": "nul\u0000byte"}, "name"),
    ],
)
def test_wrong_fields_are_a_422_naming_the_field(api, body, field):
    answer = api("PUT", "/items/bad", body)
    assert answer.status_code == 422, answer.text
    assert answer.json()["error"]["field"] == field
    assert api("GET", "/items/bad").status_code == 404  # nothing was stored


@pytest.mark.parametrize("raw", ["{", "[1, 2]", '"text"', '{"sales_price": NaN}', b"\xff\xfe", "[" * 5000 + "]" * 5000])
def test_unreadable_bodies_are_a_400_never_a_stack_trace(api, raw):
    answer = api("PUT", "/items/x", raw)
    assert answer.status_code == 400
    assert answer.json()["error"]["code"] == "bad_json"
    assert "Traceback" not in answer.text


def test_unknown_records_and_routes_are_json_404s(api):
    for path in ("/items/nope", "/customers/nope", "/nothing-here"):
        answer = api("GET", path)
        assert answer.status_code == 404 and answer.json()["error"]["code"] == "not_found"
    for path in ("/items/nope/resync", "/items/nope/unmatch", "/customers/nope/resync"):
        assert api("POST", path).status_code == 404
    assert api("POST", "/items/nope/match", {"quickbooks_id": "x"}).status_code == 404
    assert api("DELETE", "/items").status_code == 405


# -- authentication and tenant isolation ----------------------------------------------------


def test_a_missing_or_wrong_token_is_a_401(server, api):
    assert requests.get(server.url + PREFIX + "/items", timeout=10).status_code == 401
    wrong = Api(server.url, "not-a-token")
    answer = wrong("GET", "/items")
    assert answer.status_code == 401 and answer.json()["error"]["code"] == "unauthorized"
    assert wrong("PUT", "/items/x", {"name": "x"}).status_code == 401
    assert requests.get(server.url + PREFIX + "/openapi.json", timeout=10).status_code == 200  # public


def test_a_token_never_reads_or_changes_another_accounts_records(api, server, store, account_id):
    seed_qb_items(store, account_id, {"name": "SKU-1"})
    mine = api.ok("PUT", "/items/shared-id", {"name": "Mine", "sku": "SKU-1"}, status=201)
    api.ok("PUT", "/customers/c1", {"name": "Ann", "billing_email": "ann@example.com"}, status=201)
    other = Api(server.url, make_tenant(store, "Other Co").account.api_token)

    assert other("GET", "/items/shared-id").status_code == 404
    assert other("GET", "/customers/c1").status_code == 404
    assert other.ok("GET", "/items")["total"] == 0
    assert other.ok("GET", "/items?search=shared-id")["items"] == []
    for action in ("resync", "unmatch", "create-in-quickbooks"):
        assert other("POST", f"/items/shared-id/{action}").status_code == 404
    # Its own PUT with the same id creates its own record; ours is untouched.
    other.ok("PUT", "/items/shared-id", {"name": "Theirs", "sku": "SKU-1"}, status=201)
    # Our QuickBooks item is not in its mirror, so it cannot be matched to it.
    refused = other("POST", "/items/shared-id/match", {"quickbooks_id": mine["quickbooks"]["quickbooks_id"]})
    assert refused.status_code == 422 and refused.json()["error"]["field"] == "quickbooks_id"
    assert api.ok("GET", "/items/shared-id") == mine
    assert other.ok("GET", "/settings")["items_sync"] is False
    with store.begin() as db:
        assert db.scalar(select(BtItem.name).where(BtItem.account_id == account_id, BtItem.item_id == "shared-id")) == "Mine"


# -- matching and resolutions (the engine decides; the API shows and asks) ------------------


def test_an_item_matches_by_sku_and_shows_its_quickbooks_counterpart(api, store, account_id, openapi_document):
    seed_qb_items(store, account_id, {"name": "SKU-1", "barcode": "0123"}, {"name": "OTHER"})
    item = api.ok("PUT", "/items/i1", {"name": "Widget", "sku": "sku-1"}, status=201)
    assert item["match_state"] == "matched" and item["matched_by"] == "auto" and item["issue"] is None
    assert item["quickbooks"] == {
        "quickbooks_id": "80000001-1", "name": "SKU-1", "full_name": "SKU-1", "sku": "SKU-1",
        "item_type": "ItemNonInventory", "active": True,
    }
    assert "unmatch" in item["actions"]
    assert_valid(openapi_document, item, response_schema(openapi_document, "put", "/items/{item_id}", 201))


def test_not_found_suggests_candidates_and_accepting_one_is_a_match(api, store, account_id):
    seed_qb_items(store, account_id, {"name": "AB-12 X"}, {"name": "Unrelated"})
    item = api.ok("PUT", "/items/i1", {"name": "Thing", "sku": "ab12x"}, status=201)
    assert item["match_state"] == "issue" and item["issue"] == "not_found"
    assert item["issue_message"] and item["resolution"]
    assert [c["quickbooks_id"] for c in item["candidates"]] == ["80000001-1"]
    assert item["candidates"][0]["name"] == "AB-12 X" and item["candidates"][0]["reason"]
    assert "accept_suggestion" in item["actions"] and "create_in_quickbooks" in item["actions"]

    accepted = api.ok("POST", "/items/i1/match", {"quickbooks_id": item["candidates"][0]["quickbooks_id"]})
    assert accepted["match_state"] == "matched" and accepted["matched_by"] == "manual"
    assert accepted["quickbooks"]["name"] == "AB-12 X"
    assert api.ok("GET", "/items/i1")["matched_by"] == "manual"  # durable

    unmatched = api.ok("POST", "/items/i1/unmatch")
    assert unmatched["quickbooks"] is None and unmatched["match_state"] != "matched"


def test_match_needs_a_known_quickbooks_id(api, store, account_id):
    api.ok("PUT", "/items/i1", {"name": "Thing", "sku": "X"}, status=201)
    for body, status in (({}, 422), ({"quickbooks_id": 5}, 422), ({"quickbooks_id": "nope"}, 422), ("{", 400)):
        answer = api("POST", "/items/i1/match", body)
        assert answer.status_code == status, (body, answer.text)


def test_resync_and_create_are_queued_for_quickbooks(api, store, account_id):
    with store.begin() as db:
        db.add(QbAccount(account_id=account_id, list_id="A1", full_name="Sales", account_type="Income", is_active=True))
        db.add(QbAccount(account_id=account_id, list_id="A2", full_name="Cost of Goods Sold", account_type="CostOfGoodsSold", is_active=True))
    api.ok("PUT", "/items/i1", {"name": "Thing", "sku": "NEW-1"}, status=201)

    resync = api.ok("POST", "/items/i1/resync", status=202)
    assert resync["item_id"] == "i1"
    # Creating needs the General tab's accounts: a 422 that says what to do.
    refused = api("POST", "/items/i1/create-in-quickbooks")
    assert refused.status_code == 422, refused.text
    assert refused.json()["error"]["message"]
    api.ok("PATCH", "/settings", {"ar_account": "sales", "ap_account": "A2"})
    created = api.ok("POST", "/items/i1/create-in-quickbooks", {"name": "NEW-1 renamed"}, status=202)
    assert created["pending"] == "creating" and created["match_state"] == "pending"
    assert "create_in_quickbooks" not in created["actions"]


def test_customers_match_by_billing_email_ignoring_case_and_extra_addresses(api, store, account_id, openapi_document):
    seed_qb_customers(store, account_id, {"name": "Ann Lee", "email": "accounts@x.test; ANN@Example.com"})
    customer = api.ok(
        "PUT", "/customers/c1",
        {
            "name": "Ann Lee", "billing_email": " ann@example.COM ", "phone": "555",
            "bill_address": {"line1": "1 Main St", "city": "Springfield", "postal_code": "12345", "country": "US"},
        },
        status=201,
    )
    assert customer["billing_email"] == "ann@example.COM"
    assert customer["match_state"] == "matched" and customer["quickbooks"]["quickbooks_id"] == "90000001-1"
    assert customer["quickbooks"]["email"] == "accounts@x.test; ANN@Example.com"
    assert customer["bill_address"] == {"line1": "1 Main St", "city": "Springfield", "postal_code": "12345", "country": "US"}
    assert_valid(openapi_document, customer, response_schema(openapi_document, "put", "/customers/{customer_id}", 201))

    missing = api.ok("PUT", "/customers/c2", {"name": "No Mail"}, status=201)
    assert missing["issue"] == "missing_email"
    bad = api("PUT", "/customers/c3", {"name": "X", "ship_address": {"city": ["x"]}})
    assert bad.status_code == 422 and bad.json()["error"]["field"] == "ship_address.city"
    bad = api("PUT", "/customers/c3", {"name": "X", "billing_email": "a@x.test, b@x.test"})
    assert bad.status_code == 422 and bad.json()["error"]["field"] == "billing_email"


# -- lists ----------------------------------------------------------------------------------


def test_lists_filter_by_issue_search_by_prefix_and_page(api, store, account_id, openapi_document):
    seed_bt_items(store, account_id, 120, issue_every=10)
    page = api.ok("GET", "/items?page_size=50")
    assert page["total"] == 120 and page["pages"] == 3 and len(page["items"]) == 50
    assert page["items"][0]["item_id"] == "item-00001"
    assert page["counts"]["total"] == 120 and page["counts"]["issues"]["not_found"] == 12
    assert_valid(openapi_document, page, response_schema(openapi_document, "get", "/items", 200))

    last = api.ok("GET", "/items?page=3&page_size=50")
    assert [i["item_id"] for i in last["items"]][-1] == "item-00120" and len(last["items"]) == 20
    assert api.ok("GET", "/items?page=9")["items"] == []

    issues = api.ok("GET", "/items?issue=not_found&page_size=5")
    assert issues["total"] == 12 and [i["item_id"] for i in issues["items"]][:2] == ["item-00010", "item-00020"]
    assert api.ok("GET", "/items?issue=any")["total"] == 12
    assert api.ok("GET", "/items?issue=none")["total"] == 108

    by_sku = api.ok("GET", "/items?search=sku-0011")  # SKU prefix, any case
    assert [i["item_id"] for i in by_sku["items"]] == [f"item-{n:05d}" for n in range(110, 120)]
    by_name = api.ok("GET", "/items?search=WIDGET 12")
    assert {i["item_id"] for i in by_name["items"]} == {"item-00012", "item-00120"}
    assert api.ok("GET", "/items?search=item-00007")["total"] == 1  # the exact id
    for wildcard in ("%25", "_", "%25idget"):  # LIKE's wildcards are plain characters here
        assert api.ok("GET", f"/items?search={wildcard}")["total"] == 0
    both = api.ok("GET", "/items?search=widget 1&issue=not_found")
    assert {i["item_id"] for i in both["items"]} == {"item-00010", "item-00100", "item-00110", "item-00120"}

    for query, field in (("issue=broken", "issue"), ("page=0", "page"), ("page_size=501", "page_size"), ("page=x", "page"), ("search=" + "x" * 101, "search")):
        answer = api("GET", "/items?" + query)
        assert answer.status_code == 422 and answer.json()["error"]["field"] == field, query


def test_customer_lists_search_email_and_name(api, store, account_id):
    with store.begin() as db:
        for n, (name, email) in enumerate([("Ann Lee", "ann@x.test"), ("Bob Ray", "bob@y.test"), ("Anna Fox", None)]):
            db.add(BtCustomer(account_id=account_id, customer_id=f"c{n}", name=name, billing_email=email,
                              issue="missing_email" if email is None else None))
    assert [c["customer_id"] for c in api.ok("GET", "/customers?search=ANN")["customers"]] == ["c0", "c2"]
    assert [c["customer_id"] for c in api.ok("GET", "/customers?search=bob@")["customers"]] == ["c1"]
    listed = api.ok("GET", "/customers?issue=missing_email")
    assert [c["customer_id"] for c in listed["customers"]] == ["c2"]
    assert listed["counts"]["issues"]["missing_email"] == 1


def test_the_list_shows_counterparts_and_candidates_from_the_mirror(api, store, account_id):
    from qbwc_bridge.store.models import Account

    seed_qb_items(store, account_id, {"name": "Q-1", "manufacturer_part_number": "MPN-1"}, {"name": "Q-2"})
    with store.begin() as db:
        db.get(Account, account_id).item_match_field = "manufacturer_part_number"
        db.add(BtItem(account_id=account_id, item_id="m", sku="MPN-1", name="M", qb_list_id="80000001-1", matched_by="auto"))
        db.add(BtItem(account_id=account_id, item_id="n", sku="Q2", name="N", issue="not_found",
                      issue_detail={"candidates": [{"quickbooks_id": "80000002-1", "name": "Q-2", "sku": "Q-2", "reason": "similar_sku"}]}))
        db.add(BtItem(account_id=account_id, item_id="o", sku="GONE", name="O", qb_list_id="deleted-1", matched_by="manual"))
    listed = {i["item_id"]: i for i in api.ok("GET", "/items")["items"]}
    assert listed["m"]["quickbooks"]["sku"] == "MPN-1" and listed["m"]["match_state"] == "matched"
    assert listed["n"]["candidates"] == [
        {"quickbooks_id": "80000002-1", "name": "Q-2", "full_name": "Q-2", "sku": None, "item_type": "ItemNonInventory", "active": True, "reason": "similar_sku"}
    ]
    assert listed["n"]["actions"] == ["resync", "create_in_quickbooks", "match", "accept_suggestion"]
    # Matched to a record QuickBooks no longer has: the id stays visible, the rest is unknown.
    assert listed["o"]["quickbooks"] == {"quickbooks_id": "deleted-1", "name": None, "full_name": None, "sku": None, "item_type": None, "active": None}


def test_a_duplicate_name_shows_quickbooks_words_and_the_rename_limit(api, store, account_id, openapi_document):
    """As the engine leaves an item after QuickBooks answered 3100 to "Create in QuickBooks"."""
    with store.begin() as db:
        db.add(BtItem(
            account_id=account_id, item_id="dup", sku="CHAIR", name="Chair", issue="duplicate_name",
            issue_detail={
                "message": "QuickBooks already has something named \u201cCHAIR\u201d.", "action": "Rename it.",
                "quickbooks_message": "The name \"CHAIR\" of the list element is already in use.", "candidates": [],
                "actions": [{"action": "rename", "label": "Create under another name", "field": "name", "max_length": 31}],
            },
        ))
    item = api.ok("GET", "/items/dup")
    assert item["issue_message"].startswith("QuickBooks already has") and item["resolution"] == "Rename it."
    assert item["quickbooks_message"].endswith("already in use.") and item["rename_max_length"] == 31
    assert "create_in_quickbooks" in item["actions"]
    assert_valid(openapi_document, item, response_schema(openapi_document, "get", "/items/{item_id}", 200))


# -- the OpenAPI document -------------------------------------------------------------------


def test_every_api_route_is_in_the_openapi_document(server, openapi_document):
    document = openapi_document
    rules = [rule for rule in server.app.flask.url_map.iter_rules() if rule.rule.startswith(PREFIX)]
    assert len(rules) >= 14
    for rule in rules:
        path = rule.rule[len(PREFIX):].replace("<", "{").replace(">", "}")
        assert path in document["paths"], path
        for method in rule.methods - {"HEAD", "OPTIONS"}:
            operation = document["paths"][path][method.lower()]
            assert operation["summary"] and operation["responses"]
            for name in rule.arguments:
                assert any(p["name"] == name and p["in"] == "path" for p in operation["parameters"])
    jsonschema.Draft202012Validator.check_schema({"$defs": document["components"]["schemas"]})


def test_error_answers_match_the_declared_error_schema(api, openapi_document):
    for method, path, body in (("GET", "/items/nope", None), ("PUT", "/items/x", {"sku": 1}), ("PUT", "/items/x", "{")):
        answer = api(method, path, body)
        schema = openapi_document["paths"]["/items/{item_id}"][method.lower()]["responses"][str(answer.status_code)]
        assert_valid(openapi_document, answer.json(), schema["content"]["application/json"]["schema"])
