"""Connect, refresh, reconnect and disconnect against the fake QuickBooks Online, all over real HTTP.

The fake Intuit refuses a rotated refresh token at once and records the reuse (the real one
forgives it for about a day, which must never be what keeps a connection alive).
"""
from __future__ import annotations

import datetime as dt
import logging
import multiprocessing
import threading
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest
from cryptography.fernet import Fernet
from sqlalchemy import select, text

from qbwc_bridge.backends.online.connection import REFRESH_MARGIN, access_token
from qbwc_bridge.config import Settings
from qbwc_bridge.errors import ReconnectNeeded
from qbwc_bridge.fake_qbo import FakeIntuit, serve
from qbwc_bridge.services.users import create_user
from qbwc_bridge.store.models import Account, OutboxOperation, QboConnection, utcnow
from qbwc_bridge.sync.initial import INITIAL_PREFIX
from qbwc_bridge.token_keys import TokenCipher
from qbwc_bridge.web.app import create_app
from tests.integration.admin_pages import PASSWORD, AdminClient
from tests.online.connect_world import CLIENT_ID, CLIENT_SECRET, World, serve_world, state_of
from tests.online.refresher import fetch_token

REALM = "9130350000000001"
OTHER_REALM = "9130350000000002"


@pytest.fixture
def intuit() -> FakeIntuit:
    intuit = FakeIntuit()
    intuit.add_company(REALM, "Sandbox Company US")
    intuit.add_company(OTHER_REALM, "Sandbox Company Two")
    return intuit


@pytest.fixture
def live(intuit, database_url, tmp_path) -> Iterator[World]:
    with serve(intuit) as fake, serve_world(database_url, tmp_path / "var", fake.url) as world:
        intuit.register_app(CLIENT_ID, CLIENT_SECRET, [world.url + "/qbo/callback"])
        yield world


def consent(world: World, account, realm: str = REALM) -> httpx.Response:
    """The person's browser: Intuit's consent page, Connect, and back to our callback (the callback's answer)."""
    authorize_url = world.authorize_url(account)
    page = httpx.get(authorize_url, timeout=30)
    assert page.status_code == 200 and "form" in page.text, page.text
    parts = urlsplit(authorize_url)
    form = {key: values[0] for key, values in parse_qs(parts.query).items()}
    approved = httpx.post(f"{parts.scheme}://{parts.netloc}{parts.path}", timeout=30,
                          data={**form, "realm": realm, "decision": "approve"})
    assert approved.status_code == 302, approved.text
    back = approved.headers["Location"]
    assert back.startswith(world.url + "/qbo/callback?")
    return httpx.get(back, timeout=30, follow_redirects=False)


def stored(world: World, account) -> QboConnection | None:
    with world.store.begin() as db:
        return db.get(QboConnection, account.account_id)


def tokens(world: World, account) -> tuple[str, str]:
    """The account's (access, refresh) tokens in clear, as the bridge would decrypt them."""
    cipher = TokenCipher(world.settings.token_keys)
    row = stored(world, account)
    return cipher.decrypt(row.access_token_enc)[0], cipher.decrypt(row.refresh_token_enc)[0]


def later(world: World, account) -> dt.datetime:
    """A moment when the stored access token is within the refresh margin."""
    return stored(world, account).access_expires_at - REFRESH_MARGIN + dt.timedelta(seconds=1)


def test_connect_stores_the_company_and_queues_the_initial_sync_for_the_worker(live):
    answer = consent(live, live.online)
    assert answer.status_code == 302
    assert answer.headers["Location"].endswith(f"/admin/accounts/{live.online.account_id}/general")
    row = stored(live, live.online)
    assert (row.realm_id, row.environment, row.company_name) == (REALM, "sandbox", "Sandbox Company US")
    status = live.api(live.online, "GET", "/status").json()
    assert status["status"] == "connecting" and status["label"] == "Connecting"
    assert status["quickbooks"] == {"kind": "online", "realm_id": REALM, "company_name": "Sandbox Company US",
                                    "environment": "sandbox",
                                    "authorization_expires_at": row.refresh_expires_at.isoformat()}
    assert row.refresh_expires_at - utcnow() > dt.timedelta(days=99)
    with live.store.begin() as db:
        queued = set(db.scalars(select(OutboxOperation.dedupe_key).where(
            OutboxOperation.account_id == live.online.account_id)))
    assert queued and all(key.startswith(INITIAL_PREFIX) for key in queued)


