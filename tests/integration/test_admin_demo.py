"""`make run` (``qbwc-bridge demo``) serves the admin at /admin with the login it prints."""
from __future__ import annotations

import re
import sys

import pytest
import requests

from tests.support.live_server import ServerProcess


@pytest.mark.slow
def test_the_demo_lands_on_the_admin_with_its_printed_login(tmp_path):
    command = (sys.executable, "-m", "qbwc_bridge", "demo", "--host", "127.0.0.1", "--port", "{port}")
    env = {"QBWC_BRIDGE_DATA_DIR": str(tmp_path / "var"), "QBWC_BRIDGE_DATABASE_URL": "",
           "QBWC_BRIDGE_SECRET_KEY": "", "QBWC_BRIDGE_LOG_LEVEL": "WARNING"}  # fmt: skip
    with ServerProcess(env=env, command=command, cwd=tmp_path, start_timeout=60) as demo:
        printed = demo.output()
        admin_url = re.search(r"Admin:\s+(\S+)", printed).group(1)
        assert admin_url.endswith("/admin")
        logins = re.findall(r"(support staff|bookkeeper):\s+(\S+) / (\S+)", printed)
        assert [role for role, _, _ in logins] == ["support staff", "bookkeeper"]
        for _role, email, password in logins:
            browser = requests.Session()
            login_page = browser.get(demo.url + "/admin", timeout=30)
            assert login_page.url == demo.url + "/admin/login?next=/admin/"
            token = re.search(r'name="csrf_token" value="([^"]+)"', login_page.text).group(1)
            landed = browser.post(login_page.url.split("?")[0], data={"email": email, "password": password,
                                                                     "csrf_token": token, "next": "/admin/"}, timeout=30)  # fmt: skip
            assert landed.status_code == 200 and "Demo Distribution" in landed.text


@pytest.mark.slow
def test_the_demo_prints_both_accounts_and_serves_the_fake_quickbooks_online(tmp_path):
    command = (sys.executable, "-m", "qbwc_bridge", "demo", "--host", "127.0.0.1", "--port", "{port}")
    env = {"QBWC_BRIDGE_DATA_DIR": str(tmp_path / "var"), "QBWC_BRIDGE_DATABASE_URL": "",
           "QBWC_BRIDGE_SECRET_KEY": "", "QBWC_BRIDGE_LOG_LEVEL": "WARNING"}  # fmt: skip
    with ServerProcess(env=env, command=command, cwd=tmp_path, start_timeout=60) as demo:
        printed = demo.output()
        assert re.search(r"Demo account:\s+#\d+ Demo Distribution", printed)
        online_id = re.search(r"Online demo account:\s+#(\d+) Demo Online Co", printed).group(1)
        connect_url = re.search(r"Connect it:\s+(\S+)", printed).group(1)
        assert connect_url.endswith(f"/admin/accounts/{online_id}/connect/online")
        fake_url = re.search(r"QuickBooks Online:\s+(\S+)  \(a fake", printed).group(1)
        # The fake's consent page knows the demo's app and its redirect URI (the bridge's /qbo/callback).
        consent = requests.get(fake_url + "/connect/oauth2", timeout=30, params={
            "client_id": "qbwc-bridge-demo", "response_type": "code", "scope": "com.intuit.quickbooks.accounting",
            "redirect_uri": "http://localhost:8080/qbo/callback", "state": "s" * 20})
        assert consent.status_code == 200 and "Sandbox Company US" in consent.text, consent.text
