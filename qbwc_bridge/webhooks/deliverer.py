"""The deliverer: drains the durable webhook queue, at least once, in order per order.

Only the deliverer sends: recording an event is a row in the change's own transaction, so the
Web Connector and the API never wait on BlueTrace's receiver.

**Claiming.** One transaction picks pending events due now whose order key has no earlier
pending event (so one order's events go one after the other), ``FOR UPDATE SKIP LOCKED`` on
PostgreSQL so several deliverers (threads, processes, hosts) never pick the same row, and
pushes each one's ``next_attempt_at`` a :data:`CLAIM` ahead: that is its lease. The POSTs
happen outside any transaction; a deliverer that dies mid-send leaves its events to be
claimed again once the lease has passed (so a receiver may see an event twice: at least
once, deduplicate by ``id``). An answer is written only by the deliverer whose claim it
still is (same ``attempts``).

**Retries.** Any answer other than 2xx, a redirect (never followed), a timeout or a refused
connection is tried again after an exponential backoff with jitter (:func:`backoff`: 10 s,
20 s, ... capped at one hour), for :data:`RETRY_WINDOW` after the event occurred; a failure
after that gives the event up (``failed``), and the next event of its order goes.

**Keeping.** Delivered and given-up events stay listed for :data:`KEEP`; ``run_forever``
deletes older ones (:meth:`Deliverer.prune`) once an hour.
"""
from __future__ import annotations

import dataclasses
import datetime as dt
import logging
import random
import threading
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor

import httpx
from sqlalchemy import delete, exists, select
from sqlalchemy.orm import aliased

from .. import metrics
from ..store.db import Store, log_failure
from ..store.models import DeliveryState, WebhookDelivery, WebhookEndpoint, utcnow
from . import signature
from .endpoints import REMOVED
from .sealed_secret import SealedSecretUnreadable, SecretBox

log = logging.getLogger(__name__)

RETRY_WINDOW = dt.timedelta(days=1)
#: How long delivered and given-up events stay listed in GET /webhook/deliveries before they are deleted.
KEEP = dt.timedelta(days=30)
PRUNE_EVERY = dt.timedelta(hours=1)
_PRUNE_BATCH = 1000
#: How long a claimed event is left to its deliverer before another may claim it (its lease).
CLAIM = dt.timedelta(seconds=60)
FIRST_BACKOFF = dt.timedelta(seconds=10)
MAX_BACKOFF = dt.timedelta(hours=1)
BATCH = 50
#: POSTs in flight at once: the events of one batch have distinct order keys, so sending them side by
#: side keeps each order's sequence, and a slow receiver costs one round trip per batch, not per event.
CONCURRENCY = 8
POLL_SECONDS = 5.0
TIMEOUT = httpx.Timeout(10.0, connect=5.0)
USER_AGENT = "qbwc-bridge-webhooks/1"
_ERROR_TEXT = 500  # characters of an error kept on the row

_earlier = aliased(WebhookDelivery)
_DUE = (
    select(WebhookDelivery)
    .where(
        WebhookDelivery.state == DeliveryState.PENDING.value,
        ~exists().where(
            _earlier.account_id == WebhookDelivery.account_id,
            _earlier.order_key == WebhookDelivery.order_key,
            _earlier.state == DeliveryState.PENDING.value,
            _earlier.id < WebhookDelivery.id,
        ),
    )
    .order_by(WebhookDelivery.next_attempt_at, WebhookDelivery.id)
)


def backoff(attempts: int, draw: Callable[[], float] = random.random) -> dt.timedelta:
    """The wait after the ``attempts``-th failure: doubling from 10 s, at most an hour, times 0.5-1 (jitter).

    Jitter spreads the retries of many events that failed together (a receiver that was down).
    """
    base = min(FIRST_BACKOFF * 2 ** min(attempts - 1, 20), MAX_BACKOFF)
    return base * (0.5 + draw() / 2)


@dataclasses.dataclass(frozen=True)
class Claimed:
    """One event taken for sending: what goes on the wire, and which claim it is."""

    id: int
    event_id: str
    type: str
    body: bytes
    url: str
    secret: str
    attempts: int


