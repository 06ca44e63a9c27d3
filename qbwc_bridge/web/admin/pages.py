"""What every admin view shares: a unit of work, error pages in plain words, safe redirects.

Errors never show a stack trace: a domain error becomes a page (or, after a form, a
message on the page the person came from) that says what happened and what to do.
"""
from __future__ import annotations

import contextlib
import logging
from collections.abc import Callable, Iterator
from urllib.parse import urlsplit

from flask import Blueprint, current_app, flash, redirect, render_template, request
from sqlalchemy.orm import Session
from werkzeug.exceptions import BadRequest, HTTPException

from ...config import Settings
from ...errors import BridgeError, Conflict, NeedsPerson, NotFound
from ...services import pagination
from ...services.validation import InvalidInput
from ...store.db import database_unavailable

log = logging.getLogger(__name__)

_TITLES = {
    400: "The request was not understood",
    403: "Not allowed",
    404: "Not found",
    405: "Not allowed",
    409: "That clashes with existing data",
    422: "That cannot be done yet",
}
_MESSAGES = {
    403: "Your login does not give access to this page.",
    404: "There is no such page, or your login does not give access to it.",
}


def settings() -> Settings:
    return current_app.extensions["qbwc_bridge.settings"]


@contextlib.contextmanager
def unit_of_work() -> Iterator[Session]:
    """One transaction: committed when the block ends, rolled back when it raises."""
    with current_app.extensions["qbwc_bridge.store"].begin() as db:
        yield db


def error_page(status: int, message: str | None = None, action: str | None = None):
    return (
        render_template(
            "admin/error.html",
            title=_TITLES.get(status, "Something went wrong"),
            message=message or _MESSAGES.get(status, ""),
            action=action,
        ),
        status,
    )


def explain(exc: BridgeError) -> str:
    """A domain error in plain words, with its action when it has one."""
    text = exc.explanation
    if exc.action and exc.action not in text:
        text = f"{text} {exc.action}"
    return text


def page_number() -> int:
    """``?page=`` of a paged list.

    Raises:
        BadRequest: the 400 page, when it is not a page number (a hand-edited URL, not something to fix first).
    """
    try:
        return pagination.page_number(request.args.get("page"))
    except InvalidInput as exc:
        raise BadRequest(exc.explanation) from None


def back(default: str) -> str:
    """The admin page a form came from (its ``back`` field), else ``default``; never another site."""
    target = request.form.get("back") or ""
    if target.startswith("/admin") and not target.startswith("//") and "\\" not in target:
        return target
    return default


def act(default_back: str, success: str, action: Callable[[Session], object]):
    """Run ``action(db)`` in one unit of work, then go back with ``success`` or the refusal as a message.

    Domain refusals (a SKU clash, a missing setting, a record that vanished) are shown on
    the page the person came from, in plain words; nothing is changed when one occurs.
    """
    try:
        with unit_of_work() as db:
            action(db)
    except (NeedsPerson, Conflict, NotFound) as exc:
        flash(explain(exc), "error")
    else:
        flash(success, "success")
    return redirect(back(default_back))


#: The admin loads only its own files and may not be framed: a page that resets a password
#: or changes settings must not be clickable through someone else's site.
SECURITY_HEADERS = {
    "X-Frame-Options": "DENY",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "same-origin",
}


def content_security_policy(settings: Settings) -> str:
    """Our own files only, never framed; forms post to us, and on to Intuit's consent page.

    Connect and Reconnect (QuickBooks Online) are forms whose answer redirects to Intuit's
    consent page, and browsers hold that redirect to ``form-action`` too.
    """
    intuit = urlsplit(settings.qbo_authorize_url)
    return (f"default-src 'self'; frame-ancestors 'none'; form-action 'self' {intuit.scheme}://{intuit.netloc}; "
            "base-uri 'none'")


def install_security_headers(blueprint: Blueprint) -> None:
    @blueprint.after_request
    def _headers(response):
        response.headers.setdefault("Content-Security-Policy", content_security_policy(settings()))
        for name, value in SECURITY_HEADERS.items():
            response.headers.setdefault(name, value)
        return response


def install_error_pages(blueprint: Blueprint) -> None:
    """HTML error pages for ``blueprint``'s views, in the same words as the rest of the admin."""

    @blueprint.errorhandler(HTTPException)
    def _http(exc: HTTPException):
        if exc.response is not None:  # a view built its own answer (e.g. the CSRF refusal)
            return exc.response
        return error_page(exc.code or 500, _MESSAGES.get(exc.code or 0) or exc.description)

    @blueprint.errorhandler(NotFound)
    def _not_found(exc: NotFound):
        return error_page(404, explain(exc))

    @blueprint.errorhandler(Conflict)
    def _conflict(exc: Conflict):
        return error_page(409, explain(exc))

    @blueprint.errorhandler(NeedsPerson)
    def _needs_person(exc: NeedsPerson):
        return error_page(422, explain(exc))

    @blueprint.errorhandler(Exception)
    def _unexpected(exc: Exception):
        if database_unavailable(exc):
            log.warning("admin request %s %s: the database is unavailable (%s)", request.method, request.path,
                        type(exc).__name__)
            return error_page(503, "The bridge's database is unavailable for a moment; nothing was changed.",
                              "Try again in a minute.")
        log.exception("admin request failed: %s %s", request.method, request.path)
        return error_page(
            500,
            "The bridge could not show this page. The problem has been logged.",
            "Try again in a minute; if it keeps happening, contact BlueTrace support.",
        )
