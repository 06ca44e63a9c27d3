"""/api/v1 items and customers: BlueTrace pushes records, reads their match, resolves issues.

Items and customers have the same routes, so both are declared by one function over a
small description of each (:class:`_Resource`); the rules live in
:mod:`qbwc_bridge.services.catalog`.

Accepting a suggested candidate is ``POST .../match`` with the candidate's
``quickbooks_id`` (every view lists ``candidates``; ``actions`` then holds
``accept_suggestion``).
"""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from flask import Blueprint, request

from ...domain import IssueType, MatchedBy, PendingAction
from ...services import catalog
from ...services import validation as v
from ...store.models import BtCustomer, BtItem
from .base import PAGE_QUERY, api_route, component, json_body, page_args

_NULLABLE_TEXT = {"type": ["string", "null"]}
_MONEY_IN = {
    "type": ["string", "number", "null"],
    "description": "A non-negative decimal with at most 5 places, e.g. \"12.50\" (numbers are read exactly)",
}
_MONEY_OUT = {"type": ["string", "null"], "pattern": r"^\d+\.\d{2,5}$", "description": "Decimal string, e.g. \"12.50\""}

ITEM_IN = component(
    "ItemInput",
    {
        "type": "object",
        "description": "Absent fields stay as they are; null clears. Unknown fields are ignored. "
        "`name` is required to create.",
        "properties": {
            "sku": {"type": ["string", "null"], "maxLength": 100, "description": "Trimmed; blank means no SKU"},
            "name": {"type": "string", "minLength": 1, "maxLength": 400},
            "description": {"type": ["string", "null"], "maxLength": 4095},
            "sales_price": _MONEY_IN,
            "purchase_cost": _MONEY_IN,
            "kind": {"enum": list(catalog.ITEM_KINDS)},
            "active": {"type": "boolean"},
        },
    },
)
_ADDRESS_IN = {
    "type": ["object", "null"],
    "description": "Replaced as a whole; blank lines are dropped",
    "properties": {key: {"type": ["string", "null"], "maxLength": catalog.ADDRESS_FIELD_MAX} for key in catalog.ADDRESS_FIELDS},
}
CUSTOMER_IN = component(
    "CustomerInput",
    {
        "type": "object",
        "description": "Absent fields stay as they are; null clears. Unknown fields are ignored. "
        "`name` is required to create.",
        "properties": {
            "name": {"type": "string", "minLength": 1, "maxLength": 400},
            "company_name": {"type": ["string", "null"], "maxLength": 400},
            "billing_email": {"type": ["string", "null"], "maxLength": 320, "description": "One address"},
            "phone": {"type": ["string", "null"], "maxLength": 60},
            "bill_address": _ADDRESS_IN,
            "ship_address": _ADDRESS_IN,
            "active": {"type": "boolean"},
        },
    },
)
_ADDRESS_OUT = {
    "type": ["object", "null"],
    "properties": {key: {"type": "string"} for key in catalog.ADDRESS_FIELDS},
    "additionalProperties": False,
}
_ISSUES = [i.value for i in IssueType]
_MATCH_FIELDS = {
    "match_state": {
        "enum": ["matched", "issue", "pending", "unmatched"],
        "description": "pending: a request to QuickBooks is queued; unmatched: not matched and no issue (sync off or not evaluated yet)",
    },
    "matched_by": {"enum": [m.value for m in MatchedBy] + [None]},
    "issue": {"enum": _ISSUES + [None]},
    "issue_message": _NULLABLE_TEXT,
    "resolution": {**_NULLABLE_TEXT, "description": "How to resolve the issue, in the help article's words"},
    "quickbooks_message": {**_NULLABLE_TEXT, "description": "QuickBooks' own words when it refused a creation"},
    "rename_max_length": {
        "type": ["integer", "null"],
        "description": "Set after a duplicate name: create-in-quickbooks may take {\"name\"} of at most this length",
    },
    "shared_with": {
        "type": "array", "items": {"type": "string"},
        "description": "Other BlueTrace records carrying the same SKU / email (duplicate match)",
    },
    "pending": {"enum": [p.value for p in PendingAction] + [None]},
    "actions": {
        "type": "array",
        "items": {"enum": ["resync", "create_in_quickbooks", "match", "accept_suggestion", "unmatch"]},
        "description": "What may be done now; accept_suggestion = POST .../match with a candidate's quickbooks_id",
    },
    "updated_at": {"type": ["string", "null"], "format": "date-time"},
}
_QB_ITEM = {
    "type": "object",
    "required": ["quickbooks_id", "name", "full_name", "sku", "item_type", "active"],
    "properties": {
        "quickbooks_id": {"type": "string", "description": "QuickBooks ListID"},
        "name": _NULLABLE_TEXT,
        "full_name": _NULLABLE_TEXT,
        "sku": {**_NULLABLE_TEXT, "description": "The QuickBooks field SKUs match (item_match_field)"},
        "item_type": _NULLABLE_TEXT,
        "active": {"type": ["boolean", "null"], "description": "null when QuickBooks no longer has the record"},
    },
}
_QB_CUSTOMER = {
    "type": "object",
    "required": ["quickbooks_id", "name", "full_name", "email", "active"],
    "properties": {
        "quickbooks_id": {"type": "string", "description": "QuickBooks ListID"},
        "name": _NULLABLE_TEXT,
        "full_name": _NULLABLE_TEXT,
        "email": {**_NULLABLE_TEXT, "description": "QuickBooks' Email field (may list several addresses)"},
        "active": {"type": ["boolean", "null"]},
    },
}


