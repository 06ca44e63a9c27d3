"""An account's QuickBooks Online connection: connect, keep the tokens fresh, disconnect.

Connect is OAuth 2's authorization code flow. :func:`start_connect` makes a state of 256
random bits, stores its SHA-256 bound to the account (single use, ten minutes) and gives
Intuit's consent URL. The person's browser comes back to ``/qbo/callback`` maybe without
our cookie (BlueTrace's app may have started the connect through the API), which is why
the state, not a browser session, says which account it is for. :func:`finish_connect`
uses the state up, exchanges the code, checks the new token can read the company the link
back names (anyone can edit ``realmId`` in a URL) and stores the connection; it does not
sync: it queues the initial sync for the worker, so the status reads Connecting first.

Tokens are stored encrypted only (:mod:`qbwc_bridge.token_keys`). :func:`access_token`
gives a valid access token, refreshing it when it expires within :data:`REFRESH_MARGIN`.
Intuit rotates refresh tokens, and two processes refreshing with the same one would end
the connection (``invalid_grant``), so a refresh runs under the connection row's lock
(``SELECT ... FOR UPDATE`` on PostgreSQL; SQLite's transactions all take its write lock),
re-reads the stored tokens once it holds it (another process may have refreshed
meanwhile) and saves the rotated refresh token in the same transaction. When Intuit no
longer accepts the authorization the account shows ``reconnect_needed`` and
:class:`~qbwc_bridge.errors.ReconnectNeeded` is raised: its work waits, never fails.
:class:`TokenSource` hands tokens to the QuickBooks Online client; :func:`disconnect`
revokes at Intuit and deletes the tokens.
"""
from __future__ import annotations

import contextlib
import datetime as dt
import logging
import re
import secrets
import threading
from collections.abc import Iterator
from dataclasses import dataclass

from sqlalchemy import delete, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from ... import outbox, security
from ...config import Settings
from ...errors import Conflict, ReconnectNeeded
from ...services.status import RECONNECT_ACTION, RECONNECT_NEEDED
from ...store.db import Store
from ...store.models import Account, AccountKind, ConnectionStatus, OAuthState, QboConnection, utcnow
from ...operations import OperationKind
from ...sync.initial import WHOLE_LIST_PRIORITY, initial_complete, start_initial_sync
from ...token_keys import TokenCipher, TokenKeyError
from .oauth import IntuitOAuth, IntuitUnavailable, InvalidGrant, OAuthRefused, TokenGrant, WrongRealm

log = logging.getLogger(__name__)

STATE_BYTES = 32  # 256 random bits
REALM_ID = re.compile(r"[0-9]{1,32}")  # Intuit's company ids are digits
STATE_LIFETIME = dt.timedelta(minutes=10)
# Refresh when the access token has less than this left: a request started now must not
# reach Intuit with a token that expired on the way (the token lives an hour).
REFRESH_MARGIN = dt.timedelta(minutes=5)
RECONNECT_MESSAGE = (
    "QuickBooks Online no longer accepts BlueTrace's authorization for this company (it was disconnected in "
    "QuickBooks, or not used for 100 days), so nothing reaches QuickBooks for now."
)
NOT_CONNECTED_MESSAGE = "This account is not connected to a QuickBooks Online company."


class ConnectRefused(Exception):
    """The callback cannot connect: ``reason`` says why in plain words, ``status`` is the HTTP status."""

    def __init__(self, reason: str, *, status: int = 400, account_id: int | None = None):
        super().__init__(reason)
        self.reason, self.status, self.account_id = reason, status, account_id


@dataclass(frozen=True)
class Connected:
    """What :func:`finish_connect` did: which account and company, and whether it replaced an earlier connection."""

    account_id: int
    realm_id: str
    reconnected: bool


def start_connect(db: Session, settings: Settings, account: Account, *, oauth: IntuitOAuth | None = None,
                  now: dt.datetime | None = None) -> str:
    """Intuit's consent URL for ``account``, carrying a new single-use state bound to it.

    Raises:
        Conflict: the account is not a QuickBooks Online account (see :func:`require_online`).
        OAuthRefused: this bridge has no Intuit app keys.
    """
    require_online(account)
    now = now or utcnow()
    # Expired states of this account are of no use any more (a late one is refused either way).
    db.execute(delete(OAuthState).where(OAuthState.account_id == account.id, OAuthState.expires_at < now))
    state = secrets.token_urlsafe(STATE_BYTES)
    db.add(OAuthState(state_hash=security.token_hash(state), account_id=account.id, created_at=now,
                      expires_at=now + STATE_LIFETIME))
    with _intuit(settings, oauth) as intuit:
        return intuit.authorize_url(state)


