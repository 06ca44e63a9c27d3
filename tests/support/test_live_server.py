"""LiveServer and ServerProcess, proven on a tiny WSGI app and a tiny server script."""
from __future__ import annotations

import signal
import socket
import sys
import textwrap
import urllib.request

import pytest

from support.live_server import LiveServer, ServerProcess, ServerStartError


def hello_app(environ, start_response):
    body = f"hello from {environ['PATH_INFO']}".encode()
    start_response("200 OK", [("Content-Type", "text/plain"), ("Content-Length", str(len(body)))])
    return [body]


def get(url: str) -> tuple[int, str]:
    with urllib.request.urlopen(url, timeout=5) as response:
        return response.status, response.read().decode()


def port_is_open(port: int) -> bool:
    with socket.socket() as probe:
        return probe.connect_ex(("127.0.0.1", port)) == 0


def test_live_server_serves_the_app_over_real_http():
    with LiveServer(hello_app) as server:
        assert server.url.startswith("http://127.0.0.1:")
        assert get(server.url + "/a") == (200, "hello from /a")
        assert get(server.url + "/b") == (200, "hello from /b")


def test_live_server_releases_its_port_on_exit():
    with LiveServer(hello_app) as server:
        port = int(server.url.rsplit(":", 1)[1])
        get(server.url + "/")
    assert not port_is_open(port)


# A stand-in for `python -m qbwc_bridge serve`: behaviour chosen by its first argument.
SERVER_SCRIPT = textwrap.dedent(
    """
    import http.server, os, signal, sys

    mode, port = sys.argv[1], int(sys.argv[2])
    if mode == "crash":
        sys.exit("boom: no database configured")
    if mode == "stubborn":
        signal.signal(signal.SIGTERM, signal.SIG_IGN)

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self):
            healthy = mode != "unhealthy" and self.path == "/healthz"
            body = os.environ.get("GREETING", "").encode()
            self.send_response(200 if healthy else 503)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args):
            pass

    http.server.HTTPServer(("127.0.0.1", port), Handler).serve_forever()
    """
)


@pytest.fixture
def script(tmp_path):
    path = tmp_path / "tiny_server.py"
    path.write_text(SERVER_SCRIPT)
    return path


def command(script, mode):
    return [sys.executable, str(script), mode, "{port}"]


def test_server_process_waits_until_healthy_and_passes_its_env(script):
    with ServerProcess(env={"GREETING": "hi"}, command=command(script, "normal")) as server:
        assert get(server.url + "/healthz") == (200, "hi")
    assert server.process.returncode == -signal.SIGTERM
    assert not port_is_open(server.port)


def test_server_process_kills_a_server_that_ignores_sigterm(script):
    with ServerProcess(command=command(script, "stubborn"), stop_timeout=0.5) as server:
        pass
    assert server.process.returncode == -signal.SIGKILL


def test_server_process_reports_the_stderr_of_a_server_that_exits(script):
    with pytest.raises(ServerStartError, match="boom: no database configured"):
        ServerProcess(command=command(script, "crash")).start()


def test_server_process_gives_up_on_a_server_that_never_gets_healthy(script):
    server = ServerProcess(command=command(script, "unhealthy"), start_timeout=1)
    with pytest.raises(ServerStartError, match="did not answer 200"):
        server.start()
    assert server.process.returncode == -signal.SIGTERM
