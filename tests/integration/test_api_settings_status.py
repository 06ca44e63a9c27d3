"""GET /status and GET|PATCH /settings over real HTTP, on SQLite and PostgreSQL."""
from __future__ import annotations

import datetime as dt

import jsonschema
import pytest
import requests

from qbwc_bridge.services.accounts import create_account
from qbwc_bridge.store.models import Account, BtItem, QbAccount, QbTerms, utcnow
from tests.integration.conftest import make_tenant
from tests.integration.test_api_catalog import PREFIX, Api, assert_valid, finish_initial_sync, response_schema, seed_qb_items


@pytest.fixture
def api(server, tenant) -> Api:
    """The tenant's BlueTrace backend, before the initial sync (tests that need it finish it)."""
    return Api(server.url, tenant.account.api_token)


@pytest.fixture
def account_id(tenant) -> int:
    return tenant.account.account_id


@pytest.fixture
def openapi_document(server) -> dict:
    return requests.get(server.url + PREFIX + "/openapi.json", timeout=10).json()


@pytest.fixture
def mirror(store, account_id):
    """Terms and accounts as the initial sync leaves them."""
    with store.begin() as db:
        db.add(QbTerms(account_id=account_id, list_id="T1", full_name="Net 30", days_due=30, is_active=True))
        db.add(QbTerms(account_id=account_id, list_id="T2", full_name="Due on receipt", days_due=0, is_active=True))
        db.add(QbTerms(account_id=account_id, list_id="T3", full_name="Net 90", days_due=90, is_active=False))
        db.add(QbAccount(account_id=account_id, list_id="A1", full_name="Sales", account_type="Income", is_active=True))
        db.add(QbAccount(account_id=account_id, list_id="A2", full_name="Expenses:Supplies", account_type="Expense", is_active=True))


def test_new_accounts_have_everything_off(api, openapi_document):
    settings = api.ok("GET", "/settings")
    assert settings == {
        "default_terms": None, "ar_account": None, "ap_account": None, "invoice_creation": False,
        "items_sync": False, "customers_sync": False, "item_match_field": "name", "invoice_numbering": "order_number",
        "tax_code": None, "live_mode": 0,
    }
    assert_valid(openapi_document, settings, response_schema(openapi_document, "get", "/settings", 200))


def test_terms_and_accounts_by_name_or_listid_answer_with_both(api, mirror, store, account_id, openapi_document):
    settings = api.ok("PATCH", "/settings", {"default_terms": "net 30", "ar_account": "A1", "ap_account": "Expenses:Supplies"})
    assert settings["default_terms"] == {"id": "T1", "name": "Net 30", "missing": False, "active": True}
    assert settings["ar_account"]["id"] == "A1" and settings["ar_account"]["name"] == "Sales"
    assert settings["ar_account"]["account_type"] == "Income"
    assert settings["ap_account"]["id"] == "A2"
    assert_valid(openapi_document, settings, response_schema(openapi_document, "patch", "/settings", 200))
    with store.begin() as db:
        account = db.get(Account, account_id)
        assert (account.default_terms_id, account.ar_account_id, account.ap_account_id) == ("T1", "A1", "A2")
    assert api.ok("GET", "/settings") == settings
    cleared = api.ok("PATCH", "/settings", {"default_terms": None})
    assert cleared["default_terms"] is None and cleared["ar_account"]["id"] == "A1"


@pytest.mark.parametrize(
    "change, field, words",
    [
        ({"default_terms": "Net 45"}, "default_terms", "no terms named"),
        ({"default_terms": "Net 90"}, "default_terms", "inactive"),
        ({"ar_account": "T1"}, "ar_account", "no account named"),  # a terms ListID is not an account
        ({"ap_account": 7}, "ap_account", "string"),
        ({"invoice_creation": "on"}, "invoice_creation", "true or false"),
        ({"item_match_field": "sku"}, "item_match_field", "one of"),
        ({"invoice_numbering": "ours"}, "invoice_numbering", "one of"),
        ({"invoice_numbering": None}, "invoice_numbering", "one of"),
        ({"colour": "blue"}, "colour", "not a setting"),
        ({"live_mode": 481}, "live_mode", "from 0 to 480"),
        ({"live_mode": -1}, "live_mode", "from 0 to 480"),
        ({"live_mode": True}, "live_mode", "whole number"),
        ({"live_mode": 2.5}, "live_mode", "whole number"),
        ({"live_mode": "30"}, "live_mode", "whole number"),
    ],
)
def test_wrong_settings_are_a_422_naming_the_setting_and_change_nothing(api, mirror, change, field, words):
    before = api.ok("PATCH", "/settings", {"default_terms": "T2"})
    answer = api("PATCH", "/settings", {"ar_account": "Sales", **change})
    assert answer.status_code == 422, answer.text
    error = answer.json()["error"]
    assert error["field"] == field and words in error["message"]
    assert api.ok("GET", "/settings") == before


