"""Browser tests: Playwright driving Debian's chromium (never Playwright's own download), headless.

The bridge runs in waitress on loopback with its public URL pointing at that port, so a
.qwc downloaded in the browser drives the simulated Web Connector against the same
server. Without chromium (or Playwright) the tests skip with the reason; under CI
(``CI=true``) they fail instead, since CI must run them.
"""
from __future__ import annotations

import os
import shutil
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from qbwc_bridge.config import Settings
from qbwc_bridge.store.db import Store
from qbwc_bridge.store.migrate import upgrade
from tests.support.live_server import LiveServer

CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--no-first-run"]  # fmt: skip
ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts" / "browser"


def _unavailable(reason: str) -> None:
    if os.environ.get("CI", "").lower() not in {"", "0", "false"}:
        pytest.fail(f"{reason} (CI must run the browser tests)", pytrace=False)
    pytest.skip(reason)


@pytest.fixture(scope="session")
def browser():
    """One headless chromium for the session; each test opens its own contexts."""
    executable = shutil.which("chromium")
    if executable is None:
        _unavailable("Debian's chromium is not installed (apt-get install chromium)")
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        _unavailable("Playwright is not installed (pip install -e '.[test]')")
    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=executable, args=CHROMIUM_ARGS)
        yield launched
        launched.close()


@pytest.fixture
def artifacts() -> Callable[[object, str], Path]:
    """``shot(page, name)`` saves a full-page screenshot under test-artifacts/browser/."""
    ARTIFACTS.mkdir(parents=True, exist_ok=True)

    def shot(page, name: str) -> Path:
        path = ARTIFACTS / f"{name}.png"
        page.screenshot(path=str(path), full_page=True)
        return path

    return shot


@dataclass
class Bridge:
    """The bridge served on loopback: ``url`` for the browser and API, ``settings`` and ``store`` for setup."""

    url: str
    settings: Settings
    store: Store


@pytest.fixture
def bridge(tmp_path) -> Iterator[Bridge]:
    """The whole app (SOAP, API, admin) in waitress, its public URL on the served port (SQLite)."""
    from qbwc_bridge.web.app import create_app

    app = {}
    # The port is known only once the server listens, and the .qwc must name it.
    with LiveServer(lambda environ, start_response: app["wsgi"](environ, start_response), threads=6) as live:
        port = live.url.rsplit(":", 1)[1]
        settings = Settings.from_env(
            {
                "QBWC_BRIDGE_DATABASE_URL": f"sqlite:///{(tmp_path / 'bridge.sqlite3').as_posix()}",
                "QBWC_BRIDGE_DATA_DIR": str(tmp_path / "var"),
                "QBWC_BRIDGE_SECRET_KEY": "b" * 40,
                "QBWC_BRIDGE_PUBLIC_URL": f"http://localhost:{port}",
                "QBWC_BRIDGE_BUSY_WINDOW_SECONDS": "1",
            }
        )
        store = Store.from_settings(settings)
        upgrade(store)
        app["wsgi"] = create_app(settings, store)
        yield Bridge(live.url, settings, store)
        store.dispose()
