"""Secrets: password hashing (argon2id), unguessable tokens, and how we store them.

Passwords people choose are hashed with argon2id (slow on purpose). Tokens we generate
(tickets, API tokens) carry 256 random bits, so a fast SHA-256 is enough to store them:
nobody can brute-force a 256-bit secret, and lookups stay O(1) by hash.
"""
from __future__ import annotations

import hashlib
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
