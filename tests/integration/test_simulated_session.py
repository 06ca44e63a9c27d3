"""The simulator's Web Connector and strict fake QuickBooks against our endpoint over HTTP."""
from __future__ import annotations

from qbwc_bridge.backends.desktop.qwc import render_qwc
from qbwc_bridge.backends.desktop.schema import schema_dir
from qbwc_bridge.simulator import RequestProcessor, WebConnector, generate_company
from qbwc_bridge.store.models import Account, QbAccount, QbCustomer, QbItem, QbTerms


def connector_for(shared_dir, settings, store, server, tenant, tmp_path, password, seed):
    """A simulated Web Connector that has added the tenant's .qwc pointing at the live server."""
    port = server.url.rsplit(":", 1)[1]
    qwc = tmp_path / "acme.qwc"
    with store.begin() as db:
        qwc.write_text(render_qwc(db, settings.replace(public_url=f"http://localhost:{port}"), tenant.account.account_id))
    company = generate_company(items=5, customers=5, seed=seed).company
    connector = WebConnector(RequestProcessor(company, schema_dir(shared_dir)), password=password, noop_pause=0)
    added = connector.add_application(str(qwc))
    assert added.ok, added
    return connector, company


def test_first_runs_connect_the_account_through_the_simulator(shared_dir, settings, store, server, tenant, tmp_path):
    connector, company = connector_for(shared_dir, settings, store, server, tenant, tmp_path, tenant.password, seed=1)
    first, second = connector.run(sessions=2)
    assert first.ok, first.to_text()
    assert first.progress[-1] == 100
    assert first.round_trips >= 1
    assert second.ok, second.to_text()
    assert second.round_trips == 0  # authenticate said "none": nothing left to do
    with store.begin() as db:
        account = db.get(Account, tenant.account.account_id)
        assert account.status == "connected", account.status_message
        assert db.query(QbTerms).count() == len(company.terms) > 0
        assert db.query(QbAccount).count() == len(company.accounts) > 0
        assert db.query(QbItem).count() == len(company.items) > 0
        assert db.query(QbCustomer).count() == len(company.customers) > 0


def test_a_wrong_password_is_reported_as_qbwc_would(shared_dir, settings, store, server, tenant, tmp_path):
    connector, _ = connector_for(shared_dir, settings, store, server, tenant, tmp_path, "wrong", seed=2)
    transcript = connector.run_session()
    assert transcript.round_trips == 0
    assert "invalid user (nvu)" in transcript.to_text()
