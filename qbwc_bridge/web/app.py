"""The WSGI application: the SOAP endpoint at /qbwc and the Flask app for everything else.

``create_app(settings)`` is the composition root: it builds the store and the services
once and hands them to the parts that need them. Nothing here runs at import time.
"""
from __future__ import annotations

from flask import Flask, Response
from werkzeug.middleware.dispatcher import DispatcherMiddleware

from ..backends.desktop.qwc import SOAP_PATH, SUPPORT_PATH
from ..backends.desktop.web_connector import WebConnectorService
from ..config import Settings
from ..logs import run_in_fresh_context
from ..store.db import Store, check_connection, database_unavailable
from .admin import register_admin
from . import input_guard
from .api import create_api_blueprint
from .metrics_endpoint import register_metrics
from . import qbo_callback
from .soap import SoapEndpoint


def create_flask_app(settings: Settings, store: Store) -> Flask:
    app = Flask(__name__, static_folder=None)
    app.config.update(
        SECRET_KEY=settings.secret_key,
        MAX_CONTENT_LENGTH=settings.max_body_bytes,
        SESSION_COOKIE_HTTPONLY=True,
        SESSION_COOKIE_SAMESITE="Lax",
        SESSION_COOKIE_SECURE=settings.secure_cookies,
    )
    app.extensions["qbwc_bridge.settings"] = settings
    app.extensions["qbwc_bridge.store"] = store
    input_guard.install(app)  # before the blueprints, so their <int:...> rules use its bounded converter
    app.register_blueprint(create_api_blueprint(store))
    register_admin(app)
    app.register_blueprint(qbo_callback.bp)
    register_metrics(app, settings, store)

    @app.get("/healthz")
    def healthz():
        try:
            check_connection(store)
        except Exception as error:
            if not database_unavailable(error):
                raise
            return {"status": "unavailable", "reason": "the database does not answer"}, 503, {"Retry-After": "10"}
        return {"status": "ok"}

    @app.get(SUPPORT_PATH)
    def support():
        # The .qwc's AppSupport URL: QBWC requires it to answer 200 on the AppURL's host.
        return Response(
            "<!doctype html><title>BlueTrace QuickBooks bridge - support</title>"
            "<h1>BlueTrace QuickBooks bridge</h1>"
            "<p>This server connects BlueTrace to QuickBooks through the QuickBooks Web Connector. "
            "If the Web Connector shows an error, open Settings &gt; Integration in BlueTrace: it explains "
            "what happened and what to do. For help, contact BlueTrace support.</p>",
            mimetype="text/html",
        )

    return app


class BridgeApp:
    """The composite WSGI callable, keeping handles tests and the CLI need."""

    def __init__(self, settings: Settings, store: Store | None = None):
        self.settings = settings
        self.store = store or Store.from_settings(settings)
        self.web_connector = WebConnectorService(self.store, settings)
        self.flask = create_flask_app(settings, self.store)
        self._wsgi = DispatcherMiddleware(
            self.flask.wsgi_app, {SOAP_PATH: SoapEndpoint(self.web_connector, settings.max_body_bytes, settings.trusted_proxies)}
        )

    def __call__(self, environ, start_response):
        return run_in_fresh_context(self._wsgi, environ, start_response)


def create_app(settings: Settings, store: Store | None = None) -> BridgeApp:
    return BridgeApp(settings, store)
