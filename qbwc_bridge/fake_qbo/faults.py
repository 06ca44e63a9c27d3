"""QuickBooks Online's error answers, in the shapes the recordings show.

Shapes (see ``shared/fixtures/qbo-recorded``): validation faults are
``{"Fault":{"Error":[{"Message","Detail","code","element"}],"type":"ValidationFault"},"time"}``
(error_validation, error_400_json); an expired token is the odd lower-case envelope of
error_401. Throttling was only recorded as XML (too_many_requests_error.xml); its JSON
form here follows the ValidationFault envelope with ``type":"SERVICE"`` (our decision).
"""
from __future__ import annotations

from typing import Any

VALIDATION = "ValidationFault"

OBJECT_NOT_FOUND_DETAIL = (
    "Object Not Found : Something you're trying to use has been made inactive. "
    "Check the fields with accounts, customers, items, vendors or employees."
)


class Fault(Exception):
    """An answer QuickBooks gives instead of doing the work: raise it, the app renders it."""

    def __init__(self, status: int, code: str, message: str, detail: str, element: str | None = None,
                 fault_type: str = VALIDATION) -> None:
        super().__init__(f"{code} {message}: {detail}")
        self.status = status
        self.code = code
        self.message = message
        self.detail = detail
        self.element = element
        self.fault_type = fault_type

    def body(self, time: str) -> dict[str, Any]:
        return {"Fault": self.fault(), "time": time}

    def fault(self) -> dict[str, Any]:
        """The ``Fault`` object alone, as a batch answer carries it per item."""
        error: dict[str, Any] = {"Message": self.message, "Detail": self.detail, "code": self.code}
        if self.element is not None:
            error["element"] = self.element
        return {"Error": [error], "type": self.fault_type}


def required_missing(field: str) -> Fault:
    return Fault(400, "2020", "Required param missing, need to supply the required value for the API",
                 f"Required parameter {field} is missing in the request", element=field)


def too_long(field: str, maximum: int, supplied: int) -> Fault:
    return Fault(400, "2050", "String length is either shorter or longer than supported by specification",
                 f"String length specified does not match the supported length. Min:0 Max:{maximum} "
                 f"supplied:{supplied}", element=field)


def unknown_property(name: str, entity: str, known: tuple[str, ...]) -> Fault:
    listed = ", ".join(f'"{k}"' for k in known)
    return Fault(400, "2010", "Request has invalid or unsupported property",
                 f'Property Name:Unrecognized field "{name}" (class com.intuit.schema.finance.v3.{entity}), '
                 f"not marked as ignorable ({len(known)} known properties: {listed}])\n specified is unsupported "
                 "or invalid")


def invalid_characters(field: str, value: str) -> Fault:
    """2040, as QBO v3 answered a customer name with colons (reported, not in our recordings)."""
    return Fault(400, "2040", "Invalid String. The String may contain unsupported or illegal chars",
                 f"Element contains invalid characters. {value}", element=field)


def invalid_content_type(content_type: str) -> Fault:
    # 1050 "Invalid Content Type" is in Intuit's error list; its wording here is ours.
    return Fault(400, "1050", "Invalid Content Type",
                 f"Content-Type {content_type or '(none)'} is not supported: send application/json")


def invalid_value(field: str, detail: str) -> Fault:
    # Our decision: a wrong type or enumeration value is a 2010 like an unknown property.
    return Fault(400, "2010", "Request has invalid or unsupported property", f"Property Name:{field} {detail}",
                 element=field)


def duplicate_name(what: str | None) -> Fault:
    """6240. ``what=None`` gives the recorded customer answer (error_validation) word for word."""
    if what is None:
        return Fault(400, "6240", "Duplicate Name Exists Error", "The name supplied already exists. : null")
    return Fault(400, "6240", "Duplicate Name Exists Error",
                 f"The name supplied already exists. : Another {what} is already using this name. "
                 "Please use a different name.", element="")


def object_not_found() -> Fault:
    return Fault(400, "610", "Object Not Found", OBJECT_NOT_FOUND_DETAIL, element="")


def invalid_reference(field: str, value: str) -> Fault:
    return Fault(400, "2500", "Invalid Reference Id",
                 f"Invalid Reference Id : {field} assigned to this transaction has been deleted. "
                 f"Before you can modify this transaction, you must restore {field} (Id:{value}).", element=field)


def stale_object() -> Fault:
    """5010 as recorded in batch_basic (the other user's name replaced)."""
    return Fault(400, "5010", "Stale Object Error",
                 "Stale Object Error : You and another user were working on this at the same time. The other user "
                 "finished before you did, so your work was not saved.", element="")


def business_validation(detail: str) -> Fault:
    return Fault(400, "6000", "A business validation error has occurred while processing your request",
                 f"Business Validation Error: {detail}", element="")


def duplicate_doc_number(doc_number: str, txn_id: str) -> Fault:
    return Fault(400, "6140", "Duplicate Document Number Error",
                 "Duplicate Document Number Error : You must specify a different number. This number has already "
                 f"been used. DocNumber={doc_number} is assigned to TxnType=Invoice with TxnId={txn_id}", element="")


def closed_period(txn_date: str) -> Fault:
    return Fault(400, "6210", "Account Period Closed, Cannot Update Through Services API",
                 f"The account period has closed and the books are locked (TxnDate {txn_date}).", element="")


def subscription_ended() -> Fault:
    return Fault(400, "6190", "Invalid Company Status",
                 "Subscription period has ended or canceled or there was a billing problem : You can't add data "
                 "to QuickBooks Online because your trial or subscription period ended, you canceled your "
                 "subscription, or there was a billing problem.", element="")


def unparsable_body(detail: str) -> Fault:
    # Our decision: the recordings show no answer to a body that is not JSON.
    return Fault(400, "2010", "Request has invalid or unsupported property", f"Error parsing object: {detail}")


def query_parser_error(detail: str) -> Fault:
    return Fault(400, "4000", "Error parsing query", f"QueryParserError: {detail}")


def query_validation_error(detail: str) -> Fault:
    return Fault(400, "4001", "Invalid query", f"QueryValidationError: {detail}")


def invalid_id(value: str) -> Fault:
    return Fault(400, "2030", "Invalid ID", f"Id should be a valid number. Supplied value:{value}", element="Id")


def unsupported_operation(path: str) -> Fault:
    return Fault(400, "500", "Unsupported Operation",
                 f"Operation Could not find resource for relative : {path} is not supported.")


def throttled() -> Fault:
    return Fault(429, "3001", "message=ThrottleExceeded; errorCode=003001; statusCode=429",
                 "The request limit was reached.  Try again later", fault_type="SERVICE")


def authentication_body(detail: str, epoch_millis: int) -> dict[str, Any]:
    """The recorded 401 (error_401): lower-case ``fault``/``error`` and a numeric ``time``."""
    return {
        "warnings": None, "intuitObject": None,
        "fault": {"error": [{"message": "message=AuthenticationFailed; errorCode=003200; statusCode=401",
                             "detail": detail, "code": "3200", "element": None}], "type": "AUTHENTICATION"},
        "report": None, "queryResponse": None, "batchItemResponse": [], "attachableResponse": [],
        "syncErrorResponse": None, "requestId": None, "time": epoch_millis, "status": None, "cdcresponse": [],
    }
