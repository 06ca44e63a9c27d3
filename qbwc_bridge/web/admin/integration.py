"""One account's Settings > Integration page: Connect, the status, and the four tabs.

URLs (all under ``/admin/accounts/<id>``): ``/`` and ``/general``, ``/items``,
``/customers``, ``/invoices`` (the tabs), ``/status`` (the status panel alone, polled
while Connecting), ``/connect`` (QuickBooks Online or Desktop), ``/connect/online`` (GET: the Online page;
POST: off to Intuit's consent page), ``/connect/desktop`` (the Web Connector steps),
``/qwc`` (the file), ``/web-connector-password`` (POST: a new password, shown once),
``/disconnect`` (POST: either kind). Form actions redirect back to the page they came from
(post/redirect/get) with the outcome as a message.
"""
from __future__ import annotations

from collections.abc import Callable

from flask import Blueprint, Response, redirect, render_template, url_for

from ...backends.desktop import credentials
from ...backends.desktop.qwc import QwcRefused, app_url, qwc_filename, render_qwc
from ...backends.online import connection as online_connection
from ...services import accounts as account_service
from ...services.status import account_status
from ...store.models import AccountKind
from . import csrf, pages, tabs
from .auth import current_viewer, login_required, require_account
from .pages import act, back, error_page, settings, unit_of_work

bp = Blueprint("admin_integration", __name__, url_prefix="/admin")
csrf.protect(bp)
pages.install_error_pages(bp)
pages.install_security_headers(bp)
tabs.register(bp)


@bp.get("/")
@login_required
def index():
    """Where /admin lands: a bookkeeper's own account, or support's list of every account."""
    viewer = current_viewer()
    if viewer.is_support:
        return redirect(url_for("admin_support.accounts"))
    return redirect(url_for("admin_integration.general", account_id=viewer.account_id))


# Pages that show one account and nothing else (the status panel too, for some), registered from one
# table: (URL under /accounts/<id>, endpoint that templates link to, template, with the status panel).
_ACCOUNT_PAGES = [
    ("/status", "status", "status", True),  # the status panel alone: polled while the account is Connecting
    ("/connect", "connect", "connect", True),
    ("/connect/online", "connect_online", "online", True),
]


def _account_page(template: str, with_status: bool) -> Callable:
    """The view of one page of `_ACCOUNT_PAGES`."""

    def view(account_id: int):
        require_account(account_id)
        with unit_of_work() as db:
            account = account_service.get_account(db, account_id)
            context = {}
            if with_status:
                context["status"] = account_status(db, account_id, silent_after=settings().silent_after, panel=True)
            return render_template(f"admin/integration/{template}.html", account=account, **context)

    return view


def _register_account_pages() -> None:
    for path, endpoint, template, with_status in _ACCOUNT_PAGES:
        view = login_required(_account_page(template, with_status))
        bp.add_url_rule(f"/accounts/<int:account_id>{path}", endpoint, view, methods=["GET"])


_register_account_pages()


@bp.get("/accounts/<int:account_id>/connect/desktop")
@login_required
def connect_desktop(account_id: int):
    require_account(account_id)
    with unit_of_work() as db:
        account = account_service.get_account(db, account_id)
        refusal = None
        if account.kind == AccountKind.DESKTOP.value:
            try:
                render_qwc(db, settings(), account_id)
            except QwcRefused as exc:
                refusal = str(exc)
        return render_template(
            "admin/integration/desktop.html",
            account=account,
            status=account_status(db, account_id, silent_after=settings().silent_after, panel=True),
            app_url=app_url(settings()),
            refusal=refusal,
        )


@bp.get("/accounts/<int:account_id>/qwc")
@login_required
def qwc(account_id: int):
    """The .qwc file the bookkeeper adds to the Web Connector."""
    require_account(account_id)
    with unit_of_work() as db:
        account = account_service.get_account(db, account_id)
        try:
            text = render_qwc(db, settings(), account_id)
        except QwcRefused as exc:
            return error_page(
                409,
                f"The .qwc file cannot be made yet: {exc}",
                "Ask whoever runs this bridge to set the public https address, then download the file again.",
            )
        filename = qwc_filename(account.name, account.id)
    return Response(
        text,
        mimetype="application/xml",
        headers={"Content-Disposition": f'attachment; filename="{filename}"', "Cache-Control": "no-store"},
    )


@bp.post("/accounts/<int:account_id>/web-connector-password")
@login_required
def reset_password(account_id: int):
    """A new Web Connector password, shown on this answer only (never stored in clear, never shown again)."""
    require_account(account_id)
    with unit_of_work() as db:
        account = account_service.get_account(db, account_id)
        password = credentials.reset_web_connector_password(db, account_id,
                                                                inflight_timeout=settings().inflight_timeout)
        username = account.credential.username
        name = account.name
    response = Response(
        render_template(
            "admin/integration/password.html",
            account_id=account_id,
            account_name=name,
            username=username,
            password=password,
            back=back(url_for("admin_integration.connect_desktop", account_id=account_id)),
        )
    )
    response.headers["Cache-Control"] = "no-store"
    return response


@bp.post("/accounts/<int:account_id>/connect/online")
@login_required
def start_online_connect(account_id: int):
    """Off to Intuit's consent page (Connect and Reconnect); Intuit sends the browser back to /qbo/callback."""
    require_account(account_id)
    with unit_of_work() as db:
        account = account_service.get_account(db, account_id)
        authorize_url = online_connection.start_connect(db, settings(), account)
    return redirect(authorize_url, code=303)


@bp.post("/accounts/<int:account_id>/disconnect")
@login_required
def disconnect(account_id: int):
    """QuickBooks Online: revoke at Intuit and delete the tokens. Desktop: refuse the Web Connector's password."""
    require_account(account_id)

    def disconnect_account(db) -> None:
        account = account_service.get_account(db, account_id)
        if account.kind == AccountKind.ONLINE.value:
            online_connection.disconnect(db, settings(), account)
        else:
            credentials.disconnect_web_connector(db, account_id, inflight_timeout=settings().inflight_timeout)

    return act(url_for("admin_integration.general", account_id=account_id),
               "Disconnected from QuickBooks. Nothing more is sent until you connect again.", disconnect_account)
