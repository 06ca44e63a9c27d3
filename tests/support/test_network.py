"""The autouse network guard: loopback and unix sockets pass, everything else fails the test.

The refused cases run over a recording stand-in for the real socket calls, so even a
broken guard sends nothing off this machine.
"""
from __future__ import annotations

import socket

import pytest

from support.network import block_outbound_network

# TEST-NET-1 (RFC 5737): documentation-only, routed nowhere.
OUTSIDE_ADDRESS = ("192.0.2.1", 80)


@pytest.fixture
def recorded_calls():
    """Real connect/getaddrinfo swapped for recorders, then guarded like every test is."""
    calls: list[tuple[str, object]] = []
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(socket.socket, "connect", lambda sock, address: calls.append(("connect", address)))
        patch.setattr(socket.socket, "connect_ex", lambda sock, address: calls.append(("connect_ex", address)) or 0)
        patch.setattr(socket, "getaddrinfo", lambda host, *args, **kwargs: calls.append(("getaddrinfo", host)) or [])
        block_outbound_network(patch)
        yield calls


@pytest.mark.parametrize("method", ["connect", "connect_ex"])
def test_connecting_outside_loopback_fails_the_test(recorded_calls, method):
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        with pytest.raises(pytest.fail.Exception, match="192.0.2.1"):
            getattr(sock, method)(OUTSIDE_ADDRESS)
    assert recorded_calls == []


def test_looking_up_a_public_name_fails_the_test(recorded_calls):
    with pytest.raises(pytest.fail.Exception, match="example.com"):
        socket.create_connection(("example.com", 443))
    assert recorded_calls == []


@pytest.mark.parametrize("host", ["127.0.0.1", "127.8.9.10", "localhost", "::1", "[::1]", None])
def test_loopback_lookups_pass(recorded_calls, host):
    socket.getaddrinfo(host, 80)
    assert recorded_calls == [("getaddrinfo", host)]


def test_loopback_connection_works():
    with socket.create_server(("127.0.0.1", 0)) as listener:
        with socket.create_connection(listener.getsockname(), timeout=5) as client:
            accepted, _ = listener.accept()
            with accepted:
                client.sendall(b"ping")
                assert accepted.recv(4) == b"ping"


def test_unix_socket_connection_works(tmp_path):
    path = str(tmp_path / "s.sock")
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as listener:
        listener.bind(path)
        listener.listen()
        with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as client:
            client.connect(path)
            accepted, _ = listener.accept()
            accepted.close()
