"""Cross-site request forgery protection for the admin's forms: one token per session.

Every page that shows a form puts :func:`token` into a hidden ``csrf_token`` field;
every POST to an admin blueprint must send it back (or the ``X-CSRF-Token`` header,
for the few lines of JavaScript). A missing or wrong token is refused with a plain 400
page before the view runs, so no view can forget the check. SameSite=Lax cookies
already stop most cross-site posts; the token also covers old browsers and
same-site subdomains. The token changes at login and logout (see :func:`rotate`).
"""
from __future__ import annotations

import hmac
import secrets

from flask import Blueprint, Response, abort, render_template, request, session

SESSION_KEY = "csrf"
FORM_FIELD = "csrf_token"
HEADER = "X-CSRF-Token"
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


def token() -> str:
    """This session's token, created on first use (a login page creates it before login)."""
    value = session.get(SESSION_KEY)
    if not value:
        value = session[SESSION_KEY] = secrets.token_urlsafe(32)
    return value


def rotate() -> str:
    """A fresh token: called when the session changes hands (login, logout)."""
    session[SESSION_KEY] = secrets.token_urlsafe(32)
    return session[SESSION_KEY]


def check() -> None:
    """Abort with a plain 400 page unless an unsafe request carries this session's token."""
    if request.method in SAFE_METHODS:
        return
    sent = request.form.get(FORM_FIELD) or request.headers.get(HEADER) or ""
    expected = session.get(SESSION_KEY) or ""
    if not expected or not sent or not hmac.compare_digest(sent.encode(), expected.encode()):
        abort(
            Response(
                render_template(
                    "admin/error.html",
                    title="This form was refused",
                    message=(
                        "The form did not carry this session's security token, so nothing was changed. "
                        "This happens when a page was open for a long time, after logging in again, or when "
                        "another site tried to send the form."
                    ),
                    action="Go back, reload the page and try again.",
                ),
                status=400,
                mimetype="text/html",
            )
        )


def protect(blueprint: Blueprint) -> None:
    """Check the token on every unsafe request to ``blueprint``, before its views run."""
    blueprint.before_request(check)
