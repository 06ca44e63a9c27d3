"""The per-account webhook secret, sealed (encrypted) at rest.

Signing needs the secret itself, so it cannot be stored as a hash like API tokens are; it is
encrypted with Fernet under a key derived from ``QBWC_BRIDGE_SECRET_KEY``, so a copy of the
database alone (a backup) does not let anyone sign as the bridge. Changing the secret key
makes sealed secrets unreadable: the deliverer then keeps retrying with the error saying so,
and ``PUT /api/v1/webhook {"rotate_secret": true}`` issues a new secret sealed under the new key.
(When the QuickBooks Online token keys land, sealing can move to them and gain key rotation.)
"""
from __future__ import annotations

import base64
import hashlib
import hmac
import secrets

from cryptography.fernet import Fernet, InvalidToken

_SCHEME = "fernet-v1:"
# Separates this key from every other use of the secret key (admin session cookies).
_PURPOSE = b"qbwc-bridge/webhook-secret/v1"
SECRET_PREFIX = "whsec_"


class SealedSecretUnreadable(Exception):
    """The sealed secret fits not the current secret key (it was changed)."""


def new_secret() -> str:
    """256 random bits, recognisable as a webhook secret."""
    return SECRET_PREFIX + secrets.token_urlsafe(32)


class SecretBox:
    """Seals and opens webhook secrets with a key derived from the deployment's secret key."""

    def __init__(self, secret_key: str):
        derived = hmac.new(secret_key.encode("utf-8"), _PURPOSE, hashlib.sha256).digest()
        self._fernet = Fernet(base64.urlsafe_b64encode(derived))

    def seal(self, secret: str) -> str:
        return _SCHEME + self._fernet.encrypt(secret.encode("utf-8")).decode("ascii")

    def open(self, sealed: str) -> str:
        """Raises: SealedSecretUnreadable (the message never holds the secret)."""
        if not sealed.startswith(_SCHEME):
            raise SealedSecretUnreadable("the webhook secret is stored in an unknown form")
        try:
            return self._fernet.decrypt(sealed[len(_SCHEME):].encode("ascii")).decode("utf-8")
        except InvalidToken:
            raise SealedSecretUnreadable(
                "the webhook secret was sealed under another QBWC_BRIDGE_SECRET_KEY: rotate it "
                "(PUT /api/v1/webhook with rotate_secret) and give BlueTrace the new one"
            ) from None
