"""/api/v1 status and settings: how the connection stands, and the General/Items/Customers settings."""
from __future__ import annotations

from flask import Blueprint, current_app

from ...domain import InvoiceNumbering, ItemMatchField
from ...services import settings as settings_service
from ...services.status import account_status
from .base import api_route, component, json_body

_REFERENCE = {
    "oneOf": [
        {
            "type": "object",
            "required": ["id", "name", "missing"],
            "properties": {
                "id": {"type": "string", "description": "QuickBooks ListID"},
                "name": {"type": ["string", "null"], "description": "QuickBooks (full) name; null when missing"},
                "missing": {"type": "boolean", "description": "QuickBooks no longer has it (as of the last sync)"},
                "active": {"type": "boolean"},
                "account_type": {"type": ["string", "null"]},
            },
        },
        {"type": "null"},
    ]
}
_MATCH_FIELDS = [f.value for f in ItemMatchField]
_NUMBERINGS = [n.value for n in InvoiceNumbering]
_NUMBERING_TEXT = ("Who numbers invoices: order_number = the BlueTrace order number (its last 21 characters on "
                   "QuickBooks Online, 11 on Desktop, when longer); quickbooks = QuickBooks' own next number. The "
                   "number QuickBooks gave is in the order's invoice either way.")
_LIVE_MODE_TEXT = (f"Live mode, QuickBooks Desktop only: minutes (0 to {settings_service.MAX_LIVE_MODE_MINUTES}) a Web "
                   "Connector session that has finished its work stays open, asking for new work every ~5 s, so an "
                   "order packed meanwhile is invoiced within seconds. 0 (or null in a PATCH) = off, the default. "
                   "The session still ends on any error and when another QuickBooks user needs the data.")


def _choices(**extra: dict) -> dict:
    """A list of QuickBooks records a setting may name: each with its id, its name and ``extra`` properties."""
    return {"type": "array", "items": {"type": "object", "required": ["id", "name"],
                                       "properties": {"id": {"type": "string"}, "name": {"type": "string"}, **extra}}}


