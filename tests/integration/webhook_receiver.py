"""BlueTrace's side of the webhooks, for tests: a WSGI app on waitress (127.0.0.1) that keeps what it got.

``down`` makes it answer 503 (a receiver being deployed, or failing), and ``refused`` does for
the event ids in it, so a test decides when deliveries fail; every request is kept either
way, with its headers and raw body.
"""
from __future__ import annotations

import json
import threading
from dataclasses import dataclass
from typing import Any

from tests.support.live_server import LiveServer


@dataclass(frozen=True)
class Received:
    headers: dict[str, str]
    body: bytes
    answered: int

    @property
    def event(self) -> dict[str, Any]:
        return json.loads(self.body)


class Receiver:
    def __init__(self):
        self.down = False
        self.refused: set[str] = set()
        self.requests: list[Received] = []
        self._lock = threading.Lock()

    def __call__(self, environ, start_response):
        length = int(environ.get("CONTENT_LENGTH") or 0)
        body = environ["wsgi.input"].read(length)
        headers = {key[5:].replace("_", "-").title(): value for key, value in environ.items() if key.startswith("HTTP_")}
        headers["Content-Type"] = environ.get("CONTENT_TYPE", "")
        down = self.down or headers.get("X-Qbwc-Bridge-Delivery") in self.refused
        with self._lock:
            self.requests.append(Received(headers, body, 503 if down else 200))
        start_response("503 Service Unavailable" if down else "200 OK", [("Content-Type", "text/plain")])
        return [b"down" if down else b"ok"]

    @property
    def delivered(self) -> list[Received]:
        """What was answered 2xx, in the order it arrived."""
        with self._lock:
            return [received for received in self.requests if received.answered == 200]


class LiveReceiver:
    """A :class:`Receiver` served on 127.0.0.1; ``url`` is where to send."""

    def __init__(self):
        self.receiver = Receiver()
        self._server = LiveServer(self.receiver, threads=2)
        self.url = ""

    def __enter__(self) -> Receiver:
        self._server.__enter__()
        self.url = self._server.url + "/hooks/bridge"
        return self.receiver

    def __exit__(self, *exc) -> None:
        self._server.__exit__(*exc)
