"""Run the fake QuickBooks Online with the sample company until interrupted (support, demos).

    python -m qbwc_bridge.fake_qbo --port 8765 --client-id ID --client-secret SECRET \
        --redirect-uri http://127.0.0.1:8000/qbo/callback

Point the bridge's QBWC_BRIDGE_QBO_API_BASE / _AUTHORIZE_URL / _TOKEN_URL / _REVOKE_URL at
the printed address (its paths are Intuit's).
"""
from __future__ import annotations

import argparse
import signal
import sys
import threading

from .intuit import FakeIntuit
from .sample import add_sample_company
from .server import serve


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m qbwc_bridge.fake_qbo", description=__doc__.splitlines()[0])
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8765)
    parser.add_argument("--client-id", required=True)
    parser.add_argument("--client-secret", required=True)
    parser.add_argument("--redirect-uri", action="append", required=True, help="allowed redirect URI (repeatable)")
    arguments = parser.parse_args(argv)
    intuit = FakeIntuit()
    intuit.register_app(arguments.client_id, arguments.client_secret, arguments.redirect_uri)
    company = add_sample_company(intuit)
    stopped = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stopped.set())
    signal.signal(signal.SIGINT, lambda *_: stopped.set())
    with serve(intuit, arguments.host, arguments.port) as server:
        print(f"fake QuickBooks Online on {server.url} (realm {company.realm}: {company.settings.name})", flush=True)
        stopped.wait()
    return 0


if __name__ == "__main__":
    sys.exit(main())