def test_invoice_numbering_round_trips_and_is_kept_on_the_account(api, store, account_id, openapi_document):
    changed = api.ok("PATCH", "/settings", {"invoice_numbering": "quickbooks"})
    assert changed["invoice_numbering"] == "quickbooks"
    assert_valid(openapi_document, changed, response_schema(openapi_document, "patch", "/settings", 200))
    assert api.ok("GET", "/settings") == changed
    with store.begin() as db:
        assert db.get(Account, account_id).invoice_numbering == "quickbooks"
    assert api.ok("PATCH", "/settings", {"invoice_numbering": "order_number"})["invoice_numbering"] == "order_number"


def test_live_mode_is_minutes_kept_on_the_account_and_null_or_0_is_off(api, store, account_id, openapi_document):
    changed = api.ok("PATCH", "/settings", {"live_mode": 30})
    assert changed["live_mode"] == 30
    assert_valid(openapi_document, changed, response_schema(openapi_document, "patch", "/settings", 200))
    assert api.ok("GET", "/settings") == changed
    with store.begin() as db:
        assert db.get(Account, account_id).live_mode_minutes == 30
    assert api.ok("PATCH", "/settings", {"live_mode": 480})["live_mode"] == 480
    assert api.ok("PATCH", "/settings", {"live_mode": 45.0})["live_mode"] == 45  # JSON Schema's integer
    assert api.ok("PATCH", "/settings", {"live_mode": None})["live_mode"] == 0
    choices = api.ok("GET", "/settings/choices")
    assert choices["live_mode_offered"] is True and choices["live_mode_max_minutes"] == 480


def test_live_mode_is_refused_for_an_online_account(server, store, openapi_document):
    with store.begin() as db:
        online = Api(server.url, create_account(db, "Online Co", "online").api_token)
    answer = online("PATCH", "/settings", {"live_mode": 10})
    assert answer.status_code == 422, answer.text
    assert answer.json()["error"]["field"] == "live_mode" and "only for QuickBooks Desktop" in answer.json()["error"]["message"]
    assert online.ok("PATCH", "/settings", {"live_mode": 0})["live_mode"] == 0  # off is always allowed
    assert online.ok("GET", "/settings/choices")["live_mode_offered"] is False


def test_a_deleted_setting_target_shows_as_missing(api, mirror, store, account_id):
    api.ok("PATCH", "/settings", {"ar_account": "Sales"})
    with store.begin() as db:
        db.delete(db.get(QbAccount, (account_id, "A1")))
    assert api.ok("GET", "/settings")["ar_account"] == {"id": "A1", "name": None, "missing": True}


def test_choices_list_active_terms_and_accounts(api, mirror, openapi_document):
    choices = api.ok("GET", "/settings/choices")
    assert [t["name"] for t in choices["terms"]] == ["Due on receipt", "Net 30"]
    assert [a["id"] for a in choices["accounts"]] == ["A2", "A1"]
    assert choices["item_match_fields"] == ["name", "manufacturer_part_number", "barcode"]
    assert_valid(openapi_document, choices, response_schema(openapi_document, "get", "/settings/choices", 200))


def test_changing_the_match_field_rematches_every_item(api, store, account_id):
    finish_initial_sync(store, account_id)
    seed_qb_items(store, account_id, {"name": "Q-1", "barcode": "0001"})
    with store.begin() as db:
        db.add(BtItem(account_id=account_id, item_id="i1", sku="0001", name="One", issue="not_found"))
    assert api.ok("GET", "/items/i1")["issue"] == "not_found"
    assert api.ok("PATCH", "/settings", {"item_match_field": "barcode"})["item_match_field"] == "barcode"
    item = api.ok("GET", "/items/i1")
    assert item["match_state"] == "matched" and item["quickbooks"]["sku"] == "0001"


