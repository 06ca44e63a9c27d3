"""``python -m qbwc_bridge.fake_qbo``: the sample company served until SIGTERM, for support and demos."""
from __future__ import annotations

import sys
from pathlib import Path
from urllib.parse import urlencode

import httpx

from qbwc_bridge.fake_qbo import FakeIntuit
from qbwc_bridge.fake_qbo.query import run
from qbwc_bridge.fake_qbo.sample import SAMPLE_REALM, add_sample_company

from support.live_server import ServerProcess
from tests.fake_qbo.intuit_client import CLIENT_ID, CLIENT_SECRET, REDIRECT_URI, SCOPE, approve, exchange

ROOT = Path(__file__).resolve().parents[2]


def test_the_sample_company_has_items_without_sku_and_customers_without_email():
    company = add_sample_company(FakeIntuit())
    assert run(company, "SELECT COUNT(*) FROM Item WHERE Active IN (true, false)")["totalCount"] == 7
    with_sku = {i["Name"] for i in run(company, "SELECT * FROM Item")["Item"] if "Sku" in i}
    assert "Pest Control" not in with_sku and "Design" in with_sku
    customers = run(company, "SELECT * FROM Customer")["Customer"]
    assert any("PrimaryEmailAddr" not in c for c in customers)


def test_the_module_serves_the_sample_company_until_terminated():
    consent = "/connect/oauth2?" + urlencode({"client_id": CLIENT_ID, "redirect_uri": REDIRECT_URI,
                                              "response_type": "code", "scope": SCOPE, "state": "x"})
    command = (sys.executable, "-m", "qbwc_bridge.fake_qbo", "--port", "{port}", "--client-id", CLIENT_ID,
               "--client-secret", CLIENT_SECRET, "--redirect-uri", REDIRECT_URI)
    with ServerProcess(env={"PYTHONPATH": str(ROOT)}, command=command, health_path=consent, cwd=ROOT) as process:
        with httpx.Client(base_url=process.url, timeout=30) as http:
            tokens = exchange(http, approve(http, realm=SAMPLE_REALM)["code"][0]).json()
            answer = http.get(f"/v3/company/{SAMPLE_REALM}/query", params={
                "query": "SELECT * FROM Customer WHERE DisplayName = 'Amy\\'s Bird Sanctuary'", "minorversion": "75"},
                headers={"Authorization": f"Bearer {tokens['access_token']}", "Accept": "application/json"})
        assert answer.json()["QueryResponse"]["Customer"][0]["PrimaryEmailAddr"] == {"Address": "Birds@Intuit.com"}
        process.stop()
        assert process.process.returncode == 0
