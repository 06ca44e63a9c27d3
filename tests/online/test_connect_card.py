"""What a person and BlueTrace's app see of a connection: status.quickbooks, the warning, reconnect_needed,
the admin's connection card, and Disconnect for both kinds of account."""
from __future__ import annotations

import datetime as dt

import httpx
import pytest
from click.testing import CliRunner
from cryptography.fernet import Fernet
from sqlalchemy import select

from qbwc_bridge import outbox
from qbwc_bridge.backends.desktop.web_connector import BAD_LOGIN_ANSWER, WebConnectorService
from qbwc_bridge.backends.online.connection import access_token, needs_reconnect, record_company, rewrap_tokens
from qbwc_bridge.backends.online.oauth import IntuitOAuth
from qbwc_bridge.cli import main
from qbwc_bridge.errors import ReconnectNeeded
from qbwc_bridge.services.users import create_user
from qbwc_bridge.store.models import Account, OperationState, OutboxOperation, QboConnection, utcnow
from qbwc_bridge.token_keys import TokenCipher
from qbwc_bridge.web.app import create_app
from tests.integration.admin_pages import PASSWORD, AdminClient
from tests.online.connect_world import world  # noqa: F401 (fixture)

BOOKKEEPER = "books@acme-online.test"
DESKTOP_BOOKKEEPER = "books@initech.test"


def connect_directly(world, account, realm="9130", *, authorization_left=dt.timedelta(days=100),
                     access_left=dt.timedelta(hours=1), company="Acme Online Inc") -> None:
    """A stored connection, as a finished connect leaves it (the callback itself is tested elsewhere)."""
    cipher = TokenCipher(world.settings.token_keys)
    now = utcnow()
    with world.store.begin() as db:
        db.add(QboConnection(
            account_id=account.account_id, realm_id=realm, environment="sandbox", company_name=company,
            access_token_enc=cipher.encrypt("access-" + realm), access_expires_at=now + access_left,
            refresh_token_enc=cipher.encrypt("refresh-" + realm), refresh_expires_at=now + authorization_left,
        ))
        db.get(Account, account.account_id).status = "connected"


def intuit_answering(world, status: int, body: dict, calls: list[httpx.Request]) -> IntuitOAuth:
    def answer(request):
        calls.append(request)
        return httpx.Response(status, json=body)

    return IntuitOAuth(world.settings, httpx.Client(transport=httpx.MockTransport(answer)))


@pytest.fixture
def admin(world) -> AdminClient:
    with world.store.begin() as db:
        create_user(db, BOOKKEEPER, PASSWORD, "bookkeeper", world.online.account_id)
        create_user(db, DESKTOP_BOOKKEEPER, PASSWORD, "bookkeeper", world.desktop.account_id)
    return AdminClient(create_app(world.settings, world.store).flask)


def test_status_names_the_online_company_and_when_consent_runs_out(world):
    connect_directly(world, world.online)
    status = world.api(world.online, "GET", "/status").json()
    with world.store.begin() as db:
        expires = db.get(QboConnection, world.online.account_id).refresh_expires_at
    assert status["quickbooks"] == {"kind": "online", "realm_id": "9130", "company_name": "Acme Online Inc",
                                    "environment": "sandbox", "authorization_expires_at": expires.isoformat()}
    assert status["warning"] is None and status["status"] == "connected"
    desktop = world.api(world.desktop, "GET", "/status").json()["quickbooks"]
    assert desktop == {"kind": "desktop", "realm_id": None, "company_name": None, "environment": None,
                       "authorization_expires_at": None}
    assert world.api(world.other, "GET", "/status").json()["quickbooks"]["realm_id"] is None


def test_a_warning_well_before_the_authorization_runs_out(world):
    connect_directly(world, world.online, authorization_left=dt.timedelta(days=10))
    warning = world.api(world.online, "GET", "/status").json()["warning"]
    assert "runs out in 9 days" in warning or "runs out in 10 days" in warning
    assert "Reconnect" in warning


def test_invalid_grant_pauses_the_work_and_asks_for_reconnect(world):
    connect_directly(world, world.online, access_left=dt.timedelta(minutes=1))
    with world.store.begin() as db:
        waiting = outbox.enqueue(db, world.online.account_id, "create_invoice", {"order": "1001"}).id
    calls: list[httpx.Request] = []
    intuit = intuit_answering(world, 400, {"error": "invalid_grant"}, calls)
    with pytest.raises(ReconnectNeeded):
        access_token(world.store, world.settings, world.online.account_id, oauth=intuit)
    with pytest.raises(ReconnectNeeded):  # and Intuit is not asked again until someone reconnects
        access_token(world.store, world.settings, world.online.account_id, oauth=intuit)
    assert len(calls) == 1
    status = world.api(world.online, "GET", "/status").json()
    assert status["status"] == "error" and status["error"]["code"] == "reconnect_needed"
    assert "no longer accepts" in status["error"]["message"] and "Reconnect" in status["error"]["action"]
    assert status["warning"] is None
    with world.store.begin() as db:
        assert db.get(OutboxOperation, waiting).state == OperationState.PENDING.value  # paused, never failed


