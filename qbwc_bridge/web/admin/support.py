"""Support staff's pages: every account's health, failing webhook endpoints, Web Connector sessions and their logs.

Support may also download any Desktop account's .qwc and reset its Web Connector
password; those actions are the integration page's own (``admin_integration.qwc`` and
``admin_integration.reset_password``), which let support through for every account.
"""
from __future__ import annotations

from flask import Blueprint, render_template, request

from ...backends.desktop import session_history
from ...services import diagnostics
from ...services.accounts import get_account
from ...webhooks.endpoints import failing_endpoints
from . import csrf, pages
from .auth import support_required
from .pages import page_number, settings, unit_of_work

bp = Blueprint("admin_support", __name__, url_prefix="/admin/support")
csrf.protect(bp)
pages.install_error_pages(bp)
pages.install_security_headers(bp)


@bp.get("/")
@support_required
def accounts():
    search = request.args.get("q", "").strip()
    with unit_of_work() as db:
        rows = diagnostics.account_health(db, search=search or None, silent_after=settings().silent_after)
        failing = failing_endpoints(db)
    names = {row.account_id: row.name for row in rows}
    return render_template("admin/support/accounts.html", rows=rows, search=search, failing=failing, names=names)


@bp.get("/accounts/<int:account_id>")
@support_required
def account(account_id: int):
    page = page_number()
    with unit_of_work() as db:
        target = get_account(db, account_id)
        sessions = session_history.list_sessions(db, account_id, page=page)
        logins = diagnostics.logins_log(db, account_id, limit=20)
        return render_template("admin/support/account.html", account=target, sessions=sessions, logins=logins)


@bp.get("/accounts/<int:account_id>/sessions/<int:session_id>")
@support_required
def session_log(account_id: int, session_id: int):
    with unit_of_work() as db:
        target = get_account(db, account_id)
        ws, entries = session_history.session_log(db, account_id, session_id)
        return render_template("admin/support/session.html", account=target, ws=ws, entries=entries)
