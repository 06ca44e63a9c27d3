"""Where Intuit sends a person's browser: back from the consent page, and after a disconnect.

``GET /qbo/disconnected`` is the app's "Disconnect URL": Intuit opens it when a company removes
BlueTrace in QuickBooks Online's My Apps. It says what happened and how to connect again, and has
the worker check that company's connection now (``check_after_disconnect``); being open to anyone,
it deletes or changes nothing itself.

``GET /qbo/callback``: where Intuit sends the person's browser back after the consent page.

This is the redirect URI registered for BlueTrace's app. The ``state`` says which account
the connect is for (BlueTrace's app may have started it, so our admin cookie may be
missing); :func:`qbwc_bridge.backends.online.connection.finish_connect` checks it, stores
the connection and queues the initial sync. A refusal is a 4xx page saying why in plain
words; success goes to the account's integration page, which reads Connecting.
"""
from __future__ import annotations

import logging

from flask import Blueprint, current_app, flash, redirect, render_template, request, url_for

from ..backends.online.connection import ConnectRefused, check_after_disconnect, finish_connect
from ..config import QBO_CALLBACK_PATH, QBO_DISCONNECTED_PATH
from ..store.models import utcnow
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
    flash(f"QuickBooks Online company {connected.realm_id} {'connected again' if connected.reconnected else 'connected'}. "
          "BlueTrace is reading its lists now.", "success")
    return redirect(url_for("admin_integration.general", account_id=connected.account_id))


def _refusal(status: int, reason: str):
    page = render_template("admin/error.html", title="QuickBooks was not connected", message=reason,
                           action="Open Settings › Integration in BlueTrace and click Connect again.")
    return page, status, {"Cache-Control": "no-store", "Content-Type": "text/html; charset=utf-8"}


@bp.get(QBO_DISCONNECTED_PATH)
def disconnected():
    store = current_app.extensions["qbwc_bridge.store"]
    with store.begin() as db:
        if check_after_disconnect(db, request.args.get("realmId"), utcnow()):
            log.info("Intuit's Disconnect URL was opened for a connected company: its connection is checked now")
    page = render_template(
        "admin/error.html", title="BlueTrace is disconnected from QuickBooks Online",
        message="BlueTrace no longer has access to this QuickBooks Online company, so no invoices or changes "
                "reach it. Nothing is lost: packed orders wait in BlueTrace.",
        action="To connect again, open Settings › Integration in BlueTrace and click Reconnect, then sign in "
               "to Intuit as a QuickBooks administrator.")
    return page, 200, {"Cache-Control": "no-store", "Content-Type": "text/html; charset=utf-8"}
