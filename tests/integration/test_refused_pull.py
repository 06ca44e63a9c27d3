"""A list QuickBooks refuses to send shows as the account's error, is asked for on every run,
and the error clears once the list comes through."""
from __future__ import annotations

import re

from qbwc_bridge.services.status import account_status
from qbwc_bridge.store.models import Account
from tests.integration.soap_helpers import call, first_sync_reply, hcp_response
from tests.integration.test_soap_endpoint import request_ids, send, start_session

PERSONAL_DATA_REFUSED = ('statusCode="3261" statusSeverity="Error" statusMessage="The integrated application has no '
                         'permission to access personal data."')  # fmt: skip


def _refuse_customers(message_set: str) -> str:
    reply = first_sync_reply(message_set)
    return re.sub(r'(<CustomerQueryRs requestID="[^"]+") [^/]*/>', rf"\1 {PERSONAL_DATA_REFUSED} />", reply)


def _status(store, tenant) -> dict:
    with store.begin() as db:
        return account_status(db, tenant.account.account_id)


def test_a_refused_list_is_an_error_until_quickbooks_sends_it(soap_url, tenant, store):
    hcp = hcp_response(tenant.owner_id, tenant.account.file_id)
    ticket = start_session(soap_url, tenant)
    message_set = send(soap_url, ticket, hcp)
    assert call(soap_url, "receiveResponseXML", ticket=ticket, response=_refuse_customers(message_set),
                hresult="", message="") == "100"  # fmt: skip
    call(soap_url, "closeConnection", ticket=ticket)
    status = _status(store, tenant)
    assert status["status"] == "error"
    assert "refused to send its customers list" in status["error"]["message"]
    assert "personal data" in status["error"]["message"] and "Integrated Applications" in status["error"]["action"]

    # The next run asks for the customers again (only them: the other lists are in), and the
    # error stays while the answer is awaited.
    ticket = start_session(soap_url, tenant)
    message_set = send(soap_url, ticket, hcp)
    assert set(request_ids(message_set)) == {"CustomerQueryRq"}
    assert _status(store, tenant)["status"] == "error"
    assert call(soap_url, "receiveResponseXML", ticket=ticket, response=first_sync_reply(message_set),
                hresult="", message="") == "100"  # fmt: skip
    status = _status(store, tenant)
    assert status["status"] == "connected" and status["error"] is None
    with store.begin() as db:
        assert db.get(Account, tenant.account.account_id).error_code is None
