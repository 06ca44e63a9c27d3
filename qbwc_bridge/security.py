"""Secrets: password hashing (argon2id), unguessable tokens, and how we store them.

Passwords people choose are hashed with argon2id (slow on purpose). Tokens we generate
(tickets, API tokens) carry 256 random bits, so a fast SHA-256 is enough to store them:
nobody can brute-force a 256-bit secret, and lookups stay O(1) by hash. Web Connector
passwords are generated too (~100 random bits, :func:`new_password`): they are stored as
an HMAC-SHA256, so ``authenticate`` (called every couple of minutes by every Web Connector,
and the cheapest call for anyone to flood) costs microseconds instead of an argon2 run.
"""
from __future__ import annotations

import hashlib
import hmac
import secrets
import uuid

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

_hasher = PasswordHasher()


def hash_password(password: str) -> str:
    return _hasher.hash(password)


def verify_password(password_hash: str, password: str) -> bool:
    """True if ``password`` matches; never raises for a wrong or malformed hash."""
    try:
        return _hasher.verify(password_hash, password)
    except (VerificationError, InvalidHashError):
        return False


GENERATED_SECRET_SCHEME = "hmac-sha256$"
# Separates these digests from every other hash of the same text. It is not what protects them:
# 100 random bits cannot be searched whatever the key, so the key needs no rotation or distribution.
_GENERATED_SECRET_KEY = b"qbwc-bridge/web-connector-password/v1"


def hash_generated_secret(secret: str) -> str:
    """How a secret we generated (a Web Connector password) is stored."""
    digest = hmac.new(_GENERATED_SECRET_KEY, secret.encode("utf-8", "surrogatepass"), hashlib.sha256).hexdigest()
    return GENERATED_SECRET_SCHEME + digest


def verify_generated_secret(stored: str, secret: str) -> bool:
    """True if ``secret`` matches, in constant time. Hashes stored before (argon2) still verify,
    at argon2's cost, until :func:`is_upgraded` says the caller has rewritten them."""
    if stored.startswith(GENERATED_SECRET_SCHEME):
        return hmac.compare_digest(stored, hash_generated_secret(secret))
    return verify_password(stored, secret)


def is_upgraded(stored: str) -> bool:
    return stored.startswith(GENERATED_SECRET_SCHEME)


def new_token() -> str:
    """256 random bits, URL-safe."""
    return secrets.token_urlsafe(32)


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def new_password() -> str:
    """A password for a person to copy into the Web Connector once: readable, ~100 bits."""
    return "-".join(secrets.token_hex(3) for _ in range(4)) + secrets.choice("ABCDEFGHJKLMNPQRSTUVWXYZ")


def new_guid() -> str:
    """A GUID in the braces QuickBooks and the .qwc format expect."""
    return "{" + str(uuid.uuid4()).upper() + "}"
