"""BlueTrace's JSON API under /api/v1: items, customers, settings, status, packed orders.

Every route is declared with :func:`.base.api_route`, which authenticates the bearer
token (one account per token), parses JSON strictly and records the route in the
OpenAPI document served at ``/api/v1/openapi.json``. Route modules hold no rules:
they call :mod:`qbwc_bridge.services`.
"""
from __future__ import annotations

from flask import Blueprint

from ...store.db import Store
from . import base, catalog, connection, orders, overview


def create_api_blueprint(store: Store) -> Blueprint:
    """The /api/v1 blueprint with every route module registered."""
    blueprint = Blueprint("api_v1", __name__, url_prefix=base.PREFIX)
    base.install(blueprint, store)
    # Each route module declares its routes in its ``register`` function (explicit list: no magic).
    for module in (overview, connection, catalog, orders):
        module.register(blueprint)
    return blueprint
