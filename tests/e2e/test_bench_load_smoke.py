"""bench/bench_load.py --quick: 3 simulated Web Connectors for 5 s against two serve processes on PostgreSQL.

Keeps the load bench runnable (it is run by hand, rarely) and checks what it checks at any
size: no errors, and every packed order exactly one invoice in its simulated company.
"""
from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.support.postgres import PostgresUnavailable, find_pg_bin_dir

pytestmark = [pytest.mark.slow, pytest.mark.timeout(180)]

REPO = Path(__file__).resolve().parents[2]


def test_quick_load_run_has_no_errors_and_invoices_every_order_once(shared_dir):
    try:
        find_pg_bin_dir()
    except PostgresUnavailable as missing:
        pytest.skip(str(missing))
    result = subprocess.run(
        [sys.executable, str(REPO / "bench" / "bench_load.py"), "--quick"],
        cwd=REPO, env={**os.environ, "QBWC_BRIDGE_SHARED_DIR": str(shared_dir)},
        capture_output=True, text=True, timeout=170, check=False,
    )  # fmt: skip
    output = result.stdout + result.stderr
    assert result.returncode == 0, output
    assert "errors: 0 " in output, output
    assert "missing 0, duplicated 0, not ours 0" in output and "-> OK" in output, output
    assert "InvoiceAddRq" in output, output
