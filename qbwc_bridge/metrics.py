"""Prometheus metrics: what happened (counted as it happens) and how things stand (read at scrape time).

Two kinds, kept apart on purpose:

- **Events** (SOAP calls, sessions, QuickBooks errors, API requests) are counters and a
  histogram in this process. Several ``serve`` processes behind a load balancer each count
  their own, so with ``QBWC_BRIDGE_METRICS_DIR`` they write them to memory-mapped files in
  that directory (prometheus_client's multiprocess mode) and any process's scrape sums them.
- **State** (outbox depth and age, invoices and accounts by status) is the database's, not a
  process's: it is read with a few GROUP BY queries when Prometheus scrapes, so every
  process answers the same figures and nothing can drift.

Every label value comes from a closed set (operation names, states, Flask rules, codes
QuickBooks documents): an unbounded label would grow Prometheus without limit.
"""
from __future__ import annotations

import datetime as dt
import os
from collections.abc import Iterable, Iterator
from pathlib import Path

from prometheus_client import CollectorRegistry, Counter, Histogram, generate_latest, values
from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_client.multiprocess import MultiProcessCollector
from sqlalchemy import func, or_, select

from .backends.desktop.status import HRESULT_MEANINGS, parse_hresult
from .outbox import READY_STATES
from .store.db import Store
from .store.models import Account, AccountKind, OutboxOperation, PackedOrder, utcnow

CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"
# QuickBooks' documented statusCodes are below 10000; anything else is counted as "other".
_MAX_STATUS_CODE = 10_000

# The process's own counters. Every metric has labels, so no value exists before its first
# .labels() call: share_across_processes() can still choose where values live.
_PROCESS = CollectorRegistry(auto_describe=True)
SOAP_CALLS = Counter(
    "qbwc_bridge_soap_calls", "Web Connector SOAP calls, by operation and outcome",
    ["operation", "outcome"], registry=_PROCESS,
)
SOAP_CALL_SECONDS = Histogram(
    "qbwc_bridge_soap_call_seconds", "Time spent answering a Web Connector SOAP call", ["operation"],
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30), registry=_PROCESS,
)
SESSIONS = Counter(
    "qbwc_bridge_sessions", "Web Connector sessions ended, by how they ended", ["outcome"], registry=_PROCESS
)
QUICKBOOKS_ERRORS = Counter(
    "qbwc_bridge_quickbooks_errors", "Errors QuickBooks or the Web Connector reported (statusCode or HRESULT)",
    ["code"], registry=_PROCESS,
)
API_REQUESTS = Counter(
    "qbwc_bridge_api_requests", "HTTP requests to the API and admin, by Flask route and status",
    ["route", "status"], registry=_PROCESS,
)

WORKER_DRIVES = Counter(
    "qbwc_bridge_worker_drives", "Drives of a push (Online) company by the worker, by outcome (done, failed)",
    ["outcome"], registry=_PROCESS,
)
WORKER_LEASES = Counter(
    "qbwc_bridge_worker_leases", "Worker lease events: taken_over (from a worker that died), lost (to another worker)",
    ["event"], registry=_PROCESS,
)
WEBHOOK_DELIVERIES = Counter(
    "qbwc_bridge_webhook_deliveries", "Webhook delivery attempts, by outcome (delivered, retrying, given_up)",
    ["outcome"], registry=_PROCESS,
)


def share_across_processes(directory: Path) -> None:
    """Keep this process's counters in ``directory``, where every process's scrape sums them.

    Must run before the first request is counted. prometheus_client decides where values live
    from PROMETHEUS_MULTIPROC_DIR (read when a value is created) and its ValueClass; both are
    set here so that QBWC_BRIDGE_METRICS_DIR, read by config like every setting, is the one knob.
    """
    os.environ["PROMETHEUS_MULTIPROC_DIR"] = str(directory)
    values.ValueClass = values.MultiProcessValue()