def _with_candidates(qb: dict[str, Any]) -> dict[str, Any]:
    """A QuickBooks record offered as a match, with the reason it is offered."""
    reason = {**_NULLABLE_TEXT, "description": "same_sku, similar_sku, same_name, same_email, same_email_user"}
    return {**qb, "properties": {**qb["properties"], "reason": reason}}


def _record_out(title: str, noun: str, qb: dict[str, Any], required: list[str], own: dict[str, Any]) -> dict[str, Any]:
    """An item or customer as the API returns it: its own BlueTrace fields, then the match part (the
    QuickBooks record, candidates and match state), which is the same for both nouns."""
    return component(
        title,
        {
            "type": "object",
            "required": [*required, "active", "quickbooks", "candidates", *_MATCH_FIELDS],
            "properties": {
                **own,
                "active": {"type": "boolean"},
                "quickbooks": {"oneOf": [component(f"QuickBooks{title}", qb), {"type": "null"}],
                               "description": f"The matched QuickBooks {noun}"},
                "candidates": {"type": "array", "items": _with_candidates(qb), "description": "Suggested matches"},
                "inactive_matches": {
                    "type": "array", "items": _with_candidates(qb),
                    "description": "Inactive QuickBooks records carrying the exact key (make one active, then Re-sync)",
                },
                **_MATCH_FIELDS,
            },
        },
    )


