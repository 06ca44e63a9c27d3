"""Intuit's own WSDL, a real SOAP client (zeep), our endpoint over HTTP."""
from __future__ import annotations

import zeep

from tests.integration.soap_helpers import first_sync_reply, hcp_response


def test_zeep_completes_a_session_from_intuits_wsdl(shared_dir, soap_url, tenant):
    wsdl = shared_dir / "qbwc" / "wsdl" / "QBWebConnectorSvc-intuit-troubleshoot-service.wsdl"
    client = zeep.Client(str(wsdl))
    binding = next(iter(client.wsdl.bindings))
    service = client.create_service(binding, soap_url)

    assert service.serverVersion()
    assert service.clientVersion(strVersion="2.3.0.215") in ("", None)
    ticket, status = service.authenticate(strUserName=tenant.username, strPassword=tenant.password)[:2]
    assert status in ("", None)
    message_set = service.sendRequestXML(
        ticket=ticket, strHCPResponse=hcp_response(tenant.owner_id, tenant.account.file_id),
        strCompanyFileName="C:\\Acme.QBW", qbXMLCountry="US", qbXMLMajorVers=13, qbXMLMinorVers=0,
    )
    reply = first_sync_reply(
        message_set,
        accounts_ret="<AccountRet><ListID>80000002-1</ListID><TimeCreated>2024-01-01T10:00:00</TimeCreated>"
        "<TimeModified>2024-01-01T10:00:00</TimeModified><EditSequence>1</EditSequence><Name>Sales</Name>"
        "<FullName>Sales</FullName><IsActive>true</IsActive><AccountType>Income</AccountType></AccountRet>",
    )
    assert service.receiveResponseXML(ticket=ticket, response=reply, hresult="", message="") == 100
    assert "done" in service.closeConnection(ticket=ticket)
