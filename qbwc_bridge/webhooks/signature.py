"""The ``X-QBWC-Bridge-Signature`` header: ``t=<unix seconds>,v1=<hex HMAC-SHA256>``.

The HMAC is keyed with the account's webhook secret (the whole ``whsec_...`` text, UTF-8) over
``<t>.`` followed by the raw body bytes. Signing the timestamp with the body lets a receiver
refuse a replayed old delivery (compare ``t`` with its clock); the body is signed as sent, so
the receiver must verify the bytes it received before parsing them.
"""
from __future__ import annotations

import hashlib
import hmac

HEADER = "X-QBWC-Bridge-Signature"
#: How far from its own clock a receiver should accept ``t`` (the default of :func:`verify`).
TOLERANCE_SECONDS = 300


def digest(secret: str, timestamp: int, body: bytes) -> str:
    return hmac.new(secret.encode("utf-8"), f"{timestamp}.".encode("ascii") + body, hashlib.sha256).hexdigest()


def sign(secret: str, timestamp: int, body: bytes) -> str:
    """The header's value for ``body`` sent at ``timestamp`` (unix seconds)."""
    return f"t={timestamp},v1={digest(secret, timestamp, body)}"


def verify(secret: str, header: str, body: bytes, now: int, tolerance: int = TOLERANCE_SECONDS) -> bool:
    """True when ``header`` signs ``body`` with ``secret`` and its time is within ``tolerance`` of ``now``.

    Several ``v1=`` values may be present (room for a secret rotation's overlap); one must match.
    """
    parts = [part.strip().partition("=") for part in header.split(",")]
    stamps = [value for key, _, value in parts if key == "t"]
    signatures = [value for key, _, value in parts if key == "v1"]
    if len(stamps) != 1 or not stamps[0].isdigit() or not signatures:
        return False
    timestamp = int(stamps[0])
    if abs(now - timestamp) > tolerance:
        return False
    expected = digest(secret, timestamp, body)
    return any(hmac.compare_digest(expected, candidate) for candidate in signatures)
