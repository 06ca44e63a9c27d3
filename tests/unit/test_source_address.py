"""Where a login comes from: the TCP peer, or X-Forwarded-For only as far as our own proxies wrote it."""
from __future__ import annotations

import ipaddress

import pytest

from qbwc_bridge.web.source_address import source_address

PROXIES = (ipaddress.ip_network("10.0.0.0/8"), ipaddress.ip_network("::1/128"))


@pytest.mark.parametrize("peer, forwarded, expected", [
    ("198.51.100.7", None, "198.51.100.7"),  # no proxy in front
    ("198.51.100.7", "203.0.113.20", "198.51.100.7"),  # an untrusted peer's header is not read
    ("10.0.0.5", "203.0.113.20", "203.0.113.20"),  # our proxy says who it saw
    ("10.0.0.5", "1.2.3.4, 203.0.113.20, 10.0.0.9", "203.0.113.20"),  # what the client wrote left of it is ignored
    ("10.0.0.5", "not-an-address, 10.0.0.9", "10.0.0.9"),  # nothing left of a garbled hop is believed
    ("10.0.0.5", "10.0.0.8, 10.0.0.9", "10.0.0.8"),  # only proxies: the furthest one
    ("10.0.0.5", "", "10.0.0.5"),
    ("::1", "2001:db8::7", "2001:db8::7"),
    (None, "203.0.113.20", "unknown"),
])
def test_source_address(peer, forwarded, expected):
    environ = {"REMOTE_ADDR": peer} if peer else {}
    if forwarded is not None:
        environ["HTTP_X_FORWARDED_FOR"] = forwarded
    assert source_address(environ, PROXIES) == expected
