"""A migrated store, a Desktop account and the bridge served over real HTTP (waitress)."""
from __future__ import annotations

from dataclasses import dataclass

import pytest

from qbwc_bridge.config import Settings
from qbwc_bridge.services.accounts import NewAccount, create_account, installation
from qbwc_bridge.store.db import Store
from qbwc_bridge.store.migrate import upgrade
from tests.support.live_server import LiveServer


@pytest.fixture
def settings(database_url, tmp_path) -> Settings:
    return Settings.from_env(
        {
            "QBWC_BRIDGE_DATABASE_URL": database_url,
            "QBWC_BRIDGE_DATA_DIR": str(tmp_path / "var"),
            "QBWC_BRIDGE_SECRET_KEY": "s" * 40,
            "QBWC_BRIDGE_PUBLIC_URL": "http://localhost:8080",
            "QBWC_BRIDGE_BUSY_WINDOW_SECONDS": "2",
        }
    )


@pytest.fixture
def store(settings):
    store = Store.from_settings(settings)
    upgrade(store)
    yield store
    store.dispose()


@dataclass
class Tenant:
    account: NewAccount
    owner_id: str

    @property
    def username(self) -> str:
        return self.account.wc_username

    @property
    def password(self) -> str:
        return self.account.wc_password


def make_tenant(store: Store, name: str) -> Tenant:
    with store.begin() as db:
        account = create_account(db, name, "desktop")
        owner = installation(db).owner_id
    return Tenant(account, owner)


@pytest.fixture
def tenant(store) -> Tenant:
    return make_tenant(store, "Acme Supply")


@pytest.fixture
def server(settings, store):
    from qbwc_bridge.web.app import create_app

    with LiveServer(create_app(settings, store)) as live:
        yield live


@pytest.fixture
def soap_url(server) -> str:
    return server.url + "/qbwc"
