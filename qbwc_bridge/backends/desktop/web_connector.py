"""The Web Connector's callbacks, one method each, over the store. No SOAP here.

Every call is one unit of work. Nothing is kept in memory between calls, so any server
process can answer any call of a session. Protocol answers (``nvu``, ``none``, ``busy``,
``NoOp``, -1, 100) are produced here and nowhere else.
"""
from __future__ import annotations

import contextlib
import datetime as dt
import logging
from collections.abc import Callable, Iterator

from sqlalchemy import and_, bindparam, inspect, literal_column, select

from ... import security, throttle
from ...config import Settings
from ...errors import WrongCompanyFile
from ...logs import bind
from ...services.accounts import installation
from ...store.db import Store
from ...store.models import (
    Account,
    ConnectionStatus,
    ExchangeLogEntry,
    Installation,
    LoginKind,
    LoginThrottle,
    SessionState,
    WebConnectorCredential,
    WebConnectorSession,
    utcnow,
)
from ...sync import schedule
from ...sync.initial import LIST_REFUSED, refresh_connection_status
from ... import outbox
from . import conversation, live_mode
from .company_file import negotiate_version, parse_hcp_response, verify_company_file
from .operations import WorkContext
from .qbxml import QbxmlParseError
from .status import Outcome, explain_hresult

log = logging.getLogger(__name__)

SERVER_VERSION = "qbwc-bridge 0.1.0"
MIN_CLIENT_VERSION = (2, 1)
RECOMMENDED_CLIENT_VERSION = (2, 2)
BUSY_POSTPONE_SECONDS = 60
NO_WORK_ANSWER = "none"
BAD_LOGIN_ANSWER = "nvu"
BUSY_ANSWER = "busy"
NOOP = "NoOp"
# Sessions whose late answers are QuickBooks' word on what their set did (see _late_response).
LATE_EVIDENCE_STATES = frozenset({SessionState.SUPERSEDED.value, SessionState.EXPIRED.value})
MAX_LOGGED_BODY = 64 * 1024
# accounts.error_code is VARCHAR(40); a real HRESULT takes at most 11 characters ("-2147220480").
MAX_ERROR_CODE = 40
UNREADABLE_HRESULT = "unreadable_hresult"
# How stale ``accounts.last_contact_at`` may be (see _contact); silence is reported after minutes.
CONTACT_PRECISION = dt.timedelta(seconds=5)
# Verified against when a username is unknown, so every refusal costs the same check.
_DUMMY_HASH = security.hash_generated_secret("not a real password")
# Starts the ticket of an answer that opened no session (nvu, none, busy): the closeConnection that
# follows is answered without asking the database. A session's ticket is URL-safe base64, never a '.'.
NO_SESSION_TICKET = "none."
# The source of calls made in this process (tests, the in-process simulator): no network address.
IN_PROCESS = "in-process"


