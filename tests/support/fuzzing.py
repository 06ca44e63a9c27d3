"""Fuzzing our two HTTP faces: the JSON API from its own OpenAPI document, the SOAP endpoint from envelopes.

Shared by the suite's bounded slice (``tests/integration/test_fuzzing.py``) and the long run
(``bench/fuzz_api.py``). The promises checked: no hang (every request has a timeout), no 5xx
from the API, every API refusal with our error body, and from ``/qbwc`` only our answers: a
SOAP result, or a SOAP fault (HTTP 400/413/415/500, SOAP 1.1 puts faults on 500), never a
stack trace.
"""
from __future__ import annotations

from xml.sax.saxutils import escape

import requests
import schemathesis
from hypothesis import HealthCheck, given
from hypothesis import settings as hypothesis_settings
from hypothesis import strategies as st

SOAP_NS = "http://schemas.xmlsoap.org/soap/envelope/"
TNS = "http://developer.intuit.com/"
# The eleven QBWC callbacks and every parameter name they take (PROTOCOL.md §1).
SOAP_OPERATIONS = ("serverVersion", "clientVersion", "authenticate", "sendRequestXML", "receiveResponseXML",
                   "getLastError", "closeConnection", "connectionError", "getInteractiveURL", "interactiveDone",
                   "interactiveRejected")  # fmt: skip
SOAP_PARAMETERS = ("strVersion", "strUserName", "strPassword", "ticket", "strHCPResponse", "strCompanyFileName",
                   "qbXMLCountry", "qbXMLMajorVers", "qbXMLMinorVers", "response", "hresult", "message",
                   "sessionid", "reason")  # fmt: skip
SOAP_ANSWER_STATUSES = {200, 400, 413, 415, 500}


def fuzz_api(base_url: str, api_token: str, examples_per_route: int) -> int:
    """Every route of the document, ``examples_per_route`` generated cases each, with and without the
    token. Returns how many requests were made."""
    document = requests.get(base_url + "/api/v1/openapi.json", timeout=30).json()
    schema = schemathesis.openapi.from_dict(document)
    made = 0
    for result in schema.get_all_operations():
        operation = result.ok()

        @given(case=operation.as_strategy())
        @hypothesis_settings(max_examples=examples_per_route, deadline=None, database=None,
                             suppress_health_check=list(HealthCheck))  # fmt: skip
        def one_case(case):
            nonlocal made
            for headers in ({"Authorization": f"Bearer {api_token}"}, {}):
                response = case.call(base_url=base_url + "/api/v1", headers=headers, timeout=30)
                made += 1
                assert response.status_code < 500, (case.as_curl_command(), response.status_code, response.text[:500])
                if response.status_code >= 400:
                    error = response.json().get("error")
                    assert isinstance(error, dict) and error.get("message"), (case.as_curl_command(), response.text[:500])

        one_case()
    return made


def _envelope(operation: str, parameters: dict[str, str]) -> bytes:
    body = "".join(f"<{name}>{escape(value)}</{name}>" for name, value in parameters.items())
    return (f'<?xml version="1.0" encoding="utf-8"?><soap:Envelope xmlns:soap="{SOAP_NS}"><soap:Body>'
            f'<{operation} xmlns="{TNS}">{body}</{operation}></soap:Body></soap:Envelope>').encode("utf-8", "surrogatepass")


@st.composite
def soap_bodies(draw) -> bytes:
    """Well-formed calls with odd values, and the same calls cut short, spliced with random bytes or
    with a tag renamed: what a broken or hostile client could send."""
    operation = draw(st.sampled_from(SOAP_OPERATIONS))
    parameters = draw(st.dictionaries(st.sampled_from(SOAP_PARAMETERS), st.text(max_size=300), max_size=6))
    body = _envelope(operation, parameters)
    mutation = draw(st.sampled_from(("none", "truncate", "splice", "rename")))
    if mutation == "truncate":
        body = body[: draw(st.integers(0, len(body)))]
    elif mutation == "splice":
        at = draw(st.integers(0, len(body)))
        body = body[:at] + draw(st.binary(min_size=1, max_size=40)) + body[at:]
    elif mutation == "rename":
        body = body.replace(operation.encode(), draw(st.from_regex(r"[A-Za-z][A-Za-z0-9]{0,20}", fullmatch=True)).encode())
    return body


def fuzz_soap(url: str, examples: int) -> int:
    """``examples`` generated bodies POSTed to ``url`` (the /qbwc endpoint). Returns how many were sent."""
    sent = 0

    @given(body=soap_bodies())
    @hypothesis_settings(max_examples=examples, deadline=None, database=None, suppress_health_check=list(HealthCheck))
    def one_body(body):
        nonlocal sent
        response = requests.post(url, data=body, timeout=30,
                                 headers={"Content-Type": "text/xml; charset=utf-8", "SOAPAction": f'"{TNS}x"'})  # fmt: skip
        sent += 1
        assert response.status_code in SOAP_ANSWER_STATUSES, (body[:300], response.status_code, response.text[:300])
        assert b"Traceback" not in response.content, (body[:300], response.text[:500])
        if response.status_code != 200:
            assert b"Fault>" in response.content and b"faultstring" in response.content, (body[:300], response.text[:300])

    one_body()
    return sent