@contextlib.contextmanager
def _intuit(settings: Settings, oauth: IntuitOAuth | None) -> Iterator[IntuitOAuth]:
    """The caller's client, or one of our own closed afterwards (its connections with it)."""
    if oauth is not None:
        yield oauth
        return
    with IntuitOAuth(settings) as created:
        yield created


def require_online(account: Account) -> None:
    """Raises: Conflict (a plain 409) when ``account`` connects through the Web Connector instead."""
    if account.kind != AccountKind.ONLINE.value:
        raise Conflict(
            "This account uses QuickBooks Desktop, which connects through the QuickBooks Web Connector, not "
            "through Intuit's sign-in.",
            action="Download the .qwc file and follow the Web Connector steps on the integration page.",
        )


def finish_connect(store: Store, settings: Settings, *, code: str | None, state: str | None, realm_id: str | None,
                   oauth: IntuitOAuth | None = None, now: dt.datetime | None = None) -> Connected:
    """The callback's work: use the state up, exchange the code, store the connection, queue the initial sync.

    The state is used up before Intuit is asked, so it works once even if the exchange fails
    (the person starts again). A reconnect (after ``reconnect_needed``) replaces the tokens
    of the same company and lets the waiting work go on.

    Raises:
        ConnectRefused: forged, used or expired state; a realm linked to another account; Intuit
            refused the code or did not answer. Its ``reason`` is for the person.
    """
    now = now or utcnow()
    if not state:
        raise ConnectRefused("The link back from Intuit carries no state, so it cannot be tied to a BlueTrace "
                             "account. Start the connection again from BlueTrace.")
    account_id = _use_state(store, state, now)
    if not code or not realm_id:
        raise ConnectRefused("Intuit sent no authorization for a company, so nothing was connected. Start the "
                             "connection again and choose a company on Intuit's page.", account_id=account_id)
    if not REALM_ID.fullmatch(realm_id):
        raise ConnectRefused("The link back from Intuit names no valid QuickBooks company, so nothing was "
                             "connected. Start the connection again from BlueTrace.", account_id=account_id)
    with store.begin() as db:
        _refuse_linked_elsewhere(db, account_id, realm_id)
    with _intuit(settings, oauth) as intuit:
        try:
            grant = intuit.exchange_code(code, now=now)
        except (InvalidGrant, IntuitUnavailable, OAuthRefused) as exc:
            raise _exchange_refused(exc, account_id) from None
        try:
            company_name = intuit.company_name(realm_id, grant.access_token)
            with store.begin() as db:
                reconnected = _store_connection(db, settings, account_id, realm_id, grant, now, company_name)
        except (WrongRealm, ConnectRefused, IntegrityError) as exc:
            _revoke_quietly(intuit, grant.refresh_token)  # tokens we will not keep must not stay valid either
            raise _store_refused(exc, realm_id, account_id) from None
    log.info("QuickBooks Online company %s connected%s", realm_id, " again" if reconnected else "")
    return Connected(account_id, realm_id, reconnected)


def _store_refused(exc: Exception, realm_id: str, account_id: int) -> ConnectRefused:
    if isinstance(exc, ConnectRefused):
        return exc
    if isinstance(exc, WrongRealm):
        log.warning("QuickBooks Online callback named realm %s, which the new authorization cannot read", realm_id)
        return ConnectRefused("Intuit's authorization is not for the company named in the link back (was the link "
                              "changed?), so nothing was connected. Start the connection again from BlueTrace.",
                              account_id=account_id)
    # IntegrityError: another account took this realm between the check and now.
    return ConnectRefused(_linked_elsewhere_message(realm_id), status=409, account_id=account_id)


def _revoke_quietly(intuit: IntuitOAuth, refresh_token: str) -> bool:
    """Revoke at Intuit; a failure is logged (without the token), never raised. Returns whether it worked."""
    try:
        intuit.revoke(refresh_token)
    except (IntuitUnavailable, OAuthRefused) as exc:
        log.warning("revoking a QuickBooks Online authorization at Intuit failed (%s)", type(exc).__name__)
        return False
    return True


def _exchange_refused(exc: Exception, account_id: int) -> ConnectRefused:
    """Intuit's refusal of (or silence at) the code exchange, in the person's words."""
    if isinstance(exc, InvalidGrant):
        return ConnectRefused("Intuit did not accept the authorization (it is valid for a few minutes and only "
                              "once). Start the connection again.", account_id=account_id)
    if isinstance(exc, IntuitUnavailable):
        return ConnectRefused("Intuit did not answer, so nothing was connected. Start the connection again in a "
                              "minute.", status=502, account_id=account_id)
    log.error("Intuit refused the code exchange: %s", exc)  # our app keys or redirect URI: the deployment's fault
    return ConnectRefused(f"{exc.explanation} {exc.action}", status=502, account_id=account_id)


