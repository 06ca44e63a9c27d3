"""QuickBooks' status codes and HRESULTs in words a bookkeeper understands.

Every ``*Rs`` carries ``statusCode`` / ``statusSeverity`` / ``statusMessage``; the Web
Connector reports failures to reach QuickBooks as an HRESULT. Both become a
:class:`StatusInfo`: QuickBooks' own message (kept, because support needs it), our
explanation, what to do, and an :class:`Outcome` telling the outbox what happens
next. Codes and meanings come from PROTOCOL.md §3 (Intuit's SDK documentation and
recorded traffic); an unknown code still gets an honest explanation that shows the
code and QuickBooks' message.
"""
from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum


class Outcome(StrEnum):
    """What the caller does with a result, whatever QuickBooks called it."""

    OK = "ok"
    EMPTY = "empty"  # a query matched nothing (status 1): not an error
    NOT_FOUND = "not_found"  # a ListID/FullName asked for does not exist (500)
    WARNING = "warning"  # done, with a caveat worth logging (530, other 5xx)
    RETRY = "retry"  # transient (locks, QuickBooks busy): same operation later
    NEEDS_PERSON = "needs_person"  # data or settings a person must change
    BUG = "bug"  # we sent something invalid: retrying will not help


@dataclass(frozen=True)
class StatusInfo:
    """One status, explained. ``code`` is None only for an HRESULT we could not read."""

    code: int | None
    severity: str
    message: str  # QuickBooks' (or the Web Connector's) own words
    explanation: str
    action: str
    outcome: Outcome

    @property
    def code_text(self) -> str:
        """The code as people see it: ``"3100"``, or ``"0x80040400"`` for an HRESULT."""
        if self.code is None:
            return "unknown"
        return f"0x{self.code:08X}" if self.code >= 0x80000000 else str(self.code)


@dataclass(frozen=True)
class _Meaning:
    explanation: str
    action: str
    outcome: Outcome


_FIX_REQUEST = "This is a fault in the bridge, not in your data. Report it to support; it will not be retried."
_REMATCH = "Open the record in the bridge and link it to the right QuickBooks record, then sync again."
_LOCKED = "Nothing to do: the bridge tries again at the next Web Connector run. If it keeps happening, close the record in QuickBooks."

STATUS_MEANINGS: dict[int, _Meaning] = {
    0: _Meaning("QuickBooks did what was asked.", "Nothing to do.", Outcome.OK),
    1: _Meaning("QuickBooks has no records matching the request.", "Nothing to do.", Outcome.EMPTY),
    500: _Meaning(
        "A record asked for by its QuickBooks ID or name does not exist in QuickBooks (it may have been deleted or renamed).",
        _REMATCH,
        Outcome.NOT_FOUND,
    ),
    530: _Meaning(
        "This edition or version of QuickBooks does not support one of the fields sent; the rest was saved.",
        "Nothing to do, unless the missing field matters to you: then update QuickBooks.",
        Outcome.WARNING,
    ),
    3000: _Meaning("QuickBooks did not accept an ID sent by the bridge.", _FIX_REQUEST, Outcome.BUG),
    3010: _Meaning("QuickBooks did not accept a value sent by the bridge.", _FIX_REQUEST, Outcome.BUG),
    3020: _Meaning("QuickBooks did not accept a yes/no value sent by the bridge.", _FIX_REQUEST, Outcome.BUG),
    3030: _Meaning("QuickBooks did not accept a date sent by the bridge.", _FIX_REQUEST, Outcome.BUG),
    3070: _Meaning(
        "A text is longer than QuickBooks allows for that field.",
        "Shorten the text named in QuickBooks' message in BlueTrace, then sync again.",
        Outcome.NEEDS_PERSON,
    ),
    3100: _Meaning(
        "The name is already used in QuickBooks. Customers, vendors, employees and other names share one list, "
        "and every item name must be unique.",
        "Rename the record in BlueTrace, or link it to the existing QuickBooks record, then sync again.",
        Outcome.NEEDS_PERSON,
    ),
    3120: _Meaning(
        "QuickBooks cannot find a record the request refers to (it may have been deleted or merged).",
        _REMATCH,
        Outcome.NEEDS_PERSON,
    ),
    3140: _Meaning(
        "The request refers to a customer, item, terms or account that QuickBooks does not have.",
        _REMATCH + " The invoice waits until then.",
        Outcome.NEEDS_PERSON,
    ),
    3170: _Meaning("Someone is editing this record in QuickBooks, so it could not be changed.", _LOCKED, Outcome.RETRY),
    3175: _Meaning("The record is in use in QuickBooks, so it could not be changed.", _LOCKED, Outcome.RETRY),
    3176: _Meaning("The record is in use in QuickBooks, so it could not be changed.", _LOCKED, Outcome.RETRY),
    3180: _Meaning(
        "QuickBooks could not save because a list was busy or changed by another user.", _LOCKED, Outcome.RETRY
    ),
    3200: _Meaning(
        "The record was changed in QuickBooks since the bridge last read it.",
        "Nothing to do: the bridge reads it again and re-applies the change.",
        Outcome.RETRY,
    ),
    3250: _Meaning(
        "This QuickBooks company file does not have a feature the request needs turned on.",
        "Turn the feature named in QuickBooks' message on in QuickBooks' preferences (or ask your accountant), then sync again.",
        Outcome.NEEDS_PERSON,
    ),
    3260: _Meaning(
        "The bridge is not allowed to do this in QuickBooks.",
        "In QuickBooks, as the administrator, open Edit > Preferences > Integrated Applications and give the bridge the access it needs.",
        Outcome.NEEDS_PERSON,
    ),
    3261: _Meaning(
        "QuickBooks does not let the bridge read personal data (such as contact details).",
        "In QuickBooks, as the administrator, allow the bridge to access personal data in Edit > Preferences > Integrated Applications.",
        Outcome.NEEDS_PERSON,
    ),
    3391: _Meaning(
        "QuickBooks forgot a long list the bridge was reading page by page (this happens when QuickBooks restarts).",
        "Nothing to do: the bridge starts reading the list again.",
        Outcome.RETRY,
    ),
}

