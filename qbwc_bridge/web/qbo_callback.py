"""``GET /qbo/callback``: where Intuit sends the person's browser back after the consent page.

This is the redirect URI registered for BlueTrace's app. The ``state`` says which account
the connect is for (BlueTrace's app may have started it, so our admin cookie may be
missing); :func:`qbwc_bridge.backends.online.connection.finish_connect` checks it, stores
the connection and queues the initial sync. A refusal is a 4xx page saying why in plain
words; success goes to the account's integration page, which reads Connecting.
"""
from __future__ import annotations

import logging

from flask import Blueprint, current_app, redirect, render_template, request, url_for

from ..backends.online.connection import ConnectRefused, finish_connect
from ..config import QBO_CALLBACK_PATH
from .admin import pages

log = logging.getLogger(__name__)

bp = Blueprint("qbo_callback", __name__)
pages.install_security_headers(bp)

# Intuit's own refusal, e.g. the person clicked Cancel on the consent page (error=access_denied).
_DECLINED = ("access_denied",)


@bp.get(QBO_CALLBACK_PATH)
def callback():
    args = request.args
    store, settings = current_app.extensions["qbwc_bridge.store"], current_app.extensions["qbwc_bridge.settings"]
    error = args.get("error")
    try:
        if error:
            # Use the state up all the same, so the link cannot be replayed with a forged code.
            finish_connect(store, settings, code=None, state=args.get("state"), realm_id=None)
        connected = finish_connect(store, settings, code=args.get("code"), state=args.get("state"),
                                   realm_id=args.get("realmId"))
    except ConnectRefused as refused:
        reason = refused.reason
        if error and refused.account_id is not None:
            reason = ("Intuit did not give BlueTrace access to a company"
                      f"{' (you chose not to allow it)' if error in _DECLINED else f' ({error})'}, so nothing was "
                      "connected. Start the connection again from BlueTrace when you are ready.")
        log.info("QuickBooks Online callback refused (HTTP %s): %s", refused.status, reason)
        return _refusal(refused.status, reason)
    return redirect(url_for("admin_integration.general", account_id=connected.account_id))


def _refusal(status: int, reason: str):
    page = render_template("admin/error.html", title="QuickBooks was not connected", message=reason,
                           action="Open Settings › Integration in BlueTrace and click Connect again.")
    return page, status, {"Cache-Control": "no-store", "Content-Type": "text/html; charset=utf-8"}
