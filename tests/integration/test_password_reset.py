"""A Web Connector password reset ends the account's open sessions at once, on SQLite and PostgreSQL.

Support resets a password because it leaked: whoever still holds a ticket issued under the old
one gets nothing more, and what they send back is not believed.
"""
from __future__ import annotations

from sqlalchemy import select

from qbwc_bridge.services.accounts import installation
from qbwc_bridge.store.models import QbTerms, WebConnectorSession
from tests.integration.admin_pages import AdminClient, admin_app, people  # noqa: F401 (fixtures)
from tests.integration.soap_helpers import call, first_sync_reply, hcp_response
from tests.integration.test_soap_endpoint import send

SESSION_ENDED = "This Web Connector session has ended or was replaced by a newer one."


def test_an_admin_password_reset_refuses_the_old_ticket_on_every_call(soap_url, store, admin_app, people):
    acme = people.acme
    with store.begin() as db:
        hcp = hcp_response(installation(db).owner_id, acme.file_id)
    ticket, answer = call(soap_url, "authenticate", strUserName=acme.wc_username, strPassword=acme.wc_password)[:2]
    assert answer == ""
    message_set = send(soap_url, ticket, hcp)
    assert "TermsQueryRq" in message_set

    support = AdminClient(admin_app)
    support.login(people.support)
    reset = support.post(f"/admin/accounts/{acme.account_id}/web-connector-password", {})
    assert reset.status_code == 200

    assert send(soap_url, ticket, hcp) == ""
    # A "success" for the set the old ticket held proves nothing: it is not read.
    assert call(soap_url, "receiveResponseXML", ticket=ticket, response=first_sync_reply(message_set),
                hresult="", message="") == "-1"  # fmt: skip
    assert call(soap_url, "getLastError", ticket=ticket).startswith(SESSION_ENDED)
    assert call(soap_url, "closeConnection", ticket=ticket) == "OK"
    with store.begin() as db:
        assert db.scalars(select(QbTerms)).all() == []
        assert [ws.state for ws in db.scalars(select(WebConnectorSession))] == ["revoked"]
    # The old password is refused; the set's queries wait for the next session.
    assert call(soap_url, "authenticate", strUserName=acme.wc_username, strPassword=acme.wc_password)[1] == "nvu"
