"""The fake Intuit: OAuth apps and grants, companies, limits, injected faults, inspection.

One lock guards everything (the HTTP app takes it per request, the Python API per
call); QuickBooks' own work is quick, so requests only overlap while waiting on
:meth:`FakeIntuit.hold` gates or in the concurrency counting, which is what the limits need.
"""
from __future__ import annotations

import threading
from collections import deque
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

from .authorization import AuthorizationServer, RefreshTokenReuse
from .clock import Clock, utc_now
from .company import CompanySettings, FakeCompany
from .injection import FaultInjector, FaultPlan
from .limits import RealmLimits
from .records import Record

LOG_LENGTH = 100_000
HOME_CURRENCIES = {"US": "USD", "GB": "GBP", "UK": "GBP", "CA": "CAD", "AU": "AUD", "FR": "EUR", "DE": "EUR",
                   "IE": "EUR", "IN": "INR"}


@dataclass(frozen=True)
class LoggedRequest:
    method: str
    path: str
    status: int
    had_request_id: bool
    intuit_tid: str
    realm: str | None = None


@dataclass(frozen=True)
class Violation:
    """A call QuickBooks answered although it broke a rule the client must follow."""

    rule: str  # "minorversion" (missing or < 75) | "requestid" | "accept" (no application/json)
    method: str
    path: str
    realm: str | None


@dataclass
class _Gate:
    """Holds API calls of one company until released (tests of concurrency)."""

    realm: str | None
    released: threading.Event = field(default_factory=threading.Event)