@dataclasses.dataclass(frozen=True)
class Outcome:
    delivered: bool
    status: int | None
    error: str | None


class Deliverer:
    """Sends due webhook events (see the module docstring).

    Args:
        store: the database.
        box: opens the sealed endpoint secrets.
        client: the HTTP client (default: httpx with :data:`TIMEOUT`, redirects not followed).
        concurrency: POSTs in flight at once (see :data:`CONCURRENCY`).
        clock: now, as an aware UTC datetime (tests inject one).
        draw: a random number in [0, 1), the backoff's jitter.
    """

    def __init__(self, store: Store, box: SecretBox, *, client: httpx.Client | None = None,
                 clock: Callable[[], dt.datetime] = utcnow, draw: Callable[[], float] = random.random,
                 batch: int = BATCH, concurrency: int = CONCURRENCY, poll_seconds: float = POLL_SECONDS,
                 retry_window: dt.timedelta = RETRY_WINDOW):
        self.store = store
        self.box = box
        self.client = client or httpx.Client(timeout=TIMEOUT, follow_redirects=False,
                                              headers={"User-Agent": USER_AGENT})  # fmt: skip
        self.clock = clock
        self.draw = draw
        self.batch = batch
        self.poll_seconds = poll_seconds
        self.retry_window = retry_window
        self._pruned_at: dt.datetime | None = None
        self._senders = ThreadPoolExecutor(concurrency, thread_name_prefix="qbwc-bridge webhook send")

    def close(self) -> None:
        """Stop the senders and close the HTTP client's connections."""
        self._senders.shutdown()
        self.client.close()

    def run_once(self) -> int:
        """Send until nothing is due now; returns how many attempts were made."""
        attempts = 0
        while True:
            claimed = self.claim()
            if not claimed:
                return attempts
            self.finish(list(zip(claimed, self._senders.map(self.send, claimed))))
            attempts += len(claimed)

    def run_forever(self, stop: threading.Event) -> None:
        """Send what is due, sleep until the next retry (at most ``poll_seconds``), until ``stop`` is set."""
        while not stop.is_set():
            wait = self.poll_seconds
            try:
                self.run_once()
                now = self.clock()
                if self._pruned_at is None or now - self._pruned_at >= PRUNE_EVERY:
                    self.prune()
                    self._pruned_at = now
                due = self.next_due()
                if due is not None:  # a retry due before the next poll
                    wait = min(wait, max((due - self.clock()).total_seconds(), 0.05))
            except Exception:  # the database away for a while must not end deliveries for good
                log_failure(log, "the webhook deliverer could not look for due events; trying again in %g s",
                            self.poll_seconds)  # fmt: skip
            stop.wait(wait)

    def prune(self) -> int:
        """Delete delivered and given-up events older than :data:`KEEP`, a batch per unit of work; returns how many."""
        cutoff = self.clock() - KEEP
        deleted = 0
        while True:
            with self.store.begin() as db:
                ids = db.scalars(
                    select(WebhookDelivery.id)
                    .where(WebhookDelivery.state != DeliveryState.PENDING.value, WebhookDelivery.occurred_at < cutoff)
                    .limit(_PRUNE_BATCH)
                ).all()
                if ids:
                    db.execute(delete(WebhookDelivery).where(WebhookDelivery.id.in_(ids)))
            deleted += len(ids)
            if len(ids) < _PRUNE_BATCH:
                return deleted

    def next_due(self) -> dt.datetime | None:
        """When the earliest pending event is due (None: nothing pending)."""
        with self.store.begin() as db:
            return db.scalar(_DUE.with_only_columns(WebhookDelivery.next_attempt_at).limit(1))

    def claim(self) -> list[Claimed]:
        """Take up to ``batch`` due events (one per order key) for sending; see the module docstring."""
        now = self.clock()
        claimed = []
        with self.store.begin() as db:
            rows = db.scalars(
                _DUE.where(WebhookDelivery.next_attempt_at <= now)
                .limit(self.batch)
                .with_for_update(skip_locked=True, of=WebhookDelivery)
            ).all()
            for row in rows:
                endpoint = db.get(WebhookEndpoint, row.account_id)
                if endpoint is None:
                    row.state, row.last_error = DeliveryState.FAILED.value, REMOVED
                    continue
                try:
                    secret = self.box.open(endpoint.secret_sealed)
                except SealedSecretUnreadable as unreadable:
                    self._failed(row, now, Outcome(False, None, str(unreadable)))
                    continue
                row.attempts += 1
                row.last_attempt_at = now
                row.next_attempt_at = now + CLAIM
                claimed.append(Claimed(row.id, row.event_id, row.type, row.body.encode("utf-8"), endpoint.url, secret,
                                       row.attempts))  # fmt: skip
        return claimed

    def send(self, item: Claimed) -> Outcome:
        """POST one event, signed; never raises."""
        timestamp = int(self.clock().timestamp())
        headers = {
            "Content-Type": "application/json",
            signature.HEADER: signature.sign(item.secret, timestamp, item.body),
            "X-QBWC-Bridge-Event": item.type,
            "X-QBWC-Bridge-Delivery": item.event_id,
        }
        try:
            answer = self.client.post(item.url, content=item.body, headers=headers)
        except httpx.HTTPError as failure:
            return Outcome(False, None, f"{type(failure).__name__}: {failure}"[:_ERROR_TEXT])
        if 200 <= answer.status_code < 300:
            return Outcome(True, answer.status_code, None)
        if answer.is_redirect:
            return Outcome(False, answer.status_code, f"redirect to {answer.headers.get('Location', '?')!r} not followed"
                           [:_ERROR_TEXT])  # fmt: skip
        return Outcome(False, answer.status_code, f"HTTP {answer.status_code}: {answer.text[:200]}"[:_ERROR_TEXT])

    def finish(self, results: Sequence[tuple[Claimed, Outcome]]) -> None:
        """Write the answers of one batch, each only if its event is still ours (not claimed again after our
        lease passed)."""
        now = self.clock()
        with self.store.begin() as db:
            for item, outcome in sorted(results, key=lambda result: result[0].id):  # row locks in one order
                row = db.get(WebhookDelivery, item.id, with_for_update=True, populate_existing=True)
                if row is None or row.state != DeliveryState.PENDING.value or row.attempts != item.attempts:
                    continue
                row.last_status, row.last_error = outcome.status, outcome.error
                if outcome.delivered:
                    row.state, row.delivered_at = DeliveryState.DELIVERED.value, now
                    metrics.WEBHOOK_DELIVERIES.labels(outcome="delivered").inc()
                else:
                    self._failed(row, now, outcome)

    def _failed(self, row: WebhookDelivery, now: dt.datetime, outcome: Outcome) -> None:
        row.last_status, row.last_error = outcome.status, outcome.error
        if now - row.occurred_at >= self.retry_window:
            row.state = DeliveryState.FAILED.value
            metrics.WEBHOOK_DELIVERIES.labels(outcome="given_up").inc()
            log.warning("webhook event %s (%s) of account %d given up after %d attempts: %s", row.event_id, row.type,
                        row.account_id, row.attempts, outcome.error)  # fmt: skip
        else:
            row.next_attempt_at = now + backoff(max(row.attempts, 1), self.draw)
            metrics.WEBHOOK_DELIVERIES.labels(outcome="retrying").inc()
            log.info("webhook event %s (%s) of account %d not delivered (attempt %d), next at %s: %s", row.event_id,
                     row.type, row.account_id, row.attempts, row.next_attempt_at.isoformat(), outcome.error)


class BackgroundDeliverer:
    """A :class:`Deliverer` running forever in a daemon thread of ``serve``, stopped with the server."""

    def __init__(self, deliverer: Deliverer, stop_wait_seconds: float = 15.0):
        self.deliverer = deliverer
        self.stop_wait_seconds = stop_wait_seconds
        self._stop = threading.Event()
        self._thread = threading.Thread(target=deliverer.run_forever, args=(self._stop,),
                                        name="qbwc-bridge webhooks", daemon=True)  # fmt: skip

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        """Stop after the send under way; what it had claimed is claimed again after :data:`CLAIM`."""
        self._stop.set()
        self._thread.join(self.stop_wait_seconds)
        if not self._thread.is_alive():
            self.deliverer.close()

    @property
    def running(self) -> bool:
        return self._thread.is_alive()
