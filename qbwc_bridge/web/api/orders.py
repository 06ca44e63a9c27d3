"""/api/v1 routes: orders (being written)."""
from __future__ import annotations

from flask import Blueprint


def register(blueprint: Blueprint) -> None:
    """Declare this module's routes on the API blueprint."""
