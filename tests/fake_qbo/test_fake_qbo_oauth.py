"""Intuit's OAuth 2 as the fake plays it: consent, code exchange, rotation, expiry, revocation."""
from __future__ import annotations

import datetime as dt
from urllib.parse import parse_qs, urlsplit

import httpx

from qbwc_bridge.fake_qbo import FakeIntuit, ManualClock

from tests.fake_qbo.intuit_client import (
    CLIENT_ID, CLIENT_SECRET, REALM, REDIRECT_URI, SCOPE, Connection, approve, connect, exchange, refresh,
)

CONSENT = {"client_id": CLIENT_ID, "redirect_uri": REDIRECT_URI, "response_type": "code", "scope": SCOPE,
           "state": "abc123"}


def test_the_consent_page_names_the_company_and_connect_returns_a_code_for_its_realm(http: httpx.Client):
    page = http.get("/connect/oauth2", params=CONSENT)
    assert page.status_code == 200
    assert "Sandbox Company US" in page.text and ">Connect</button>" in page.text
    assert 'name="state" value="abc123"' in page.text

    back = approve(http, state="abc123")
    assert back["state"] == ["abc123"] and back["realmId"] == [REALM] and back["code"][0]


def test_cancel_redirects_with_access_denied_and_a_bad_redirect_uri_is_never_redirected(http: httpx.Client):
    cancelled = http.post("/connect/oauth2", data={**CONSENT, "realm": REALM, "decision": "cancel"})
    assert cancelled.status_code == 302
    assert parse_qs(urlsplit(cancelled.headers["Location"]).query) == {"error": ["access_denied"],
                                                                          "state": ["abc123"]}
    foreign = http.get("/connect/oauth2", params={**CONSENT, "redirect_uri": "https://evil.example/cb"})
    assert foreign.status_code == 400 and "Location" not in foreign.headers
    wrong_scope = http.get("/connect/oauth2", params={**CONSENT, "scope": "openid"})
    assert "error=invalid_scope" in wrong_scope.headers["Location"]


def test_the_code_exchange_answers_intuits_token_json_once(http: httpx.Client):
    code = approve(http)["code"][0]
    answer = exchange(http, code)
    assert answer.status_code == 200
    tokens = answer.json()
    assert set(tokens) == {"token_type", "access_token", "refresh_token", "expires_in", "x_refresh_token_expires_in"}
    assert tokens["token_type"] == "bearer" and tokens["expires_in"] == 3600
    assert 99 * 86400 <= tokens["x_refresh_token_expires_in"] <= 102 * 86400

    again = exchange(http, code)
    assert again.status_code == 400 and again.json()["error"] == "invalid_grant"


def test_a_wrong_client_secret_is_invalid_client_401(http: httpx.Client):
    code = approve(http)["code"][0]
    answer = exchange(http, code, secret="nope")
    assert answer.status_code == 401 and answer.json() == {"error": "invalid_client"}


def test_a_code_older_than_ten_minutes_is_invalid_grant(http: httpx.Client, clock: ManualClock):
    code = approve(http)["code"][0]
    clock.advance(minutes=10, seconds=1)
    answer = exchange(http, code)
    assert answer.status_code == 400 and answer.json()["error"] == "invalid_grant"


def test_refresh_rotates_and_reusing_the_rotated_token_is_invalid_grant_and_counted(http: httpx.Client,
                                                                                    intuit: FakeIntuit):
    qbo = connect(http)
    first = refresh(http, qbo.refresh_token)
    assert first.status_code == 200
    rotated = first.json()["refresh_token"]
    assert rotated != qbo.refresh_token
    assert intuit.refresh_count == 1

    reused = refresh(http, qbo.refresh_token)
    assert reused.status_code == 400 and reused.json()["error"] == "invalid_grant"
    assert [(r.client_id, r.realm) for r in intuit.refresh_token_reuses] == [(CLIENT_ID, REALM)]

    assert refresh(http, rotated).status_code == 200
    assert intuit.refresh_count == 2


def test_an_expired_access_token_is_401_3200_in_the_recorded_shape_until_refreshed(qbo: Connection,
                                                                                  clock: ManualClock):
    assert qbo.get(f"companyinfo/{REALM}").status_code == 200
    clock.advance(hours=1)
    expired = qbo.get(f"companyinfo/{REALM}")
    assert expired.status_code == 401
    error = expired.json()["fault"]["error"][0]
    assert error["code"] == "3200" and error["detail"].startswith("Token expired")
    assert expired.json()["fault"]["type"] == "AUTHENTICATION"

    qbo.access_token = refresh(qbo.http, qbo.refresh_token).json()["access_token"]
    assert qbo.get(f"companyinfo/{REALM}").status_code == 200


def test_expire_access_tokens_ends_a_live_token_mid_run(qbo: Connection, intuit: FakeIntuit):
    assert intuit.expire_access_tokens(REALM) == 1
    assert qbo.get("preferences").status_code == 401


def test_revoking_the_refresh_token_ends_the_grant(qbo: Connection):
    answer = qbo.http.post("/v2/oauth2/tokens/revoke", auth=(CLIENT_ID, CLIENT_SECRET),
                           json={"token": qbo.refresh_token})
    assert answer.status_code == 200
    assert qbo.get("preferences").status_code == 401
    assert refresh(qbo.http, qbo.refresh_token).json()["error"] == "invalid_grant"


def test_a_token_of_another_company_is_refused(http: httpx.Client, intuit: FakeIntuit):
    intuit.add_company("42", "Other Co")
    qbo = connect(http, realm="42")
    answer = qbo.http.get(f"/v3/company/{REALM}/preferences", params={"minorversion": "75"}, headers=qbo.headers())
    assert answer.status_code == 403


def test_every_answer_carries_an_intuit_tid_and_is_logged(qbo: Connection, intuit: FakeIntuit):
    answer = qbo.get("preferences")
    tid = answer.headers["intuit_tid"]
    assert tid
    assert intuit.requests(REALM)[-1].intuit_tid == tid


def test_the_refresh_token_lives_about_100_days_from_its_issue(http: httpx.Client, clock: ManualClock):
    qbo = connect(http)
    clock.advance(days=100)
    renewed = refresh(http, qbo.refresh_token)
    assert renewed.status_code == 200
    clock.advance(days=100)
    assert refresh(http, renewed.json()["refresh_token"]).status_code == 200  # rolling: counted from each refresh
    unused = connect(http)
    clock.advance(days=102)
    assert refresh(http, unused.refresh_token).json()["error"] == "invalid_grant"


def test_expire_access_tokens_older_than_spares_a_token_just_issued(qbo: Connection, intuit: FakeIntuit):
    # Tokens that live a while, as Intuit's do: ending those issued a minute ago spares one issued now.
    assert intuit.expire_access_tokens(REALM, older_than=dt.timedelta(minutes=1)) == 0
    assert qbo.get("preferences").status_code == 200
    intuit.clock.advance(minutes=1)
    assert intuit.expire_access_tokens(REALM, older_than=dt.timedelta(minutes=1)) == 1
    assert qbo.get("preferences").status_code == 401
