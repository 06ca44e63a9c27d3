"""Two server processes on one PostgreSQL serve alternate calls of one Web Connector session."""
from __future__ import annotations

import sys

import pytest

from qbwc_bridge.store.models import Account, QbTerms
from tests.integration.conftest import make_tenant
from tests.integration.soap_helpers import call, first_sync_reply, hcp_response
from tests.support.live_server import ServerProcess

pytestmark = [pytest.mark.postgres, pytest.mark.slow]


@pytest.fixture
def database_url(postgres_url):  # PostgreSQL only: SQLite is a one-machine store
    return postgres_url


def test_alternating_processes_complete_one_session(settings, store):
    tenant = make_tenant(store, "Shared Co")
    env = {
        "QBWC_BRIDGE_DATABASE_URL": settings.database_url,
        "QBWC_BRIDGE_SECRET_KEY": settings.secret_key,
        "QBWC_BRIDGE_DATA_DIR": str(settings.data_dir),
        "QBWC_BRIDGE_PUBLIC_URL": "http://localhost:8080",
        "QBWC_BRIDGE_LOG_LEVEL": "WARNING",
    }
    command = [sys.executable, "-m", "qbwc_bridge", "serve", "--host", "127.0.0.1", "--port", "{port}"]
    with ServerProcess(env=env, command=command) as first, ServerProcess(env=env, command=command) as second:
        a, b = first.url + "/qbwc", second.url + "/qbwc"
        ticket, status = call(a, "authenticate", strUserName=tenant.username, strPassword=tenant.password)[:2]
        assert status == ""
        message_set = call(b, "sendRequestXML", ticket=ticket,
                           strHCPResponse=hcp_response(tenant.owner_id, tenant.account.file_id),
                           strCompanyFileName="C:\\Shared.QBW", qbXMLCountry="US", qbXMLMajorVers="13", qbXMLMinorVers="0")
        reply = first_sync_reply(message_set)
        assert call(a, "receiveResponseXML", ticket=ticket, response=reply, hresult="", message="") == "100"
        assert "done" in call(b, "closeConnection", ticket=ticket)
        # A second authenticate on either process sees the shared state: nothing left.
        assert call(b, "authenticate", strUserName=tenant.username, strPassword=tenant.password)[1] == "none"
    with store.begin() as db:
        assert db.get(Account, tenant.account.account_id).status == "connected"
        assert db.query(QbTerms).count() == 1
