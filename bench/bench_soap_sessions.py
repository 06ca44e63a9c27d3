"""Web Connector sessions/s and SOAP calls/s: qbwc-bridge vs a bare spyne service.

Both run as separate waitress processes on loopback, measured in the same run with the
same client (http.client, keep-alive), on SQLite and on a throwaway PostgreSQL.
- authenticate:  authenticate alone → "none", repeated (the call every Web Connector makes every run)
- idle session:  serverVersion, clientVersion, authenticate → "none", closeConnection
- work session:  serverVersion, clientVersion, authenticate, sendRequestXML (with the
  HCP check), receiveResponseXML, closeConnection — one request/response.
The account is set up as after its initial sync (every list pulled, no pull due during the run).
Run: .venv/bin/python bench/bench_soap_sessions.py [--sessions 200]
"""
from __future__ import annotations

import argparse
import http.client
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from urllib.parse import urlsplit

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from lxml import etree  # noqa: E402

from qbwc_bridge import outbox  # noqa: E402
from qbwc_bridge.services.accounts import create_account, installation  # noqa: E402
from qbwc_bridge.store.db import Store  # noqa: E402
from qbwc_bridge.store.migrate import upgrade  # noqa: E402
from qbwc_bridge.operations import ListName  # noqa: E402
from qbwc_bridge.store.models import Account, SyncCursor, utcnow  # noqa: E402
from tests.integration.soap_helpers import envelope, hcp_response, terms_response  # noqa: E402
from tests.support.live_server import ServerProcess  # noqa: E402
from tests.support.postgres import PostgresServer, ThrowawayPostgres, find_pg_bin_dir  # noqa: E402

TNS = "http://developer.intuit.com/"


class Client:
    def __init__(self, url: str):
        parts = urlsplit(url)
        self.path = parts.path or "/"
        self.connection = http.client.HTTPConnection(parts.hostname, parts.port, timeout=30)
        self.calls = 0

    def call(self, operation: str, **params) -> etree._Element:
        self.connection.request("POST", self.path, body=envelope(operation, **params), headers={
            "Content-Type": "text/xml; charset=utf-8", "SOAPAction": f'"{TNS}{operation}"'})
        response = self.connection.getresponse()
        body = response.read()
        assert response.status == 200, body[:300]
        self.calls += 1
        return etree.fromstring(body).find(f".//{{{TNS}}}{operation}Result")


def run_sessions(url: str, count: int, username: str, password: str, work: bool, before_each=None, hcp: str = "") -> tuple[float, int]:
    client = Client(url)
    elapsed = 0.0
    for _ in range(count):
        if before_each:
            before_each()
        started = time.perf_counter()
        client.call("serverVersion")
        client.call("clientVersion", strVersion="2.3.0.215")
        result = client.call("authenticate", strUserName=username, strPassword=password)
        ticket, status = [s.text or "" for s in result][:2]
        if work:
            assert status == "", status
            message_set = client.call("sendRequestXML", ticket=ticket, strHCPResponse=hcp, strCompanyFileName="C:\\a.QBW",
                                      qbXMLCountry="US", qbXMLMajorVers="13", qbXMLMinorVers="0").text
            request_id = etree.fromstring(message_set.encode()).find("QBXMLMsgsRq")[0].get("requestID")
            assert client.call("receiveResponseXML", ticket=ticket, response=terms_response(request_id), hresult="",
                               message="").text == "100"
            client.call("closeConnection", ticket=ticket)
        else:
            assert status == "none", status
            client.call("closeConnection", ticket=ticket)
        elapsed += time.perf_counter() - started
    return elapsed, client.calls


def run_authenticates(url: str, count: int, username: str, password: str) -> float:
    """authenticate calls/s, each answered "none"."""
    client = Client(url)
    started = time.perf_counter()
    for _ in range(count):
        result = client.call("authenticate", strUserName=username, strPassword=password)
        assert [s.text or "" for s in result][1] == "none"
    return count / (time.perf_counter() - started)


