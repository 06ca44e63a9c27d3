"""The support commands (a public contract): reset a Web Connector password, rotate an API token,
disable an admin user, reset an admin password. Exact names and JSON keys; errors are one line."""
from __future__ import annotations

import json

import pytest
from click.testing import CliRunner, Result

from qbwc_bridge.backends.desktop.web_connector import WebConnectorService
from qbwc_bridge.cli import main
from qbwc_bridge.web.app import create_app
from tests.integration.admin_pages import PASSWORD, AdminClient, admin_app, people  # noqa: F401 (fixtures)
from tests.integration.conftest import make_tenant


@pytest.fixture
def cli_env(settings, store):
    return {"QBWC_BRIDGE_DATABASE_URL": settings.database_url, "QBWC_BRIDGE_DATA_DIR": str(settings.data_dir),
            "QBWC_BRIDGE_SECRET_KEY": settings.secret_key, "QBWC_BRIDGE_PUBLIC_URL": settings.public_url}  # fmt: skip


def run(env, *args: str, stdin: str | None = None) -> Result:
    return CliRunner().invoke(main, list(args), env=env, input=stdin)


def assert_one_line_error(result: Result, *words: str) -> None:
    assert result.exit_code != 0
    assert isinstance(result.exception, SystemExit), result.exception  # never a traceback
    lines = result.output.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error:"), result.output
    assert all(word in lines[0] for word in words), lines[0]


def test_account_reset_password_shows_a_new_password_once_and_ends_open_sessions(cli_env, store, settings):
    tenant = make_tenant(store, "Acme Supply")
    service = WebConnectorService(store, settings)
    ticket, answer = service.authenticate(tenant.username, tenant.password)[:2]
    assert answer == ""  # the initial sync is waiting: a session is open

    result = run(cli_env, "account", "reset-password", str(tenant.account.account_id), "--json")
    assert result.exit_code == 0, result.output
    data = json.loads(result.output)
    assert set(data) == {"account_id", "username", "password"}
    assert (data["account_id"], data["username"]) == (tenant.account.account_id, tenant.username)

    assert service.send_request_xml(ticket, "", "C:\\Acme.QBW", "US", 13, 0) == ""  # the old ticket is dead
    assert service.authenticate(tenant.username, tenant.password)[1] == "nvu"
    assert service.authenticate(tenant.username, data["password"])[1] == ""

    plain = run(cli_env, "account", "reset-password", str(tenant.account.account_id))
    assert plain.exit_code == 0 and tenant.username in plain.output and data["password"] not in plain.output


def test_account_commands_refuse_an_unknown_account_in_one_line(cli_env):
    assert_one_line_error(run(cli_env, "account", "reset-password", "999"), "999")
    assert_one_line_error(run(cli_env, "account", "rotate-token", "999", "--json"), "999")


@pytest.mark.parametrize("command", ["reset-password", "rotate-token"])
def test_an_account_id_past_the_column_is_a_usage_error_not_a_traceback(cli_env, command):
    result = run(cli_env, "account", command, "99999999999999999999")
    assert result.exit_code == 2 and isinstance(result.exception, SystemExit), result.exception
    assert "ACCOUNT_ID" in result.output


def test_account_rotate_token_refuses_the_old_token_over_the_api(cli_env, store, settings):
    tenant = make_tenant(store, "Acme Supply")
    api = create_app(settings, store).flask.test_client()

    def status(token: str) -> int:
        return api.get("/api/v1/status", headers={"Authorization": f"Bearer {token}"}).status_code

    assert status(tenant.account.api_token) == 200
    result = run(cli_env, "account", "rotate-token", str(tenant.account.account_id), "--json")
    assert result.exit_code == 0, result.output
    data = json.loads(result.output)
    assert set(data) == {"account_id", "api_token"} and data["account_id"] == tenant.account.account_id
    assert status(tenant.account.api_token) == 401
    assert status(data["api_token"]) == 200


def test_user_disable_ends_sessions_and_refuses_logins(cli_env, admin_app, people):
    bookkeeper = AdminClient(admin_app)
    assert bookkeeper.login(people.acme_bookkeeper).status_code == 302
    page = f"/admin/accounts/{people.acme.account_id}/connect"
    assert bookkeeper.get(page).status_code == 200

    result = run(cli_env, "user", "disable", "Books@Acme.test")
    assert result.exit_code == 0, result.output
    assert bookkeeper.get(page).status_code == 302  # to the login page
    again = AdminClient(admin_app).login(people.acme_bookkeeper)
    assert again.status_code == 401 and "The email or password is wrong." in again.get_data(as_text=True)
    assert AdminClient(admin_app).login(people.globex_bookkeeper).status_code == 302  # nobody else

    assert_one_line_error(run(cli_env, "user", "disable", "nobody@acme.test"), "nobody@acme.test")


def test_user_reset_password_from_stdin_ends_sessions_under_the_old_one(cli_env, admin_app, people):
    bookkeeper = AdminClient(admin_app)
    bookkeeper.login(people.acme_bookkeeper)
    result = run(cli_env, "user", "reset-password", people.acme_bookkeeper, "--password-stdin",
                 stdin="a brand new passphrase\n")  # fmt: skip
    assert result.exit_code == 0, result.output
    assert "a brand new passphrase" not in result.output
    assert bookkeeper.get("/admin/").status_code == 302 and "/admin/login" in bookkeeper.get("/admin/").location
    assert AdminClient(admin_app).login(people.acme_bookkeeper, PASSWORD).status_code == 401
    assert AdminClient(admin_app).login(people.acme_bookkeeper, "a brand new passphrase").status_code == 302

    assert_one_line_error(run(cli_env, "user", "reset-password", people.acme_bookkeeper, "--password-stdin",
                              stdin="short\n"), "at least")  # fmt: skip
    assert_one_line_error(run(cli_env, "user", "reset-password", "nobody@acme.test", "--password-stdin",
                              stdin="long enough secret\n"), "nobody@acme.test")  # fmt: skip