class WebConnectorService:
    """Answers the eleven QBWC callbacks (PROTOCOL.md §1)."""

    def __init__(self, store: Store, settings: Settings, clock: Callable[[], dt.datetime] = utcnow):
        self.store = store
        self.settings = settings
        self.clock = clock
        self._owner_id: str | None = None  # see _installation_owner_id

    # -- handshake -------------------------------------------------------------------
    def server_version(self) -> str:
        return SERVER_VERSION

    def client_version(self, version: str | None) -> str:
        parsed = _version_tuple(version or "")
        if parsed is None:
            return ""
        if parsed < MIN_CLIENT_VERSION:
            return "E:This QuickBooks Web Connector is too old for BlueTrace. Install Web Connector 2.3 or newer from Intuit."
        if parsed < RECOMMENDED_CLIENT_VERSION:
            return "W:A newer QuickBooks Web Connector (2.3) is available from Intuit; this one works but is not supported."
        return ""

    def authenticate(self, username: str | None, password: str | None, *, source: str = IN_PROCESS) -> list[str]:
        """Log the Web Connector in and open a session when there is work.

        ``source`` is the caller's address (``web/source_address.py``): wrong passwords lock out
        that address only (see ``throttle.py``). Every refusal (unknown user, wrong password,
        locked) costs two HMAC verifications (the quiet check's and the unit of work's) and the same
        writes, so none answers faster.
        """
        now = self.clock()
        throwaway = NO_SESSION_TICKET + security.new_token()
        login = throttle.login_key(username)
        # The throttle's count, the credential, its account and whether it has a session or work, in one
        # statement (the row is there whether or not the login exists).
        login_params = {"kind": LoginKind.WEB_CONNECTOR.value, "login": login, "source": throttle.source_key(source),
                        "now": now}
        # Most polls: the right password, nothing queued, no session, no pull due. The statement says so
        # outside any transaction: no lock is needed to answer "none" (a concurrent authenticate decides for
        # itself), only the contact is written, when it is due.
        with self.store.read() as connection:
            found = connection.execute(_LOGIN, login_params).one()
        if _quiet(found, password or "", now):
            bind(account_id=found.account_id)
            if _contact_due(found.last_contact_at, now):
                self._record_quiet_contact(found.account_id, now)
            return [throwaway, NO_WORK_ANSWER]
        with self.store.begin() as db:
            found = db.connection().execute(_LOGIN, login_params).one()  # again, inside the unit of work
            account_id = found.account_id
            locked = found.locked_until is not None and found.locked_until > now
            verified = security.verify_generated_secret(found.password_hash or _DUMMY_HASH, password or "")
            if account_id is None or locked or not verified:
                throttle.record_failure(
                    db, LoginKind.WEB_CONNECTOR, login, source, now,
                    max_failures=self.settings.login_max_failures,
                    lockout=dt.timedelta(seconds=self.settings.login_lockout_seconds),
                )  # fmt: skip
                reason = "unknown user" if account_id is None else "locked: too many wrong passwords" if locked else "wrong password"
                self._log(db, account_id, None, "authenticate", "in", f"refused {login!r} from {source}: {reason}")
                return [throwaway, BAD_LOGIN_ANSWER]
            throttle.record_success(db, LoginKind.WEB_CONNECTOR, login, source, counted=found.counted)
            if not security.is_upgraded(found.password_hash):  # stored as argon2 before: upgraded once
                db.get(WebConnectorCredential, account_id).password_hash = security.hash_generated_secret(password)
            bind(account_id=account_id)
            if self.store.is_postgresql:
                # Lock the account row: concurrent authenticates of one account are serialised.
                # SQLite's BEGIN IMMEDIATE has serialised the whole unit of work.
                account = db.scalar(_ACCOUNT_FOR_UPDATE, {"id": account_id})
            else:
                account = db.get(Account, account_id)
            contacted = _contact(account, now)

            live = conversation.open_sessions(db, account.id)
            if any(ws.last_seen_at > now - dt.timedelta(seconds=self.settings.busy_window_seconds) for ws in live):
                self._log(db, account.id, None, "authenticate", "out", "busy: another session is running")
                return [throwaway, BUSY_ANSWER, str(BUSY_POSTPONE_SECONDS)]
            for ws in live:  # abandoned by a Web Connector that crashed or lost a response
                conversation.end_session(db, ws, SessionState.SUPERSEDED, now, inflight_timeout=self.settings.inflight_timeout)

            latest_pulls = schedule.plan(db, account, now, self.settings.run_every_minutes)
            if not outbox.has_ready(db, account.id, now):
                refresh_connection_status(db, account, latest_pulls)
                schedule.remember_quiet(db, account, self.settings.run_every_minutes)
                if contacted:
                    self._log(db, account.id, None, "authenticate", "out", "none: nothing to do")
                return [throwaway, NO_WORK_ANSWER]
            schedule.forget_quiet(account)  # what the session's answers change, the next contact plans for

            ticket = security.new_token()
            session_id = db.connection().execute(_SESSION_INSERT, {
                "account_id": account.id, "ticket_hash": security.token_hash(ticket), "created_at": now,
                "last_seen_at": now, "expires_at": now + dt.timedelta(seconds=self.settings.ticket_idle_seconds),
            }).scalar_one()  # fmt: skip
            bind(session_id=session_id)
            self._log(db, account.id, session_id, "authenticate", "out", "session opened")
            # "" = use the company file open in QuickBooks; it is verified on the first sendRequestXML.
            return [ticket, ""]

    # -- the exchange ----------------------------------------------------------------
    def send_request_xml(
        self,
        ticket: str | None,
        hcp_response: str | None,
        company_file_name: str | None,
        country: str | None,
        major: int | None,
        minor: int | None,
    ) -> str:
        now = self.clock()
        with self._call(ticket, now) as (db, ws, account):
            if ws is None:
                return ""
            if hcp_response:
                self._log(db, account.id, ws.id, "sendRequestXML", "in", "HCP response", hcp_response)
            if not ws.company_verified:
                if not self._verify_company(db, ws, account, hcp_response, company_file_name, major, minor):
                    return ""
            if live_mode.is_idling(ws, now):  # no authenticate comes while it idles: plan the due pulls here
                schedule.plan(db, account, now, self.settings.run_every_minutes)
            ctx = WorkContext(db, account, conversation.version_of(ws), now, ws.id)
            message_set = conversation.build_message_set(db, ws, account, ctx)
            if message_set is None:
                ws.last_error = None
                return ""
            ws.round_trips += 1
            self._log(db, account.id, ws.id, "sendRequestXML", "out", f"{len(ws.in_flight['request_ids'])} request(s)", message_set)
            return message_set

    def receive_response_xml(self, ticket: str | None, response: str | None, hresult: str | None, message: str | None) -> int:
        now = self.clock()
        with self._call(ticket, now) as (db, ws, account):
            if ws is None:
                if response and not hresult:
                    self._late_response(db, ticket, response, now)
                return -1
            ctx = WorkContext(db, account, conversation.version_of(ws), now, ws.id)
            if hresult:
                info = explain_hresult(hresult, message or "")
                conversation.return_in_flight(db, ws, code=info.code, message=info.explanation,
                                              retry_at=now if info.outcome is Outcome.RETRY else None)  # fmt: skip
                self._record_error(account, ws, f"{info.explanation} {info.action}".strip(), hresult, now,
                                   action=info.action)
                self._log(db, account.id, ws.id, "receiveResponseXML", "in", f"HRESULT {hresult}: {message}")
                return -1
            self._log(db, account.id, ws.id, "receiveResponseXML", "in", f"{len(response or '')} bytes", response)
            try:
                statuses = conversation.apply_response(db, ws, ctx, response or "")
            except QbxmlParseError as exc:
                self._record_error(account, ws, str(exc), "unreadable_response", now)
                return -1
            refresh_connection_status(db, account)
            percent = conversation.progress(db, ws, ctx)
            if percent == 100 and account.status == ConnectionStatus.ERROR.value and account.error_code != LIST_REFUSED:
                account.status = ConnectionStatus.CONNECTED.value
                account.status_message = account.error_code = account.error_action = None
            live_mode.note_statuses(ws, statuses, now)
            if percent == 100 and live_mode.keep_open(ws, account, now):
                return live_mode.IDLE_PERCENT
            return percent

    def connection_error(self, ticket: str | None, hresult: str | None, message: str | None) -> str:
        now = self.clock()
        with self._call(ticket, now) as (db, ws, account):
            if ws is None:
                return "done"
            info = explain_hresult(hresult or "", message or "")
            self._record_error(account, ws, f"{info.explanation} {info.action}".strip(), hresult or "", now,
                               action=info.action)
            self._log(db, account.id, ws.id, "connectionError", "in", f"HRESULT {hresult}: {message}")
            conversation.end_session(db, ws, SessionState.CLOSED, now, inflight_timeout=self.settings.inflight_timeout)
            return "done"

    def get_last_error(self, ticket: str | None) -> str:
        now = self.clock()
        with self._call(ticket, now, touch=False) as (db, ws, account):
            if ws is None:
                return "This Web Connector session has ended or was replaced by a newer one. The next scheduled run starts a new one."
            if ws.last_error:
                return ws.last_error
            # sendRequestXML answered "" with no error: nothing ready right now. Pause and ask again.
            ws.noops += 1
            if outbox.has_ready(db, account.id, now) or live_mode.keep_open(ws, account, now):
                return NOOP
            return live_mode.closing_message(ws) or "Nothing more to send right now."

    def close_connection(self, ticket: str | None) -> str:
        now = self.clock()
        with self._call(ticket, now, touch=False) as (db, ws, account):
            if ws is None:
                return "OK"
            conversation.end_session(db, ws, SessionState.CLOSED, now, inflight_timeout=self.settings.inflight_timeout)
            summary = f"{ws.operations_done} done, {ws.operations_failed} need attention, {ws.round_trips} round trip(s)"
            if ws.last_error:
                summary = f"Stopped: {ws.last_error}"
            self._log(db, account.id, ws.id, "closeConnection", "out", summary)
            return summary

    # Interactive mode is not used: answer politely so QBWC moves on.
    def get_interactive_url(self, ticket: str | None, session_id: str | None) -> str:
        return ""

    def interactive_done(self, ticket: str | None) -> str:
        return "Done"

    def interactive_rejected(self, ticket: str | None, reason: str | None) -> str:
        return "Interactive mode is not used by BlueTrace."

    # -- helpers ---------------------------------------------------------------------
    @contextlib.contextmanager
    def _call(self, ticket: str | None, now: dt.datetime, *, touch: bool = True) -> Iterator[tuple]:
        """A callback's unit of work and the session its ticket names: ``(db, ws, account)``, or
        ``(db, None, None)`` (see :meth:`_session_for`).

        The session row is written once, when the call ends, with everything the call changed on it. A
        call changes it several times (last seen, company verified, round trips, in flight, operations
        done), and left in the unit of work the ORM's autoflush wrote it again at every read in between:
        three UPDATEs of one row in each sendRequestXML and receiveResponseXML. Nothing in a call reads
        the row back from the database, so it is held out of the unit of work until the end and written
        with a plain UPDATE of the columns that changed (the ORM's flush of one object cost more than the
        statement). If the call raises, the whole unit of work rolls back, the session's changes with it.
        """
        with self.store.begin() as db:
            ws, account = self._session_for(db, ticket, now, touch=touch)
            if ws is None:
                yield db, None, None
                return
            db.expunge(ws)
            yield db, ws, account
            changed = {name: getattr(ws, name) for name in _SESSION_COLUMNS - inspect(ws).unmodified}
            if changed:
                db.connection().execute(_SESSION_UPDATE, {"session_id": ws.id, **changed})

    def _session_for(self, db, ticket: str | None, now: dt.datetime, *, touch: bool = True):
        """The open session a ticket names, or (None, None). Expired sessions are ended here."""
        if not ticket or ticket.startswith(NO_SESSION_TICKET):
            return None, None
        ticket_hash = security.token_hash(ticket)
        if self.store.is_postgresql:
            # Lock the account row (as authenticate does), then read the session: a session superseded by a
            # concurrent authenticate on another process must not hand out or take back work. The second
            # statement sees what was committed before the lock was granted.
            account = db.scalar(_ACCOUNT_OF_TICKET_FOR_UPDATE, {"ticket_hash": ticket_hash})
            ws = account and db.scalar(_SESSION_BY_TICKET, {"ticket_hash": ticket_hash})
        else:  # BEGIN IMMEDIATE has serialised the whole unit of work: one statement reads both
            ws, account = db.execute(_SESSION_AND_ACCOUNT, {"ticket_hash": ticket_hash}).first() or (None, None)
        if ws is None:
            return None, None
        bind(account_id=ws.account_id, session_id=ws.id)
        if ws.state == SessionState.REVOKED.value:
            # Its password was reset: whoever still holds the ticket gets nothing, not even its last error.
            return None, None
        if ws.state != SessionState.OPEN.value:
            return (ws, account) if not touch else (None, None)
        if ws.expires_at <= now:
            conversation.end_session(db, ws, SessionState.EXPIRED, now, inflight_timeout=self.settings.inflight_timeout)
            return None, None
        if touch:
            ws.last_seen_at = now
            ws.expires_at = now + dt.timedelta(seconds=self.settings.ticket_idle_seconds)
        _contact(account, now)
        return ws, account

    def _late_response(self, db, ticket: str, response: str, now: dt.datetime) -> None:
        """The answer to a set of a session that has ended: read it as evidence for what is still unconfirmed.

        Only from a session that ended because the Web Connector went quiet or authenticated again
        (superseded, expired): its answer is QuickBooks' own. A session ended on purpose (a password
        reset) proves nothing; whoever still holds its ticket is not believed.
        """
        ws, account = self._session_for(db, ticket, now, touch=False)
        if ws is None or ws.state not in LATE_EVIDENCE_STATES:
            return
        self._log(db, account.id, ws.id, "receiveResponseXML", "in", f"late answer ({ws.state} session)", response)
        ctx = WorkContext(db, account, conversation.version_of(ws), now, ws.id)
        conversation.apply_late_response(db, ws, ctx, response)
        schedule.forget_quiet(account)  # the answer may change what the next contact must plan

    def _verify_company(self, db, ws, account, hcp_response, company_file_name, major, minor) -> bool:
        try:
            if not hcp_response:
                raise WrongCompanyFile(
                    "The Web Connector did not describe the open company file, so it could not be verified; nothing was sent.",
                    action="Run the Web Connector again.",
                )
            facts = parse_hcp_response(hcp_response)
            verify_company_file(facts, self._installation_owner_id(db), account.file_id)
        except WrongCompanyFile as exc:
            ws.last_error = f"{exc} {exc.action or ''}".strip()
            ws.fatal_error = True
            self._record_error(account, ws, ws.last_error, "wrong_company_file", self.clock(), action=exc.action)
            return False
        version = negotiate_version(facts, major, minor)
        ws.qbxml_version = str(version)
        ws.company_verified = True
        ws.company_file_name = company_file_name
        account.qbxml_version = ws.qbxml_version
        account.company_name = facts.company_name
        account.company_file_name = company_file_name
        if account.status == ConnectionStatus.ERROR.value and account.error_code != LIST_REFUSED:
            # The right file is open again: back to Connecting until the work confirms it.
            # (A refused list is not cured by the right file: it clears when the list comes.)
            account.status = ConnectionStatus.CONNECTING.value
            account.status_message = account.error_code = account.error_action = None
            refresh_connection_status(db, account)
        return True

    def _installation_owner_id(self, db) -> str:
        """The OwnerID every .qwc of this installation carries. It is written once, with the first .qwc,
        and never changed: read once per process, not once per session."""
        if self._owner_id is None:
            row = db.get(Installation, 1)
            if row is None:  # created in this unit of work: not known to be stored until it commits
                return installation(db).owner_id
            self._owner_id = row.owner_id
        return self._owner_id

    @staticmethod
    def _record_error(account: Account, ws: WebConnectorSession, text: str, code: str, now: dt.datetime, *,
                      action: str | None = None) -> None:
        """Put the error on the account as the status shows it: ``text`` says what happened, ``action`` what to do."""
        ws.last_error = text
        account.status = ConnectionStatus.ERROR.value
        account.status_message = text
        account.error_action = action or None
        # Anything longer is no HRESULT, and PostgreSQL would refuse it with the whole answer.
        account.error_code = code if len(code) <= MAX_ERROR_CODE else UNREADABLE_HRESULT
        account.error_at = now

    def _record_quiet_contact(self, account_id: int, now: dt.datetime) -> None:
        """A quiet poll's contact time and its entry on the support page.

        On PostgreSQL one statement outside any transaction, the UPDATE a CTE of the INSERT: one round
        trip where BEGIN, two statements and COMMIT took four (a real Web Connector's every poll).
        SQLite has no data-modifying CTE, and no round trips to save.
        """
        summary = "none: nothing to do"
        if self.store.is_postgresql:
            with self.store.read() as connection:
                connection.execute(_QUIET_CONTACT, {"account_id": account_id, "now": now, "session_id": None,
                                                    "at": utcnow(), "operation": "authenticate", "direction": "out",
                                                    "summary": summary, "body": None})  # fmt: skip
            return
        with self.store.begin() as db:
            db.connection().execute(_CONTACT, {"account_id": account_id, "now": now})
            self._log(db, account_id, None, "authenticate", "out", summary)

    @staticmethod
    def _log(db, account_id, session_id, operation, direction, summary, body: str | None = None) -> None:
        if body is not None and len(body) > MAX_LOGGED_BODY:
            body = body[:MAX_LOGGED_BODY] + f"\n... ({len(body)} characters in all; the rest is not kept)"
        # A plain INSERT on the unit of work's connection, not an ORM object: nothing reads the entry back in
        # this unit of work, and the object's bookkeeping cost more than the statement. Not through the
        # Session either, whose autoflush would write what the call has changed so far, a flush of its own
        # where the one at the end of the call writes it anyway.
        db.connection().execute(_LOG_INSERT, {
            "account_id": account_id, "session_id": session_id, "at": utcnow(), "operation": operation,
            "direction": direction, "summary": summary, "body": body})  # fmt: skip


