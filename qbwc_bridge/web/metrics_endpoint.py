"""``GET /metrics`` for Prometheus, behind a bearer token, and the count (and DEBUG line) of every Flask request.

Closed by default: without ``QBWC_BRIDGE_METRICS_TOKEN`` the route answers 404, as if it did
not exist, so a bridge put on the internet does not publish its accounts' figures.
"""
from __future__ import annotations

import hmac
import logging

from flask import Flask, Response, abort, request

from .. import metrics
from ..config import Settings
from ..store.db import Store

log = logging.getLogger(__name__)

PATH = "/metrics"
# Requests that matched no route (scanners, typos) share one label: raw paths are unbounded.
UNMATCHED_ROUTE = "(unmatched)"


def register_metrics(app: Flask, settings: Settings, store: Store) -> None:
    """Add /metrics and count every request by its Flask rule and status."""

    @app.get(PATH)
    def prometheus_metrics():
        if not settings.metrics_token:
            abort(404)
        scheme, _, token = request.headers.get("Authorization", "").partition(" ")
        # compare_digest: how long the comparison takes says nothing about the token.
        if scheme.lower() != "bearer" or not hmac.compare_digest(token.strip().encode(), settings.metrics_token.encode()):
            return Response("Send the metrics token as 'Authorization: Bearer <token>'.\n", 401,
                            {"WWW-Authenticate": 'Bearer realm="metrics"'}, mimetype="text/plain")
        return Response(metrics.render(store, settings.metrics_dir, settings.silent_after), mimetype=None,
                        headers={"Content-Type": metrics.CONTENT_TYPE})

    @app.after_request
    def count_request(response: Response) -> Response:
        rule = request.url_rule.rule if request.url_rule is not None else UNMATCHED_ROUTE
        metrics.API_REQUESTS.labels(route=rule, status=str(response.status_code)).inc()
        # The rule, not the path: a query string may carry anything, and the account is on the line already.
        log.debug("%s %s answered %d", request.method, rule, response.status_code)
        return response
