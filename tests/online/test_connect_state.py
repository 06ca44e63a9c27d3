"""Connect's state and the callback's refusals, over real HTTP, before Intuit is ever asked.

Intuit is a closed port here: a callback that got as far as the code exchange would
answer 502 ("Intuit did not answer"), so each 4xx below also shows the refusal came first.
"""
from __future__ import annotations

import datetime as dt
from urllib.parse import parse_qs, urlsplit

from sqlalchemy import select

from qbwc_bridge.backends.online.connection import STATE_LIFETIME, start_connect
from qbwc_bridge.store.models import Account, OAuthState, QboConnection, utcnow
from qbwc_bridge.token_keys import TokenCipher
from tests.online.connect_world import CLIENT_ID, serve_world, sha256, state_of, world  # noqa: F401 (fixture)


def connections(world) -> list[QboConnection]:
    with world.store.begin() as db:
        return list(db.scalars(select(QboConnection)))


def test_the_authorize_url_is_intuits_consent_page_with_a_long_state_stored_hashed(world):
    url = world.authorize_url(world.online)
    parts = urlsplit(url)
    query = {key: values[0] for key, values in parse_qs(parts.query).items()}
    assert f"{parts.scheme}://{parts.netloc}{parts.path}" == world.settings.qbo_authorize_url
    assert query["client_id"] == CLIENT_ID and query["response_type"] == "code"
    assert query["scope"] == "com.intuit.quickbooks.accounting"
    assert query["redirect_uri"] == world.url + "/qbo/callback"
    state = query["state"]
    assert len(state) >= 22  # 128 bits in URL-safe base64 at least (we make 256)
    with world.store.begin() as db:
        rows = list(db.scalars(select(OAuthState)))
    assert [(row.state_hash, row.account_id, row.used_at) for row in rows] == [
        (sha256(state), world.online.account_id, None)]
    assert rows[0].expires_at - rows[0].created_at == dt.timedelta(minutes=10)
    assert state_of(world.authorize_url(world.online)) != state  # a new one every time


def test_a_forged_or_missing_state_is_refused_with_a_plain_page(world):
    world.authorize_url(world.online)
    forged = world.callback(code="c", state="not-a-state-we-made", realmId="9130")
    assert forged.status_code == 400 and forged.headers["content-type"].startswith("text/html")
    assert "was not made by BlueTrace" in forged.text and "Traceback" not in forged.text
    missing = world.callback(code="c", realmId="9130")
    assert missing.status_code == 400 and "carries no state" in missing.text
    assert connections(world) == []


def test_a_state_works_once(world):
    state = state_of(world.authorize_url(world.online))
    declined = world.callback(error="access_denied", state=state)
    assert declined.status_code == 400 and "you chose not to allow it" in declined.text
    replayed = world.callback(code="c", state=state, realmId="9130")
    assert replayed.status_code == 400 and "already been used" in replayed.text
    assert connections(world) == []


def test_an_expired_state_is_refused(world):
    with world.store.begin() as db:
        account = db.get(Account, world.online.account_id)
        url = start_connect(db, world.settings, account, now=utcnow() - STATE_LIFETIME - dt.timedelta(seconds=1))
    expired = world.callback(code="c", state=state_of(url), realmId="9130")
    assert expired.status_code == 400 and "has expired" in expired.text
    assert connections(world) == []


def test_a_realm_linked_to_another_account_is_refused_before_intuit_is_asked(world):
    cipher = TokenCipher(world.settings.token_keys)
    with world.store.begin() as db:
        db.add(QboConnection(
            account_id=world.other.account_id, realm_id="9130", environment="sandbox",
            access_token_enc=cipher.encrypt("a"), access_expires_at=utcnow(), refresh_token_enc=cipher.encrypt("r"),
            refresh_expires_at=utcnow() + dt.timedelta(days=100),
        ))
    refused = world.callback(code="c", state=state_of(world.authorize_url(world.online)), realmId="9130")
    assert refused.status_code == 409
    assert "already connected to another BlueTrace account" in refused.text
    assert [c.account_id for c in connections(world)] == [world.other.account_id]


def test_a_desktop_account_cannot_start_an_online_connect(world):
    answer = world.api(world.desktop, "POST", "/connect/online")
    assert answer.status_code == 409
    assert answer.json()["error"]["code"] == "conflict" and "Web Connector" in answer.json()["error"]["message"]


def test_without_intuit_app_keys_connect_says_what_to_set(database_url, tmp_path):
    with serve_world(database_url, tmp_path / "var", "http://127.0.0.1:9", QBO_CLIENT_ID="", QBO_CLIENT_SECRET="") as w:
        answer = w.api(w.online, "POST", "/connect/online")
    assert answer.status_code == 422
    assert "QBWC_BRIDGE_QBO_CLIENT_ID" in answer.json()["error"]["action"]