# Built once (building and keying a statement cost more than running it): asked in every call.
_THROTTLES = LoginThrottle.__table__
_CREDENTIALS = WebConnectorCredential.__table__
_ACCOUNTS = Account.__table__
_SESSIONS = WebConnectorSession.__table__
# Plain SQL on the connection (columns, no ORM entities): most calls end with this one statement.
_LOGIN = (
    select(_THROTTLES.c.locked_until, _THROTTLES.c.kind.is_not(None).label("counted"),
           _CREDENTIALS.c.account_id, _CREDENTIALS.c.password_hash,
           _ACCOUNTS.c.status, _ACCOUNTS.c.plan_due_at, _ACCOUNTS.c.last_contact_at,
           # what a quiet poll needs besides the account (see schedule.quiet): no session open, no work queued
           select(_SESSIONS.c.id).where(_SESSIONS.c.account_id == _CREDENTIALS.c.account_id,
                                        _SESSIONS.c.state == SessionState.OPEN.value).exists().label("session_open"),
           outbox.ready_exists(_CREDENTIALS.c.account_id, bindparam("now")).label("work_ready"))
    .select_from(select(literal_column("1").label("one")).subquery("one"))
    .outerjoin(_THROTTLES, and_(_THROTTLES.c.kind == bindparam("kind"), _THROTTLES.c.login == bindparam("login"),
                                _THROTTLES.c.source == bindparam("source")))
    .outerjoin(_CREDENTIALS, _CREDENTIALS.c.username == bindparam("login"))
    .outerjoin(_ACCOUNTS, _ACCOUNTS.c.id == _CREDENTIALS.c.account_id)
)
_CONTACT = _ACCOUNTS.update().where(_ACCOUNTS.c.id == bindparam("account_id")).values(last_contact_at=bindparam("now"))
_SESSION_BY_TICKET = (select(WebConnectorSession).where(WebConnectorSession.ticket_hash == bindparam("ticket_hash"))
                      .execution_options(populate_existing=True))
