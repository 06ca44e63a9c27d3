"""Real HTTP servers for tests: the app in a thread, or the service in its own process.

The Web Connector, zeep and a browser talk HTTP, not WSGI, so the tests that play
them need a real socket. :class:`LiveServer` serves a WSGI app (e.g.
``qbwc_bridge.web.app.create_app(settings)``) with waitress in a background thread
of the test process. :class:`ServerProcess` runs ``python -m qbwc_bridge serve`` as
a separate process, which is what tests of several server processes sharing one
PostgreSQL database (tickets, outbox) need.
"""
from __future__ import annotations

import logging
import os
import signal
import subprocess
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterable, Mapping, Sequence
from pathlib import Path
from typing import IO, Any

from waitress import wasyncore
from waitress.server import create_server

from .network import free_loopback_port

log = logging.getLogger(__name__)

WSGIApp = Callable[[dict[str, Any], Callable[..., Any]], Iterable[bytes]]

DEFAULT_SERVE_COMMAND = (sys.executable, "-m", "qbwc_bridge", "serve", "--host", "127.0.0.1", "--port", "{port}")


class LiveServer:
    """Serve a WSGI app on 127.0.0.1 (a free port) in a daemon thread.

    Usage::

        with LiveServer(create_app(settings)) as server:
            requests.get(server.url + "/healthz")
    """

    def __init__(self, app: WSGIApp, threads: int = 4, **adjustments: Any) -> None:
        self.app = app
        self.threads = threads
        self.adjustments = adjustments  # more of waitress's settings, e.g. clear_untrusted_proxy_headers
        self.url = ""
        self._socket_map: dict[int, Any] = {}
        self._server: Any = None
        self._thread: threading.Thread | None = None

    def __enter__(self) -> LiveServer:
        # Our own socket map, so that shutdown can close every connection waitress holds.
        self._server = create_server(
            self.app, map=self._socket_map, host="127.0.0.1", port=0, threads=self.threads, **self.adjustments
        )
        self.url = f"http://127.0.0.1:{self._server.effective_port}"
        self._thread = threading.Thread(target=self._server.run, name=f"LiveServer {self.url}", daemon=True)
        self._thread.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        # Closing sockets from this thread would race the event loop, so the loop closes
        # them itself; with its map empty it returns.
        server = self._server
        try:
            server.trigger.pull_trigger(lambda: wasyncore.close_all(self._socket_map))
        except OSError as exc:
            # Seen about once in a hundred shutdowns on a loaded machine (EBADF): the trigger's
            # pipe is already closed, so the loop cannot be woken; close what is left from here.
            log.debug("LiveServer %s: trigger gone (%s); closing its sockets directly", self.url, exc)
            wasyncore.close_all(self._socket_map)
        self._thread.join(timeout=10)
        if self._thread.is_alive():
            log.warning("LiveServer %s: event loop did not stop", self.url)
        server.close()
        server.task_dispatcher.shutdown()


class ServerStartError(RuntimeError):
    """The server process exited or did not become healthy in time."""


class ServerProcess:
    """Run the service as a subprocess on a free loopback port until the block ends.

    Args:
        env: variables added to this process's environment (QBWC_BRIDGE_DATABASE_URL, ...).
        command: the command to run; ``{port}`` in any argument is replaced by the port.
            Defaults to ``python -m qbwc_bridge serve --host 127.0.0.1 --port {port}``.
        health_path: polled until it answers 200.
        start_timeout: seconds to wait for health before giving up.
        stop_timeout: seconds between SIGTERM and SIGKILL.
        cwd: working directory of the process.
    """

    def __init__(
        self,
        env: Mapping[str, str] | None = None,
        command: Sequence[str] = DEFAULT_SERVE_COMMAND,
        health_path: str = "/healthz",
        start_timeout: float = 30.0,
        stop_timeout: float = 5.0,
        cwd: Path | None = None,
    ) -> None:
        self.port = free_loopback_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.command = [argument.replace("{port}", str(self.port)) for argument in command]
        self.env = {**os.environ, **(env or {})}
        self.health_path = health_path
        self.start_timeout = start_timeout
        self.stop_timeout = stop_timeout
        self.cwd = cwd
        self.process: subprocess.Popen[bytes] | None = None
        # Files, not pipes: a chatty server must never block on a full pipe.
        self._stdout: IO[bytes] | None = None
        self._stderr: IO[bytes] | None = None

    def __enter__(self) -> ServerProcess:
        self.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    def start(self) -> None:
        """Start the process and wait until the health URL answers 200.

        Raises:
            ServerStartError: the process exited, or was not healthy within
                ``start_timeout``; the message carries its output.
        """
        self._stdout = tempfile.TemporaryFile()
        self._stderr = tempfile.TemporaryFile()
        self.process = subprocess.Popen(
            self.command, env=self.env, cwd=self.cwd, stdin=subprocess.DEVNULL, stdout=self._stdout, stderr=self._stderr
        )
        try:
            self._wait_until_healthy()
        except BaseException:
            self.stop()
            raise

    def _wait_until_healthy(self) -> None:
        deadline = time.monotonic() + self.start_timeout
        health_url = self.url + self.health_path
        while True:
            if self.process.poll() is not None:
                raise ServerStartError(
                    f"{self._describe()} exited with {self.process.returncode} before it was healthy\n{self.output()}"
                )
            try:
                with urllib.request.urlopen(health_url, timeout=2) as response:
                    if response.status == 200:
                        return
            except (urllib.error.URLError, ConnectionError, TimeoutError):
                pass  # not listening yet, or not healthy yet
            if time.monotonic() >= deadline:
                raise ServerStartError(
                    f"{self._describe()} did not answer 200 on {health_url} "
                    f"within {self.start_timeout} s\n{self.output()}"
                )
            time.sleep(0.1)

    def stop(self) -> None:
        """SIGTERM, then SIGKILL after ``stop_timeout`` seconds. Safe to call more than once."""
        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=self.stop_timeout)
            except subprocess.TimeoutExpired:
                log.warning("%s ignored SIGTERM for %s s: killing it", self._describe(), self.stop_timeout)
                self.process.kill()
                self.process.wait()
        for stream in (self._stdout, self._stderr):
            if stream is not None:
                stream.close()
        self._stdout = self._stderr = None

    def output(self) -> str:
        """What the process wrote so far, for failure messages."""
        return f"--- stdout ---\n{_read_all(self._stdout)}\n--- stderr ---\n{_read_all(self._stderr)}"

    def _describe(self) -> str:
        return f"server process {' '.join(self.command)!r}"


def _read_all(stream: IO[bytes] | None) -> str:
    if stream is None:
        return ""
    stream.seek(0)
    return stream.read().decode(errors="replace")
