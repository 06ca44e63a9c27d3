"""A Web Connector that stopped calling shows as an error, in plain words, everywhere a person looks; its next call clears it."""
from __future__ import annotations

import datetime as dt

import pytest
import requests

from qbwc_bridge.config import Settings
from qbwc_bridge.store.models import Account, utcnow
from tests.integration.admin_pages import admin_app, client, people  # noqa: F401 (fixtures)
from tests.integration.soap_helpers import call
from tests.integration.test_api_catalog import PREFIX, assert_valid, response_schema


def _last_contact(store, account_id: int, minutes_ago: float | None, status: str = "connected") -> None:
    with store.begin() as db:
        account = db.get(Account, account_id)
        account.status = status
        account.last_contact_at = None if minutes_ago is None else utcnow() - dt.timedelta(minutes=minutes_ago)


def _status(server, token: str) -> dict:
    response = requests.get(server.url + "/api/v1/status", headers={"Authorization": f"Bearer {token}"}, timeout=10)
    assert response.status_code == 200, response.text
    return response.json()


def test_a_connected_web_connector_quiet_too_long_is_an_error_until_it_calls_again(server, store, tenant):
    account_id, token = tenant.account.account_id, tenant.account.api_token
    _last_contact(store, account_id, minutes_ago=9)  # the default: 3 runs of 2 minutes, but at least 10 minutes
    assert _status(server, token)["status"] == "connected"

    _last_contact(store, account_id, minutes_ago=95)
    status = _status(server, token)
    assert status["status"] == "error" and status["label"] == "Error"
    error = status["error"]
    assert error["code"] == "web_connector_silent"
    assert error["message"] == "The Web Connector has not called for 1 hour, so nothing reaches QuickBooks."
    assert "is it on" in error["action"] and "QuickBooks open" in error["action"] and "Auto-Run" in error["action"]
    assert error["at"] and status["message"].startswith(error["message"])
    document = requests.get(server.url + PREFIX + "/openapi.json", timeout=10).json()
    assert_valid(document, status, response_schema(document, "get", "/status", 200))

    # Its next run (even one with nothing to do) clears it, with nothing to reset.
    assert call(server.url + "/qbwc", "authenticate", strUserName=tenant.username, strPassword=tenant.password)[1] in ("", "none")
    status = _status(server, token)
    assert status["error"] is None and status["status"] == "connected"



def test_a_web_connector_calling_with_a_refused_password_is_told_apart_from_a_silent_one(server, store, tenant):
    """After a reset the Web Connector still calls, with the old password: "is the PC on?" would send the
    bookkeeper the wrong way, so the status says the password was refused and what to type where."""
    account_id, token = tenant.account.account_id, tenant.account.api_token
    _last_contact(store, account_id, minutes_ago=95)
    assert call(server.url + "/qbwc", "authenticate", strUserName=tenant.username, strPassword="the old one")[1] == "nvu"
    status = _status(server, token)
    assert status["status"] == "error" and status["error"]["code"] == "web_connector_password_refused"
    assert "password was refused" in status["error"]["message"] and "Password column" in status["error"]["action"]
    document = requests.get(server.url + PREFIX + "/openapi.json", timeout=10).json()
    assert_valid(document, status, response_schema(document, "get", "/status", 200))
    assert call(server.url + "/qbwc", "authenticate", strUserName=tenant.username, strPassword=tenant.password)[1] in ("", "none")
    assert _status(server, token)["error"] is None


def test_an_account_never_connected_is_not_silent(server, store, tenant):
    _last_contact(store, tenant.account.account_id, minutes_ago=None, status="not_connected")
    status = _status(server, tenant.account.api_token)
    assert status["status"] == "not_connected" and status["error"] is None


def test_silence_outranks_an_older_error(server, store, tenant):
    _last_contact(store, tenant.account.account_id, minutes_ago=3 * 24 * 60, status="error")
    assert _status(server, tenant.account.api_token)["error"]["code"] == "web_connector_silent"


def test_the_status_panel_and_the_support_list_say_it_in_plain_words(client, people, store):  # noqa: F811
    _last_contact(store, people.acme.account_id, minutes_ago=3 * 60)
    _last_contact(store, people.globex.account_id, minutes_ago=1)
    client.login(people.support)
    listing = client.get("/admin/support/").get_data(as_text=True)
    assert listing.count("The Web Connector has not called for 3 hours") == 1
    assert "Auto-Run" in listing
    panel = client.get(f"/admin/accounts/{people.acme.account_id}/status").get_data(as_text=True)
    assert "The Web Connector has not called for 3 hours" in panel and "Auto-Run" in panel
    quiet = client.get(f"/admin/accounts/{people.globex.account_id}/status").get_data(as_text=True)
    assert "has not called" not in quiet


@pytest.mark.parametrize(
    "env, minutes",
    [({}, 10), ({"QBWC_BRIDGE_RUN_EVERY_MINUTES": "5"}, 15), ({"QBWC_BRIDGE_SILENT_AFTER_MINUTES": "7"}, 7)],
)
def test_silent_after_defaults_to_three_runs_and_at_least_ten_minutes(tmp_path, env, minutes):
    settings = Settings.from_env({"QBWC_BRIDGE_DATA_DIR": str(tmp_path), **env})
    assert settings.silent_after == dt.timedelta(minutes=minutes)
