"""What a fake QuickBooks request handler is given and gives back.

The handlers (:mod:`.queries`, :mod:`.adds`) and the processor that calls them
(:mod:`.request_processor`) share these; keeping them here lets the processor import
its handlers at the top without the handlers importing the processor.
"""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from lxml import etree

from .company import FakeCompany
from .faults import FaultInjector

if TYPE_CHECKING:  # annotations only: the processor imports this module
    from .request_processor import ProcessorSession

Element = etree._Element


@dataclass
class Outcome:
    """The answer to one ``*Rq``: Rets plus status, and iterator bookkeeping."""

    rets: list[Element] = field(default_factory=list)
    code: int = 0
    severity: str = "Info"
    message: str = "Status OK"
    iterator_id: str | None = None
    iterator_remaining: int | None = None


@dataclass
class Iterator:
    """A query iterator of one QuickBooks session: the ids still to hand out, and the page size."""

    remaining: list[str]
    page_size: int | None


@dataclass
class HandlerContext:
    """What a request handler may touch."""

    company: FakeCompany
    session: ProcessorSession
    faults: FaultInjector


Handler = Callable[[HandlerContext, Element], Outcome]
