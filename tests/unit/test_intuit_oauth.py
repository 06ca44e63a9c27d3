"""Intuit's OAuth endpoints as the client sends and classes them (httpx's mock transport: no socket)."""
from __future__ import annotations

import base64
import datetime as dt
import json
from urllib.parse import parse_qs

import httpx
import pytest

from qbwc_bridge.backends.online.oauth import IntuitOAuth, IntuitUnavailable, InvalidGrant, OAuthRefused
from qbwc_bridge.config import Settings
from qbwc_bridge.logs import mask

NOW = dt.datetime(2026, 12, 3, 9, 0, tzinfo=dt.timezone.utc)
GRANT = {"token_type": "bearer", "access_token": "eyJ.access.secret", "refresh_token": "AB11-refresh-secret",
         "expires_in": 3600, "x_refresh_token_expires_in": 8726400}


@pytest.fixture
def settings(tmp_path) -> Settings:
    return Settings.from_env({"QBWC_BRIDGE_DATA_DIR": str(tmp_path), "QBWC_BRIDGE_QBO_CLIENT_ID": "app",
                              "QBWC_BRIDGE_QBO_CLIENT_SECRET": "shh"})


def oauth_answering(settings, handler, seen: list[httpx.Request]) -> IntuitOAuth:
    def record(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return handler(request)

    return IntuitOAuth(settings, httpx.Client(transport=httpx.MockTransport(record)))


def test_the_code_exchange_is_a_form_post_with_basic_client_auth(settings):
    seen: list[httpx.Request] = []
    grant = oauth_answering(settings, lambda r: httpx.Response(200, json=GRANT), seen).exchange_code("the-code", now=NOW)
    request = seen[0]
    assert str(request.url) == "https://oauth.platform.intuit.com/oauth2/v1/tokens/bearer"
    assert request.headers["authorization"] == "Basic " + base64.b64encode(b"app:shh").decode()
    assert request.headers["accept"] == "application/json"
    assert parse_qs(request.content.decode()) == {
        "grant_type": ["authorization_code"], "code": ["the-code"], "redirect_uri": [settings.qbo_redirect_uri]}
    assert (grant.access_token, grant.refresh_token) == ("eyJ.access.secret", "AB11-refresh-secret")
    assert grant.access_expires_at == NOW + dt.timedelta(hours=1)
    assert grant.refresh_expires_at == NOW + dt.timedelta(seconds=8726400)
    assert "secret" not in repr(grant)


def test_refresh_and_revoke_send_what_intuit_documents(settings):
    seen: list[httpx.Request] = []
    oauth = oauth_answering(settings, lambda r: httpx.Response(200, json=GRANT), seen)
    oauth.refresh("old-refresh", now=NOW)
    oauth.revoke("old-refresh")
    assert parse_qs(seen[0].content.decode()) == {"grant_type": ["refresh_token"], "refresh_token": ["old-refresh"]}
    assert str(seen[1].url) == "https://developer.api.intuit.com/v2/oauth2/tokens/revoke"
    assert json.loads(seen[1].content) == {"token": "old-refresh"}


@pytest.mark.parametrize("response, error", [
    (httpx.Response(400, json={"error": "invalid_grant"}), InvalidGrant),
    (httpx.Response(401, json={"error": "invalid_client"}), OAuthRefused),
    (httpx.Response(400, json={"error": "invalid_request"}), OAuthRefused),
    (httpx.Response(503, text="busy"), IntuitUnavailable),
    (httpx.Response(429, json={"error": "throttled"}), IntuitUnavailable),
    (httpx.Response(200, text="<html>not json</html>"), IntuitUnavailable),
    (httpx.Response(200, json={"access_token": "only one"}), IntuitUnavailable),
])
def test_answers_are_classed_by_what_the_caller_must_do(settings, response, error):
    with pytest.raises(error) as raised:
        oauth_answering(settings, lambda r: response, []).refresh("the-refresh-token", now=NOW)
    assert "the-refresh-token" not in str(raised.value)


def test_no_answer_is_retry_later_and_never_shows_the_token(settings):
    def timeout(request):
        raise httpx.ReadTimeout("timed out", request=request)

    with pytest.raises(IntuitUnavailable) as raised:
        oauth_answering(settings, timeout, []).refresh("the-refresh-token", now=NOW)
    assert "the-refresh-token" not in str(raised.value)


def test_revoking_a_token_intuit_no_longer_knows_is_not_an_error(settings):
    oauth_answering(settings, lambda r: httpx.Response(400, json={"error": "invalid_grant"}), []).revoke("gone")
    with pytest.raises(OAuthRefused):
        oauth_answering(settings, lambda r: httpx.Response(401, json={"error": "invalid_client"}), []).revoke("t")


def test_without_app_keys_there_is_no_client(tmp_path):
    with pytest.raises(OAuthRefused, match="not set up"):
        IntuitOAuth(Settings.from_env({"QBWC_BRIDGE_DATA_DIR": str(tmp_path)}))


def test_tokens_a_library_might_log_are_masked_whatever_their_length():
    line = ('{"access_token": "eyJ.short", "refresh_token":"AB11x", "expires_in": 3600} '
            "grant_type=refresh_token&refresh_token=tiny&client_secret=shh Fault code=6240")
    masked = mask(line)
    for secret in ("eyJ.short", "AB11x", "tiny", "shh"):
        assert secret not in masked
    assert '"expires_in": 3600' in masked and "grant_type=refresh_token" in masked and "code=6240" in masked
