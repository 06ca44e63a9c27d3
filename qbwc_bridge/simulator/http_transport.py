"""HTTP as the Web Connector does it, with nothing but the standard library.

One connection per call (``http.client``; https through ``HTTPSConnection`` with the
system's certificate checks, so support staff can point the simulator at a real
deployment), QBWC's headers, a timeout on every call. Connection trouble surfaces as
``OSError`` (refused, reset, timed out, certificate refused) for the connector to report.
"""
from __future__ import annotations

import http.client
import logging
import ssl
from dataclasses import dataclass
from urllib.parse import urlsplit

logger = logging.getLogger(__name__)

USER_AGENT = "Mozilla/4.0 (compatible; MSIE 6.0; MS Web Services Client Protocol 4.0.30319.42000)"


@dataclass(frozen=True)
class HttpReply:
    status: int
    reason: str
    content_type: str
    body: bytes


class HttpTransport:
    """Sends QBWC's requests. ``timeout`` bounds every connect and read (seconds)."""

    def __init__(self, timeout: float = 120.0, ssl_context: ssl.SSLContext | None = None):
        self.timeout = timeout
        self.ssl_context = ssl_context

    def _connection(self, url: str) -> tuple[http.client.HTTPConnection, str]:
        parts = urlsplit(url)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise OSError(f"cannot reach {url!r}: not an http(s) URL")
        path = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
        if parts.scheme == "https":
            return http.client.HTTPSConnection(parts.hostname, parts.port, timeout=self.timeout,
                                               context=self.ssl_context or ssl.create_default_context()), path
        return http.client.HTTPConnection(parts.hostname, parts.port, timeout=self.timeout), path

    def _exchange(self, method: str, url: str, body: bytes | None, headers: dict[str, str]) -> HttpReply:
        connection, path = self._connection(url)
        try:
            connection.request(method, path, body=body, headers={"User-Agent": USER_AGENT, **headers})
            response = connection.getresponse()
            payload = response.read()
            return HttpReply(response.status, response.reason, response.getheader("Content-Type", ""), payload)
        except http.client.HTTPException as error:
            raise OSError(f"broken HTTP exchange with {url}: {error!r}") from error
        finally:
            connection.close()

    def post_soap(self, url: str, action: str, envelope: bytes) -> HttpReply:
        """POST a SOAP 1.1 request. Raises OSError when the server cannot be reached."""
        return self._exchange("POST", url, envelope, {"Content-Type": "text/xml; charset=utf-8", "SOAPAction": action})

    def get(self, url: str) -> HttpReply:
        """GET (AppURL and AppSupport checks). Raises OSError when the server cannot be reached."""
        return self._exchange("GET", url, None, {})
