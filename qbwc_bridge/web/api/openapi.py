"""The OpenAPI 3.1 document of /api/v1, built from the routes as declared (so it never drifts)."""
from __future__ import annotations

import re
from collections.abc import Iterable
from typing import Any

from .base import PREFIX, RouteDoc

ERROR_SCHEMA = {
    "type": "object",
    "required": ["error"],
    "properties": {
        "error": {
            "type": "object",
            "required": ["code", "message"],
            "properties": {"code": {"type": "string"}, "message": {"type": "string"}, "field": {"type": "string"}},
        }
    },
}
_STANDARD_ERRORS = {
    "400": "The body is not a JSON object",
    "401": "Missing or invalid API token",
    "422": "A field is invalid; error.field names it",
}


def _operation(route: RouteDoc) -> dict[str, Any]:
    parameters = [
        {"name": name, "in": "path", "required": True, "schema": {"type": "string"}}
        for name in re.findall(r"{(\w+)}", route.path)
    ]
    parameters += [{"name": name, "in": "query", "required": False, "schema": schema} for name, schema in route.query.items()]
    responses: dict[str, Any] = {
        "200": {
            "description": "OK",
            "content": {"application/json": {"schema": route.response_schema or {"type": "object"}}},
        }
    }
    for status, description in {**_STANDARD_ERRORS, **route.responses}.items():
        responses[status] = {"description": description, "content": {"application/json": {"schema": ERROR_SCHEMA}}}
    operation: dict[str, Any] = {"summary": route.summary, "parameters": parameters, "responses": responses}
    if route.request_schema is not None:
        operation["requestBody"] = {
            "required": True,
            "content": {"application/json": {"schema": route.request_schema}},
        }
    return operation


def document(routes: Iterable[RouteDoc]) -> dict[str, Any]:
    paths: dict[str, dict[str, Any]] = {}
    for route in routes:
        paths.setdefault(route.path, {})[route.method] = _operation(route)
    return {
        "openapi": "3.1.0",
        "info": {"title": "qbwc-bridge API", "version": "1"},
        "servers": [{"url": PREFIX}],
        "components": {"securitySchemes": {"bearer": {"type": "http", "scheme": "bearer"}}},
        "security": [{"bearer": []}],
        "paths": dict(sorted(paths.items())),
    }