def test_the_callback_link_works_once(live, intuit):
    authorize_url = live.authorize_url(live.online)
    parts = urlsplit(authorize_url)
    form = {key: values[0] for key, values in parse_qs(parts.query).items()}
    back = httpx.post(f"{parts.scheme}://{parts.netloc}{parts.path}", timeout=30,
                      data={**form, "realm": REALM, "decision": "approve"}).headers["Location"]
    assert httpx.get(back, timeout=30).status_code == 302
    replayed = httpx.get(back, timeout=30)
    assert replayed.status_code == 400 and "already been used" in replayed.text
    assert len(intuit.authorization.grants) == 1  # the replay never reached Intuit


def test_a_company_connected_to_one_account_is_refused_for_another(live, intuit):
    assert consent(live, live.online).status_code == 302
    refused = consent(live, live.other)
    assert refused.status_code == 409 and "already connected to another BlueTrace account" in refused.text
    assert stored(live, live.other) is None and len(intuit.authorization.grants) == 1
    assert consent(live, live.other, OTHER_REALM).status_code == 302  # another company is fine


def test_a_realm_changed_in_the_link_back_is_refused_and_its_authorization_revoked(live, intuit):
    authorize_url = live.authorize_url(live.online)
    parts = urlsplit(authorize_url)
    form = {key: values[0] for key, values in parse_qs(parts.query).items()}
    back = httpx.post(f"{parts.scheme}://{parts.netloc}{parts.path}", timeout=30,
                      data={**form, "realm": REALM, "decision": "approve"}).headers["Location"]
    query = {key: values[0] for key, values in parse_qs(urlsplit(back).query).items()}
    changed = live.callback(**{**query, "realmId": OTHER_REALM})  # someone else's company id
    assert changed.status_code == 400 and "not for the company named in the link back" in changed.text
    assert stored(live, live.online) is None
    assert intuit.authorization.grants[0].revoked
    garbage = live.callback(code="c", state=state_of(live.authorize_url(live.online)), realmId="../9130")
    assert garbage.status_code == 400 and "no valid QuickBooks company" in garbage.text


def test_an_access_token_is_reused_until_it_nears_expiry_then_refreshed_and_rotated(live, intuit):
    consent(live, live.online)
    first_access, first_refresh = tokens(live, live.online)
    assert access_token(live.store, live.settings, live.online.account_id) == first_access
    assert intuit.refresh_count == 0
    fresh = access_token(live.store, live.settings, live.online.account_id, now=later(live, live.online))
    assert fresh != first_access and intuit.refresh_count == 1
    assert tokens(live, live.online) == (fresh, tokens(live, live.online)[1])
    assert tokens(live, live.online)[1] != first_refresh  # the rotated refresh token was kept
    assert stored(live, live.online).refreshed_at is not None


def test_a_token_quickbooks_rejected_is_refreshed_once_however_many_callers_report_it(live, intuit):
    consent(live, live.online)
    rejected, _ = tokens(live, live.online)
    intuit.expire_access_tokens(REALM)
    first = access_token(live.store, live.settings, live.online.account_id, rejected=rejected)
    second = access_token(live.store, live.settings, live.online.account_id, rejected=rejected)
    assert first == second != rejected and intuit.refresh_count == 1