def _use_state(store: Store, state: str, now: dt.datetime) -> int:
    """Mark the state used (committed at once) and return its account; refuse a bad one."""
    refusal = None
    with store.begin() as db:
        row = db.scalar(select(OAuthState).where(OAuthState.state_hash == security.token_hash(state))
                        .with_for_update())
        if row is None:
            refusal = ConnectRefused("This link back from Intuit was not made by BlueTrace for any account (or it "
                                     "is long out of date), so nothing was connected. Start the connection again "
                                     "from BlueTrace.")
        elif row.used_at is not None:
            refusal = ConnectRefused("This link back from Intuit has already been used, so nothing more was "
                                     "connected. If the account does not show as connected, start the connection "
                                     "again from BlueTrace.", account_id=row.account_id)
        elif row.expires_at <= now:
            refusal = ConnectRefused("This link back from Intuit has expired (it is valid for 10 minutes), so "
                                     "nothing was connected. Start the connection again from BlueTrace.",
                                     account_id=row.account_id)
        else:
            row.used_at = now
            account_id = row.account_id
    if refusal is not None:
        raise refusal
    return account_id


def _linked_elsewhere_message(realm_id: str) -> str:
    return (f"This QuickBooks Online company (realm {realm_id}) is already connected to another BlueTrace account, "
            "so it was not connected to this one. A company can be connected to one account only: disconnect it "
            "there first, or choose another company on Intuit's page.")


def _refuse_linked_elsewhere(db: Session, account_id: int, realm_id: str) -> None:
    owner = db.scalar(select(QboConnection.account_id).where(QboConnection.realm_id == realm_id))
    if owner is not None and owner != account_id:
        raise ConnectRefused(_linked_elsewhere_message(realm_id), status=409, account_id=account_id)
    current = db.get(QboConnection, account_id)
    if current is not None and current.realm_id != realm_id:
        raise ConnectRefused(
            f"This account is connected to another QuickBooks Online company (realm {current.realm_id}). "
            "Disconnect it first on the integration page, then connect the other company.",
            status=409, account_id=account_id,
        )


def _store_connection(db: Session, settings: Settings, account_id: int, realm_id: str, grant: TokenGrant,
                      now: dt.datetime, company_name: str | None) -> bool:
    """Save the tokens (encrypted) and queue the initial sync; returns whether it was a reconnect."""
    account = db.get(Account, account_id, with_for_update=True)
    _refuse_linked_elsewhere(db, account_id, realm_id)
    cipher = TokenCipher(settings.token_keys)
    connection = db.get(QboConnection, account_id)
    reconnected = connection is not None
    if connection is None:
        connection = QboConnection(account_id=account_id, realm_id=realm_id, connected_at=now)
        db.add(connection)
    connection.environment = settings.qbo_environment
    if company_name:
        connection.company_name = account.company_name = company_name[:200]
    _save_grant(connection, cipher, grant, now)
    connection.connected_at = now
    db.flush()  # the realm's uniqueness is checked here, inside the transaction
    account.error_code = account.status_message = account.error_at = None
    start_initial_sync(db, account)  # Connecting; the worker does the sync
    if initial_complete(db, account):  # a reconnect: the lists are in, the waiting work goes on
        account.status = ConnectionStatus.CONNECTED.value
    return reconnected


def _save_grant(connection: QboConnection, cipher: TokenCipher, grant: TokenGrant, now: dt.datetime) -> None:
    connection.access_token_enc = cipher.encrypt(grant.access_token)
    connection.access_expires_at = grant.access_expires_at
    connection.refresh_token_enc = cipher.encrypt(grant.refresh_token)
    connection.refresh_expires_at = grant.refresh_expires_at
    connection.refreshed_at = now


