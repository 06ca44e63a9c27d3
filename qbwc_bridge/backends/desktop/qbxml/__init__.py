"""qbXML for QuickBooks Desktop: render requests that Intuit's schema accepts, read any response.

The rest of the bridge uses only what is re-exported here.
"""
from .parse import QbxmlParseError, QbxmlRecord, QbxmlResponse, iter_response_records, parse_response
from .render import render_message_set, render_request, split_message_sets
from .versions import DEFAULT_VERSION, QbxmlVersion

__all__ = [
    "DEFAULT_VERSION",
    "QbxmlParseError",
    "QbxmlRecord",
    "QbxmlResponse",
    "QbxmlVersion",
    "iter_response_records",
    "parse_response",
    "render_message_set",
    "render_request",
    "split_message_sets",
]
