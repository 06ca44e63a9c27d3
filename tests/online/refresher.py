"""Run in a separate process by the refresh tests: ask for an access token at an agreed moment."""
from __future__ import annotations

import datetime as dt

from qbwc_bridge.backends.online.connection import access_token
from qbwc_bridge.config import Settings
from qbwc_bridge.store.db import Store


def fetch_token(environ: dict[str, str], account_id: int, now_iso: str, start, results) -> None:
    """Wait at the ``start`` barrier (every process ready), then put ``access_token(...)`` (or the error) on ``results``."""
    settings = Settings.from_env(environ)
    store = Store.from_settings(settings)
    try:
        start.wait(120)
        try:
            results.put(access_token(store, settings, account_id, now=dt.datetime.fromisoformat(now_iso)))
        except Exception as error:  # reported to the test, which fails on it
            results.put(f"error: {type(error).__name__}: {error}")
    finally:
        store.dispose()