def access_token(store: Store, settings: Settings, account_id: int, *, rejected: str | None = None,
                 oauth: IntuitOAuth | None = None, now: dt.datetime | None = None) -> str:
    """A valid access token for the account's company, refreshed first when it expires within the margin.

    Call it outside any unit of work of your own (it commits a refresh in its own, so the
    rotated refresh token is never lost with a caller's rollback). ``rejected``: the token
    QuickBooks just answered 401 / 3200 to: refresh unless another process already did.

    Raises:
        ReconnectNeeded: not connected, or Intuit no longer accepts the authorization (the
            account then shows ``reconnect_needed``; its work must wait, not fail).
        IntuitUnavailable: Intuit did not answer the refresh (a RetryLater: try again later).
        OAuthRefused: Intuit refused our app keys (the deployment must be fixed).
        TokenKeyError: the stored tokens fit none of QBWC_BRIDGE_TOKEN_KEYS.
    """
    cipher = TokenCipher(settings.token_keys)
    with store.begin() as db:
        token = _usable_token(db, cipher, account_id, rejected, now or utcnow())
    if token is not None:
        return token
    lost = False
    with store.begin() as db:
        connection = _locked_connection(db, account_id)
        account = db.get(Account, account_id)  # read after the lock: a reconnect_needed set meanwhile shows
        now = now or utcnow()
        # Re-read under the lock: another process may have refreshed (and rotated) meanwhile.
        token = _usable_token(db, cipher, account_id, rejected, now, connection=connection)
        if token is None:
            refresh_token, _ = cipher.decrypt(connection.refresh_token_enc)
            try:
                with _intuit(settings, oauth) as intuit:
                    grant = intuit.refresh(refresh_token, now=now)
            except InvalidGrant:
                _mark_reconnect_needed(account, now)
                lost = True  # committed when the block ends; raised after
            else:
                _save_grant(connection, cipher, grant, now)
                token = grant.access_token
                log.info("QuickBooks Online access token refreshed for realm %s", connection.realm_id)
    if lost:
        log.warning("Intuit refused the refresh token (invalid_grant): account %s must reconnect", account_id)
        raise ReconnectNeeded(RECONNECT_MESSAGE, action=RECONNECT_ACTION)
    return token


class TokenSource:
    """``token(force_refresh)`` for the QuickBooks Online client of one account (``QboClient(token=...)``).

    ``token(False)``: a valid access token. ``token(True)``: QuickBooks refused the token this
    thread was last given: a newer one, refreshed only if no other thread or process has
    refreshed since. Each thread remembers its own last token, so threads that all see the
    same expiry make one refresh between them. Raises what :func:`access_token` raises.
    """

    def __init__(self, store: Store, settings: Settings, account_id: int, *, oauth: IntuitOAuth | None = None):
        self._store, self._settings, self._account_id, self._oauth = store, settings, account_id, oauth
        self._given = threading.local()

    def __call__(self, force_refresh: bool) -> str:
        rejected = getattr(self._given, "token", None) if force_refresh else None
        token = access_token(self._store, self._settings, self._account_id, rejected=rejected, oauth=self._oauth)
        self._given.token = token
        return token


def _locked_connection(db: Session, account_id: int) -> QboConnection:
    connection = db.scalar(select(QboConnection).where(QboConnection.account_id == account_id)
                           .with_for_update().execution_options(populate_existing=True))
    if connection is None:
        raise ReconnectNeeded(NOT_CONNECTED_MESSAGE, action="Connect it on the integration page.")
    return connection


def _usable_token(db: Session, cipher: TokenCipher, account_id: int, rejected: str | None, now: dt.datetime,
                  *, connection: QboConnection | None = None) -> str | None:
    """The stored access token when it is fresh and not the rejected one; None when a refresh is due.

    A token stored under an older key is stored again under the newest (key rotation).

    Raises:
        ReconnectNeeded: not connected, or already waiting for a reconnect.
    """
    account = db.get(Account, account_id)
    if account is not None and account.error_code == RECONNECT_NEEDED:
        raise ReconnectNeeded(RECONNECT_MESSAGE, action=RECONNECT_ACTION)
    connection = connection or db.get(QboConnection, account_id)
    if connection is None or account is None:
        raise ReconnectNeeded(NOT_CONNECTED_MESSAGE, action="Connect it on the integration page.")
    token, old_key = cipher.decrypt(connection.access_token_enc)
    if old_key:
        connection.access_token_enc = cipher.encrypt(token)
        refresh_token, _ = cipher.decrypt(connection.refresh_token_enc)
        connection.refresh_token_enc = cipher.encrypt(refresh_token)
    if connection.access_expires_at - now <= REFRESH_MARGIN or token == rejected:
        return None
    return token