_ACCOUNT_OF_TICKET_FOR_UPDATE = (
    select(Account).where(Account.id == select(WebConnectorSession.account_id)
                          .where(WebConnectorSession.ticket_hash == bindparam("ticket_hash")).scalar_subquery())
    .with_for_update().execution_options(populate_existing=True))
_SESSION_AND_ACCOUNT = (select(WebConnectorSession, Account).join(Account, Account.id == WebConnectorSession.account_id)
                        .where(WebConnectorSession.ticket_hash == bindparam("ticket_hash")))
_LOG_INSERT = ExchangeLogEntry.__table__.insert()
# A new session: the rest of its columns take their defaults. Plain SQL: nothing else in authenticate
# reads it, and the ORM's flush of one new object cost more than the INSERT.
_SESSION_INSERT = (_SESSIONS.insert().values({name: bindparam(name) for name in (
    "account_id", "ticket_hash", "created_at", "last_seen_at", "expires_at")}).returning(_SESSIONS.c.id))
_SESSION_UPDATE = _SESSIONS.update().where(_SESSIONS.c.id == bindparam("session_id"))  # SET: the columns given
_SESSION_COLUMNS = frozenset(_SESSIONS.c.keys())
_QUIET_CONTACT = (_LOG_INSERT.values({name: bindparam(name) for name in
                                      ("account_id", "session_id", "at", "operation", "direction", "summary", "body")})
                  .add_cte(_CONTACT.cte("contact")))  # PostgreSQL only: see _record_quiet_contact
