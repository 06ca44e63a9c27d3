"""/api/v1 connect and disconnect: BlueTrace's own app starts a QuickBooks Online connect, or ends a link.

``POST /connect/online`` answers Intuit's consent URL; BlueTrace's app opens it in the
person's browser, which comes back to ``/qbo/callback`` (no cookie of ours needed: the
state names the account). ``DELETE /connection`` disconnects either kind of account.
"""
from __future__ import annotations

from flask import Blueprint, current_app

from ...backends.desktop import credentials
from ...backends.online import connection as online_connection
from ...config import Settings
from ...services import accounts as account_service
from ...services.status import account_status
from ...store.models import AccountKind
from .base import api_route, component
from .overview import STATUS

AUTHORIZE = component(
    "ConnectOnline",
    {
        "type": "object",
        "required": ["authorize_url"],
        "properties": {
            "authorize_url": {
                "type": "string", "format": "uri",
                "description": "Intuit's consent page; open it in the person's browser. Valid for 10 minutes, once.",
            },
        },
    },
)


def _settings() -> Settings:
    return current_app.extensions["qbwc_bridge.settings"]


def register(blueprint: Blueprint) -> None:
    """Declare the connect and disconnect routes on the API blueprint."""

    @api_route(
        blueprint, "POST", "/connect/online", tag="Connection", response_schema=AUTHORIZE, request_required=False,
        summary="Start connecting a QuickBooks Online company: Intuit's consent URL",
        description="The person signs in to Intuit and picks a company; Intuit sends the browser back to the "
        "bridge's /qbo/callback, which stores the connection and queues the initial sync (status Connecting). "
        "409 for a QuickBooks Desktop account; 422 when the bridge has no Intuit app keys.",
        responses={"409": "A QuickBooks Desktop account", "422": "QuickBooks Online is not set up on this bridge"},
    )
    def connect_online(db, account_id):
        account = account_service.get_account(db, account_id)
        return {"authorize_url": online_connection.start_connect(db, _settings(), account)}

    @api_route(
        blueprint, "DELETE", "/connection", tag="Connection", response_schema=STATUS,
        summary="Disconnect from QuickBooks; answers the new status (Not connected)",
        description="QuickBooks Online: the authorization is revoked at Intuit (best effort) and the tokens are "
        "deleted. QuickBooks Desktop: the Web Connector's password is replaced (its next run is refused) and its "
        "open sessions end; the .qwc file, the mirrored lists and the matches stay, for connecting again.",
    )
    def disconnect(db, account_id):
        settings = _settings()
        account = account_service.get_account(db, account_id)
        if account.kind == AccountKind.ONLINE.value:
            online_connection.disconnect(db, settings, account)
        else:
            credentials.disconnect_web_connector(db, account_id, inflight_timeout=settings.inflight_timeout)
        return account_status(db, account_id, silent_after=settings.silent_after)
