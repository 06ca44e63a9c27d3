"""The .qwc file a bookkeeper adds to the Web Connector, one per account.

QBWC enforces its own rules when the file is added (PROTOCOL.md §2); we refuse to
generate a file it would reject, saying why, instead of letting a bookkeeper discover
QBWC1010 on a Windows PC.
"""
from __future__ import annotations

import ipaddress
import re
from functools import lru_cache
from urllib.parse import urlsplit

import jinja2
from sqlalchemy.orm import Session

from ...config import Settings
from ...errors import Conflict
from ...resources import data_dir
from ...services.accounts import get_account, installation

SOAP_PATH = "/qbwc"
SUPPORT_PATH = "/support"
_GUID = re.compile(r"^\{[0-9A-F]{8}-[0-9A-F]{4}-[0-9A-F]{4}-[0-9A-F]{4}-[0-9A-F]{12}\}$")


class QwcRefused(ValueError):
    """The public URL would make QBWC reject the file; the message says why and what to set."""


def check_public_url(public_url: str) -> None:
    """Raises: QwcRefused when QBWC would reject an AppURL on this host."""
    parts = urlsplit(public_url)
    host = parts.hostname or ""
    try:
        ipaddress.ip_address(host)
    except ValueError:
        pass
    else:
        raise QwcRefused(
            f"QBWC_BRIDGE_PUBLIC_URL uses the IP address {host}; the Web Connector refuses IP addresses "
            "(QBWC1001/1002). Use a host name (localhost for a local test)."
        )
    if parts.scheme != "https" and host != "localhost":
        raise QwcRefused(
            f"QBWC_BRIDGE_PUBLIC_URL is {public_url}; the Web Connector only accepts https for hosts other "
            "than localhost (QBWC1010/1051). Put the bridge behind TLS and set an https:// URL."
        )


def app_url(settings: Settings) -> str:
    return settings.public_url + SOAP_PATH


def support_url(settings: Settings) -> str:
    return settings.public_url + SUPPORT_PATH


@lru_cache(maxsize=1)
def _template() -> jinja2.Template:
    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(str(data_dir("qwc"))),
        autoescape=True,
        undefined=jinja2.StrictUndefined,
    )
    return env.get_template("bridge.qwc.j2")


def render_qwc(session: Session, settings: Settings, account_id: int) -> str:
    """The .qwc text for a Desktop account.

    Raises:
        QwcRefused: the public URL would be rejected by QBWC.
        NotFound: no such account. Conflict: not a Desktop account.
    """
    check_public_url(settings.public_url)
    account = get_account(session, account_id)
    if account.credential is None:
        raise Conflict(f"account {account_id} connects to QuickBooks Online: it has no .qwc file")
    owner_id = installation(session).owner_id
    assert _GUID.match(owner_id) and _GUID.match(account.file_id), "GUIDs are generated in braces, upper case"
    return _template().render(
        # QBWC keys applications by AppName: one per account, so two accounts can share a PC.
        app_name=f"BlueTrace - {account.name} ({account.id})",
        app_url=app_url(settings),
        description=f"Sends BlueTrace packed orders to QuickBooks as invoices for {account.name}",
        support_url=support_url(settings),
        username=account.credential.username,
        owner_id=owner_id,
        file_id=account.file_id,
        run_every_minutes=settings.run_every_minutes,
    )


def qwc_filename(account_name: str, account_id: int) -> str:
    slug = re.sub(r"[^A-Za-z0-9]+", "-", account_name).strip("-")[:40] or "account"
    return f"bluetrace-{slug}-{account_id}.qwc"