ITEM_OUT = _record_out(
    "Item", "item", _QB_ITEM, ["item_id", "sku", "name", "kind"],
    {
        "item_id": {"type": "string"},
        "sku": _NULLABLE_TEXT,
        "name": {"type": "string"},
        "description": _NULLABLE_TEXT,
        "sales_price": _MONEY_OUT,
        "purchase_cost": _MONEY_OUT,
        "kind": {"enum": list(catalog.ITEM_KINDS)},
    },
)
CUSTOMER_OUT = _record_out(
    "Customer", "customer", _QB_CUSTOMER, ["customer_id", "name", "billing_email"],
    {
        "customer_id": {"type": "string"},
        "name": {"type": "string"},
        "company_name": _NULLABLE_TEXT,
        "billing_email": _NULLABLE_TEXT,
        "phone": _NULLABLE_TEXT,
        "bill_address": _ADDRESS_OUT,
        "ship_address": _ADDRESS_OUT,
    },
)
MATCH_SUMMARY = component(
    "MatchSummary",
    {
        "type": "object",
        "required": ["total", "matched", "with_issue", "issues"],
        "properties": {
            "total": {"type": "integer"},
            "matched": {"type": "integer"},
            "with_issue": {"type": "integer"},
            "issues": {"type": "object", "additionalProperties": {"type": "integer"}, "description": "issue -> count"},
        },
    },
)
_MATCH_IN = {
    "type": "object",
    "required": ["quickbooks_id"],
    "properties": {"quickbooks_id": {"type": "string", "maxLength": 40, "description": "ListID of the QuickBooks record (e.g. a candidate's)"}},
}
_CREATE_IN = {
    "type": "object",
    "properties": {"name": {"type": "string", "maxLength": 400, "description": "Create under this name (after a duplicate name)"}},
}


@dataclass(frozen=True)
class _Resource:
    model: type
    plural: str  # items | customers
    singular: str  # item | customer
    id_name: str  # item_id | customer_id
    input_schema: dict
    output_schema: dict
    issues: tuple[str, ...]
    search_help: str
    upsert: Callable
    get: Callable
    view: Callable
    listing: Callable
    resync: Callable
    create: Callable
    match: Callable
    unmatch: Callable


ITEMS = _Resource(
    BtItem, "items", "item", "item_id", ITEM_IN, ITEM_OUT, catalog.ITEM_ISSUES,
    "Items whose SKU or name starts with this (any case), or whose item_id is this",
    catalog.upsert_item, catalog.get_item, catalog.item_view, catalog.list_items,
    catalog.resync_item, catalog.create_item_in_quickbooks, catalog.match_item, catalog.unmatch_item,
)
CUSTOMERS = _Resource(
    BtCustomer, "customers", "customer", "customer_id", CUSTOMER_IN, CUSTOMER_OUT, catalog.CUSTOMER_ISSUES,
    "Customers whose billing email or name starts with this (any case), or whose customer_id is this",
    catalog.upsert_customer, catalog.get_customer, catalog.customer_view, catalog.list_customers,
    catalog.resync_customer, catalog.create_customer_in_quickbooks, catalog.match_customer, catalog.unmatch_customer,
)


def register(blueprint: Blueprint) -> None:
    """Declare the item and customer routes on the API blueprint."""
    for resource in (ITEMS, CUSTOMERS):
        _register(blueprint, resource)


def _named(function: Callable, name: str) -> Callable:
    function.__name__ = name
    return function