class FakeIntuit:
    """Everything Intuit knows. Serve it with :func:`~.app.make_app` or :func:`~.server.serve`.

    Args:
        clock: returns an aware UTC datetime; tests pass a :class:`~.clock.ManualClock`.
        seed: seeds the fault injector's random streams.
        max_concurrent / requests_per_minute: per-company limits (None: no limit).
        retry_after: send ``Retry-After`` on 429s of the minute limit (Intuit's own use of
            the header is undocumented; clients must also cope without it).
    """

    def __init__(self, clock: Clock = utc_now, *, seed: int = 0, max_concurrent: int | None = 10,
                 requests_per_minute: int | None = 500, retry_after: bool = True) -> None:
        self.lock = threading.RLock()
        self.clock = clock
        self.authorization = AuthorizationServer(clock)
        self.companies: dict[str, FakeCompany] = {}
        self.limits = RealmLimits(clock, max_concurrent, requests_per_minute)
        self.faults = FaultInjector(seed)
        self.retry_after = retry_after
        self.consent_realm: str | None = None
        # The latest calls only, so that a fake serving a demo for days stays small.
        self.request_log: deque[LoggedRequest] = deque(maxlen=LOG_LENGTH)
        self.violations: deque[Violation] = deque(maxlen=LOG_LENGTH)
        self._gates: list[_Gate] = []

    # --- setup --------------------------------------------------------------------------------

    def register_app(self, client_id: str, client_secret: str, redirect_uris: list[str] | tuple[str, ...]) -> None:
        """An app registered on Intuit's developer portal (its keys and allowed redirect URIs)."""
        with self.lock:
            self.authorization.register_app(client_id, client_secret, redirect_uris)

    def add_company(self, realm: str, name: str, country: str = "US", *, home_currency: str | None = None,
                    seed_defaults: bool = True, **settings: Any) -> FakeCompany:
        """A company; ``settings`` are :class:`~.company.CompanySettings` fields
        (custom_transaction_numbers, forbid_duplicate_doc_numbers, subscription_ended,
        closed_through, multicurrency, zone). The first company added is the one the
        consent page connects unless :attr:`consent_realm` says otherwise."""
        with self.lock:
            if realm in self.companies:
                raise ValueError(f"realm {realm} exists")
            currency = home_currency or HOME_CURRENCIES.get(country, "USD")
            company = FakeCompany(realm, CompanySettings(name, country, currency, **settings), self.clock, self.lock)
            if seed_defaults:
                company.seed_defaults()
            self.companies[realm] = company
            if self.consent_realm is None:
                self.consent_realm = realm
            return company

    def company(self, realm: str) -> FakeCompany:
        return self.companies[realm]

    # --- tokens -------------------------------------------------------------------------------

    def expire_access_tokens(self, realm: str | None = None, *, older_than: timedelta | None = None) -> int:
        """End every live access token now (of one company; issued ``older_than`` ago): the next call answers 401 3200."""
        with self.lock:
            return self.authorization.expire_access_tokens(realm, older_than=older_than)

    def disconnect(self, realm: str) -> None:
        """The company disconnected every app from its side: refreshes answer invalid_grant."""
        with self.lock:
            self.authorization.revoke_realm(realm)

    # --- faults and limits ----------------------------------------------------------------------

    def inject(self, kind: str, *, times: int | None = None, rate: float | None = None, realm: str | None = None,
               on: str = "write") -> FaultPlan:
        """Plan a fault (see :mod:`.injection`): the next ``times`` calls, or each with ``rate``."""
        with self.lock:
            return self.faults.add(kind, times=times, rate=rate, realm=realm, on=on)

    def set_limits(self, *, max_concurrent: int | None = 10, requests_per_minute: int | None = 500,
                   batches_per_minute: int | None = 40) -> None:
        """Change the per-company limits (None: no limit), e.g. off for a bench that projects the real rate."""
        with self.lock:
            self.limits.max_concurrent = max_concurrent
            self.limits.per_minute = requests_per_minute
            self.limits.batches_per_minute = batches_per_minute

    def clear_faults(self) -> None:
        with self.lock:
            self.faults.clear()

    def forget_request_ids(self, realm: str | None = None) -> None:
        """Intuit forgets the requestids it has seen (now, for one or all companies)."""
        with self.lock:
            for company in self.companies.values():
                if realm is None or company.realm == realm:
                    company.answers_by_request_id.clear()

    def hold(self, realm: str | None = None) -> threading.Event:
        """Hold API calls (of one company) after they passed the limits, until the event is set.

        For tests of concurrency: ``gate = intuit.hold(realm)``, send calls, wait until
        :meth:`in_flight` shows them, then ``gate.set()``.
        """
        gate = _Gate(realm)
        with self.lock:
            self._gates.append(gate)
        return gate.released

    def wait_at_gates(self, realm: str) -> None:
        with self.lock:
            events = [gate.released for gate in self._gates if gate.realm in (None, realm)]
        for event in events:
            event.wait()

    def in_flight(self, realm: str) -> int:
        with self.lock:
            return self.limits.in_flight.get(realm, 0)

    # --- inspection -----------------------------------------------------------------------------

    def invoices(self, realm: str) -> list[Record]:
        return self.companies[realm].invoices()

    def duplicate_doc_numbers(self, realm: str) -> dict[str, list[str]]:
        return self.companies[realm].duplicate_doc_numbers()

    def max_concurrency(self, realm: str) -> int:
        with self.lock:
            return self.limits.max_concurrency.get(realm, 0)

    @property
    def refresh_count(self) -> int:
        return self.authorization.refresh_count

    @property
    def refresh_token_reuses(self) -> list[RefreshTokenReuse]:
        with self.lock:
            return list(self.authorization.refresh_token_reuses)

    def writes_without_request_id(self, realm: str | None = None) -> list[Violation]:
        return self.violations_of("requestid", realm)

    def violations_of(self, rule: str, realm: str | None = None) -> list[Violation]:
        with self.lock:
            return [v for v in self.violations if v.rule == rule and (realm is None or v.realm == realm)]

    def requests(self, realm: str | None = None) -> list[LoggedRequest]:
        with self.lock:
            return [r for r in self.request_log if realm is None or r.realm == realm]

    def record(self, entry: LoggedRequest) -> None:
        with self.lock:
            self.request_log.append(entry)

    def violate(self, rule: str, method: str, path: str, realm: str | None) -> None:
        with self.lock:
            self.violations.append(Violation(rule, method, path, realm))
