"""One page of a longer list, shared by the API and the admin so both page the same way."""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

#: The largest page anyone may ask for; bigger pages would make one request hold many rows in memory.
MAX_PAGE_SIZE = 500
DEFAULT_PAGE_SIZE = 50


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


def clamp(page: int | None, page_size: int | None) -> tuple[int, int]:
    """Bring a requested page/page size into range (page >= 1, 1 <= page_size <= MAX_PAGE_SIZE)."""
    page = max(1, int(page or 1))
    page_size = min(MAX_PAGE_SIZE, max(1, int(page_size or DEFAULT_PAGE_SIZE)))
    return page, page_size