HRESULT_MEANINGS: dict[int, _Meaning] = {
    0x80040400: _Meaning(
        "QuickBooks could not read the request the bridge sent, so nothing in it was done.",
        _FIX_REQUEST,
        Outcome.BUG,
    ),
    0x80040401: _Meaning(
        "The Web Connector could not reach QuickBooks.",
        "Make sure QuickBooks is installed and can start on this computer; the bridge tries again at the next run.",
        Outcome.RETRY,
    ),
    0x80040408: _Meaning(
        "The Web Connector could not start QuickBooks.",
        "Start QuickBooks by hand once to check it opens without questions; the bridge tries again at the next run.",
        Outcome.RETRY,
    ),
    0x8004040A: _Meaning(
        "A different company file is open in QuickBooks than the one this connection belongs to.",
        "Close the open company file and open the right one, or leave QuickBooks closed so the Web Connector opens it.",
        Outcome.NEEDS_PERSON,
    ),
    0x80040410: _Meaning(
        "The company file is open in a different mode (single-user or multi-user) than the Web Connector needs.",
        "Switch QuickBooks to the other mode (File menu), or close QuickBooks, then run the Web Connector again.",
        Outcome.NEEDS_PERSON,
    ),
    0x80040414: _Meaning(
        "A window or question is open in QuickBooks and blocks the Web Connector.",
        "Close the open window in QuickBooks, then run the Web Connector again.",
        Outcome.NEEDS_PERSON,
    ),
    0x80040416: _Meaning(
        "No company file is open in QuickBooks.",
        "Open the company file in QuickBooks (or close QuickBooks so the Web Connector opens it), then run it again.",
        Outcome.NEEDS_PERSON,
    ),
    0x80040417: _Meaning(
        "No company file is open in QuickBooks.",
        "Open the company file in QuickBooks (or close QuickBooks so the Web Connector opens it), then run it again.",
        Outcome.NEEDS_PERSON,
    ),
    0x80040418: _Meaning(
        "QuickBooks has not yet allowed the bridge to use this company file.",
        "Log in to QuickBooks as the administrator, open the company file and run the Web Connector once: "
        "QuickBooks asks whether to allow the bridge; answer yes (and allow it when QuickBooks is closed).",
        Outcome.NEEDS_PERSON,
    ),
    0x8004041A: _Meaning(
        "The bridge's access to this company file was turned off in QuickBooks.",
        "As the QuickBooks administrator, open Edit > Preferences > Integrated Applications and allow the bridge again.",
        Outcome.NEEDS_PERSON,
    ),
    0x8004041B: _Meaning(
        "QuickBooks was busy and could not lock its data for the bridge.",
        _LOCKED,
        Outcome.RETRY,
    ),
    0x80040420: _Meaning(
        "Someone answered no when QuickBooks asked whether to allow the bridge.",
        "Run the Web Connector again with QuickBooks open as the administrator, and answer yes.",
        Outcome.NEEDS_PERSON,
    ),
    0x80040422: _Meaning(
        "QuickBooks needs the company file in single-user mode for this.",
        "Switch QuickBooks to single-user mode (File menu), then run the Web Connector again.",
        Outcome.NEEDS_PERSON,
    ),
    0x80040423: _Meaning(
        "This QuickBooks does not understand the qbXML version the bridge used.",
        _FIX_REQUEST,
        Outcome.BUG,
    ),
    0x80040424: _Meaning(
        "QuickBooks was still starting.",
        "Nothing to do: the bridge tries again at the next Web Connector run.",
        Outcome.RETRY,
    ),
}


