"""/api/v1/webhook: where BlueTrace wants the bridge's events, and how their deliveries went.

Field names are a public contract: only ever added to. The secret is in the answer of the
``PUT`` that made it, and nowhere else, ever.
"""
from __future__ import annotations

from flask import Blueprint, current_app

from ...errors import NotFound
from ...webhooks import endpoints
from ...webhooks.events import EVENT_TYPES
from ...webhooks.sealed_secret import SecretBox
from .base import PAGE_QUERY, api_route, component, json_body, page_args

_WHEN = {"type": ["string", "null"], "format": "date-time"}
ENDPOINT_PUT = component(
    "WebhookEndpointPut",
    {
        "type": "object",
        "additionalProperties": False,
        "required": ["url", "events"],
        "properties": {
            "url": {
                "type": "string", "maxLength": endpoints.MAX_URL,
                "description": "https:// (http:// only to localhost, 127.0.0.1 or [::1]); no user name or password",
            },
            "events": {"type": "array", "minItems": 1, "items": {"enum": list(EVENT_TYPES)}, "uniqueItems": True},
            "rotate_secret": {"type": "boolean", "description": "Make a new secret (shown once in the answer); "
                              "the old one stops signing at once"},
        },
    },
)
ENDPOINT = component(
    "WebhookEndpoint",
    {
        "type": "object",
        "required": ["url", "events", "created_at", "updated_at"],
        "properties": {
            "url": {"type": "string"},
            "events": {"type": "array", "items": {"enum": list(EVENT_TYPES)}},
            "secret": {
                "type": "string",
                "description": "Only in the answer of the PUT that created the endpoint or rotated its secret: keep "
                "it, it is never shown again. Deliveries carry X-QBWC-Bridge-Signature: t=<unix seconds>,v1=<hex "
                "HMAC-SHA256 of '<t>.' + body, keyed with this secret>",
            },
            "created_at": {"type": "string", "format": "date-time"},
            "updated_at": {"type": "string", "format": "date-time"},
        },
    },
)
DELIVERY = component(
    "WebhookDelivery",
    {
        "type": "object",
        "required": ["event_id", "type", "occurred_at", "state", "attempts"],
        "properties": {
            "event_id": {"type": "string", "description": "The body's id and the X-QBWC-Bridge-Delivery header"},
            "type": {"enum": list(EVENT_TYPES)},
            "occurred_at": {"type": "string", "format": "date-time"},
            "state": {"enum": ["pending", "delivered", "failed"], "description": "failed: given up after a day of "
                      "retries, or the endpoint was removed"},
            "attempts": {"type": "integer"},
            "last_attempt_at": _WHEN,
            "last_status": {"type": ["integer", "null"], "description": "The receiver's HTTP status; null when none"},
            "last_error": {"type": ["string", "null"]},
            "next_attempt_at": {**_WHEN, "description": "When it is tried again (pending only)"},
            "delivered_at": _WHEN,
        },
    },
)
DELIVERY_PAGE = component(
    "WebhookDeliveryPage",
    {
        "type": "object",
        "required": ["deliveries", "page", "page_size", "total", "pages"],
        "properties": {
            "deliveries": {"type": "array", "items": DELIVERY},
            "page": {"type": "integer", "minimum": 1},
            "page_size": {"type": "integer", "minimum": 1},
            "total": {"type": "integer"},
            "pages": {"type": "integer", "minimum": 1},
        },
    },
)
_NONE = "No webhook endpoint is set for this account (PUT /webhook sets one)."


def register(blueprint: Blueprint) -> None:
    """Declare the webhook routes on the API blueprint."""

    def put_webhook(db, account_id):
        box = SecretBox(current_app.extensions["qbwc_bridge.settings"].secret_key)
        view, created = endpoints.put_endpoint(db, account_id, json_body(), box)
        return view, 201 if created else 200

    api_route(
        blueprint, "PUT", "/webhook", tag="Webhooks", request_schema=ENDPOINT_PUT, response_schema=ENDPOINT,
        summary="Set the account's webhook endpoint (one per account); the secret is shown once",
        description="Creates (201, with the new secret) or replaces (200) the endpoint. Events are signed, delivered "
        "at least once (deduplicate by id), in order per order, retried with backoff for a day.",
        responses={"201": "Created: the answer holds the secret, shown this once"},
    )(put_webhook)

    def get_webhook(db, account_id):
        view = endpoints.get_endpoint(db, account_id)
        if view is None:
            raise NotFound(_NONE)
        return view

    api_route(blueprint, "GET", "/webhook", tag="Webhooks", response_schema=ENDPOINT,
              summary="The account's webhook endpoint (never its secret)", responses={"404": _NONE})(get_webhook)

    def delete_webhook(db, account_id):
        if not endpoints.delete_endpoint(db, account_id):
            raise NotFound(_NONE)
        return {"deleted": True}

    api_route(
        blueprint, "DELETE", "/webhook", tag="Webhooks", responses={"404": _NONE},
        response_schema={"type": "object", "required": ["deleted"], "properties": {"deleted": {"const": True}}},
        summary="Remove the webhook endpoint; its pending events are given up",
    )(delete_webhook)

    def deliveries(db, account_id):
        page, size = page_args()
        result = endpoints.list_deliveries(db, account_id, page=page, page_size=size)
        return {
            "deliveries": [endpoints.delivery_view(row) for row in result.rows],
            "page": result.page,
            "page_size": result.page_size,
            "total": result.total,
            "pages": result.pages,
        }

    api_route(
        blueprint, "GET", "/webhook/deliveries", tag="Webhooks", response_schema=DELIVERY_PAGE, query=PAGE_QUERY,
        summary="Recent webhook events and how their delivery went, newest first",
    )(deliveries)
