"""An Intuit client for the fake's tests: consent, token calls and Accounting calls over real HTTP."""
from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import parse_qs, urlsplit

import httpx

CLIENT_ID = "ABfakeclient"
CLIENT_SECRET = "fake-secret"
REDIRECT_URI = "http://127.0.0.1:9/qbo/callback"
REALM = "9130350000000001"
SCOPE = "com.intuit.quickbooks.accounting"
MINOR = {"minorversion": "75"}


def approve(http: httpx.Client, state: str = "s" * 32, realm: str = REALM) -> dict[str, list[str]]:
    """Click Connect on the consent page; the query of the redirect back to us."""
    answer = http.post("/connect/oauth2", data={
        "client_id": CLIENT_ID, "redirect_uri": REDIRECT_URI, "response_type": "code", "scope": SCOPE,
        "state": state, "realm": realm, "decision": "approve"})
    assert answer.status_code == 302, answer.text
    location = answer.headers["Location"]
    assert location.startswith(REDIRECT_URI + "?")
    return parse_qs(urlsplit(location).query)


def exchange(http: httpx.Client, code: str, secret: str = CLIENT_SECRET) -> httpx.Response:
    return http.post("/oauth2/v1/tokens/bearer", auth=(CLIENT_ID, secret),
                     data={"grant_type": "authorization_code", "code": code, "redirect_uri": REDIRECT_URI})


def refresh(http: httpx.Client, refresh_token: str) -> httpx.Response:
    return http.post("/oauth2/v1/tokens/bearer", auth=(CLIENT_ID, CLIENT_SECRET),
                     data={"grant_type": "refresh_token", "refresh_token": refresh_token})


@dataclass
class Connection:
    """A connected company: its HTTP client with the bearer token set, and the tokens."""

    http: httpx.Client
    realm: str
    access_token: str
    refresh_token: str

    def get(self, path: str, **params: str) -> httpx.Response:
        return self.http.get(f"/v3/company/{self.realm}/{path}", params={**MINOR, **params},
                             headers=self.headers())

    def query(self, text: str) -> httpx.Response:
        return self.get("query", query=text)

    def post(self, path: str, body: object, request_id: str | None = None, **params: str) -> httpx.Response:
        if request_id is not None:
            params["requestid"] = request_id
        return self.http.post(f"/v3/company/{self.realm}/{path}", params={**MINOR, **params}, json=body,
                              headers=self.headers())

    def headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.access_token}", "Accept": "application/json"}


def connect(http: httpx.Client, realm: str = REALM) -> Connection:
    code = approve(http, realm=realm)["code"][0]
    answer = exchange(http, code)
    assert answer.status_code == 200, answer.text
    tokens = answer.json()
    return Connection(http, realm, tokens["access_token"], tokens["refresh_token"])