def connected(db, account_id: int) -> None:
    """The account as after its initial sync: connected, every list pulled, no incremental pull due yet."""
    db.get(Account, account_id).status = "connected"
    for name in ListName:
        db.add(SyncCursor(account_id=account_id, list_name=name.value, initial_done=True, updated_at=utcnow()))


def measure_bridge(database_url: str, sessions: int, tmp: Path) -> dict:
    store = Store(database_url)
    upgrade(store)
    with store.begin() as db:
        acct = create_account(db, "Bench Co", "desktop")
        owner = installation(db).owner_id
        connected(db, acct.account_id)
    env = {"QBWC_BRIDGE_DATABASE_URL": database_url, "QBWC_BRIDGE_SECRET_KEY": "b" * 40,
           "QBWC_BRIDGE_DATA_DIR": str(tmp), "QBWC_BRIDGE_LOG_LEVEL": "WARNING"}
    results = {}
    with ServerProcess(env=env) as server:
        url = server.url + "/qbwc"
        run_sessions(url, 20, acct.wc_username, acct.wc_password, work=False)  # warm up
        results["auth"] = run_authenticates(url, sessions * 2, acct.wc_username, acct.wc_password)
        elapsed, calls = run_sessions(url, sessions, acct.wc_username, acct.wc_password, work=False)
        results["idle"] = (sessions / elapsed, calls / elapsed)

        def enqueue_one():
            with store.begin() as db:
                outbox.enqueue(db, acct.account_id, "sync_terms", {})

        elapsed, calls = run_sessions(url, sessions, acct.wc_username, acct.wc_password, work=True,
                                      before_each=enqueue_one, hcp=hcp_response(owner, acct.file_id))
        results["work"] = (sessions / elapsed, calls / elapsed)
    store.dispose()
    return results


def measure_bare(sessions: int) -> dict:
    script = str(Path(__file__).with_name("bare_spyne_server.py"))
    results = {}
    with ServerProcess(command=[sys.executable, script, "{port}"], health_path="/?wsdl") as server:
        run_sessions(server.url + "/", 20, "idle", "x", work=False)  # warm up
        results["auth"] = run_authenticates(server.url + "/", sessions * 2, "idle", "x")
        elapsed, calls = run_sessions(server.url + "/", sessions, "idle", "x", work=False)
        results["idle"] = (sessions / elapsed, calls / elapsed)
        elapsed, calls = run_sessions(server.url + "/", sessions, "busy", "x", work=True)
        results["work"] = (sessions / elapsed, calls / elapsed)
    return results


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--sessions", type=int, default=200)
    args = parser.parse_args()
    os.environ.setdefault("QBWC_BRIDGE_LOG_LEVEL", "WARNING")
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        bare = measure_bare(args.sessions)
        rows = [("bare spyne (constants)", bare)]
        rows.append(("qbwc-bridge on SQLite", measure_bridge(f"sqlite:///{tmp}/bench.sqlite3", args.sessions, tmp)))
        with ThrowawayPostgres(find_pg_bin_dir()) as pg:
            server = PostgresServer(pg.base_url)
            rows.append(("qbwc-bridge on PostgreSQL", measure_bridge(server.create_database("bench"), args.sessions, tmp)))
            server.dispose()
    print(f"{args.sessions} sessions each; an HMAC password check on every authenticate (generated Web Connector passwords)")
    print(f"{'server':28} {'auth/s':>8} {'idle sess/s':>12} {'idle calls/s':>13} {'work sess/s':>12} {'work calls/s':>13}"
          f"   vs bare: auth / idle / work")
    for name, result in rows:
        ratios = (result["auth"] / bare["auth"], result["idle"][0] / bare["idle"][0], result["work"][0] / bare["work"][0])
        print(f"{name:28} {result['auth']:8.1f} {result['idle'][0]:12.1f} {result['idle'][1]:13.1f} {result['work'][0]:12.1f} "
              f"{result['work'][1]:13.1f}   " + " / ".join(f"{r:.2f}x" for r in ratios))


if __name__ == "__main__":
    main()