def test_threads_refreshing_at_once_make_one_refresh(live, intuit):
    consent(live, live.online)
    moment = later(live, live.online)
    start, results = threading.Barrier(6), []

    def fetch():
        start.wait()
        results.append(access_token(live.store, live.settings, live.online.account_id, now=moment))

    threads = [threading.Thread(target=fetch) for _ in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(results) == 6 and len(set(results)) == 1
    assert intuit.refresh_count == 1 and intuit.refresh_token_reuses == []


def test_processes_refreshing_at_once_never_reuse_a_rotated_refresh_token(live, intuit):
    consent(live, live.online)
    moment = later(live, live.online).isoformat()
    context = multiprocessing.get_context("spawn")
    start, results = context.Barrier(4), context.Queue()
    processes = [context.Process(target=fetch_token, args=(live.environ, live.online.account_id, moment, start, results))
                 for _ in range(4)]
    for process in processes:
        process.start()
    answers = [results.get(timeout=120) for _ in processes]
    for process in processes:
        process.join(timeout=60)
    assert not [answer for answer in answers if answer.startswith("error")], answers
    assert len(set(answers)) == 1 and answers[0] == tokens(live, live.online)[0]
    assert intuit.refresh_count == 1 and intuit.refresh_token_reuses == []


def test_invalid_grant_asks_for_reconnect_and_reconnecting_resumes(live, intuit):
    consent(live, live.online)
    with live.store.begin() as db:
        db.get(Account, live.online.account_id).status = "connected"  # the worker finished the initial sync
    intuit.disconnect(REALM)  # the company removed the app on its side
    with pytest.raises(ReconnectNeeded):
        access_token(live.store, live.settings, live.online.account_id, now=later(live, live.online))
    status = live.api(live.online, "GET", "/status").json()
    assert status["error"]["code"] == "reconnect_needed" and "Reconnect" in status["error"]["action"]
    assert consent(live, live.online).status_code == 302  # Reconnect: Intuit's consent again
    status = live.api(live.online, "GET", "/status").json()
    assert status["error"] is None and status["quickbooks"]["realm_id"] == REALM
    token = access_token(live.store, live.settings, live.online.account_id)
    assert token == tokens(live, live.online)[0]
    assert intuit.refresh_token_reuses == []


def test_disconnect_revokes_at_intuit_and_deletes_the_tokens(live, intuit):
    consent(live, live.online)
    _, refresh_token = tokens(live, live.online)
    answer = live.api(live.online, "DELETE", "/connection")
    assert answer.status_code == 200 and answer.json()["status"] == "not_connected"
    assert stored(live, live.online) is None
    assert intuit.authorization.grants[0].revoked
    refused = httpx.post(live.settings.qbo_token_url, auth=(CLIENT_ID, CLIENT_SECRET), timeout=30,
                         data={"grant_type": "refresh_token", "refresh_token": refresh_token})
    assert refused.status_code == 400 and refused.json()["error"] == "invalid_grant"


def test_tokens_are_never_in_clear_in_the_database_or_the_logs(live, intuit, caplog, database_url):
    caplog.set_level(logging.DEBUG)
    consent(live, live.online)
    secrets_seen = set(tokens(live, live.online))
    access_token(live.store, live.settings, live.online.account_id, now=later(live, live.online))
    secrets_seen |= set(tokens(live, live.online))
    assert len(secrets_seen) == 4
    if database_url.startswith("sqlite"):
        path = Path(live.store.url.database)
        raw = b"".join(p.read_bytes() for p in path.parent.glob(path.name + "*"))  # the file, its WAL and SHM
    else:
        with live.store.begin() as db:
            raw = "\n".join(db.scalars(text("SELECT CAST(c.* AS text) FROM qbo_connections AS c"))).encode()
        assert REALM.encode() in raw  # the scan does see the row
    for secret in secrets_seen:
        assert secret.encode() not in raw
        assert secret not in caplog.text


def test_a_token_stored_under_an_old_key_is_stored_again_under_the_new_one(live):
    consent(live, live.online)
    access, _ = tokens(live, live.online)
    newest = Fernet.generate_key().decode()
    rotated = Settings.from_env({**live.environ, "QBWC_BRIDGE_TOKEN_KEYS": f"{newest},{live.settings.token_keys[0]}"})
    assert access_token(live.store, rotated, live.online.account_id) == access
    row = stored(live, live.online)
    only_new = TokenCipher((newest,))
    assert only_new.decrypt(row.access_token_enc) == (access, False)
    assert only_new.decrypt(row.refresh_token_enc)[1] is False


def test_the_admin_connect_goes_to_intuits_consent_page(live):
    with live.store.begin() as db:
        create_user(db, "books@acme-online.test", PASSWORD, "bookkeeper", live.online.account_id)
    admin = AdminClient(create_app(live.settings, live.store).flask)
    admin.login("books@acme-online.test")
    choice = admin.get(f"/admin/accounts/{live.online.account_id}/connect").get_data(as_text=True)
    assert 'id="connect-online"' in choice and ">Quickbooks<" in choice
    to_intuit = admin.post(f"/admin/accounts/{live.online.account_id}/connect/online")
    assert to_intuit.status_code == 303
    consent_page = httpx.get(to_intuit.headers["Location"], timeout=30)
    assert consent_page.status_code == 200 and "Sandbox Company US" in consent_page.text
    assert state_of(to_intuit.headers["Location"])
