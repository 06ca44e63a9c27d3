"""Serve the fake Intuit on a loopback port, for tests, the demo and support.

    intuit = FakeIntuit()
    with serve(intuit) as server:   # a free port on 127.0.0.1, waitress in a daemon thread
        print(server.url)
"""
from __future__ import annotations

import logging
import threading
from typing import Any

from waitress import wasyncore
from waitress.server import create_server

from .app import make_app
from .intuit import FakeIntuit

log = logging.getLogger(__name__)


class RunningFakeIntuit:
    def __init__(self, intuit: FakeIntuit, host: str, port: int, threads: int) -> None:
        self.intuit = intuit
        # Our own socket map, so that stop() closes every connection waitress holds.
        self._socket_map: dict[int, Any] = {}
        # More threads than Intuit's 10 concurrent calls, so the fake can refuse the 11th itself.
        self._server = create_server(make_app(intuit), map=self._socket_map, host=host, port=port, threads=threads)
        self.url = f"http://{host}:{self._server.effective_port}"
        self._thread = threading.Thread(target=self._server.run, name=f"fake Intuit {self.url}", daemon=True)

    def start(self) -> RunningFakeIntuit:
        self._thread.start()
        return self

    def stop(self) -> None:
        # Closing sockets from this thread would race the event loop, so the loop closes them itself.
        try:
            self._server.trigger.pull_trigger(lambda: wasyncore.close_all(self._socket_map))
        except OSError as exc:
            # EBADF now and then on a loaded machine (as in tests/support/live_server.py): the
            # trigger's pipe is already closed, so close what is left from here.
            log.debug("fake Intuit %s: trigger gone (%s); closing its sockets directly", self.url, exc)
            wasyncore.close_all(self._socket_map)
        self._thread.join(timeout=10)
        if self._thread.is_alive():
            log.warning("fake Intuit %s: event loop did not stop", self.url)
        self._server.close()
        self._server.task_dispatcher.shutdown()

    def __enter__(self) -> RunningFakeIntuit:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.stop()


def serve(intuit: FakeIntuit, host: str = "127.0.0.1", port: int = 0, threads: int = 16) -> RunningFakeIntuit:
    """Start serving in a daemon thread; ``port=0`` picks a free one (see ``.url``)."""
    return RunningFakeIntuit(intuit, host, port, threads).start()
