"""The contract suite runs each scenario once per backend (and, through ``store``, per database)."""
from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.contract.worlds import WORLDS, World
from tests.integration.conftest import settings, store  # noqa: F401  (the fixtures the worlds stand on)


@pytest.fixture(params=sorted(WORLDS))
def world(request, store, settings) -> Iterator[World]:  # noqa: F811
    built = WORLDS[request.param](store, settings)
    try:
        yield built
    finally:
        built.close()
