"""A minimal scripted Web Connector for the foundation's tests: raw envelopes over HTTP."""
from __future__ import annotations

from xml.sax.saxutils import escape

import requests
from lxml import etree

TNS = "http://developer.intuit.com/"
SOAP_NS = "http://schemas.xmlsoap.org/soap/envelope/"


def envelope(operation: str, **params) -> bytes:
    body = "".join(f"<{name}>{escape(str(value))}</{name}>" for name, value in params.items())
    return (
        '<?xml version="1.0" encoding="utf-8"?>'
        f'<soap:Envelope xmlns:soap="{SOAP_NS}" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" '
        'xmlns:xsd="http://www.w3.org/2001/XMLSchema">'
        f'<soap:Body><{operation} xmlns="{TNS}">{body}</{operation}></soap:Body></soap:Envelope>'
    ).encode("utf-8")


def post(url: str, operation: str, body: bytes) -> requests.Response:
    return requests.post(
        url,
        data=body,
        headers={"Content-Type": "text/xml; charset=utf-8", "SOAPAction": f'"{TNS}{operation}"'},
        timeout=30,
    )


def call(url: str, operation: str, **params):
    """Call an operation; returns the result text, int, or list of strings."""
    response = post(url, operation, envelope(operation, **params))
    assert response.status_code == 200, response.text
    root = etree.fromstring(response.content)
    result = root.find(f"{{{SOAP_NS}}}Body/{{{TNS}}}{operation}Response/{{{TNS}}}{operation}Result")
    if result is None:
        return None
    strings = result.findall(f"{{{TNS}}}string")
    if strings:
        return [s.text or "" for s in strings]
    return result.text or ""


def hcp_response(owner_id: str, file_id: str, company="Test Co", versions=("12.0", "13.0")) -> str:
    supported = "".join(f"<SupportedQBXMLVersion>{v}</SupportedQBXMLVersion>" for v in versions)
    return (
        '<?xml version="1.0" ?><QBXML><QBXMLMsgsRs>'
        '<HostQueryRs requestID="0" statusCode="0" statusSeverity="Info" statusMessage="Status OK"><HostRet>'
        f"<ProductName>QuickBooks Pro 2014</ProductName><MajorVersion>24</MajorVersion><MinorVersion>0</MinorVersion>"
        f"<Country>US</Country>{supported}<IsAutomaticLogin>false</IsAutomaticLogin><QBFileMode>SingleUser</QBFileMode>"
        "</HostRet></HostQueryRs>"
        '<CompanyQueryRs requestID="1" statusCode="0" statusSeverity="Info" statusMessage="Status OK"><CompanyRet>'
        f"<IsSampleCompany>false</IsSampleCompany><CompanyName>{escape(company)}</CompanyName>"
        f"<DataExtRet><OwnerID>{owner_id}</OwnerID><DataExtName>FileID</DataExtName>"
        f"<DataExtType>STR255TYPE</DataExtType><DataExtValue>{file_id}</DataExtValue></DataExtRet>"
        "</CompanyRet></CompanyQueryRs></QBXMLMsgsRs></QBXML>"
    )


def terms_response(request_id: str) -> str:
    return (
        '<?xml version="1.0" ?><QBXML><QBXMLMsgsRs>'
        f'<TermsQueryRs requestID="{request_id}" statusCode="0" statusSeverity="Info" statusMessage="Status OK">'
        "<StandardTermsRet><ListID>80000001-1234567890</ListID><TimeCreated>2024-01-01T10:00:00-05:00</TimeCreated>"
        "<TimeModified>2024-01-01T10:00:00-05:00</TimeModified><EditSequence>1234567890</EditSequence>"
        "<Name>Net 30</Name><IsActive>true</IsActive><StdDueDays>30</StdDueDays></StandardTermsRet>"
        "</TermsQueryRs></QBXMLMsgsRs></QBXML>"
    )


EMPTY_ANSWER = 'statusCode="1" statusSeverity="Info" statusMessage="A query request did not find a matching object in QuickBooks"'


def first_sync_reply(message_set: str, accounts_ret: str = "") -> str:
    """QuickBooks' answer to the initial sync's first message set: one term ("Net 30"),
    the given AccountRet (none by default), and empty item and customer lists."""
    rq = etree.fromstring(message_set.encode()).find("QBXMLMsgsRq")
    answers = []
    for request in rq:
        rs, request_id = request.tag.replace("Rq", "Rs"), request.get("requestID")
        if request.tag == "TermsQueryRq":
            answers.append(terms_response(request_id).split("<QBXMLMsgsRs>")[1].split("</QBXMLMsgsRs>")[0])
        elif request.tag == "AccountQueryRq" and accounts_ret:
            answers.append(f'<{rs} requestID="{request_id}" statusCode="0" statusSeverity="Info" '
                           f'statusMessage="Status OK">{accounts_ret}</{rs}>')
        else:
            answers.append(f'<{rs} requestID="{request_id}" {EMPTY_ANSWER} iteratorRemainingCount="0" />'
                           if request.get("iterator") else f'<{rs} requestID="{request_id}" {EMPTY_ANSWER} />')
    return '<?xml version="1.0" ?><QBXML><QBXMLMsgsRs>' + "".join(answers) + "</QBXMLMsgsRs></QBXML>"
