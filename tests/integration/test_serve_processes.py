"""``serve --processes N``: N children on one port, each given a share of the connections, replaced when
they die, stopped with their supervisor, and counted together by /metrics."""
from __future__ import annotations

import contextlib
import http.client
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest
import requests

from qbwc_bridge.supervisor import listeners
from tests.integration.test_metrics import samples
from tests.support.live_server import ServerProcess

pytestmark = pytest.mark.slow

METRICS_TOKEN = "m" * 40
CONNECTIONS = 16
STATUS_ROUTE = ("qbwc_bridge_api_requests_total", (("route", "/api/v1/status"), ("status", "200")))


def children_of(pid: int) -> set[int]:
    found = set()
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                stat = (entry / "stat").read_text()
            except OSError:  # ended while we looked
                continue
            if int(stat.rsplit(")", 1)[1].split()[1]) == pid:
                found.add(int(entry.name))
    return found


def wait_for(condition, seconds: float = 20.0):
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        value = condition()
        if value:
            return value
        time.sleep(0.05)
    raise AssertionError(f"not within {seconds} s: {condition}")


def alive(pid: int) -> bool:
    """Until every thread of it is a zombie or gone. The main thread alone is not enough: it turns
    zombie while the others are still exiting, and those still hold the process's files (the claim on
    its port among them)."""
    try:
        threads = list(Path(f"/proc/{pid}/task").iterdir())
    except OSError:
        return False
    for thread in threads:
        try:
            if (thread / "stat").read_text().rsplit(")", 1)[1].split()[0] != "Z":
                return True
        except OSError:  # that thread ended while we looked
            continue
    return False


@pytest.fixture
def supervised(settings, tenant):
    env = {
        "QBWC_BRIDGE_DATABASE_URL": settings.database_url,
        "QBWC_BRIDGE_SECRET_KEY": settings.secret_key,
        "QBWC_BRIDGE_DATA_DIR": str(settings.data_dir),
        "QBWC_BRIDGE_METRICS_TOKEN": METRICS_TOKEN,
        "QBWC_BRIDGE_LOG_LEVEL": "WARNING",
    }
    command = [sys.executable, "-m", "qbwc_bridge", "serve", "--host", "127.0.0.1", "--port", "{port}", "--processes", "2"]
    with ServerProcess(env=env, command=command) as server:
        server.children = wait_for(lambda: len(children_of(server.process.pid)) == 2 and children_of(server.process.pid))
        yield server


def status(server, tenant) -> int:
    """A call on a new connection: whichever child accepts it answers."""
    headers = {"Authorization": f"Bearer {tenant.account.api_token}"}
    return requests.get(server.url + "/api/v1/status", headers=headers, timeout=10).status_code


def scrape(server) -> dict:
    response = requests.get(server.url + "/metrics", headers={"Authorization": f"Bearer {METRICS_TOKEN}"}, timeout=10)
    assert response.status_code == 200, response.text
    return samples(response.text)


def serving_pid(connection: http.client.HTTPConnection, server_port: int, candidates: set[int]) -> int:
    """Which process holds the server's end of this keep-alive connection (from /proc/net/tcp)."""
    client_port = connection.sock.getsockname()[1]
    for line in Path("/proc/net/tcp").read_text().splitlines()[1:]:
        fields = line.split()
        local, remote, inode = fields[1], fields[2], fields[9]
        if int(local.split(":")[1], 16) == server_port and int(remote.split(":")[1], 16) == client_port:
            break
    else:
        raise AssertionError(f"no server end for client port {client_port}")
    for pid in candidates:
        for fd in Path(f"/proc/{pid}/fd").iterdir():
            with contextlib.suppress(OSError):
                if os.readlink(fd) == f"socket:[{inode}]":
                    return pid
    raise AssertionError(f"socket {inode} is in none of {candidates}")