def _register(blueprint: Blueprint, r: _Resource) -> None:
    one = f"/{r.plural}/{{{r.id_name}}}"
    tag = r.plural.capitalize()
    page_schema = component(
        f"{r.singular.capitalize()}Page",
        {
            "type": "object",
            "required": [r.plural, "page", "page_size", "total", "pages", "counts"],
            "properties": {
                r.plural: {"type": "array", "items": r.output_schema},
                "page": {"type": "integer", "minimum": 1},
                "page_size": {"type": "integer", "minimum": 1},
                "total": {"type": "integer", "description": "Records matching the filters"},
                "pages": {"type": "integer", "minimum": 1},
                "counts": MATCH_SUMMARY,
            },
        },
    )

    def listing(db, account_id):
        page, size = page_args()
        result = r.listing(
            db, account_id, issue=request.args.get("issue") or None, search=request.args.get("search") or None,
            page=page, page_size=size,
        )
        return {
            r.plural: [r.view(row) for row in result.rows],
            "page": result.page,
            "page_size": result.page_size,
            "total": result.total,
            "pages": result.pages,
            "counts": catalog.match_summary(db, account_id, r.plural),
        }

    api_route(
        blueprint, "GET", f"/{r.plural}", tag=tag, summary=f"List {r.plural} with their match, issue and candidates",
        description="Ordered by id (with issue=any: by issue, then id). `counts` covers the whole account, not just this page.",
        response_schema=page_schema,
        query={
            "issue": {
                "enum": [*r.issues, catalog.ISSUE_FILTER_ANY, catalog.ISSUE_FILTER_NONE],
                "description": "One issue type; any = every record with an issue; none = every record without one",
            },
            "search": {"type": "string", "maxLength": catalog.SEARCH_MAX, "description": r.search_help},
            **PAGE_QUERY,
        },
    )(_named(listing, f"list_{r.plural}"))

    def read_one(db, account_id, **ids):
        return r.view(r.get(db, account_id, ids[r.id_name]))

    api_route(blueprint, "GET", one, tag=tag, summary=f"One {r.singular} with its match", response_schema=r.output_schema)(
        _named(read_one, f"get_{r.singular}")
    )

    def upsert(db, account_id, **ids):
        record_id = ids[r.id_name]
        body = json_body()
        existed = db.get(r.model, (account_id, record_id)) is not None
        row = r.upsert(db, account_id, record_id, body)
        return r.view(row), (200 if existed else 201)

    api_route(
        blueprint, "PUT", one, tag=tag, summary=f"Create or update a {r.singular} (then it is re-matched)",
        description=(
            "SKUs are unique per account: a clash is a 409 whose error.details.other_item_id names the other item."
            if r is ITEMS else "Matched by billing email against QuickBooks' customer Email field."
        ),
        request_schema=r.input_schema, response_schema=r.output_schema,
        responses={"201": f"The {r.singular} was created", **({"409": "Another item has this SKU"} if r is ITEMS else {})},
    )(_named(upsert, f"put_{r.singular}"))

    def resync(db, account_id, **ids):
        return r.view(r.resync(db, account_id, ids[r.id_name])), 202

    api_route(
        blueprint, "POST", f"{one}/resync", tag=tag, success_status=202, response_schema=r.output_schema,
        summary="Re-sync: ask QuickBooks again for this record at the next Web Connector run",
    )(_named(resync, f"resync_{r.singular}"))

    def create(db, account_id, **ids):
        body = json_body(optional=True)
        name = v.text(body.get("name"), "name", max_length=400)
        return r.view(r.create(db, account_id, ids[r.id_name], name=name)), 202

    api_route(
        blueprint, "POST", f"{one}/create-in-quickbooks", tag=tag, success_status=202, response_schema=r.output_schema,
        summary="Create in QuickBooks (queued for the next Web Connector run)",
        description="Optional body {\"name\"}: create under another name after a duplicate-name issue. "
        "422 with error.action when a setting is missing (e.g. the General tab's accounts).",
        request_schema=_CREATE_IN, request_required=False, responses={"409": "Already matched"},
    )(_named(create, f"create_{r.singular}_in_quickbooks"))

    def match(db, account_id, **ids):
        body = json_body()
        quickbooks_id = v.text(body.get("quickbooks_id"), "quickbooks_id", max_length=40, required=True)
        return r.view(r.match(db, account_id, ids[r.id_name], quickbooks_id))

    api_route(
        blueprint, "POST", f"{one}/match", tag=tag, request_schema=_MATCH_IN, response_schema=r.output_schema,
        summary="Pick the QuickBooks match (also: accept a suggested candidate)",
        description="To accept a suggestion, send the quickbooks_id of one of the record's `candidates`.",
    )(_named(match, f"match_{r.singular}"))

    def unmatch(db, account_id, **ids):
        return r.view(r.unmatch(db, account_id, ids[r.id_name]))

    api_route(
        blueprint, "POST", f"{one}/unmatch", tag=tag, response_schema=r.output_schema,
        summary="Forget the match; the record shows its issue again",
    )(_named(unmatch, f"unmatch_{r.singular}"))
