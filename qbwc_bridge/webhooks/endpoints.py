"""An account's webhook endpoint and its deliveries: what ``/api/v1/webhook`` reads and changes.

One endpoint per account: ``PUT`` creates or replaces it (its secret is shown once, when it is
created and when ``rotate_secret`` asks for a new one), ``DELETE`` removes it (its pending
events are given up: nobody is listening). The URL must be https, except to this machine
(``localhost``, ``127.0.0.1``, ``[::1]``) for development.
"""
from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from typing import Any
from urllib.parse import urlsplit

from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from ..services import validation as v
from ..services.pagination import Page, clamp
from ..store.models import DeliveryState, WebhookDelivery, WebhookEndpoint, utcnow
from . import events
from .sealed_secret import SecretBox, new_secret

MAX_URL = 2000
FIELDS = ("url", "events", "rotate_secret")
LOCAL_HOSTS = ("localhost", "127.0.0.1", "::1")
REMOVED = "The webhook endpoint was removed; this event is not sent."


def read_url(value: Any) -> str:
    """An absolute https URL (http only to this machine), without credentials.

    Raises:
        validation.InvalidInput: naming ``url``.
    """
    url = v.text(value, "url", max_length=MAX_URL, required=True)
    try:
        parts = urlsplit(url)
        host, _port = parts.hostname, parts.port  # the port is checked by reading it
    except ValueError:
        raise v.InvalidInput("url", "is not a valid URL") from None
    if parts.scheme not in ("https", "http") or not host:
        raise v.InvalidInput("url", "must be an absolute https:// URL")
    if parts.scheme == "http" and host not in LOCAL_HOSTS:
        raise v.InvalidInput("url", "must use https (plain http is allowed to localhost only)")
    if parts.username is not None or parts.password is not None:
        raise v.InvalidInput("url", "must not hold a user name or password (verify the signature instead)")
    if parts.fragment:
        raise v.InvalidInput("url", "must not have a #fragment")
    return url


def read_events(value: Any) -> list[str]:
    """A non-empty list of known event types, each once, in the order of :class:`events.EventType`.

    Raises:
        validation.InvalidInput: naming ``events`` or ``events[i]``.
    """
    if not isinstance(value, list) or not value:
        raise v.InvalidInput("events", f"must be a non-empty list of event types ({', '.join(events.EVENT_TYPES)})")
    for index, kind in enumerate(value):
        v.choice(kind, f"events[{index}]", events.EVENT_TYPES)
    return [kind for kind in events.EVENT_TYPES if kind in value]


def put_endpoint(db: Session, account_id: int, data: Any, box: SecretBox) -> tuple[dict[str, Any], bool]:
    """Create or replace the account's endpoint; returns (its view, whether it was created).

    The view carries ``secret`` when one was made: on creation and with ``"rotate_secret": true``.

    Raises:
        validation.InvalidInput: a field is wrong (the API's 422).
    """
    if not isinstance(data, Mapping):
        raise v.InvalidInput("body", "must be a JSON object")
    unknown = sorted(set(data) - set(FIELDS))
    if unknown:
        raise v.InvalidInput(unknown[0], f"is not a field of a webhook endpoint (known: {', '.join(FIELDS)})")
    url, kinds = read_url(data.get("url")), read_events(data.get("events"))
    rotate = v.boolean(data["rotate_secret"], "rotate_secret") if "rotate_secret" in data else False
    endpoint = db.get(WebhookEndpoint, account_id, with_for_update=True)
    created = endpoint is None
    secret = new_secret() if created or rotate else None
    if created:
        endpoint = WebhookEndpoint(account_id=account_id, url=url, events=kinds, secret_sealed=box.seal(secret))
        db.add(endpoint)
    else:
        endpoint.url, endpoint.events = url, kinds
        if secret is not None:
            endpoint.secret_sealed = box.seal(secret)
    db.flush()
    events.forget_endpoint(db, account_id)
    view = endpoint_view(endpoint)
    if secret is not None:
        view["secret"] = secret
    return view, created


def get_endpoint(db: Session, account_id: int) -> dict[str, Any] | None:
    endpoint = db.get(WebhookEndpoint, account_id)
    return None if endpoint is None else endpoint_view(endpoint)


