"""Fixtures for the fake QuickBooks Online: a frozen clock, a seeded Intuit served on loopback, a connection."""
from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from qbwc_bridge.fake_qbo import FakeIntuit, ManualClock, RunningFakeIntuit, serve

from tests.fake_qbo.intuit_client import CLIENT_ID, CLIENT_SECRET, REALM, REDIRECT_URI, Connection, connect


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock()


@pytest.fixture
def intuit(clock: ManualClock) -> FakeIntuit:
    intuit = FakeIntuit(clock=clock, seed=7)
    intuit.register_app(CLIENT_ID, CLIENT_SECRET, [REDIRECT_URI])
    intuit.add_company(REALM, "Sandbox Company US")
    return intuit


@pytest.fixture
def server(intuit: FakeIntuit) -> Iterator[RunningFakeIntuit]:
    with serve(intuit) as running:
        yield running


@pytest.fixture
def http(server: RunningFakeIntuit) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=server.url, follow_redirects=False, timeout=30) as client:
        yield client


@pytest.fixture
def qbo(http: httpx.Client) -> Connection:
    return connect(http)


@pytest.fixture(scope="session")
def recorded(shared_dir: Path) -> Path:
    folder = shared_dir / "fixtures" / "qbo-recorded"
    if not folder.is_dir():
        pytest.skip(f"no recorded QuickBooks Online answers in {folder}")
    return folder
