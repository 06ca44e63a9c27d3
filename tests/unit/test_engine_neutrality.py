"""The engine speaks BlueTrace's and QuickBooks' language, never one backend's.

Issue 12: nothing under ``sync/`` or ``services/`` mentions qbXML, HRESULTs, ListIDs or the
Web Connector (a backend states those facts itself), and the outbox every backend shares
carries no column only one backend uses (Desktop keeps its own in ``desktop_sends``).
"""

from __future__ import annotations

import re
from pathlib import Path

from qbwc_bridge.store.models import OutboxOperation

PACKAGE_DIR = Path(__file__).resolve().parents[2] / "qbwc_bridge"
ENGINE_DIRS = ("sync", "services")
# Words that belong to one backend: Desktop's transport, its message format, its error codes and ids.
BACKEND_WORDS = re.compile(r"web ?connector|qbxml|hresult|list ?ids?\b|txn ?ids?\b|wc_session", re.IGNORECASE)
DESKTOP_ONLY_COLUMNS = {"session_id", "send_alone"}


def _engine_lines():
    for directory in ENGINE_DIRS:
        for path in sorted((PACKAGE_DIR / directory).rglob("*.py")):
            for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
                yield f"{path.relative_to(PACKAGE_DIR)}:{number}", line


def test_the_engine_never_speaks_a_backends_language():
    found = [f"{where}: {line.strip()}" for where, line in _engine_lines() if BACKEND_WORDS.search(line)]
    assert not found, "sync/ or services/ name a backend's terms (say it neutrally, or move it to the backend):\n" + \
        "\n".join(found)


def test_the_word_check_catches_each_backend_term():
    for line in ("the Web Connector runs", "a qbXML request", "HRESULT 0x8004", "by ListID", "its TxnID",
                 "WebConnectorSession", "ListIDs"):
        assert BACKEND_WORDS.search(line), line
    for line in ("QuickBooks' id", "the backend's visit", "listing", "a list of ids"):
        assert not BACKEND_WORDS.search(line), line


def test_the_shared_outbox_has_no_column_only_one_backend_uses():
    assert DESKTOP_ONLY_COLUMNS.isdisjoint(OutboxOperation.__table__.columns.keys())
