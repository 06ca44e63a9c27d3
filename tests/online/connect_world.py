"""A bridge served over real HTTP with QuickBooks Online set up, three accounts and their API tokens.

Import the fixtures into a test module (``from tests.online.connect_world import world  # noqa``).
Intuit's endpoints point at ``intuit_url`` (the fake QuickBooks Online when a test starts
one, else a loopback port where nothing listens: any call to Intuit then fails loudly).
"""
from __future__ import annotations

import contextlib
import hashlib
from collections.abc import Iterator
from dataclasses import dataclass
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest

from qbwc_bridge.config import Settings
from qbwc_bridge.services.accounts import NewAccount, create_account
from qbwc_bridge.store.db import Store
from qbwc_bridge.store.migrate import upgrade
from qbwc_bridge.web.app import create_app
from tests.support.live_server import LiveServer
from tests.support.network import free_loopback_port

CLIENT_ID = "bluetrace-test-app"
CLIENT_SECRET = "bluetrace-test-secret"


def bridge_environ(database_url: str, data_dir, public_url: str, intuit_url: str, **extra: str) -> dict[str, str]:
    """The bridge's QBWC_BRIDGE_* variables (a process started by a test reads the same)."""
    return {
        "QBWC_BRIDGE_DATABASE_URL": database_url,
        "QBWC_BRIDGE_DATA_DIR": str(data_dir),
        "QBWC_BRIDGE_SECRET_KEY": "s" * 40,
        "QBWC_BRIDGE_PUBLIC_URL": public_url,
        "QBWC_BRIDGE_QBO_CLIENT_ID": CLIENT_ID,
        "QBWC_BRIDGE_QBO_CLIENT_SECRET": CLIENT_SECRET,
        "QBWC_BRIDGE_QBO_API_BASE": intuit_url,
        "QBWC_BRIDGE_QBO_AUTHORIZE_URL": intuit_url + "/connect/oauth2",
        "QBWC_BRIDGE_QBO_TOKEN_URL": intuit_url + "/oauth2/v1/tokens/bearer",
        "QBWC_BRIDGE_QBO_REVOKE_URL": intuit_url + "/v2/oauth2/tokens/revoke",
        **{f"QBWC_BRIDGE_{key}": value for key, value in extra.items()},
    }


@dataclass
class World:
    environ: dict[str, str]
    settings: Settings
    store: Store
    url: str
    online: NewAccount
    other: NewAccount  # a second Online account
    desktop: NewAccount

    def api(self, account: NewAccount, method: str, path: str, **kwargs) -> httpx.Response:
        headers = {"Authorization": f"Bearer {account.api_token}"}
        return httpx.request(method, self.url + "/api/v1" + path, headers=headers, timeout=30, **kwargs)

    def authorize_url(self, account: NewAccount) -> str:
        answer = self.api(account, "POST", "/connect/online")
        assert answer.status_code == 200, answer.text
        return answer.json()["authorize_url"]

    def callback(self, **params: str) -> httpx.Response:
        return httpx.get(self.url + "/qbo/callback", params=params, timeout=30, follow_redirects=False)


def state_of(authorize_url: str) -> str:
    return parse_qs(urlsplit(authorize_url).query)["state"][0]


def sha256(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


class _LateApp:
    """A WSGI app set after the server is listening: the bridge's settings need its URL (the redirect URI)."""

    app = None

    def __call__(self, environ, start_response):
        return self.app(environ, start_response)


@contextlib.contextmanager
def serve_world(database_url: str, data_dir, intuit_url: str, **extra: str) -> Iterator[World]:
    """The bridge served on a loopback port with Intuit at ``intuit_url``, three accounts made."""
    late = _LateApp()
    with LiveServer(late) as server:
        environ = bridge_environ(database_url, data_dir, server.url, intuit_url, **extra)
        settings = Settings.from_env(environ)
        store = Store.from_settings(settings)
        upgrade(store)
        with store.begin() as db:
            online = create_account(db, "Acme Online", "online")
            other = create_account(db, "Globex Online", "online")
            desktop = create_account(db, "Initech Desktop", "desktop")
        late.app = create_app(settings, store)
        try:
            yield World(environ, settings, store, server.url, online, other, desktop)
        finally:
            store.dispose()


@pytest.fixture
def world(database_url, tmp_path) -> Iterator[World]:
    """A bridge whose Intuit is a closed loopback port (for what must be refused before Intuit is asked)."""
    with serve_world(database_url, tmp_path / "var", f"http://127.0.0.1:{free_loopback_port()}") as built:
        yield built
