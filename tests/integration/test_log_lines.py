"""The server's own log at DEBUG, as JSON lines: every line tagged, and no secret it handled anywhere in it."""
from __future__ import annotations

import json
import re

import requests

from qbwc_bridge.services.users import create_user
from tests.integration.test_simulated_session import connector_for
from tests.support.live_server import ServerProcess

ADMIN_EMAIL = "help@bluetrace.test"
ADMIN_PASSWORD = "a long admin passphrase 7"
_CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')
_TICKET = re.compile(rb"<(?:\w+:)?ticket>([^<]+)</(?:\w+:)?ticket>")


def _admin_session(url: str) -> requests.Session:
    browser = requests.Session()
    token = _CSRF.search(browser.get(url + "/admin/login", timeout=10).text).group(1)
    response = browser.post(url + "/admin/login", data={"email": ADMIN_EMAIL, "password": ADMIN_PASSWORD, "csrf_token": token}, timeout=10)
    assert response.status_code == 200 and "All accounts" in response.text, response.text[:500]
    assert browser.get(url + "/admin/support/", timeout=10).status_code == 200
    return browser


def test_a_session_api_and_admin_use_at_debug_log_json_lines_with_no_secret(shared_dir, settings, store, tenant, tmp_path):
    with store.begin() as db:
        create_user(db, ADMIN_EMAIL, ADMIN_PASSWORD, "support")
    env = {
        "QBWC_BRIDGE_DATABASE_URL": settings.database_url,
        "QBWC_BRIDGE_DATA_DIR": str(settings.data_dir),
        "QBWC_BRIDGE_SECRET_KEY": settings.secret_key,
        "QBWC_BRIDGE_LOG_FORMAT": "json",
        "QBWC_BRIDGE_LOG_LEVEL": "DEBUG",
    }
    with ServerProcess(env) as server:
        connector, _ = connector_for(shared_dir, settings, store, server, tenant, tmp_path, tenant.password, seed=4)
        sent: list[bytes] = []
        post_soap = connector.transport.post_soap

        def recording(url, action, body):
            sent.append(body)
            return post_soap(url, action, body)

        connector.transport.post_soap = recording
        transcript = connector.run_session()
        assert transcript.ok, transcript.to_text()
        api = {"Authorization": f"Bearer {tenant.account.api_token}"}
        assert requests.put(server.url + "/api/v1/items/i-1", json={"sku": "S-1", "name": "Widget"}, headers=api, timeout=10).status_code == 201
        assert requests.get(server.url + "/api/v1/status", headers=api, timeout=10).status_code == 200
        browser = _admin_session(server.url)
        output = server.output()

    tickets = {match.decode() for body in sent for match in _TICKET.findall(body)}
    assert tickets, "the simulator sent no ticket"
    secrets = {
        "Web Connector password": tenant.password,
        "API token": tenant.account.api_token,
        "admin password": ADMIN_PASSWORD,
        **{f"ticket {n}": ticket for n, ticket in enumerate(sorted(tickets))},
        **{f"cookie {cookie.name}": cookie.value for cookie in browser.cookies},
    }
    stderr = output.split("--- stderr ---\n", 1)[1]
    lines = [line for line in stderr.splitlines() if line.strip()]
    assert len(lines) > 20, output
    records = [json.loads(line) for line in lines]  # every line is one JSON object
    for name, secret in secrets.items():
        leaks = [line for line in lines if secret in line]
        assert not leaks, f"the {name} is in the log:\n" + "\n".join(leaks[:3])
    assert {"time", "level", "logger", "message", "account_id", "session_id"} <= set(records[0])
    tagged = [r for r in records if r["session_id"] is not None]
    assert tagged and {r["account_id"] for r in tagged} == {tenant.account.account_id}
    assert any(r["account_id"] == tenant.account.account_id and r["session_id"] is None for r in records)
