"""One error tree, classed by what the caller (mostly the outbox) must do next.

* ``RetryLater``   - transient: QuickBooks busy/locked, network trouble. Try again later.
* ``NeedsPerson``  - data or setup a person must fix (a match, a name, a setting).
* ``OurBug``       - we sent something QuickBooks could not parse; log it loudly.

``ConfigurationError`` deliberately sits outside ``BridgeError`` so that runtime
``except BridgeError`` blocks never swallow a broken deployment (django-anymail's rule).
"""
from __future__ import annotations


class ConfigurationError(Exception):
    """A setting is missing or invalid. The message names the variable."""


class BridgeError(Exception):
    """Root of every runtime error the bridge raises on purpose.

    ``explanation`` is plain language for a bookkeeper; ``action`` says what to do.
    """

    def __init__(self, message: str, *, explanation: str | None = None, action: str | None = None):
        super().__init__(message)
        self.explanation = explanation or message
        self.action = action


class RetryLater(BridgeError):
    """Transient failure: the same operation may succeed later unchanged."""


class NeedsPerson(BridgeError):
    """A person must change data or settings before the operation can succeed."""


class OurBug(BridgeError):
    """The bridge produced something invalid; retrying will not help."""


class DataError(NeedsPerson):
    """A field of a record cannot be sent to QuickBooks as it is (length, charset, ...).

    Names the record and field so the Action shown to a person is exact.
    """

    def __init__(self, message: str, *, record: str, field: str, action: str | None = None):
        super().__init__(message, action=action)
        self.record = record
        self.field = field


class WrongCompanyFile(NeedsPerson):
    """The Web Connector opened a company file that is not this account's."""


class NotFound(BridgeError):
    """A record asked for does not exist (an API 404)."""


class Conflict(BridgeError):
    """The request clashes with existing data (an API 409)."""


class ReconnectNeeded(NeedsPerson):
    """QuickBooks Online no longer accepts our authorization (or the account is not connected).

    The account's work is paused, never failed: it goes on once a person connects again.
    The engine maps this to its ``NeedsReconnect`` result.
    """