def test_connections_are_spread_over_the_children_and_a_scrape_counts_them_all(supervised, tenant):
    before = scrape(supervised).get(STATUS_ROUTE, 0)
    headers = {"Authorization": f"Bearer {tenant.account.api_token}"}
    served_by = []
    connections = [http.client.HTTPConnection("127.0.0.1", supervised.port, timeout=10) for _ in range(CONNECTIONS)]
    try:
        for connection in connections:
            connection.request("GET", "/api/v1/status", headers=headers)
            assert connection.getresponse().read() and connection.sock is not None
            served_by.append(serving_pid(connection, supervised.port, supervised.children))
    finally:
        for connection in connections:
            connection.close()
    # The kernel spreads connections by a hash of their addresses: all 16 on one child is a 1-in-32768 chance.
    assert set(served_by) == supervised.children, served_by
    # The scrape itself goes to one child: the other's count is in the shared directory.
    assert scrape(supervised)[STATUS_ROUTE] - before == CONNECTIONS


def test_a_child_that_dies_is_replaced_and_the_port_keeps_answering(supervised, tenant):
    victim = min(supervised.children)
    os.kill(victim, signal.SIGKILL)
    pid = supervised.process.pid
    replaced = wait_for(lambda: (children := children_of(pid)) and victim not in children and len(children) == 2
                        and children)  # fmt: skip
    assert len(replaced - supervised.children) == 1
    assert [status(supervised, tenant) for _ in range(5)] == [200] * 5


def test_sigterm_to_the_supervisor_stops_every_child(supervised):
    supervised.process.send_signal(signal.SIGTERM)
    assert supervised.process.wait(timeout=20) == 0
    assert not [pid for pid in supervised.children if alive(pid)]


def test_children_die_with_a_supervisor_killed_outright(supervised):
    supervised.process.kill()
    supervised.process.wait(timeout=10)
    wait_for(lambda: not [pid for pid in supervised.children if alive(pid)])
    with pytest.raises(requests.ConnectionError):
        requests.get(supervised.url + "/healthz", timeout=5)
    # Its claim on the port went with the last of them: a new supervisor may take the port at once.
    with listeners("127.0.0.1", int(supervised.url.rsplit(":", 1)[1]), 2) as bound:
        assert bound.claim is not None


@pytest.mark.parametrize("processes", ["1", "2"])
def test_a_port_in_use_is_one_clear_line(settings, processes):
    taken = socket.create_server(("127.0.0.1", 0))
    port = taken.getsockname()[1]
    env = {**os.environ, "QBWC_BRIDGE_DATABASE_URL": settings.database_url, "QBWC_BRIDGE_SECRET_KEY": settings.secret_key,
           "QBWC_BRIDGE_DATA_DIR": str(settings.data_dir), "QBWC_BRIDGE_LOG_LEVEL": "WARNING"}  # fmt: skip
    with taken:
        result = subprocess.run(
            [sys.executable, "-m", "qbwc_bridge", "serve", "--host", "127.0.0.1", "--port", str(port),
             "--processes", processes], env=env, capture_output=True, text=True, timeout=60,
        )  # fmt: skip
    assert result.returncode == 2, result.stderr
    assert result.stderr.strip().splitlines() == [f"error: cannot listen on 127.0.0.1:{port}: Address already in use"], result.stderr  # fmt: skip


def test_a_second_supervisor_on_the_same_port_is_refused(supervised, settings):
    """SO_REUSEPORT lets any process of the same user join the port's group: a second ``serve
    --processes 2`` started there by mistake would quietly take half the calls (perhaps against
    another database). It is refused as a lone serve on a port in use is."""
    port = supervised.url.rsplit(":", 1)[1]
    env = {**os.environ, "QBWC_BRIDGE_DATABASE_URL": settings.database_url, "QBWC_BRIDGE_SECRET_KEY": settings.secret_key,
           "QBWC_BRIDGE_DATA_DIR": str(settings.data_dir), "QBWC_BRIDGE_LOG_LEVEL": "WARNING"}  # fmt: skip
    result = subprocess.run(
        [sys.executable, "-m", "qbwc_bridge", "serve", "--host", "127.0.0.1", "--port", port, "--processes", "2"],
        env=env, capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    assert result.returncode == 2, result.stderr
    assert result.stderr.strip().splitlines() == [
        f"error: cannot listen on 127.0.0.1:{port}: another qbwc-bridge serve is listening there"], result.stderr
    assert requests.get(supervised.url + "/healthz", timeout=10).status_code == 200  # the first one carries on
