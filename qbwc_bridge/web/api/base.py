"""What every /api/v1 route shares: bearer auth, one unit of work, strict JSON, errors, OpenAPI.

Errors are JSON ``{"error": {"code", "message", "field"?, "action"?, ...}}`` with the
HTTP status that tells BlueTrace's backend what to do: 400 unreadable, 401 bad token,
404 unknown record, 409 conflict, 422 a value is wrong (``field`` names it) or a
person must act first (``action`` says what). Never a stack trace.

JSON numbers are read as ``Decimal`` (``parse_float=Decimal``), so money never passes
through a binary float; ``NaN`` and ``Infinity``, which are not JSON, are refused.
"""
from __future__ import annotations

import functools
import json
import logging
from collections.abc import Callable
from decimal import Decimal
from typing import Any

from flask import Blueprint, current_app, g, jsonify, request
from sqlalchemy.orm import Session
from werkzeug.exceptions import HTTPException

from ...errors import Conflict, NeedsPerson, NotFound
from ...logs import bind
from ...services.accounts import account_for_api_token
from ...services import pagination
from ...services.validation import InvalidInput
from ...store.db import Store, database_unavailable
from ...webhooks import events
from .openapi import RouteDoc, document

log = logging.getLogger(__name__)

PREFIX = "/api/v1"


class ApiError(Exception):
    """An answer other than 2xx, raised anywhere inside a route."""

    def __init__(self, status: int, code: str, message: str, field: str | None = None):
        super().__init__(message)
        self.status, self.code, self.message, self.field = status, code, message, field


ROUTES: list[RouteDoc] = []
#: Named schemas (``#/components/schemas/<name>``), added by the route modules with :func:`component`.
COMPONENTS: dict[str, dict[str, Any]] = {}


def component(name: str, schema: dict[str, Any]) -> dict[str, Any]:
    """Register ``schema`` as a named component; returns the ``$ref`` to use in routes."""
    COMPONENTS[name] = schema
    return {"$ref": f"#/components/schemas/{name}"}


def _flask_rule(openapi_path: str) -> str:
    return openapi_path.replace("{", "<").replace("}", ">")


def api_route(
    blueprint: Blueprint,
    method: str,
    path: str,
    *,
    summary: str,
    request_schema: dict[str, Any] | None = None,
    response_schema: dict[str, Any] | None = None,
    query: dict[str, dict[str, Any]] | None = None,
    responses: dict[str, str] | None = None,
    success_status: int = 200,
    description: str | None = None,
    tag: str | None = None,
    request_required: bool = True,
) -> Callable:
    """Register ``view(db, account_id, **path_params)`` at ``path`` for ``method``.

    The view runs inside one unit of work (committed when it returns, rolled back when
    it raises) and returns a JSON-able value, or ``(value, status)``.
    """

    def decorator(view: Callable) -> Callable:
        if not any(doc.method == method.lower() and doc.path == path for doc in ROUTES):
            ROUTES.append(
                RouteDoc(
                    method.lower(), path, summary, request_schema, response_schema, query or {}, responses or {},
                    success_status, description, tag, request_required,
                )
            )

        @functools.wraps(view)
        def endpoint(**params):
            store: Store = current_app.extensions["qbwc_bridge.store"]
            with store.begin() as db:
                account_id = _authenticate(db)
                result = view(db, account_id, **params)
            body, status = result if isinstance(result, tuple) else (result, success_status)
            return jsonify(body), status

        blueprint.add_url_rule(_flask_rule(path), endpoint=f"{method.lower()}_{view.__name__}", view_func=endpoint, methods=[method])
        return view

    return decorator


def _authenticate(db: Session) -> int:
    header = request.headers.get("Authorization", "")
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise ApiError(401, "unauthorized", "Send the account's API token as 'Authorization: Bearer <token>'.")
    found = account_for_api_token(db, token.strip())
    if found is None:
        raise ApiError(401, "unauthorized", "The API token is not valid (it may have been rotated).")
    account, webhook_endpoint = found
    events.remember_endpoint(db, account.id, webhook_endpoint)
    g.account_id = account.id
    db.info["account"] = account  # held for the unit of work: the view's db.get(Account, ...) then reads nothing
    bind(account_id=account.id)
    return account.id


def _refuse_constant(name: str):
    raise ValueError(f"{name} is not a JSON number")


