"""qbXML versions: which one a company file speaks, and which one we render for.

QuickBooks rejects a whole message set (HRESULT 0x80040400) when one element is newer
than the version named in ``<?qbxml version="X"?>``, so every optional element we emit
is tagged with the version it appeared in (Intuit's annotated samples) and dropped
when the company speaks an older one.
"""
from __future__ import annotations

import re
from dataclasses import dataclass

_PATTERN = re.compile(r"\s*(\d{1,2})\.(\d{1,2})\s*")


@dataclass(frozen=True, order=True)
class QbxmlVersion:
    """A qbXML specification version such as 13.0; ordered, printable as ``"13.0"``."""

    major: int
    minor: int = 0

    @classmethod
    def parse(cls, text: str) -> QbxmlVersion:
        """Read ``"13.0"`` (as QuickBooks writes it in HostRet and the Web Connector in qbXMLMajorVers).

        Raises:
            ValueError: the text is not ``major.minor``.
        """
        found = _PATTERN.fullmatch(text)
        if not found:
            raise ValueError(f"not a qbXML version: {text!r} (expected e.g. '13.0')")
        return cls(int(found.group(1)), int(found.group(2)))

    def __str__(self) -> str:
        return f"{self.major}.{self.minor}"


DEFAULT_VERSION = QbxmlVersion(13, 0)
"""The newest version our templates are written (and tested) against."""

OLDEST_SUPPORTED = QbxmlVersion(5, 0)
"""Query iterators, which every large sync depends on, arrived in qbXML 5.0 (QuickBooks 2006);
requests are not rendered for anything older."""

