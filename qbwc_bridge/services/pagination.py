"""One page of a longer list, shared by the API and the admin so both page the same way."""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from . import validation as v

#: The largest page anyone may ask for; bigger pages would make one request hold many rows in memory.
MAX_PAGE_SIZE = 500
DEFAULT_PAGE_SIZE = 50
#: The last page number anyone may ask for: 500 million rows at the largest page size, far past any
#: account, while (page - 1) * page_size stays a small OFFSET that every database reads.
MAX_PAGE = 1_000_000


@dataclass
class Page:
    """``rows`` of page ``page`` (1-based) out of ``total`` matching rows, ``page_size`` per page."""

    rows: list[Any] = field(default_factory=list)
    total: int = 0
    page: int = 1
    page_size: int = DEFAULT_PAGE_SIZE

    @property
    def pages(self) -> int:
        """Number of pages (at least 1, so "page 1 of 1" reads right for an empty list)."""
        if self.total <= 0:
            return 1
        return (self.total + self.page_size - 1) // self.page_size


def page_number(raw: str | None) -> int:
    """``?page=`` as sent (1 when absent).

    Raises:
        validation.InvalidInput: not a whole number from 1 to :data:`MAX_PAGE` (field ``page``).
    """
    return v.whole_number(raw, "page", minimum=1, maximum=MAX_PAGE, default=1)


def page_size(raw: str | None, default: int = DEFAULT_PAGE_SIZE) -> int:
    """``?page_size=`` as sent (``default`` when absent).

    Raises:
        validation.InvalidInput: not a whole number from 1 to :data:`MAX_PAGE_SIZE` (field ``page_size``).
    """
    return v.whole_number(raw, "page_size", minimum=1, maximum=MAX_PAGE_SIZE, default=default)


def clamp(page: int | None, page_size: int | None) -> tuple[int, int]:
    """Bring a requested page/page size into range (1 <= page <= MAX_PAGE, 1 <= page_size <= MAX_PAGE_SIZE)."""
    page = min(MAX_PAGE, max(1, int(page or 1)))
    page_size = min(MAX_PAGE_SIZE, max(1, int(page_size or DEFAULT_PAGE_SIZE)))
    return page, page_size