_ACCOUNT_FOR_UPDATE = (select(Account).where(Account.id == bindparam("id")).with_for_update()
                       .execution_options(populate_existing=True))  # as db.get(..., with_for_update=True)


def _contact(account: Account, now: dt.datetime) -> bool:
    """Record that the Web Connector called, to :data:`CONTACT_PRECISION`: a session's every call wrote
    the account row again for a time that is shown as "N minutes ago" and compared with minutes.

    Returns whether it was recorded. A poll "none" within the precision of the last one is not logged
    either: a second entry saying the same within seconds tells support nothing.
    """
    if _contact_due(account.last_contact_at, now):
        account.last_contact_at = now
        return True
    return False


def _quiet(found, password: str, now: dt.datetime) -> bool:
    """Whether the login statement's row (``_LOGIN``) alone answers "none": a known login with no failure
    counted against it from this source, the right password already stored as an HMAC, no session open,
    no work queued and nothing due (``schedule.quiet``). Anything else goes through the unit of work."""
    # Verified first, whatever the row: every refusal costs the same (see authenticate).
    verified = security.verify_generated_secret(found.password_hash or _DUMMY_HASH, password)
    return (verified and found.account_id is not None and not found.counted
            and security.is_upgraded(found.password_hash) and not found.session_open and not found.work_ready
            and schedule.quiet(found.status, found.plan_due_at, now))


def _contact_due(last_contact_at: dt.datetime | None, now: dt.datetime) -> bool:
    return last_contact_at is None or not now - CONTACT_PRECISION < last_contact_at <= now


def _version_tuple(text: str) -> tuple[int, ...] | None:
    try:
        return tuple(int(part) for part in text.strip().split("."))
    except ValueError:
        return None
