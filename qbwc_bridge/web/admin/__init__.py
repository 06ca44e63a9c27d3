"""Settings > Integration: the admin bookkeepers and support staff use, server-rendered HTML.

One blueprint per area, all under ``/admin``: :mod:`.auth` (login, logout, who may see
what), :mod:`.integration` (one account's page: Connect, status, the General, Items,
Customers and Invoices tabs) and :mod:`.support` (every account's health, sessions and
exchange logs). Templates and static files live in the ``admin_ui`` data package.
Views hold no rules of their own: they call ``qbwc_bridge.services`` and ``qbwc_bridge.sync``,
the same functions the JSON API calls, so the two never disagree.
"""
from __future__ import annotations

import datetime as dt

from flask import Blueprint, Flask, redirect, url_for
from markupsafe import Markup

from ...resources import data_dir
from ...store.models import utcnow
from . import auth, csrf, integration, pages, support


def register_admin(app: Flask) -> None:
    """Add the admin to the Flask app (which carries the store and settings in ``extensions``)."""
    auth.dummy_hash()  # the first login for an unknown email must not be the slow one
    ui = data_dir("admin_ui")
    # Templates and static files only; its URL prefix serves /admin/static/...
    assets = Blueprint(
        "admin",
        __name__,
        url_prefix="/admin",
        template_folder=str(ui / "templates"),
        static_folder=str(ui / "static"),
        static_url_path="/static",
    )
    pages.install_security_headers(assets)
    app.register_blueprint(assets)
    for blueprint in (auth.bp, integration.bp, support.bp):
        app.register_blueprint(blueprint)

    app.add_url_rule("/", "root", lambda: redirect(url_for("admin_integration.index")))
    app.jinja_env.filters["when"] = when
    app.jinja_env.filters["ago"] = ago

    @app.context_processor
    def _admin_context():
        return {"csrf_token": csrf.token, "viewer": auth.current_viewer}


def ago(moment: dt.datetime | None, now: dt.datetime | None = None) -> str:
    """'3 minutes ago' for a person scanning a page; the exact time is in :func:`when`'s title."""
    if moment is None:
        return "never"
    seconds = int(((now or utcnow()) - moment).total_seconds())
    if abs(seconds) < 60:
        return "just now"
    # A moment ahead (when an authorization expires) reads "in 99 days", not "just now".
    ahead, seconds = seconds < 0, abs(seconds)
    for size, unit in ((86400, "day"), (3600, "hour"), (60, "minute")):
        if seconds >= size:
            count = seconds // size
            span = f"{count} {unit}{'' if count == 1 else 's'}"
            return f"in {span}" if ahead else f"{span} ago"
    return "just now"


def when(moment: dt.datetime | str | None) -> Markup:
    """A <time> element: relative words, the exact UTC time on hover and for screen readers."""
    if moment is None:
        return Markup("never")
    if isinstance(moment, str):
        moment = dt.datetime.fromisoformat(moment)
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=dt.timezone.utc)
    exact = moment.astimezone(dt.timezone.utc).strftime("%Y-%m-%d %H:%M:%S UTC")
    return Markup('<time datetime="{}" title="{}">{}</time>').format(moment.isoformat(), exact, ago(moment))