# HRESULTs that prove QuickBooks ran none of the message set. QuickBooks applies the requests of a set
# one at a time, so after any other HRESULT (an RPC failure such as 0x800706BE, QuickBooks crashing,
# an error we do not know) some Adds may be saved: those are looked up before anything is resent.
# Only two kinds of failure happen before the first request runs:
PARSE_ERROR = 0x80040400
NOTHING_RAN_HRESULTS: frozenset[int] = frozenset({
    # The whole message is validated against the schema before any request is processed; a parse or
    # version error refuses it as a whole (Intuit's SDK guide, PROTOCOL.md §3).
    0x80040400,  # parse error: bad order, unknown element, too new a version
    0x80040423,  # the qbXML version is not supported
    # The Web Connector could not open a connection or a session with the company file (OpenConnection /
    # BeginSession failed), so no request was handed to QuickBooks at all.
    0x80040401,  # could not access QuickBooks
    0x80040408,  # could not start QuickBooks
    0x8004040A,  # a different company file is open
    0x80040410,  # the file is open in another mode (single / multi-user)
    0x80040414,  # a modal dialog is open in QuickBooks
    0x80040416,  # no company file is open
    0x80040417,  # no company file is open
    0x80040418,  # the application was never authorised for this file
    0x8004041A,  # the application's access was revoked
    0x80040420,  # the user denied access
    0x80040422,  # single-user mode is required
    0x80040424,  # QuickBooks is still starting
})  # fmt: skip
"""Left out on purpose: 0x8004041B (could not lock the data) may be raised by any request of a set, after
earlier ones were saved, so it is treated like any other HRESULT: back off, and look the Adds up first."""


def proves_nothing_ran(code: int | None) -> bool:
    """True when an HRESULT (parsed, see :func:`parse_hresult`) means no request of the set was applied."""
    return code in NOTHING_RAN_HRESULTS


def _default_for_severity(code: int, severity: str, message: str) -> _Meaning:
    said = f" QuickBooks said: {message}" if message else ""
    if severity.lower().startswith("info"):
        return _Meaning(f"QuickBooks answered with status {code}.{said}", "Nothing to do.", Outcome.OK)
    if severity.lower().startswith("warn"):
        return _Meaning(f"QuickBooks did the work with a warning (status {code}).{said}", "Nothing to do.", Outcome.WARNING)
    return _Meaning(
        f"QuickBooks refused the request with status {code}.{said}",
        "Check the record named in QuickBooks' message; if it is unclear, send this message to support.",
        Outcome.NEEDS_PERSON,
    )


def explain_status(code: int, severity: str = "", message: str = "") -> StatusInfo:
    """Explain a ``statusCode`` from a ``*Rs`` element.

    Known codes come from :data:`STATUS_MEANINGS`; other codes from 3000 to 3039 are
    invalid values the bridge sent (a bug), other 5xx are warnings, and anything else
    is explained from its severity, quoting QuickBooks' message.
    """
    meaning = STATUS_MEANINGS.get(code)
    if meaning is None and 3000 <= code < 3040:
        meaning = _Meaning(
            f"QuickBooks did not accept a value the bridge sent (status {code}).", _FIX_REQUEST, Outcome.BUG
        )
    if meaning is None and 500 < code < 600:
        meaning = _Meaning(
            f"QuickBooks did the work with a warning (status {code}).", "Nothing to do.", Outcome.WARNING
        )
    if meaning is None:
        meaning = _default_for_severity(code, severity, message)
    return StatusInfo(code, severity, message, meaning.explanation, meaning.action, meaning.outcome)


def parse_hresult(hresult: str) -> int | None:
    """``"0x80040400"``, ``"0X80040400"``, ``"-2147220480"`` or ``"2147746816"`` -> 0x80040400; None if unreadable."""
    text = hresult.strip()
    try:
        value = int(text, 16) if text[:2].lower() == "0x" else int(text)
    except ValueError:
        return None
    if not -(2**31) <= value < 2**32:
        return None
    return value & 0xFFFFFFFF


def explain_hresult(hresult: str, message: str) -> StatusInfo:
    """Explain the HRESULT the Web Connector passes to receiveResponseXML or connectionError."""
    code = parse_hresult(hresult)
    meaning = HRESULT_MEANINGS.get(code) if code is not None else None
    if meaning is None:
        shown = f"0x{code:08X}" if code is not None else repr(hresult)
        said = f" It said: {message}" if message else ""
        meaning = _Meaning(
            f"The Web Connector could not complete the exchange with QuickBooks (error {shown}).{said}",
            "Check that QuickBooks and the company file open normally on that computer; if this keeps happening, "
            "send this message to support.",
            Outcome.NEEDS_PERSON,
        )
    return StatusInfo(code, "Error", message, meaning.explanation, meaning.action, meaning.outcome)


# Statuses saying another QuickBooks user is working on the data right now (a record or a list locked
# by them). A session in live mode that meets one stops idling: its open connection must not stand in
# the way of someone who needs the company file (to switch it to single-user mode, say).
IN_USE_BY_ANOTHER_USER: frozenset[int] = frozenset({3170, 3175, 3176, 3180})
