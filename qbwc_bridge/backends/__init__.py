"""QuickBooks backends, and which one carries an account's work.

Backends are named by dotted path (as django-anymail names its email backends), loaded on
first use: the engine can ask for one without importing any backend package, and a
backend package may import the engine without a circle. Tests register their own.
"""
from __future__ import annotations

import importlib

from ..errors import OurBug
from ..store.models import Account
from .base import Backend

BACKENDS: dict[str, str] = {
    "desktop": "qbwc_bridge.backends.desktop.backend:DesktopBackend",
    "memory": "qbwc_bridge.backends.memory:MemoryBackend",
    "online": "qbwc_bridge.backends.online.backend:OnlineBackend",
}
_loaded: dict[str, Backend] = {}


def register(kind: str, backend: Backend) -> None:
    """Make ``backend`` carry the accounts of ``kind`` (tests, and support's fake backends)."""
    _loaded[kind] = backend


def kinds() -> list[str]:
    """Every account kind some backend carries."""
    return sorted(set(BACKENDS) | set(_loaded))


def for_kind(kind: str) -> Backend:
    if kind not in _loaded:
        if kind not in BACKENDS:
            raise OurBug(f"no QuickBooks backend for accounts of kind {kind!r}")
        module_name, class_name = BACKENDS[kind].split(":")
        _loaded[kind] = getattr(importlib.import_module(module_name), class_name)()
    return _loaded[kind]


def for_account(account: Account) -> Backend:
    return for_kind(account.kind)