def test_turning_items_sync_on_rematches_and_creates_what_has_no_match(api, mirror, store, account_id):
    finish_initial_sync(store, account_id)
    seed_qb_items(store, account_id, {"name": "HAVE-1"})
    with store.begin() as db:
        db.add(BtItem(account_id=account_id, item_id="have", sku="HAVE-1", name="Have"))
        db.add(BtItem(account_id=account_id, item_id="new", sku="NEW-1", name="New"))
    api.ok("PATCH", "/settings", {"ar_account": "Sales", "ap_account": "A2"})
    settings = api.ok("PATCH", "/settings", {"items_sync": True})
    assert settings["items_sync"] is True
    assert api.ok("GET", "/items/have")["match_state"] == "matched"
    assert api.ok("GET", "/items/new")["pending"] == "creating"


def test_settings_belong_to_one_account(api, server, store, mirror):
    api.ok("PATCH", "/settings", {"invoice_creation": True, "default_terms": "Net 30"})
    other = Api(server.url, make_tenant(store, "Other Co").account.api_token)
    assert other.ok("GET", "/settings")["invoice_creation"] is False
    # Our terms are not in the other account's mirror.
    assert other("PATCH", "/settings", {"default_terms": "T1"}).status_code == 422


# -- status ---------------------------------------------------------------------------------


def test_status_of_a_new_account(api, openapi_document):
    status = api.ok("GET", "/status")
    assert status["status"] == "not_connected" and status["label"] == "Not connected"
    assert ".qwc" in status["message"]
    assert status["error"] is None and status["last_contact_at"] is None
    assert status["counts"]["items"]["total"] == 0
    assert_valid(openapi_document, status, response_schema(openapi_document, "get", "/status", 200))


def test_status_while_connecting_shows_progress_and_counts(api, store, account_id, openapi_document):
    now = utcnow().replace(microsecond=0)  # a recent contact: an old one is a silent Web Connector
    seed_qb_items(store, account_id, {"name": "A"}, {"name": "B"})
    with store.begin() as db:
        account = db.get(Account, account_id)
        account.status, account.last_contact_at = "connecting", now
        db.add(BtItem(account_id=account_id, item_id="x", sku="A", name="X", qb_list_id="80000001-1"))
    status = api.ok("GET", "/status")
    assert status["label"] == "Connecting" and "Connecting" in status["message"]
    assert status["last_contact_at"] == now.isoformat()
    assert 0 <= status["progress"]["percent"] <= 100 and status["progress"]["phase"]
    assert status["counts"]["qb_items"] == 2
    assert status["counts"]["items"] == {"total": 1, "matched": 1, "with_issue": 0, "issues": status["counts"]["items"]["issues"]}
    assert_valid(openapi_document, status, response_schema(openapi_document, "get", "/status", 200))


def test_status_explains_the_current_error_and_what_to_do(api, store, account_id, openapi_document):
    with store.begin() as db:
        account = db.get(Account, account_id)
        account.status = "error"
        account.error_code = "0x80040408"
        account.error_at = dt.datetime(2026, 5, 1, tzinfo=dt.timezone.utc)
        # As the Desktop backend records it: what happened, then what to do (the status splits them).
        account.error_action = "Open the company file in QuickBooks, then run the Web Connector again."
        account.status_message = f"QuickBooks could not open the company file. {account.error_action}"
    status = api.ok("GET", "/status")
    assert status["label"] == "Error"
    error = status["error"]
    assert error["code"] == "0x80040408" and error["message"] == "QuickBooks could not open the company file."
    assert error["action"] == "Open the company file in QuickBooks, then run the Web Connector again."
    assert error["at"].startswith("2026-05-01")
    assert_valid(openapi_document, status, response_schema(openapi_document, "get", "/status", 200))
    jsonschema.Draft202012Validator.check_schema(response_schema(openapi_document, "get", "/status", 200))


def test_turning_invoice_creation_on_lets_blocked_invoices_go(api, store, account_id):
    """The Invoices tab's promise: a blocked invoice goes out by itself once the switch is on."""
    import random

    from tests.integration.invoice_world import make_company, seed_matches

    world = seed_matches(store, account_id, make_company(), invoice_creation=False)
    api.ok("POST", "/orders/o-1/packed", world.order(random.Random(5), "1001"), status=202)
    assert api.ok("GET", "/orders/o-1/invoice")["status"] == "blocked"
    api.ok("PATCH", "/settings", {"invoice_creation": True})
    assert api.ok("GET", "/orders/o-1/invoice")["status"] == "queued"
