"""Where a request comes from: the address the login throttle counts failures against.

The TCP peer (WSGI ``REMOTE_ADDR``) is the source, unless it is one of our own proxies
(``Settings.trusted_proxies``): then ``X-Forwarded-For`` is read from the right, each proxy
having appended the address it saw, and the first hop that is not ours is the source. Hops
left of it were written by the client and prove nothing, so an attacker cannot pick the
address its failures are counted against.
"""
from __future__ import annotations

import ipaddress
from collections.abc import Mapping, Sequence
from typing import Any

Network = ipaddress.IPv4Network | ipaddress.IPv6Network
UNKNOWN = "unknown"


def source_address(environ: Mapping[str, Any], trusted_proxies: Sequence[Network]) -> str:
    """The client's address as text (``"unknown"`` when the server gives none)."""
    peer = _address(environ.get("REMOTE_ADDR"))
    if peer is None:
        return UNKNOWN
    if not _trusted(peer, trusted_proxies):
        return str(peer)
    forwarded = [hop.strip() for hop in environ.get("HTTP_X_FORWARDED_FOR", "").split(",") if hop.strip()]
    source = peer
    for hop in reversed(forwarded):
        address = _address(hop)
        if address is None:  # a garbled hop: nothing left of it can be believed
            break
        source = address
        if not _trusted(address, trusted_proxies):
            break
    return str(source)


def _address(text: str | None) -> ipaddress.IPv4Address | ipaddress.IPv6Address | None:
    try:
        return ipaddress.ip_address((text or "").strip())
    except ValueError:
        return None


def _trusted(address, trusted_proxies: Sequence[Network]) -> bool:
    return any(address in network for network in trusted_proxies)
