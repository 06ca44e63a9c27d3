"""The OpenAPI 3.1 document of /api/v1, built from the routes as declared (so it never drifts).

Schemas are JSON Schema 2020-12 (OpenAPI 3.1's dialect), so a test can validate real
responses against them with ``jsonschema``.
"""
from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

@dataclass
class RouteDoc:
    """One operation in the OpenAPI document."""

    method: str
    path: str  # OpenAPI style: /items/{item_id}
    summary: str
    request_schema: dict[str, Any] | None = None
    response_schema: dict[str, Any] | None = None
    query: dict[str, dict[str, Any]] = field(default_factory=dict)  # name -> schema
    responses: dict[str, str] = field(default_factory=dict)  # extra status -> description
    success_status: int = 200
    description: str | None = None
    tag: str | None = None
    request_required: bool = True


ERROR_SCHEMA = {
    "type": "object",
    "required": ["error"],
    "properties": {
        "error": {
            "type": "object",
            "required": ["code", "message"],
            "properties": {
                "code": {"type": "string"},
                "message": {"type": "string", "description": "Plain words, for a person"},
                "field": {"type": "string", "description": "JSON path of the wrong field (422, some 409)"},
                "action": {"type": "string", "description": "What a person must do first"},
                "details": {"type": "object"},
            },
        }
    },
}
_STANDARD_ERRORS = {
    "401": "Missing or invalid API token",
    "503": "The database is unavailable for a moment (down, restarting, full or read-only): nothing was changed; "
           "send the request again after Retry-After seconds (error.code unavailable)",
}
_BODY_ERRORS = {
    "400": "The body is not a JSON object",
    "422": "A field is invalid (error.field names it), or a person must act first (error.action)",
}
_DESCRIPTION = (
    "BlueTrace's side of the QuickBooks bridge. Authenticate with `Authorization: Bearer <account API token>`; "
    "a token reaches its own account's records only. Money travels as decimal strings (numbers are accepted "
    "and read exactly). Errors are `{\"error\": {\"code\", \"message\", \"field\"?, \"action\"?}}`."
)


def _operation(route: RouteDoc) -> dict[str, Any]:
    path_names = re.findall(r"{(\w+)}", route.path)
    parameters = [{"name": name, "in": "path", "required": True, "schema": {"type": "string"}} for name in path_names]
    parameters += [
        {"name": name, "in": "query", "required": False, "schema": schema} for name, schema in route.query.items()
    ]
    success = {
        "description": "Created" if route.success_status == 201 else "OK",
        "content": {"application/json": {"schema": route.response_schema or {"type": "object"}}},
    }
    responses: dict[str, Any] = {str(route.success_status): success}
    errors = dict(_STANDARD_ERRORS)
    if route.request_schema is not None or route.query:
        errors.update(_BODY_ERRORS if route.request_schema is not None else {"422": _BODY_ERRORS["422"]})
    if path_names:
        errors["404"] = "No such record in this account"
    errors.update(route.responses)
    error_content = {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}
    for status, description in sorted(errors.items()):
        if status.startswith("2"):  # another success answer (PUT: 201 when it created the record)
            responses[status] = {**success, "description": description}
        else:
            responses[status] = {"description": description, "content": error_content}
    operation: dict[str, Any] = {
        "operationId": f"{route.method}_{re.sub(r'[^a-zA-Z0-9]+', '_', route.path).strip('_')}",
        "summary": route.summary,
        "parameters": parameters,
        "responses": responses,
    }
    if route.description:
        operation["description"] = route.description
    if route.tag:
        operation["tags"] = [route.tag]
    if route.request_schema is not None:
        operation["requestBody"] = {
            "required": route.request_required,
            "content": {"application/json": {"schema": route.request_schema}},
        }
    return operation


def document(routes: Iterable[RouteDoc], components: Mapping[str, dict[str, Any]] | None = None, *,
             server_url: str) -> dict[str, Any]:
    """The whole document: every declared route, the named schemas, and this document itself.

    ``server_url`` is where the routes are mounted (``/api/v1``), passed in so that this
    module needs nothing of :mod:`.base`, which imports it.
    """
    paths: dict[str, dict[str, Any]] = {
        "/openapi.json": {
            "get": {
                "operationId": "get_openapi_json",
                "summary": "This document (no token needed)",
                "security": [],
                "parameters": [],
                "responses": {"200": {"description": "OK", "content": {"application/json": {"schema": {"type": "object"}}}}},
            }
        }
    }
    for route in routes:
        paths.setdefault(route.path, {})[route.method] = _operation(route)
    return {
        "openapi": "3.1.0",
        "jsonSchemaDialect": "https://json-schema.org/draft/2020-12/schema",
        "info": {"title": "qbwc-bridge API", "version": "1", "description": _DESCRIPTION},
        "servers": [{"url": server_url}],
        "components": {
            "securitySchemes": {"bearer": {"type": "http", "scheme": "bearer"}},
            "schemas": {"Error": ERROR_SCHEMA, **dict(sorted((components or {}).items()))},
        },
        "security": [{"bearer": []}],
        "paths": dict(sorted(paths.items())),
    }
