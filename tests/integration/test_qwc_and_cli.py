""".qwc files pass QBWC's rules (PROTOCOL.md §2); the CLI's contracts hold."""
from __future__ import annotations

import json
import re
import subprocess
import sys
from urllib.parse import urlsplit

import pytest
from click.testing import CliRunner
from lxml import etree

from qbwc_bridge.backends.desktop.qwc import QwcRefused, render_qwc
from qbwc_bridge.cli import main
from tests.integration.conftest import make_tenant

GUID = re.compile(r"^\{[0-9A-F]{8}-[0-9A-F]{4}-[0-9A-F]{4}-[0-9A-F]{4}-[0-9A-F]{12}\}$")
REQUIRED = ["AppName", "AppID", "AppURL", "AppDescription", "AppSupport", "UserName", "OwnerID", "FileID", "QBType"]


def check_qwc_rules(text: str) -> etree._Element:
    root = etree.fromstring(text.encode("utf-8"))
    assert root.tag == "QBWCXML"
    for name in REQUIRED:
        assert root.find(name) is not None, name
    app, support = urlsplit(root.findtext("AppURL")), urlsplit(root.findtext("AppSupport"))
    assert app.scheme == "https" or app.hostname == "localhost"
    assert not re.match(r"^[\d.]+$|:", app.hostname or "")
    assert support.hostname == app.hostname
    assert GUID.match(root.findtext("OwnerID")) and GUID.match(root.findtext("FileID"))
    assert root.findtext("QBType") == "QBFS"
    assert root.findtext("IsReadOnly") == "false"
    assert int(root.findtext("Scheduler/RunEveryNMinutes")) >= 1
    return root


def test_every_account_gets_a_valid_qwc_with_its_own_file_id(store, settings):
    first, second = make_tenant(store, "Alpha & Sons"), make_tenant(store, "Beta <Co>")
    with store.begin() as db:
        a = check_qwc_rules(render_qwc(db, settings, first.account.account_id))
        b = check_qwc_rules(render_qwc(db, settings, second.account.account_id))
    assert a.findtext("OwnerID") == b.findtext("OwnerID")  # one per installation
    assert a.findtext("FileID") != b.findtext("FileID")  # one per account (QBWC1039 otherwise)
    assert a.findtext("AppName") != b.findtext("AppName")
    assert a.findtext("UserName") == first.username
    assert "Alpha & Sons" in a.findtext("AppName")


@pytest.mark.parametrize("url, reason", [
    ("http://bridge.example.com", "https"),
    ("https://10.1.2.3", "IP address"),
    ("http://127.0.0.1:8080", "IP address"),
])
def test_a_qwc_qbwc_would_reject_is_refused_with_the_reason(store, settings, url, reason):
    tenant = make_tenant(store, "Gamma")
    with store.begin() as db, pytest.raises(QwcRefused, match=reason):
        render_qwc(db, settings.replace(public_url=url), tenant.account.account_id)


def test_https_public_url_is_accepted(store, settings):
    tenant = make_tenant(store, "Delta")
    with store.begin() as db:
        root = check_qwc_rules(render_qwc(db, settings.replace(public_url="https://bridge.example.com"), tenant.account.account_id))
    assert root.findtext("AppURL") == "https://bridge.example.com/qbwc"


@pytest.fixture
def cli_env(settings, store):
    return {"QBWC_BRIDGE_DATABASE_URL": settings.database_url, "QBWC_BRIDGE_DATA_DIR": str(settings.data_dir),
            "QBWC_BRIDGE_SECRET_KEY": settings.secret_key, "QBWC_BRIDGE_PUBLIC_URL": settings.public_url}


def test_cli_account_create_json_then_qwc_to_file(cli_env, tmp_path):
    runner = CliRunner()
    result = runner.invoke(main, ["account", "create", "Acme Supply", "--kind", "desktop", "--json"], env=cli_env)
    assert result.exit_code == 0, result.output
    data = json.loads(result.output)
    assert set(data) >= {"account_id", "api_token", "web_connector_username", "web_connector_password", "kind", "name"}
    assert len(data["api_token"]) >= 40
    out = tmp_path / "acme.qwc"
    result = runner.invoke(main, ["qwc", str(data["account_id"]), "-o", str(out)], env=cli_env)
    assert result.exit_code == 0, result.output
    assert check_qwc_rules(out.read_text()).findtext("UserName") == data["web_connector_username"]

    online = json.loads(runner.invoke(main, ["account", "create", "Web Shop", "--kind", "online", "--json"], env=cli_env).output)
    assert online["web_connector_password"] is None
    refused = runner.invoke(main, ["qwc", str(online["account_id"])], env=cli_env)
    assert refused.exit_code == 2 and "QuickBooks Online" in refused.output


def test_cli_user_create_reads_the_password_from_stdin(cli_env):
    runner = CliRunner()
    account = json.loads(runner.invoke(main, ["account", "create", "Acme", "--kind", "desktop", "--json"], env=cli_env).output)
    result = runner.invoke(main, ["user", "create", "Books@Acme.example", "--role", "bookkeeper", "--account",
                                  str(account["account_id"]), "--password-stdin", "--json"], input="a long enough secret\n", env=cli_env)
    assert result.exit_code == 0, result.output
    assert json.loads(result.output)["email"] == "books@acme.example"
    duplicate = runner.invoke(main, ["user", "create", "books@acme.example", "--role", "support", "--password-stdin"],
                              input="another long secret\n", env=cli_env)
    assert duplicate.exit_code == 2 and "already exists" in duplicate.output
    no_account = runner.invoke(main, ["user", "create", "x@acme.example", "--role", "bookkeeper"], env=cli_env)
    assert no_account.exit_code == 2 and "--account" in no_account.output


def test_a_bad_setting_is_one_line_naming_the_variable(tmp_path):
    env = {"QBWC_BRIDGE_RUN_EVERY_MINUTES": "often", "QBWC_BRIDGE_DATA_DIR": str(tmp_path)}
    result = subprocess.run([sys.executable, "-m", "qbwc_bridge", "migrate"], env={**env, "PATH": "/usr/bin:/bin"},
                            capture_output=True, text=True, timeout=60)
    assert result.returncode == 2
    assert result.stderr.strip().count("\n") == 0
    assert "QBWC_BRIDGE_RUN_EVERY_MINUTES" in result.stderr
