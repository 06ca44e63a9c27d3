"""How each kind of outbox operation travels as qbXML, and what its answer changes.

One handler per operation kind: it builds the request (type + data for a template in
qbxml_templates/) and applies the typed response. The conversation knows nothing about
items or invoices; handlers know nothing about SOAP.
"""
from __future__ import annotations

import datetime as dt
import logging
from dataclasses import dataclass
from typing import Any, ClassVar

from sqlalchemy.orm import Session

from ... import outbox
from ...errors import DataError
from ...store.models import Account, OutboxOperation
from .qbxml import QbxmlResponse, QbxmlVersion
from .status import Outcome

log = logging.getLogger(__name__)

# QuickBooks stamps TimeCreated/TimeModified with the PC's clock, which may be off ours (and QuickBooks
# reports daylight saving wrongly by an hour): look-ups compare its times with ours this loosely.
QUICKBOOKS_CLOCK_MARGIN = dt.timedelta(hours=24)


@dataclass
class WorkContext:
    """What a handler may use: the unit of work, the account and the session's facts."""

    db: Session
    account: Account
    version: QbxmlVersion
    now: dt.datetime
    session_id: int  # the Web Connector session the call came in (or, for a late answer, came too late for)


class DesktopOperation:
    """Base handler. Subclasses set ``kind`` and implement ``build`` and ``on_records``."""

    kind: ClassVar[str]
    # A query may simply be sent again when its outcome is unknown; an Add may not.
    idempotent: ClassVar[bool] = True

    def build(self, op: OutboxOperation, ctx: WorkContext) -> tuple[str, dict[str, Any]]:
        raise NotImplementedError

    def refuse(self, op: OutboxOperation, error: DataError, ctx: WorkContext) -> None:
        """The request cannot be rendered as it is (too long, not Latin-1, ...): nothing was sent."""
        outbox.fail(op, "data", str(error))

    def follow(self, db: Session, op: OutboxOperation) -> None:
        """The conversation moved ``op`` (sent, unconfirmed, back to pending, failed unseen by ``handle``).

        Default: nothing; features that show an operation's state (invoices) mirror it here.
        """

    def on_records(self, op: OutboxOperation, response: QbxmlResponse, ctx: WorkContext) -> None:
        """Apply a successful (or empty) response. Default: done, nothing to store."""
        outbox.succeed(op)

    def handle(self, op: OutboxOperation, response: QbxmlResponse, ctx: WorkContext) -> None:
        status = response.status
        if status.outcome in (Outcome.OK, Outcome.EMPTY, Outcome.WARNING, Outcome.NOT_FOUND):
            if status.outcome is Outcome.WARNING:
                log.info("QuickBooks warned on %s #%s: %s", op.kind, op.id, status.message)
            self.on_records(op, response, ctx)
        elif status.outcome is Outcome.RETRY:
            outbox.retry_later(op, ctx.now, str(status.code), status.explanation)
        elif status.outcome is Outcome.BUG:
            log.error("QuickBooks refused our %s #%s as malformed (%s): %s", op.kind, op.id, status.code, status.message)
            outbox.fail(op, str(status.code), status.explanation)
        else:
            outbox.fail(op, str(status.code), status.explanation)


class SyncList(DesktopOperation):
    """Pull one whole (small) QuickBooks list into our mirror: terms, chart of accounts."""

    def __init__(self, kind: str, request_type: str, upsert, to_row):
        self.kind = kind
        self.request_type = request_type
        self.upsert = upsert
        self.to_row = to_row

    def build(self, op, ctx):
        return self.request_type, {}

    def on_records(self, op, response, ctx):
        count = self.upsert(ctx.db, ctx.account.id, [self.to_row(record) for record in response.records])
        outbox.succeed(op, {"records": count})
