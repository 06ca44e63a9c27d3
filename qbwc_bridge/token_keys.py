"""Encryption of QuickBooks Online tokens at rest: Fernet keys, newest first, rotatable.

``QBWC_BRIDGE_TOKEN_KEYS`` lists Fernet keys newest first. Tokens are encrypted with the
newest and decrypted with whichever key fits, so rotating is: put a new key in front,
restart, and drop the old key once every stored token has been read (and so rewritten
with the new key, see :meth:`TokenCipher.decrypt`) or replaced by a refresh.

Without the variable (development), one key is generated into the data directory, like
the secret key. Several processes may start at once on a fresh data directory: each
writes its candidate to a private temporary file and links it into place, which succeeds
for exactly one of them; everyone then reads the winner's key.
"""
from __future__ import annotations

import binascii
import os
import secrets
from base64 import urlsafe_b64decode
from pathlib import Path

from cryptography.fernet import Fernet, InvalidToken, MultiFernet

DEFAULT_KEY_FILE = "token_keys"
FERNET_KEY_BYTES = 32


class TokenKeyError(ValueError):
    """A key is not a Fernet key, or a stored token fits none of the keys."""


def check_key(key: str) -> str:
    """``key`` when it is a Fernet key (32 bytes in URL-safe base64).

    Raises:
        TokenKeyError: it is not; the message never repeats the key.
    """
    try:
        raw = urlsafe_b64decode(key.encode("ascii"))
    except (binascii.Error, UnicodeEncodeError, ValueError):
        raise TokenKeyError("a token key is not URL-safe base64 (make one with Fernet.generate_key())") from None
    if len(raw) != FERNET_KEY_BYTES:
        raise TokenKeyError(f"a token key is {len(raw)} bytes, not {FERNET_KEY_BYTES} (make one with Fernet.generate_key())")
    return key


def development_keys(data_dir: Path) -> tuple[str, ...]:
    """The data directory's generated key (one), created on first use with mode 0600.

    Safe when several processes start at once: only one file is ever linked into place.
    """
    path = data_dir / DEFAULT_KEY_FILE
    if not path.is_file():
        data_dir.mkdir(parents=True, exist_ok=True)
        _publish_once(path, Fernet.generate_key().decode("ascii"))
    return tuple(check_key(line.strip()) for line in path.read_text().split(",") if line.strip())


def _publish_once(path: Path, value: str) -> None:
    """Write ``value`` to ``path`` unless another process got there first (never a half-written file)."""
    candidate = path.with_name(f".{path.name}.{os.getpid()}.{secrets.token_hex(8)}")
    fd = os.open(candidate, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        with os.fdopen(fd, "w") as handle:
            handle.write(value)
            handle.flush()
            os.fsync(handle.fileno())
        try:
            # link() fails when the name exists, unlike rename(): the first writer wins, and a
            # reader never sees a file that is still being written (it was complete before the link).
            os.link(candidate, path)
        except FileExistsError:
            pass
    finally:
        candidate.unlink(missing_ok=True)


class TokenCipher:
    """Encrypts with the newest key, decrypts with any; says when a token needs re-encrypting."""

    def __init__(self, keys: tuple[str, ...]):
        if not keys:
            raise TokenKeyError("no token key: set QBWC_BRIDGE_TOKEN_KEYS")
        self._newest = Fernet(keys[0])
        self._any = MultiFernet([Fernet(key) for key in keys])

    def encrypt(self, token: str) -> str:
        return self._newest.encrypt(token.encode("utf-8")).decode("ascii")

    def decrypt(self, stored: str) -> tuple[str, bool]:
        """(the token, whether it was encrypted with an older key and should be stored again).

        Raises:
            TokenKeyError: no key fits (the key it was stored with has been dropped).
        """
        data = stored.encode("ascii")
        try:
            return self._newest.decrypt(data).decode("utf-8"), False
        except InvalidToken:
            pass
        try:
            return self._any.decrypt(data).decode("utf-8"), True
        except InvalidToken:
            raise TokenKeyError(
                "a stored QuickBooks token fits none of QBWC_BRIDGE_TOKEN_KEYS (was the key it was stored with "
                "removed?): put that key back at the end of the list, or reconnect the account"
            ) from None
