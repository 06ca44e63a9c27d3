"""The fake Intuit over HTTP (WSGI, werkzeug): consent page, token endpoints, Accounting API.

Paths are Intuit's, on one host: ``/connect/oauth2`` (appcenter.intuit.com),
``/oauth2/v1/tokens/bearer`` (oauth.platform.intuit.com), ``/v2/oauth2/tokens/revoke``
(developer.api.intuit.com) and ``/v3/company/<realm>/...`` (quickbooks.api.intuit.com).
Every answer carries an ``intuit_tid`` header, as Intuit's do.

Rules checked on every Accounting call, in Intuit's order as far as we know it: a valid
bearer token for that company (401 / 3200 otherwise), the company's limits (429 / 3001),
then the injected faults, then the call itself. A call without ``minorversion`` (or below
75) or without ``Accept: application/json`` is answered anyway but recorded as a
violation (the real service answers XML without that header, which a JSON client cannot
read). A write without ``requestid`` is recorded too.
"""
from __future__ import annotations

import json
import secrets
from collections.abc import Iterable
from datetime import date, datetime
from decimal import Decimal
from typing import Any
from urllib.parse import urlencode

from werkzeug.exceptions import HTTPException, NotFound
from werkzeug.routing import Map, Rule
from werkzeug.wrappers import Request, Response

from . import accounting, faults
from .authorization import SCOPE_ACCOUNTING, AccessDenied, ConsentError, OAuthError
from .clock import PACIFIC, envelope_time
from .company import FakeCompany
from .consent import consent_page, error_page
from .intuit import FakeIntuit, LoggedRequest

LOST_ANSWER_PAGE = "<html><body><h1>504 Gateway Time-out</h1>The server didn't respond in time.</body></html>"
UNAVAILABLE_PAGE = "<html><body><h1>503 Service Unavailable</h1>No server is available to handle this request.</body></html>"

# Intuit ignores minor versions below 75 since August 2025 (PROTOCOL §5).
MINOR_VERSION = 75

URLS = Map([
    Rule("/connect/oauth2", endpoint="consent", methods=["GET", "POST"]),
    Rule("/oauth2/v1/tokens/bearer", endpoint="tokens", methods=["POST"]),
    Rule("/v2/oauth2/tokens/revoke", endpoint="revoke", methods=["POST"]),
    Rule("/v3/company/<realm>/<path:rest>", endpoint="api", methods=["GET", "POST"]),
])


def make_app(intuit: FakeIntuit) -> "FakeIntuitApp":
    return FakeIntuitApp(intuit)


def to_json(value: Any) -> Any:
    if isinstance(value, Decimal):
        return int(value) if value == value.to_integral_value() and value.as_tuple().exponent >= 0 else float(value)
    if isinstance(value, (date, datetime)):
        return value.isoformat()
    raise TypeError(f"not JSON: {type(value).__name__}")


def json_response(body: Any, status: int = 200, headers: dict[str, str] | None = None) -> Response:
    return Response(json.dumps(body, default=to_json, separators=(",", ":")), status=status,
                    mimetype="application/json", headers=headers)