def rewrap_tokens(store: Store, settings: Settings) -> int:
    """Store every connection's tokens under the newest key; returns how many were rewritten.

    For a key rotation: afterwards the old keys can leave ``QBWC_BRIDGE_TOKEN_KEYS`` without
    waiting for every company to be used. Each row is rewritten under its lock, so a refresh
    running at the same time is never undone.
    """
    cipher = TokenCipher(settings.token_keys)
    with store.begin() as db:
        account_ids = list(db.scalars(select(QboConnection.account_id)))
    rewritten = 0
    for account_id in account_ids:
        with store.begin() as db:
            connection = db.scalar(select(QboConnection).where(QboConnection.account_id == account_id)
                                   .with_for_update())
            if connection is None:
                continue  # disconnected meanwhile
            access, old_access = cipher.decrypt(connection.access_token_enc)
            refresh, old_refresh = cipher.decrypt(connection.refresh_token_enc)
            if old_access or old_refresh:
                connection.access_token_enc, connection.refresh_token_enc = cipher.encrypt(access), cipher.encrypt(refresh)
                rewritten += 1
    return rewritten


def _mark_reconnect_needed(account: Account, now: dt.datetime) -> None:
    account.status = ConnectionStatus.ERROR.value
    account.error_code = RECONNECT_NEEDED
    account.error_at = now
    account.status_message = f"{RECONNECT_MESSAGE} {RECONNECT_ACTION}"


def needs_reconnect(db: Session, account_id: int) -> bool:
    """Whether the account's Online work must wait for a person to connect (again): the worker skips it."""
    account = db.get(Account, account_id)
    return (account is None or account.error_code == RECONNECT_NEEDED
            or db.get(QboConnection, account_id) is None)


# Intuit's Disconnect URL may be opened by anyone, with any realm: one check per company this often at most.
DISCONNECT_CHECK_EVERY = dt.timedelta(minutes=5)
_REALM = re.compile(r"[0-9]{1,32}")  # Intuit's realm ids are digits


def check_after_disconnect(db: Session, realm_id: str | None, now: dt.datetime) -> bool:
    """Intuit's Disconnect URL was opened for ``realm_id``: have the worker try that company's connection now.

    The request proves nothing, so it changes nothing itself: it queues one small pull (the terms)
    for the account linked to the realm, at most once per :data:`DISCONNECT_CHECK_EVERY`. If Intuit
    has indeed revoked our authorization, that pull meets ``invalid_grant`` and the account reads
    Reconnect at once rather than at its next piece of work. Returns whether a check was queued.
    """
    if not realm_id or not _REALM.fullmatch(realm_id):
        return False
    connection = db.scalar(select(QboConnection).where(QboConnection.realm_id == realm_id))
    account = db.get(Account, connection.account_id) if connection is not None else None
    if account is None or account.error_code == RECONNECT_NEEDED:
        return False
    # The key names the five minutes: a second opening in the same five minutes finds it taken.
    window = int(now.timestamp() // DISCONNECT_CHECK_EVERY.total_seconds())
    return outbox.enqueue(db, account.id, OperationKind.SYNC_TERMS.value, {}, priority=WHOLE_LIST_PRIORITY,
                          dedupe_key=f"disconnect-check:{window}") is not None


def record_company(db: Session, account_id: int, name: str | None, country: str) -> None:
    """Keep the company's name (for the connection card) and country (does it need a tax code?), from
    QuickBooks' CompanyInfo, read by the sync."""
    connection, account = db.get(QboConnection, account_id), db.get(Account, account_id)
    if connection is not None and account is not None:
        connection.company_name = account.company_name = (name or "").strip()[:200] or None
        account.company_country = country[:40]


def disconnect(db: Session, settings: Settings, account: Account, *, oauth: IntuitOAuth | None = None) -> bool:
    """Revoke the authorization at Intuit (best effort), delete the tokens, back to Not connected.

    A revoke that fails (Intuit away, keys removed) does not keep the tokens: they are deleted
    all the same, and Intuit ends an authorization nobody uses after 100 days. Returns whether
    Intuit confirmed the revoke.
    """
    require_online(account)
    connection = db.get(QboConnection, account.id, with_for_update=True)
    revoked = False
    if connection is not None:
        try:
            refresh_token, _ = TokenCipher(settings.token_keys).decrypt(connection.refresh_token_enc)
            with _intuit(settings, oauth) as intuit:
                revoked = _revoke_quietly(intuit, refresh_token)
        except (OAuthRefused, TokenKeyError) as exc:  # no app keys any more, or no key fits the stored token
            log.warning("the QuickBooks Online authorization of realm %s could not be revoked (%s)",
                        connection.realm_id, type(exc).__name__)
        db.delete(connection)  # deleted all the same: Intuit ends an authorization unused for 100 days
    db.execute(delete(OAuthState).where(OAuthState.account_id == account.id))
    account.status = ConnectionStatus.NOT_CONNECTED.value
    account.error_code = account.status_message = account.error_at = account.company_name = None
    return revoked
