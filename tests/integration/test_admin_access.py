"""Who may see what: a bookkeeper sees one account, support staff see every account."""
from __future__ import annotations

from tests.integration.admin_pages import admin_app, client, people  # noqa: F401 (fixtures)

ACCOUNT_PAGES = ["", "general", "items", "customers", "invoices", "status", "connect", "connect/desktop",
                 "connect/online", "qwc", "items?issue=not_found&q=a&page=2"]  # fmt: skip
ACCOUNT_FORMS = ["general", "web-connector-password", "items/sync", "customers/sync", "items/edit", "items/resync",
                 "items/create", "items/match", "items/unmatch", "customers/edit", "invoices/retry"]  # fmt: skip


def test_a_bookkeeper_sees_their_own_account(client, people):
    client.login(people.acme_bookkeeper)
    for page in ACCOUNT_PAGES:
        response = client.get(f"/admin/accounts/{people.acme.account_id}/{page}")
        assert response.status_code == 200, page


def test_a_bookkeeper_cannot_see_another_account(client, people):
    client.login(people.acme_bookkeeper)
    for page in ACCOUNT_PAGES:
        response = client.get(f"/admin/accounts/{people.globex.account_id}/{page}")
        assert response.status_code == 404, page
        text = response.get_data(as_text=True)
        assert "Globex" not in text and people.globex.wc_username not in text
        # An account that does not exist answers the same: nothing tells the two apart.
        missing = client.get(f"/admin/accounts/999999/{page}")
        assert missing.status_code == 404 and missing.get_data() == response.get_data(), page


def test_a_bookkeeper_cannot_change_another_account(client, people, store):
    from qbwc_bridge.store.models import WebConnectorCredential

    with store.begin() as db:
        hash_before = db.get(WebConnectorCredential, people.globex.account_id).password_hash
    client.login(people.acme_bookkeeper)
    for form in ACCOUNT_FORMS:
        response = client.post(f"/admin/accounts/{people.globex.account_id}/{form}", {"record_id": "X", "sync": "on"})
        assert response.status_code == 404, form
    with store.begin() as db:
        assert db.get(WebConnectorCredential, people.globex.account_id).password_hash == hash_before


def test_a_bookkeeper_cannot_open_support_pages(client, people):
    client.login(people.acme_bookkeeper)
    for path in ["/admin/support/", f"/admin/support/accounts/{people.acme.account_id}",
                 f"/admin/support/accounts/{people.globex.account_id}/sessions/1"]:  # fmt: skip
        assert client.get(path).status_code == 403, path


def test_support_sees_every_account(client, people):
    client.login(people.support)
    for account in (people.acme, people.globex):
        for page in ACCOUNT_PAGES:
            assert client.get(f"/admin/accounts/{account.account_id}/{page}").status_code == 200, page
        assert client.get(f"/admin/support/accounts/{account.account_id}").status_code == 200


def test_logged_out_visitors_see_nothing(client, people):
    for page in ACCOUNT_PAGES:
        response = client.get(f"/admin/accounts/{people.acme.account_id}/{page}")
        assert response.status_code == 302 and "/admin/login" in response.headers["Location"], page
    assert client.get("/admin/support/").status_code == 302