SETTINGS = component(
    "Settings",
    {
        "type": "object",
        "required": [*settings_service.SETTING_NAMES],
        "properties": {
            "default_terms": {**_REFERENCE, "description": "Invoice terms used when the QuickBooks customer has none"},
            "ar_account": {**_REFERENCE, "description": "Income account of the items the bridge creates in QuickBooks"},
            "ap_account": {**_REFERENCE, "description": "Expense account of the items the bridge creates in QuickBooks"},
            "invoice_creation": {"type": "boolean"},
            "items_sync": {"type": "boolean", "description": "On: unmatched new items are created in QuickBooks"},
            "customers_sync": {"type": "boolean", "description": "On: unmatched new customers are created in QuickBooks"},
            "item_match_field": {"enum": _MATCH_FIELDS, "description": "The QuickBooks field that carries the SKU"},
            "invoice_numbering": {"enum": _NUMBERINGS, "description": _NUMBERING_TEXT},
            "live_mode": {"type": "integer", "minimum": 0, "maximum": settings_service.MAX_LIVE_MODE_MINUTES,
                          "description": _LIVE_MODE_TEXT},
            "tax_code": {**_REFERENCE, "description": "Sales tax code put on every invoice line; only for a "
                         "QuickBooks Online company outside the US (a US company's QuickBooks applies sales tax "
                         "itself)"},
        },
    },
)
SETTINGS_PATCH = component(
    "SettingsPatch",
    {
        "type": "object",
        "additionalProperties": False,
        "description": "Any subset. Terms and accounts by QuickBooks name (any case) or ListID; null clears. "
        "Turning a sync on, or changing item_match_field, re-matches every record; turning invoice creation "
        "on lets blocked invoices go.",
        "properties": {
            "default_terms": {"type": ["string", "null"]},
            "ar_account": {"type": ["string", "null"]},
            "ap_account": {"type": ["string", "null"]},
            "invoice_creation": {"type": "boolean"},
            "items_sync": {"type": "boolean"},
            "customers_sync": {"type": "boolean"},
            "item_match_field": {"enum": _MATCH_FIELDS},
            "invoice_numbering": {"enum": _NUMBERINGS, "description": _NUMBERING_TEXT},
            "live_mode": {"type": ["integer", "null"], "minimum": 0, "maximum": settings_service.MAX_LIVE_MODE_MINUTES,
                          "description": _LIVE_MODE_TEXT + " A non-zero value is refused (422) for an Online account."},
            "tax_code": {"type": ["string", "null"], "description": "A tax code's name or id (see choices); "
                         "refused where the company takes none"},
        },
    },
)
CHOICES = component(
    "SettingChoices",
    {
        "type": "object",
        "required": ["terms", "accounts", "item_match_fields", "tax_code_needed", "tax_codes", "live_mode_offered",
                     "live_mode_max_minutes"],
        "properties": {
            "terms": _choices(days_due={"type": ["integer", "null"]}),
            "accounts": _choices(account_type={"type": ["string", "null"]}),
            "item_match_fields": {"type": "array", "items": {"enum": _MATCH_FIELDS}},
            "tax_code_needed": {"type": "boolean", "description": "Whether the company takes a tax code"},
            "live_mode_offered": {"type": "boolean", "description": "Whether live_mode may be set (Desktop)"},
            "live_mode_max_minutes": {"type": "integer"},
            "tax_codes": _choices(description={"type": ["string", "null"]}),
        },
    },
)
_SUMMARY = {"$ref": "#/components/schemas/MatchSummary"}
STATUS = component(
    "Status",
    {
        "type": "object",
        "required": ["status", "label", "message", "progress", "counts", "last_contact_at", "error"],
        "properties": {
            "status": {"enum": ["not_connected", "connecting", "connected", "error"]},
            "label": {"type": "string", "description": "Not connected, Connecting, Connected or Error"},
            "message": {"type": "string", "description": "Plain words"},
            "progress": {
                "type": "object",
                "required": ["phase", "percent"],
                "properties": {
                    "phase": {"type": ["string", "null"], "description": "verifying, terms, accounts, items, customers or done"},
                    "percent": {"type": ["integer", "null"], "minimum": 0, "maximum": 100},
                },
            },
            "counts": {
                "type": "object",
                "description": "QuickBooks records mirrored so far, and the match state of BlueTrace's records",
                "properties": {
                    "terms": {"type": "integer"},
                    "accounts": {"type": "integer"},
                    "qb_items": {"type": "integer"},
                    "qb_customers": {"type": "integer"},
                    "items": _SUMMARY,
                    "customers": _SUMMARY,
                },
            },
            "last_contact_at": {"type": ["string", "null"], "format": "date-time"},
            "company_name": {"type": ["string", "null"]},
            "company_file_name": {"type": ["string", "null"]},
            "quickbooks": {
                "type": "object",
                "required": ["kind", "realm_id", "company_name", "environment", "authorization_expires_at"],
                "description": "Which QuickBooks the account is linked to; the Online company once connected",
                "properties": {
                    "kind": {"enum": ["desktop", "online"]},
                    "realm_id": {"type": ["string", "null"], "description": "QuickBooks Online company id"},
                    "company_name": {"type": ["string", "null"]},
                    "environment": {"enum": ["production", "sandbox", None]},
                    "authorization_expires_at": {
                        "type": ["string", "null"], "format": "date-time",
                        "description": "When a person must consent at Intuit again (the refresh token's expiry), "
                        "not the hourly access token's",
                    },
                },
            },
            "warning": {
                "type": ["string", "null"],
                "description": "Plain words when something needs doing soon, e.g. the QuickBooks Online "
                "authorization runs out within 14 days",
            },
            "qbxml_version": {"type": ["string", "null"]},
            "error": {
                "oneOf": [
                    {
                        "type": "object",
                        "required": ["code", "message"],
                        "properties": {
                            "code": {
                                "type": "string",
                                "description": "What failed: an HRESULT or QuickBooks status, wrong_company_file, ... or "
                                "web_connector_silent (the Web Connector stopped calling; cleared by its next call) or "
                                "web_connector_password_refused (it calls, but with a password that is no longer valid) "
                                "or reconnect_needed (QuickBooks Online no longer accepts our authorization: a person "
                                "must Reconnect; work waits meanwhile)",
                            },
                            "message": {"type": "string"},
                            "action": {"type": ["string", "null"]},
                            "at": {"type": ["string", "null"], "format": "date-time"},
                        },
                    },
                    {"type": "null"},
                ]
            },
        },
    },
)


def register(blueprint: Blueprint) -> None:
    """Declare the status and settings routes on the API blueprint."""

    @api_route(blueprint, "GET", "/status", tag="Connection", summary="Connection status, progress, counts, last contact, current error", response_schema=STATUS)
    def get_status(db, account_id):
        return account_status(db, account_id, silent_after=current_app.extensions["qbwc_bridge.settings"].silent_after)

    @api_route(blueprint, "GET", "/settings", tag="Settings", summary="General, Items and Customers tab settings", response_schema=SETTINGS)
    def get_settings(db, account_id):
        return settings_service.get_settings(db, account_id)

    @api_route(
        blueprint, "PATCH", "/settings", tag="Settings", summary="Change some settings",
        request_schema=SETTINGS_PATCH, response_schema=SETTINGS,
    )
    def patch_settings(db, account_id):
        return settings_service.update_settings(db, account_id, json_body())

    @api_route(
        blueprint, "GET", "/settings/choices", tag="Settings", response_schema=CHOICES,
        summary="What the settings may be set to: active QuickBooks terms and accounts, item match fields",
    )
    def get_setting_choices(db, account_id):
        return settings_service.setting_choices(db, account_id)
