"""Web Connector passwords are generated secrets: stored as an HMAC, verified in microseconds.

Passwords stored before as argon2 keep working and are rewritten on their next successful login.
"""
from __future__ import annotations

from sqlalchemy import select

from qbwc_bridge import security
from qbwc_bridge.backends.desktop.web_connector import WebConnectorService
from qbwc_bridge.store.models import WebConnectorCredential


def stored_hash(store, tenant) -> str:
    with store.begin() as db:
        return db.scalar(select(WebConnectorCredential.password_hash)
                         .where(WebConnectorCredential.username == tenant.username))  # fmt: skip


def test_a_new_password_is_stored_as_an_hmac_never_as_itself(store, tenant):
    stored = stored_hash(store, tenant)
    assert stored.startswith(security.GENERATED_SECRET_SCHEME) and tenant.password not in stored
    assert security.verify_generated_secret(stored, tenant.password)
    assert not security.verify_generated_secret(stored, tenant.password + "x")


def test_an_argon2_password_from_before_still_logs_in_and_is_upgraded(store, settings, tenant):
    with store.begin() as db:
        credential = db.scalar(select(WebConnectorCredential).where(WebConnectorCredential.username == tenant.username))
        credential.password_hash = security.hash_password(tenant.password)
    service = WebConnectorService(store, settings)
    assert service.authenticate(tenant.username, "wrong " + tenant.password)[1] == "nvu"
    assert stored_hash(store, tenant).startswith("$argon2")  # a wrong password upgrades nothing
    assert service.authenticate(tenant.username, tenant.password)[1] != "nvu"
    assert security.is_upgraded(stored_hash(store, tenant))
    assert service.authenticate(tenant.username, tenant.password)[1] != "nvu"  # and verifies as an HMAC