def test_the_card_shows_the_company_and_offers_reconnect_and_disconnect(world, admin):
    connect_directly(world, world.online, access_left=dt.timedelta(minutes=1))
    admin.login(BOOKKEEPER)
    page = admin.get(f"/admin/accounts/{world.online.account_id}/general").get_data(as_text=True)
    assert 'id="connection-card"' in page and "Acme Online Inc" in page and "9130" in page and "Sandbox" in page
    assert 'id="disconnect"' in page and 'id="reconnect"' not in page
    with pytest.raises(ReconnectNeeded):
        access_token(world.store, world.settings, world.online.account_id,
                     oauth=intuit_answering(world, 400, {"error": "invalid_grant"}, []))
    page = admin.get(f"/admin/accounts/{world.online.account_id}/general").get_data(as_text=True)
    assert 'id="reconnect"' in page and "no longer accepts" in page
    to_intuit = admin.post(f"/admin/accounts/{world.online.account_id}/connect/online")
    assert to_intuit.status_code == 303
    assert to_intuit.headers["Location"].startswith(world.settings.qbo_authorize_url + "?")


def test_disconnect_deletes_the_tokens_even_when_intuit_does_not_answer(world, admin):
    connect_directly(world, world.online)
    admin.login(BOOKKEEPER)
    admin.get(f"/admin/accounts/{world.online.account_id}/general")
    done = admin.post(f"/admin/accounts/{world.online.account_id}/disconnect")  # Intuit is a closed port here
    assert done.status_code == 302
    with world.store.begin() as db:
        assert db.get(QboConnection, world.online.account_id) is None
        assert db.get(Account, world.online.account_id).status == "not_connected"
    page = admin.get(f"/admin/accounts/{world.online.account_id}/general").get_data(as_text=True)
    assert "Disconnected from QuickBooks" in page and 'id="connection-card"' not in page
    with pytest.raises(ReconnectNeeded):
        access_token(world.store, world.settings, world.online.account_id)


def test_a_connected_desktop_account_gets_the_card_and_disconnect_refuses_its_web_connector(world, admin):
    with world.store.begin() as db:
        account = db.get(Account, world.desktop.account_id)
        account.status, account.company_file_name, account.last_contact_at = "connected", r"C:\Books\initech.qbw", utcnow()
    admin.login(DESKTOP_BOOKKEEPER)
    page = admin.get(f"/admin/accounts/{world.desktop.account_id}/general").get_data(as_text=True)
    assert 'id="connection-card"' in page and "initech.qbw" in page and 'id="disconnect"' in page
    assert f"/admin/accounts/{world.desktop.account_id}/connect/desktop" in page  # the .qwc and the steps
    answer = world.api(world.desktop, "DELETE", "/connection")
    assert answer.status_code == 200 and answer.json()["status"] == "not_connected"
    assert answer.json()["error"] is None  # disconnected, not "silent"
    refused = WebConnectorService(world.store, world.settings).authenticate(world.desktop.wc_username,
                                                                            world.desktop.wc_password)
    assert refused[1] == BAD_LOGIN_ANSWER
    steps = admin.get(f"/admin/accounts/{world.desktop.account_id}/connect/desktop").get_data(as_text=True)
    assert "Add an application" in steps and "Show a new Web Connector password" in steps  # connecting again


def test_the_api_disconnects_an_online_account(world):
    connect_directly(world, world.online)
    answer = world.api(world.online, "DELETE", "/connection")
    assert answer.status_code == 200 and answer.json()["status"] == "not_connected"
    assert answer.json()["quickbooks"]["realm_id"] is None
    with world.store.begin() as db:
        assert list(db.scalars(select(QboConnection))) == []


def test_what_the_worker_asks_needs_reconnect_and_the_company_name_it_records(world):
    with world.store.begin() as db:
        assert needs_reconnect(db, world.online.account_id)  # not connected yet
    connect_directly(world, world.online, company=None)
    with world.store.begin() as db:
        assert not needs_reconnect(db, world.online.account_id)
        record_company(db, world.online.account_id, "  Acme Online LLC ", "US")
    status = world.api(world.online, "GET", "/status").json()
    assert status["quickbooks"]["company_name"] == status["company_name"] == "Acme Online LLC"
    world.api(world.online, "DELETE", "/connection")
    status = world.api(world.online, "GET", "/status").json()
    assert status["quickbooks"]["company_name"] is None and status["company_name"] is None


def test_rewrapping_stores_every_token_under_the_newest_key(world):
    connect_directly(world, world.online)
    connect_directly(world, world.other, realm="9131")
    newest = Fernet.generate_key().decode()
    rotated = world.settings.replace(token_keys=(newest, *world.settings.token_keys))
    assert rewrap_tokens(world.store, rotated) == 2
    again = CliRunner().invoke(main, ["rewrap-tokens"], env={**world.environ, "QBWC_BRIDGE_TOKEN_KEYS": ",".join(
        rotated.token_keys)})
    assert again.exit_code == 0 and again.output.startswith("0 connection(s) rewritten"), again.output
    only_newest = TokenCipher((newest,))
    with world.store.begin() as db:
        rows = {row.realm_id: row for row in db.scalars(select(QboConnection))}
    assert only_newest.decrypt(rows["9130"].refresh_token_enc) == ("refresh-9130", False)
    assert only_newest.decrypt(rows["9131"].access_token_enc) == ("access-9131", False)


def test_support_pages_show_an_online_account_with_its_connection(world):
    connect_directly(world, world.online)
    with world.store.begin() as db:
        create_user(db, "help@bluetrace.test", PASSWORD, "support")
    support = AdminClient(create_app(world.settings, world.store).flask)
    support.login("help@bluetrace.test")
    listing = support.get("/admin/support/")
    assert listing.status_code == 200 and "Acme Online" in listing.get_data(as_text=True)
    page = support.get(f"/admin/support/accounts/{world.online.account_id}")
    assert page.status_code == 200, page.get_data(as_text=True)[:500]
    card = support.get(f"/admin/accounts/{world.online.account_id}/general").get_data(as_text=True)
    assert 'id="connection-card"' in card and "9130" in card