class FakeIntuitApp:
    def __init__(self, intuit: FakeIntuit) -> None:
        self.intuit = intuit

    def __call__(self, environ: dict[str, Any], start_response: Any) -> Iterable[bytes]:
        request = Request(environ)
        tid = f"1-{secrets.token_hex(4)}-{secrets.token_hex(12)}"
        realm: str | None = None
        try:
            endpoint, values = URLS.bind_to_environ(environ).match()
            realm = values.get("realm")
            response = getattr(self, endpoint)(request, **values)
        except NotFound:
            response = json_response(faults.unsupported_operation(request.path).body(self._time()), 400)
        except HTTPException as exc:
            response = exc.get_response(environ)
        response.headers["intuit_tid"] = tid
        had_request_id = bool(request.args.get("requestid"))
        self.intuit.record(LoggedRequest(request.method, request.full_path.rstrip("?"), response.status_code,
                                         had_request_id, tid, realm))
        return response(environ, start_response)

    def _time(self, realm: str | None = None) -> str:
        company = self.intuit.companies.get(realm or "")
        return envelope_time(self.intuit.clock(), company.settings.zone if company else PACIFIC)

    # --- OAuth 2 -------------------------------------------------------------------------------

    def consent(self, request: Request) -> Response:
        source = request.form if request.method == "POST" else request.args
        parameters = {key: source.get(key, "") for key in ("client_id", "redirect_uri", "response_type", "scope",
                                                             "state")}
        with self.intuit.lock:
            try:
                self.intuit.authorization.check_consent_request(parameters["client_id"], parameters["redirect_uri"])
            except ConsentError as exc:
                return Response(error_page(str(exc)), status=400, mimetype="text/html")
            problem = self._consent_problem(parameters)
            if problem:
                return self._redirect_back(parameters, {"error": problem, "state": parameters["state"]})
            if request.method == "GET":
                companies = [(realm, c.settings.name) for realm, c in self.intuit.companies.items()]
                page = consent_page(parameters["client_id"], parameters, companies, self.intuit.consent_realm)
                return Response(page, mimetype="text/html")
            if source.get("decision") != "approve":
                return self._redirect_back(parameters, {"error": "access_denied", "state": parameters["state"]})
            realm = source.get("realm", "")
            if realm not in self.intuit.companies:
                return Response(error_page(f"No company {realm!r}."), status=400, mimetype="text/html")
            code = self.intuit.authorization.issue_code(parameters["client_id"], parameters["redirect_uri"], realm)
        return self._redirect_back(parameters, {"code": code, "state": parameters["state"], "realmId": realm})

    @staticmethod
    def _consent_problem(parameters: dict[str, str]) -> str | None:
        if parameters["response_type"] != "code":
            return "unsupported_response_type"
        if SCOPE_ACCOUNTING not in parameters["scope"].split():
            return "invalid_scope"
        if not parameters["state"]:
            return "invalid_request"  # Intuit requires a state (CSRF); our decision to refuse without one.
        return None

    @staticmethod
    def _redirect_back(parameters: dict[str, str], query: dict[str, str]) -> Response:
        uri = parameters["redirect_uri"]
        separator = "&" if "?" in uri else "?"
        return Response(status=302, headers={"Location": uri + separator + urlencode(query)})

    def tokens(self, request: Request) -> Response:
        try:
            with self.intuit.lock:
                app = self._authenticate_app(request)
                grant_type = request.form.get("grant_type", "")
                if grant_type == "authorization_code":
                    answer = self.intuit.authorization.exchange_code(
                        app, request.form.get("code", ""), request.form.get("redirect_uri", ""))
                elif grant_type == "refresh_token":
                    answer = self.intuit.authorization.refresh(app, request.form.get("refresh_token", ""))
                else:
                    raise OAuthError(400, "unsupported_grant_type")
        except OAuthError as exc:
            return json_response(exc.body(), exc.status)
        return json_response(answer, headers={"Cache-Control": "no-store", "Pragma": "no-cache"})

    def revoke(self, request: Request) -> Response:
        body = request.get_json(silent=True) if request.is_json else None
        token = (body or {}).get("token") or request.form.get("token", "")
        try:
            with self.intuit.lock:
                app = self._authenticate_app(request)
                if not token:
                    raise OAuthError(400, "invalid_request", "token missing")
                self.intuit.authorization.revoke(app, token)
        except OAuthError as exc:
            return json_response(exc.body(), exc.status)
        return Response(status=200)

    def _authenticate_app(self, request: Request) -> Any:
        credentials = request.authorization
        if credentials is None or credentials.type != "basic":
            raise OAuthError(401, "invalid_client", "HTTP Basic client authentication required")
        return self.intuit.authorization.authenticate_app(credentials.username, credentials.password)

    # --- Accounting API -----------------------------------------------------------------------

    def api(self, request: Request, realm: str, rest: str) -> Response:
        intuit = self.intuit
        minor_version = request.args.get("minorversion", "")
        if not minor_version.isdigit() or int(minor_version) < MINOR_VERSION:
            intuit.violate("minorversion", request.method, request.path, realm)
        if "application/json" not in request.headers.get("Accept", ""):
            intuit.violate("accept", request.method, request.path, realm)
        with intuit.lock:
            try:
                granted_realm = intuit.authorization.realm_of(_bearer(request))
            except AccessDenied as exc:
                return self._unauthorized(exc.detail)
            company = intuit.companies.get(realm)
            if granted_realm != realm or company is None:
                return self._forbidden(realm)
            wait = intuit.limits.enter(realm, batch=rest.strip("/") == "batch")
        try:
            if wait is not None:
                headers = {"Retry-After": str(int(wait))} if intuit.retry_after and wait else None
                return json_response(faults.throttled().body(self._time(realm)), 429, headers)
            intuit.wait_at_gates(realm)
            return self._call(request, realm, rest)
        finally:
            with intuit.lock:
                intuit.limits.leave(realm)

    def _call(self, request: Request, realm: str, rest: str) -> Response:
        intuit = self.intuit
        company = intuit.companies[realm]
        segments = rest.strip("/").split("/")
        writing = accounting.is_write(request.method, segments)
        with intuit.lock:
            fired = intuit.faults.draw(realm, writing)
            if fired == "expire_token":
                intuit.authorization.expire_access_tokens(realm)
                return self._unauthorized(f"Token expired: {(_bearer(request) or '')[:50]}")
            if fired == "throttle":
                return json_response(faults.throttled().body(self._time(realm)), 429)
            if fired == "unavailable":
                return Response(UNAVAILABLE_PAGE, status=503, mimetype="text/html")
            if not writing:
                return self._read(request, company, segments)
            status, text = self._write(request, company, segments, forget=fired == "forget_request_ids")
        if fired == "lose_answer":
            return Response(LOST_ANSWER_PAGE, status=504, mimetype="text/html")
        return Response(text, status=status, mimetype="application/json")

    def _read(self, request: Request, company: FakeCompany, segments: list[str]) -> Response:
        try:
            if request.method != "GET":
                raise faults.unsupported_operation(request.path)
            body = accounting.read(company, segments, request.args.to_dict(), request.path)
        except faults.Fault as fault:
            return json_response(fault.body(self._time(company.realm)), fault.status)
        return json_response({**body, "time": self._time(company.realm)})

    def _write(self, request: Request, company: FakeCompany, segments: list[str], forget: bool) -> tuple[int, str]:
        """Apply a write once per requestid: a known requestid replays the stored answer.

        Everything QuickBooks processed is remembered, refusals included (Intuit replays
        "the original status and body"); throttled and unavailable calls were never
        processed, so they are not.
        """
        request_id = request.args.get("requestid", "")
        if not request_id:
            self.intuit.violate("requestid", request.method, request.path, company.realm)
        if forget:
            company.answers_by_request_id.clear()
        if request_id in company.answers_by_request_id:
            return company.answers_by_request_id[request_id]
        try:
            if not request.is_json:
                raise faults.invalid_content_type(request.content_type or "")
            try:
                body = json.loads(request.get_data(), parse_float=Decimal)
            except ValueError as exc:
                raise faults.unparsable_body(str(exc)) from None
            answer = {**accounting.write(company, segments, request.args.to_dict(), body, request.path),
                      "time": self._time(company.realm)}
            status = 200
        except faults.Fault as fault:
            answer, status = fault.body(self._time(company.realm)), fault.status
        result = status, json.dumps(answer, default=to_json, separators=(",", ":"))
        if request_id:
            company.remember_answer(request_id, result)
        return result

    def _unauthorized(self, detail: str) -> Response:
        millis = int(self.intuit.clock().timestamp() * 1000)
        return json_response(faults.authentication_body(detail, millis), 401,
                             {"WWW-Authenticate": 'Bearer realm="Intuit", error="invalid_token"'})

    def _forbidden(self, realm: str) -> Response:
        # Our decision (not recorded): a token of another company is Intuit's 403 / 3100.
        fault = faults.Fault(403, "3100", "message=ApplicationAuthorizationFailed; errorCode=003100; statusCode=403",
                             f"The app is not authorized for company {realm}", fault_type="SecurityFault")
        return json_response(fault.body(self._time()), 403)


def _bearer(request: Request) -> str | None:
    header = request.headers.get("Authorization", "")
    scheme, _, token = header.partition(" ")
    return token.strip() if scheme.lower() == "bearer" else None