def delete_endpoint(db: Session, account_id: int) -> bool:
    """Remove the endpoint and give up its pending events; False when there was none."""
    endpoint = db.get(WebhookEndpoint, account_id, with_for_update=True)
    if endpoint is None:
        return False
    db.delete(endpoint)
    db.execute(
        update(WebhookDelivery)
        .where(WebhookDelivery.account_id == account_id, WebhookDelivery.state == DeliveryState.PENDING.value)
        .values(state=DeliveryState.FAILED.value, last_error=REMOVED)
    )
    db.flush()
    events.forget_endpoint(db, account_id)
    return True


def endpoint_view(endpoint: WebhookEndpoint) -> dict[str, Any]:
    """The endpoint as the API shows it; never the secret (only :func:`put_endpoint` adds it, once)."""
    return {
        "url": endpoint.url,
        "events": list(endpoint.events),
        "created_at": _iso(endpoint.created_at),
        "updated_at": _iso(endpoint.updated_at),
    }


def list_deliveries(db: Session, account_id: int, *, page: int = 1, page_size: int = 50) -> Page:
    """One page of the account's webhook events, newest first; rows are WebhookDelivery (:func:`delivery_view`)."""
    page, page_size = clamp(page, page_size)
    where = WebhookDelivery.account_id == account_id
    total = db.scalar(select(func.count()).select_from(WebhookDelivery).where(where)) or 0
    rows = db.scalars(
        select(WebhookDelivery).where(where).order_by(WebhookDelivery.id.desc())
        .offset((page - 1) * page_size).limit(page_size)
    ).all()  # fmt: skip
    return Page(rows=list(rows), total=total, page=page, page_size=page_size)


def delivery_view(row: WebhookDelivery) -> dict[str, Any]:
    return {
        "event_id": row.event_id,
        "type": row.type,
        "occurred_at": _iso(row.occurred_at),
        "state": row.state,
        "attempts": row.attempts,
        "last_attempt_at": _iso(row.last_attempt_at),
        "last_status": row.last_status,
        "last_error": row.last_error,
        "next_attempt_at": _iso(row.next_attempt_at) if row.state == DeliveryState.PENDING.value else None,
        "delivered_at": _iso(row.delivered_at),
    }


def failing_endpoints(db: Session, now: dt.datetime | None = None) -> list[dict[str, Any]]:
    """Endpoints with events pending after a failed attempt, or given up in the last week (support view)."""
    now = now or utcnow()
    retrying = (
        select(WebhookDelivery.account_id, func.count(), func.min(WebhookDelivery.occurred_at))
        .where(WebhookDelivery.state == DeliveryState.PENDING.value, WebhookDelivery.last_error.is_not(None))
        .group_by(WebhookDelivery.account_id)
    )
    given_up = (
        select(WebhookDelivery.account_id, func.count())
        .where(WebhookDelivery.state == DeliveryState.FAILED.value, WebhookDelivery.occurred_at >= now - dt.timedelta(days=7))
        .group_by(WebhookDelivery.account_id)
    )
    failing: dict[int, dict[str, Any]] = {}
    for account_id, count, oldest in db.execute(retrying):
        failing[account_id] = {"account_id": account_id, "retrying": count, "oldest": oldest, "given_up": 0}
    for account_id, count in db.execute(given_up):
        failing.setdefault(account_id, {"account_id": account_id, "retrying": 0, "oldest": None})["given_up"] = count
    for account_id, entry in failing.items():
        endpoint = db.get(WebhookEndpoint, account_id)
        entry["url"] = endpoint.url if endpoint is not None else None
        entry["last_error"] = db.scalar(
            select(WebhookDelivery.last_error).where(WebhookDelivery.account_id == account_id,
                                                     WebhookDelivery.last_error.is_not(None))
            .order_by(WebhookDelivery.id.desc()).limit(1))  # fmt: skip
    return [failing[account_id] for account_id in sorted(failing)]


def _iso(moment: dt.datetime | None) -> str | None:
    return None if moment is None else moment.isoformat().replace("+00:00", "Z")
