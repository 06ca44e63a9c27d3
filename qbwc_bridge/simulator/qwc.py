"""Read a ``.qwc`` file and apply the rules QBWC enforces when a user adds it.

QBWC refuses, before any HTTP: a missing required element or a malformed GUID
(QBWC1039), an AppURL that is an IP address (QBWC1001) or an AppSupport that is
(QBWC1002), plain http to anything but ``localhost`` (QBWC1010), an AppSupport on
another host (QBWC1000). The HTTP checks (GET AppURL → QBWC1048, GET AppSupport →
QBWC1003/1004) belong to the connector.
"""
from __future__ import annotations

import ipaddress
import re
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

from lxml import etree

REQUIRED = ("AppName", "AppID", "AppURL", "AppDescription", "AppSupport", "UserName", "OwnerID", "FileID", "QBType")
_GUID = re.compile(r"\{[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}\}")


class QwcRejected(Exception):
    """QBWC would refuse to add this .qwc; ``code`` is what the user sees (QBWC1039...)."""

    def __init__(self, code: str, message: str):
        super().__init__(f"{code}: {message}")
        self.code = code
        self.message = message


@dataclass(frozen=True)
class QwcFile:
    """The parts of a .qwc the Web Connector uses."""

    app_name: str
    app_url: str
    app_support: str
    user_name: str
    owner_id: str
    file_id: str
    run_every_seconds: int | None = None

    @classmethod
    def read(cls, path: str | Path) -> "QwcFile":
        return cls.parse(Path(path).read_bytes())

    @classmethod
    def parse(cls, content: bytes | str) -> "QwcFile":
        """Parse and check a .qwc as QBWC does when it is added.

        Raises:
            QwcRejected: with the QBWC error code a user would see.
        """
        data = content.encode("utf-8") if isinstance(content, str) else content
        parser = etree.XMLParser(resolve_entities=False, no_network=True, load_dtd=False)
        try:
            root = etree.fromstring(data, parser)
        except etree.XMLSyntaxError as error:
            raise QwcRejected("QBWC1039", f"There was a problem adding the application: the .qwc is not "
                                          f"well-formed XML ({error}).") from None
        if root.tag != "QBWCXML":
            raise QwcRejected("QBWC1039", f"There was a problem adding the application: the root element is "
                                          f"<{root.tag}>, not <QBWCXML>.")
        missing = [tag for tag in REQUIRED if root.find(tag) is None]
        if missing:
            raise QwcRejected("QBWC1039", f"There was a problem adding the application: the .qwc lacks "
                                          f"{', '.join('<' + m + '>' for m in missing)}.")

        def text(tag: str) -> str:
            return (root.findtext(tag) or "").strip()

        for tag in ("OwnerID", "FileID"):
            if not _GUID.fullmatch(text(tag)):
                raise QwcRejected("QBWC1039", f"There was a problem adding the application: <{tag}> "
                                              f"{text(tag)!r} is not a GUID written {{XXXXXXXX-XXXX-XXXX-XXXX-XXXXXXXXXXXX}}.")
        qwc = cls(app_name=text("AppName"), app_url=text("AppURL"), app_support=text("AppSupport"),
                  user_name=text("UserName"), owner_id=text("OwnerID"), file_id=text("FileID"),
                  run_every_seconds=_schedule(root))
        qwc.check_urls()
        return qwc

    def check_urls(self) -> None:
        """QBWC's URL rules (see the module docstring).

        Raises:
            QwcRejected: QBWC1001/1002/1010/1000.
        """
        app, support = urlsplit(self.app_url), urlsplit(self.app_support)
        if _is_ip(app.hostname):
            raise QwcRejected("QBWC1001", f"The application {self.app_name}'s service URL is an IP Address, "
                                          f"it will not be loaded.")
        if _is_ip(support.hostname):
            raise QwcRejected("QBWC1002", f"The application {self.app_name}'s support URL is an IP Address, "
                                          f"it will not be loaded.")
        if app.scheme != "https" and not (app.scheme == "http" and app.hostname == "localhost"):
            raise QwcRejected("QBWC1010", f"Application {self.app_name} cannot be loaded. For security reasons "
                                          f"only SSL (https) based applications are allowed.")
        if (app.hostname or "").casefold() != (support.hostname or "").casefold():
            raise QwcRejected("QBWC1000", f"The domain names for {self.app_name}'s service and support URLs "
                                          f"do not match.")


def _is_ip(host: str | None) -> bool:
    if not host:
        return False
    try:
        ipaddress.ip_address(host)
    except ValueError:
        return False
    return True


def _schedule(root: etree._Element) -> int | None:
    scheduler = root.find("Scheduler")
    if scheduler is None:
        return None
    seconds = scheduler.findtext("RunEveryNSeconds")
    minutes = scheduler.findtext("RunEveryNMinutes")
    try:
        if seconds:
            return int(seconds)
        if minutes:
            return int(minutes) * 60
    except ValueError:
        raise QwcRejected("QBWC1039", "There was a problem adding the application: <Scheduler> holds a "
                                      "value that is not a whole number.") from None
    return None
