"""The suite's bounded slice of fuzzing (``bench/fuzz_api.py`` runs the long one): see tests/support/fuzzing.py."""
from __future__ import annotations

from tests.support.fuzzing import fuzz_api, fuzz_soap

EXAMPLES_PER_ROUTE = 10
SOAP_EXAMPLES = 60


def test_no_api_route_answers_5xx_and_every_refusal_carries_our_error_body(server, tenant):
    assert fuzz_api(server.url, tenant.account.api_token, EXAMPLES_PER_ROUTE) > 0


def test_every_generated_soap_body_gets_a_result_or_a_clean_fault(server):
    assert fuzz_soap(server.url + "/qbwc", SOAP_EXAMPLES) == SOAP_EXAMPLES
