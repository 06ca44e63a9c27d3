"""What the sync engine asks of any QuickBooks backend, and the domain results it gets back.

The engine (``qbwc_bridge.sync``) decides *what* must happen and writes it to the
outbox as one of the :class:`OperationKind` operations below, with a JSON payload
built from the specs here. A backend decides *how* each travels and answers with the
same domain results whichever QuickBooks it talks to:

* **Desktop** (``backends/desktop/list_sync.py``): nothing is sent until the Web
  Connector calls; each operation becomes one qbXML request in a message set, and its
  ``*Rs`` is read back into a :class:`ListPage`, :class:`Created` or :class:`Refused`.
  Pages of a list pull are chained with QuickBooks iterators, which die with the
  QuickBooks session.
* **Online** (planned): a worker pushes the same operations over REST (``/query``
  with STARTPOSITION for pulls, ``POST /item`` with a requestid for creations) and
  hands the engine the same results.

The protocol is deliberately two-phase (build a request, read its answer), the shape
of django-anymail's backends: Desktop cannot call QuickBooks when it likes, so nothing
here may assume a synchronous round trip.
"""
from __future__ import annotations

import datetime as dt
import enum
from dataclasses import asdict, dataclass, field
from typing import Any, ClassVar, Protocol


class OperationKind(str, enum.Enum):
    """Outbox operation kinds of list sync. Values are stored: only ever add."""

    SYNC_TERMS = "sync_terms"  # the whole terms list (small: no paging, no high-water mark)
    SYNC_ACCOUNTS = "sync_accounts"  # the whole chart of accounts
    SYNC_ITEMS = "sync_items"  # a ListPull of items, every kind, inactive included
    SYNC_CUSTOMERS = "sync_customers"  # a ListPull of customers (jobs included)
    RESYNC_ITEM = "resync_item"  # a RecordLookup for one BlueTrace item
    RESYNC_CUSTOMER = "resync_customer"
    CREATE_ITEM = "create_item"  # a NewRecord: "Create in QuickBooks"
    CREATE_CUSTOMER = "create_customer"


class ListName(str, enum.Enum):
    TERMS = "terms"
    ACCOUNTS = "accounts"
    ITEMS = "items"
    CUSTOMERS = "customers"


def _iso(value: dt.datetime | None) -> str | None:
    return None if value is None else value.isoformat()


def _datetime(value: str | None) -> dt.datetime | None:
    return None if value is None else dt.datetime.fromisoformat(value)


# ----------------------------------------------------------------------------- what the engine asks
@dataclass(frozen=True)
class ListPull:
    """Pull one list: everything (``since`` None) or what changed since a moment, inactive included.

    ``started_at`` is our clock when the pull was decided; with the newest TimeModified
    seen it bounds what may have changed while the pull ran (see ``sync.pulls``).
    """

    list_name: ListName
    mode: str  # "initial" | "incremental"
    since: dt.datetime | None
    started_at: dt.datetime

    def to_payload(self) -> dict[str, Any]:
        return {"list": self.list_name.value, "mode": self.mode, "since": _iso(self.since),
                "started_at": _iso(self.started_at)}

    @classmethod
    def from_payload(cls, payload: dict[str, Any]) -> "ListPull":
        return cls(ListName(payload["list"]), payload["mode"], _datetime(payload.get("since")),
                   _datetime(payload["started_at"]))


@dataclass(frozen=True)
class RecordLookup:
    """Ask QuickBooks again for the records one BlueTrace record may match ("Re-sync")."""

    record_id: str  # the BlueTrace item_id / customer_id
    list_ids: tuple[str, ...] = ()  # QuickBooks IDs to re-read, or else
    names: tuple[str, ...] = ()  # QuickBooks full names to look for

    def to_payload(self) -> dict[str, Any]:
        return {"record_id": self.record_id, "list_ids": list(self.list_ids), "names": list(self.names)}

    @classmethod
    def from_payload(cls, payload: dict[str, Any]) -> "RecordLookup":
        return cls(payload["record_id"], tuple(payload.get("list_ids", ())), tuple(payload.get("names", ())))


@dataclass(frozen=True)
class NewRecord:
    """Create an item or a customer for one BlueTrace record ("Create in QuickBooks").

    ``request`` names the Desktop request (ItemNonInventoryAdd, ItemServiceAdd,
    ItemInventoryAdd, CustomerAdd) and ``data`` its fields as the qbXML layer takes them,
    money as strings so the payload stays JSON; ``name`` is the QuickBooks name, the one
    a duplicate-name answer is about.
    """

    record_id: str
    request: str
    name: str
    data: dict[str, Any] = field(default_factory=dict)
    money_fields: ClassVar[frozenset[str]] = frozenset({"sales_price", "purchase_cost"})

    def to_payload(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_payload(cls, payload: dict[str, Any]) -> "NewRecord":
        return cls(payload["record_id"], payload["request"], payload["name"], dict(payload.get("data", {})))


# ----------------------------------------------------------------------------- what comes back
@dataclass
class ListPage:
    """One page of a pull: mirror rows (the columns of ``QbItem`` / ``QbCustomer`` but the account)."""

    rows: list[dict[str, Any]]
    remaining: int = 0  # records QuickBooks still holds for this pull after this page


@dataclass(frozen=True)
class Created:
    """QuickBooks saved a new record: its row for the mirror (ListID, EditSequence, ...)."""

    row: dict[str, Any]

    @property
    def list_id(self) -> str:
        return self.row["list_id"]


@dataclass(frozen=True)
class Refused:
    """QuickBooks would not create the record. ``duplicate_name``: the name is taken (3100 / 6240)."""

    code: str
    explanation: str  # plain words for a bookkeeper
    action: str
    quickbooks_message: str = ""
    duplicate_name: bool = False


class Backend(Protocol):
    """A QuickBooks backend for the sync engine: two phases per operation kind.

    ``build`` turns an outbox payload into whatever the backend sends (a qbXML request
    type and data, an HTTP request); ``read`` turns the answer into a domain result:
    :class:`ListPage` for pulls and lookups, :class:`Created` or :class:`Refused` for
    creations. The backend then hands that result to the engine (``sync.pulls``,
    ``sync.records``), which alone touches match state.
    """

    kind: str  # "desktop" | "online"

    def supports(self, operation: OperationKind) -> bool:
        """Whether this backend can carry the operation (every kind above, for Desktop)."""
        ...

    def build(self, operation: OperationKind, payload: dict[str, Any]) -> Any:
        ...

    def read(self, operation: OperationKind, payload: dict[str, Any], answer: Any) -> ListPage | Created | Refused:
        ...