def count_quickbooks_status(code: int) -> None:
    """A ``*Rs`` that did not succeed (statusCode other than 0)."""
    QUICKBOOKS_ERRORS.labels(code=str(code) if 0 <= code < _MAX_STATUS_CODE else "other").inc()


def count_hresult(hresult: str) -> None:
    """An HRESULT the Web Connector reported; ones we do not know are "other" (the text is the caller's)."""
    code = parse_hresult(hresult)
    QUICKBOOKS_ERRORS.labels(code=f"0x{code:08X}" if code in HRESULT_MEANINGS else "other_hresult").inc()


class _StateCollector:
    """Gauges read from the database at scrape time: the same answer from every process."""

    def __init__(self, store: Store, now: dt.datetime, silent_after: dt.timedelta):
        self.store = store
        self.now = now
        self.silent_after = silent_after

    def collect(self) -> Iterator[Metric]:
        with self.store.begin() as db:
            waiting = _waiting(self.now)
            ready = GaugeMetricFamily(
                "qbwc_bridge_outbox_ready", "Operations waiting for QuickBooks (pending or unconfirmed, not backing off)",
                labels=["kind"],
            )
            for kind, count in db.execute(
                select(OutboxOperation.kind, func.count()).where(*waiting).group_by(OutboxOperation.kind)
            ):
                ready.add_metric([kind], count)
            oldest = db.scalar(select(func.min(OutboxOperation.created_at)).where(*waiting))
            age = GaugeMetricFamily(
                "qbwc_bridge_outbox_oldest_ready_seconds", "Age of the oldest operation waiting for QuickBooks (0: none)"
            )
            age.add_metric([], max((self.now - oldest).total_seconds(), 0.0) if oldest else 0.0)
            invoices = GaugeMetricFamily("qbwc_bridge_invoices_total", "Invoices (packed orders) by status", labels=["status"])
            for status, count in db.execute(select(PackedOrder.status, func.count()).group_by(PackedOrder.status)):
                invoices.add_metric([status], count)
            accounts = GaugeMetricFamily("qbwc_bridge_accounts", "Accounts by connection status", labels=["status"])
            for status, count in db.execute(select(Account.status, func.count()).group_by(Account.status)):
                accounts.add_metric([status], count)
            silent = GaugeMetricFamily(
                "qbwc_bridge_accounts_silent", "Desktop accounts whose Web Connector has stopped calling (web_connector_silent)"
            )
            silent.add_metric([], db.scalar(select(func.count()).select_from(Account).where(
                Account.kind == AccountKind.DESKTOP.value, Account.last_contact_at < self.now - self.silent_after,
            )) or 0)  # fmt: skip
        yield from (ready, age, invoices, accounts, silent)


def _waiting(now: dt.datetime) -> tuple:
    """What "waiting" means for the gauges: a ready state and no backoff still running.

    Dependencies are not checked (a correlated look-up per row): an invoice waiting for its
    customer counts as waiting, which is what an operator wants to see anyway.
    """
    return (
        OutboxOperation.state.in_(READY_STATES),
        or_(OutboxOperation.not_before.is_(None), OutboxOperation.not_before <= now),
    )


class _Scrape:
    """Several collectors answered as one registry (all generate_latest asks of one)."""

    def __init__(self, collectors: Iterable):
        self.collectors = list(collectors)

    def collect(self) -> Iterator[Metric]:
        for collector in self.collectors:
            yield from collector.collect()


def render(store: Store, metrics_dir: Path | None, silent_after: dt.timedelta, now: dt.datetime | None = None) -> bytes:
    """The Prometheus text exposition of every metric."""
    if metrics_dir is not None:
        events = CollectorRegistry()
        MultiProcessCollector(events, path=str(metrics_dir))
    else:
        events = _PROCESS
    return generate_latest(_Scrape([events, _StateCollector(store, now or utcnow(), silent_after)]))
