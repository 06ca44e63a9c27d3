"""Connect: the choice of QuickBooks, the Web Connector steps, the .qwc file and the password shown once."""
from __future__ import annotations

import datetime as dt
import re

from lxml import etree

from qbwc_bridge.backends.desktop.company_file import CompanyFacts, WrongCompanyFile, verify_company_file
from qbwc_bridge.backends.desktop.qbxml import QbxmlVersion
from qbwc_bridge.backends.desktop.status import explain_hresult
from qbwc_bridge.backends.desktop.web_connector import WebConnectorService
from qbwc_bridge.store.models import Account, WebConnectorCredential, utcnow
from tests.integration.admin_pages import admin_app, client, people  # noqa: F401 (fixtures)


def test_connect_offers_both_quickbooks_in_the_help_articles_words(client, people):
    client.login(people.acme_bookkeeper)
    page = client.get(f"/admin/accounts/{people.acme.account_id}/general").get_data(as_text=True)
    assert "Not connected" in page and ">Connect<" in page
    choice = client.get(f"/admin/accounts/{people.acme.account_id}/connect").get_data(as_text=True)
    assert ">Quickbooks<" in choice and ">QuickbooksDesktop<" in choice
    online = client.get(f"/admin/accounts/{people.acme.account_id}/connect/online").get_data(as_text=True)
    # A Desktop account is told it connects through the Web Connector; nothing is sent to Intuit from it.
    assert "set up for QuickBooks Desktop" in online and "intuit.com" not in online.lower()


def test_the_desktop_steps_say_what_to_do_in_the_web_connector(client, people, settings):
    client.login(people.acme_bookkeeper)
    page = client.get(f"/admin/accounts/{people.acme.account_id}/connect/desktop").get_data(as_text=True)
    for words in ["Download the .qwc file", "Add an application", "Yes, always; allow access even if QuickBooks is not running",
                  "Update Selected", "https://", "localhost", settings.public_url + "/qbwc"]:  # fmt: skip
        assert words in page, words
    assert people.acme.wc_password not in page  # a password is only ever shown when it is made


def test_the_qwc_download_is_this_accounts_file(client, people, settings):
    client.login(people.acme_bookkeeper)
    response = client.get(f"/admin/accounts/{people.acme.account_id}/qwc")
    assert response.status_code == 200
    assert response.headers["Content-Disposition"] == (
        f'attachment; filename="bluetrace-Acme-Supply-{people.acme.account_id}.qwc"'
    )
    qwc = etree.fromstring(response.data)
    assert qwc.findtext("AppURL") == settings.public_url + "/qbwc"
    assert qwc.findtext("UserName") == people.acme.wc_username
    assert qwc.findtext("FileID") == people.acme.file_id
    assert b"Password" not in response.data


def test_a_qwc_the_web_connector_would_refuse_is_explained_instead(client, people, settings, store):
    from qbwc_bridge.web.app import create_app
    from tests.integration.admin_pages import AdminClient

    plain_http = create_app(settings.replace(public_url="http://bridge.example.com"), store).flask
    client = AdminClient(plain_http)
    client.login(people.acme_bookkeeper)
    steps = client.get(f"/admin/accounts/{people.acme.account_id}/connect/desktop").get_data(as_text=True)
    assert "only accepts https" in steps and "Download the .qwc file" not in steps
    refused = client.get(f"/admin/accounts/{people.acme.account_id}/qwc")
    assert refused.status_code == 409 and "https" in refused.get_data(as_text=True)


def test_a_new_web_connector_password_is_shown_once_and_replaces_the_old_one(client, people, store, settings):
    client.login(people.acme_bookkeeper)
    steps = f"/admin/accounts/{people.acme.account_id}/connect/desktop"
    client.get(steps)
    response = client.post(f"/admin/accounts/{people.acme.account_id}/web-connector-password", {"back": steps})
    assert response.status_code == 200
    assert response.headers["Cache-Control"] == "no-store"
    page = response.get_data(as_text=True)
    password = re.search(r'id="wc-password">([^<]+)<', page).group(1)
    assert people.acme.wc_username in page and "shown once" in page
    assert password != people.acme.wc_password

    # Never again on any page.
    for path in [steps, f"/admin/accounts/{people.acme.account_id}/general"]:
        assert password not in client.get(path).get_data(as_text=True)
    with store.begin() as db:
        assert password not in db.get(WebConnectorCredential, people.acme.account_id).password_hash

    # The Web Connector now logs in with the new password only.
    web_connector = WebConnectorService(store, settings)
    assert web_connector.authenticate(people.acme.wc_username, people.acme.wc_password)[1] == "nvu"
    assert web_connector.authenticate(people.acme.wc_username, password)[1] != "nvu"


def test_support_resets_a_password_from_the_list_and_goes_back_there(client, people):
    client.login(people.support)
    client.get("/admin/support/")
    response = client.post(
        f"/admin/accounts/{people.globex.account_id}/web-connector-password", {"back": "/admin/support/"}
    )
    page = response.get_data(as_text=True)
    assert "Globex Traders" in page and 'href="/admin/support/"' in page
    elsewhere = client.post(
        f"/admin/accounts/{people.globex.account_id}/web-connector-password", {"back": "https://evil.test/"}
    )
    assert "evil.test" not in elsewhere.get_data(as_text=True)


def test_connection_errors_are_shown_in_plain_words_with_the_last_contact(client, people, store):
    client.login(people.acme_bookkeeper)
    cases = [
        ("0x80040418", "QuickBooks has not yet allowed the bridge"),  # never authorised
        ("0x80040408", "could not start QuickBooks"),  # QuickBooks not running
        ("0x8004041A", "access to this company file was turned off"),  # reconnect needed
        ("wrong_company_file", "Open the company file connected to this account in QuickBooks"),
    ]
    for code, words in cases:
        with store.begin() as db:
            account = db.get(Account, people.acme.account_id)
            # As the Desktop backend records an error: the message, and the action it knows apart.
            if code.startswith("0x"):
                info = explain_hresult(code, "")
                message, account.error_action = f"{info.explanation} {info.action}", info.action
            else:
                try:
                    verify_company_file(CompanyFacts("Acme", None, (QbxmlVersion(13, 0),), {"OWNER": "{other}"}), "owner", "{F}")
                except WrongCompanyFile as exc:
                    message, account.error_action = str(exc), exc.action
            account.status, account.status_message, account.error_code = "error", message, code
            # Recent: a Web Connector quiet for longer shows as silent, which outranks a stored error.
            account.error_at = account.last_contact_at = utcnow() - dt.timedelta(minutes=5)
        page = client.get(f"/admin/accounts/{people.acme.account_id}/general").get_data(as_text=True)
        assert 'id="connection-status">Error<' in page, code
        assert words in page, code
        assert "What to do:" in page and "Last contact from the Web Connector: <time" in page and "5 minutes ago" in page
