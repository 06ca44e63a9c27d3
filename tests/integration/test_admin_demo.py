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
