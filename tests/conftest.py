"""Fixtures every test may use. Sub-folders add their own conftest.py."""
from __future__ import annotations

from pathlib import Path

import pytest

from qbwc_bridge.config import Settings, _find_shared_dir


@pytest.fixture(scope="session")
def shared_dir() -> Path:
    """The project's shared/ reference folder (Intuit's XSDs, WSDLs, recorded traffic)."""
    import os

    explicit = os.environ.get("QBWC_BRIDGE_SHARED_DIR")
    found = Path(explicit) if explicit else _find_shared_dir()
    if found is None or not found.is_dir():
        pytest.skip("shared/ reference folder not found: set QBWC_BRIDGE_SHARED_DIR")
    return found


@pytest.fixture(scope="session")
def qbxml_schema(shared_dir):
    from qbwc_bridge.backends.desktop.schema import load_qbxml_schema, schema_dir

    return load_qbxml_schema(schema_dir(shared_dir))
