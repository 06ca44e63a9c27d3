"""GET /metrics over real HTTP: closed by default, token-protected, and figures that follow a simulated session."""
from __future__ import annotations

import datetime as dt

import pytest
import requests
from prometheus_client.parser import text_string_to_metric_families

from qbwc_bridge.store.models import Account, OutboxOperation, utcnow
from qbwc_bridge.web.app import create_app
from tests.integration.soap_helpers import call
from tests.integration.test_simulated_session import connector_for
from tests.support.live_server import LiveServer, ServerProcess

TOKEN = "m" * 40


def samples(text: str) -> dict[tuple[str, tuple], float]:
    """Every sample of a scrape, keyed by (name, sorted labels)."""
    return {
        (sample.name, tuple(sorted(sample.labels.items()))): sample.value
        for family in text_string_to_metric_families(text)
        for sample in family.samples
    }


def scrape(url: str, token: str = TOKEN) -> dict[tuple[str, tuple], float]:
    response = requests.get(url + "/metrics", headers={"Authorization": f"Bearer {token}"}, timeout=30)
    assert response.status_code == 200, response.text
    assert response.headers["Content-Type"].startswith("text/plain; version=0.0.4")
    return samples(response.text)


@pytest.fixture
def metered(settings, store):
    with LiveServer(create_app(settings.replace(metrics_token=TOKEN), store)) as live:
        yield live


def test_metrics_are_not_served_without_a_token_configured(server):
    assert requests.get(server.url + "/metrics", timeout=10).status_code == 404
    assert requests.get(server.url + "/metrics", headers={"Authorization": f"Bearer {TOKEN}"}, timeout=10).status_code == 404


def test_metrics_refuse_a_missing_or_wrong_token(metered):
    assert requests.get(metered.url + "/metrics", timeout=10).status_code == 401
    wrong = requests.get(metered.url + "/metrics", headers={"Authorization": "Bearer " + "x" * 40}, timeout=10)
    assert wrong.status_code == 401 and "qbwc_bridge" not in wrong.text


def test_metrics_follow_a_simulated_session_and_api_use(shared_dir, settings, store, metered, tenant, tmp_path):
    before = scrape(metered.url)
    connector, _ = connector_for(shared_dir, settings, store, metered, tenant, tmp_path, tenant.password, seed=3)
    transcript = connector.run_session()
    assert transcript.ok, transcript.to_text()
    api = {"Authorization": f"Bearer {tenant.account.api_token}"}
    assert requests.get(metered.url + "/api/v1/items/no-such-item", headers=api, timeout=10).status_code == 404
    assert requests.get(metered.url + "/api/v1/status", headers=api, timeout=10).status_code == 200
    with store.begin() as db:  # two invoices waiting, the older one an hour old
        for age, key in ((60, "a"), (5, "b")):
            db.add(OutboxOperation(account_id=tenant.account.account_id, kind="invoice_add", dedupe_key=key, payload={},
                                   state="pending", created_at=utcnow() - dt.timedelta(minutes=age)))

    after = scrape(metered.url)

    def grew(name: str, **labels) -> float:
        key = (name, tuple(sorted(labels.items())))
        return after.get(key, 0) - before.get(key, 0)

    assert grew("qbwc_bridge_soap_calls_total", operation="authenticate", outcome="ok") == 1
    assert grew("qbwc_bridge_soap_calls_total", operation="receiveResponseXML", outcome="ok") >= 1
    assert grew("qbwc_bridge_soap_call_seconds_count", operation="sendRequestXML") >= 1
    assert grew("qbwc_bridge_sessions_total", outcome="closed") == 1
    # The route label is the Flask rule, never the raw path (its values stay few).
    assert grew("qbwc_bridge_api_requests_total", route="/api/v1/items/<item_id>", status="404") == 1
    assert grew("qbwc_bridge_api_requests_total", route="/api/v1/status", status="200") == 1
    assert not [key for key in after if "no-such-item" in str(key)]
    # State comes from the database: what waits, how old, accounts and invoices by status.
    assert after[("qbwc_bridge_outbox_ready", (("kind", "invoice_add"),))] == 2
    assert 3500 < after[("qbwc_bridge_outbox_oldest_ready_seconds", ())] < 3700
    assert after[("qbwc_bridge_accounts", (("status", "connected"),))] == 1
    assert after[("qbwc_bridge_accounts_silent", ())] == 0


def test_a_silent_web_connector_is_counted(metered, store, tenant):
    with store.begin() as db:
        db.get(Account, tenant.account.account_id).last_contact_at = utcnow() - dt.timedelta(hours=2)
    assert scrape(metered.url)[("qbwc_bridge_accounts_silent", ())] == 1


def test_an_hresult_and_a_failed_request_are_counted_by_code(metered, store, tenant):
    before = scrape(metered.url)
    ticket, status = call(metered.url + "/qbwc", "authenticate", strUserName=tenant.username, strPassword=tenant.password)
    assert status == ""
    assert call(metered.url + "/qbwc", "receiveResponseXML", ticket=ticket, response="", hresult="0x80040408",
                message="Could not start QuickBooks.") == "-1"
    call(metered.url + "/qbwc", "authenticate", strUserName=tenant.username, strPassword="wrong")
    after = scrape(metered.url)
    key = ("qbwc_bridge_quickbooks_errors_total", (("code", "0x80040408"),))
    assert after[key] - before.get(key, 0) == 1
    refused = ("qbwc_bridge_soap_calls_total", (("operation", "authenticate"), ("outcome", "refused")))
    assert after[refused] - before.get(refused, 0) == 1
    failed = ("qbwc_bridge_soap_calls_total", (("operation", "receiveResponseXML"), ("outcome", "error")))
    assert after[failed] - before.get(failed, 0) == 1


def test_two_processes_sharing_a_metrics_directory_answer_the_sum(settings, store, tenant, tmp_path):
    """Each process counts its own calls; either one's scrape adds up both (prometheus multiprocess mode)."""
    directory = tmp_path / "metrics"
    directory.mkdir()
    env = {
        "QBWC_BRIDGE_DATABASE_URL": settings.database_url,
        "QBWC_BRIDGE_DATA_DIR": str(settings.data_dir),
        "QBWC_BRIDGE_SECRET_KEY": settings.secret_key,
        "QBWC_BRIDGE_METRICS_TOKEN": TOKEN,
        "QBWC_BRIDGE_METRICS_DIR": str(directory),
    }
    with ServerProcess(env) as first, ServerProcess(env) as second:
        for server, calls in ((first, 2), (second, 3)):
            for _ in range(calls):
                assert call(server.url + "/qbwc", "serverVersion")
        key = ("qbwc_bridge_soap_calls_total", (("operation", "serverVersion"), ("outcome", "ok")))
        assert scrape(first.url)[key] == 5
        assert scrape(second.url)[key] == 5
