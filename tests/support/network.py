"""Loopback-only networking for tests.

Tests run on machines whose only network is loopback and where traffic elsewhere is
watched for; a test that reached out would also be slow and flaky. So every test
runs with outbound connections refused unless they go to 127.0.0.0/8, ::1 or a
unix socket, and with name lookups refused unless the name is local (as zeep's
suite does). Subprocesses and C libraries (libpq) are not affected.
"""
from __future__ import annotations

import ipaddress
import socket
from typing import Any

import pytest

LOCAL_HOSTNAMES = frozenset({"localhost", "localhost.localdomain", "ip6-localhost", "ip6-loopback"})


def free_loopback_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on right now (the OS picks it).

    For servers that must be told a port up front (PostgreSQL, a subprocess); a server
    in this process should bind port 0 itself instead, which has no race.
    """
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def is_local_host(host: Any) -> bool:
    """True for loopback addresses and names that can only mean this machine."""
    if host is None:
        return True  # getaddrinfo(None, port): the local wildcard/loopback address
    if isinstance(host, bytes):
        host = host.decode("ascii", errors="replace")
    host = str(host).strip("[]").split("%", 1)[0]  # "[::1]" and "fe80::1%eth0" forms
    if host.lower() in LOCAL_HOSTNAMES or host.lower().endswith(".localhost"):
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def is_literal_address(host: Any) -> bool:
    """True when ``host`` is an IP address, which resolves without asking any DNS server."""
    if isinstance(host, bytes):
        host = host.decode("ascii", errors="replace")
    try:
        ipaddress.ip_address(str(host).strip("[]").split("%", 1)[0])
    except ValueError:
        return False
    return True


def block_outbound_network(monkeypatch: pytest.MonkeyPatch) -> None:
    """Refuse connections to anything but loopback and unix sockets, for one test.

    A refused attempt fails the test through ``pytest.fail`` (a BaseException), so
    retry loops and ``except Exception`` in the code under test cannot hide it.
    """
    real_connect = socket.socket.connect
    real_connect_ex = socket.socket.connect_ex
    real_getaddrinfo = socket.getaddrinfo

    def check(sock: socket.socket, address: Any) -> None:
        if sock.family in (socket.AF_INET, socket.AF_INET6) and not is_local_host(address[0]):
            pytest.fail(f"test tried to connect to {address!r}: tests may only use loopback", pytrace=False)

    def guarded_connect(sock: socket.socket, address: Any) -> None:
        check(sock, address)
        return real_connect(sock, address)

    def guarded_connect_ex(sock: socket.socket, address: Any) -> int:
        check(sock, address)
        return real_connect_ex(sock, address)

    def guarded_getaddrinfo(host: Any, *args: Any, **kwargs: Any) -> Any:
        if not (is_local_host(host) or is_literal_address(host)):
            pytest.fail(f"test tried to look up {host!r}: tests may only use loopback", pytrace=False)
        return real_getaddrinfo(host, *args, **kwargs)

    monkeypatch.setattr(socket.socket, "connect", guarded_connect)
    monkeypatch.setattr(socket.socket, "connect_ex", guarded_connect_ex)
    monkeypatch.setattr(socket, "getaddrinfo", guarded_getaddrinfo)