def json_body(*, optional: bool = False) -> dict[str, Any]:
    """The request's JSON object, numbers with a fraction or exponent as ``Decimal``.

    ``optional``: an empty body reads as ``{}`` (action routes whose body may be left out).

    Raises:
        ApiError: 400 when the body is not a JSON object (or not JSON at all).
    """
    raw = request.get_data(cache=True)
    if optional and not raw.strip():
        return {}
    try:
        data = json.loads(raw.decode("utf-8"), parse_float=Decimal, parse_constant=_refuse_constant)
    except (UnicodeDecodeError, ValueError, RecursionError):
        raise ApiError(400, "bad_json", "The request body is not valid JSON (UTF-8).") from None
    if not isinstance(data, dict):
        raise ApiError(400, "bad_json", "The request body must be a JSON object (Content-Type: application/json).")
    return data


#: ``?page=&page_size=`` as :func:`page_args` reads them, for the OpenAPI document of every paged list.
PAGE_QUERY = {
    "page": {"type": "integer", "minimum": 1, "maximum": pagination.MAX_PAGE, "default": 1},
    "page_size": {
        "type": "integer", "minimum": 1, "maximum": pagination.MAX_PAGE_SIZE, "default": pagination.DEFAULT_PAGE_SIZE,
    },
}


def page_args() -> tuple[int, int]:
    """(page, page_size) from ``?page=&page_size=``; page counts from 1.

    Raises:
        InvalidInput: the API's 422, naming ``page`` or ``page_size``.
    """
    return pagination.page_number(request.args.get("page")), pagination.page_size(request.args.get("page_size"))


def _error(status: int, code: str, message: str, **extra: Any):
    error: dict[str, Any] = {"code": code, "message": message}
    error.update({key: value for key, value in extra.items() if value is not None})
    return jsonify({"error": error}), status


def install(blueprint: Blueprint, store: Store) -> None:
    """Error handlers and the OpenAPI document."""

    @blueprint.errorhandler(ApiError)
    def _api_error(exc: ApiError):
        return _error(exc.status, exc.code, exc.message, field=exc.field)

    @blueprint.errorhandler(NotFound)
    def _not_found(exc: NotFound):
        return _error(404, "not_found", exc.explanation)

    @blueprint.errorhandler(Conflict)
    def _conflict(exc: Conflict):
        return _error(
            409, "conflict", exc.explanation, field=getattr(exc, "field", None), action=exc.action,
            details=getattr(exc, "details", None),
        )

    @blueprint.errorhandler(InvalidInput)
    def _invalid(exc: InvalidInput):
        return _error(422, "invalid", exc.explanation, field=exc.field)

    @blueprint.errorhandler(NeedsPerson)
    def _needs_person(exc: NeedsPerson):
        return _error(422, "needs_person", exc.explanation, field=getattr(exc, "field", None), action=exc.action)

    @blueprint.errorhandler(HTTPException)
    def _http(exc: HTTPException):
        return _error(exc.code or 500, exc.name.lower().replace(" ", "_"), exc.description or exc.name)

    @blueprint.errorhandler(Exception)
    def _unexpected(exc: Exception):
        if database_unavailable(exc):
            log.warning("API request %s %s: the database is unavailable (%s)", request.method, request.path,
                        type(exc).__name__)
            answer, status = _error(503, "unavailable", "The bridge's database is unavailable for a moment; "
                                    "nothing was changed. Try again shortly.")
            answer.headers["Retry-After"] = "30"
            return answer, status
        log.exception("API request failed: %s %s", request.method, request.path)
        return _error(500, "internal", "The bridge failed to handle this request; it has been logged.")

    def _unrouted(exc: HTTPException):
        # Routing fails before any blueprint is chosen, so only an app-wide handler sees an
        # unknown /api/v1 path or method; other paths keep Flask's own answer.
        if request.path == PREFIX or request.path.startswith(PREFIX + "/"):
            return _error(exc.code, exc.name.lower().replace(" ", "_"), exc.description or exc.name)
        return exc

    blueprint.app_errorhandler(400)(_unrouted)  # the input guard refuses before routing is consulted
    blueprint.app_errorhandler(404)(_unrouted)
    blueprint.app_errorhandler(405)(_unrouted)

    @blueprint.get("/openapi.json")
    def openapi():
        return jsonify(document(ROUTES, COMPONENTS, server_url=PREFIX))
