"""What one simulated Web Connector session did, for assertions and for people.

Every SOAP call is kept with its duration and a one-line summary; qbXML exchanges
keep the request and the response QuickBooks gave; errors carry the code a user of
the real Web Connector would see (``QBWC1012``, ``QBWC1042``, an HRESULT...).
:meth:`Transcript.to_text` is the plain-words rendering support staff read;
:meth:`Transcript.to_json` is the same facts for tools.
"""
from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from typing import Any


@dataclass
class Call:
    """One SOAP call: ``at`` and ``seconds`` are relative to the session start."""

    operation: str
    at: float
    seconds: float
    summary: str


@dataclass
class Exchange:
    """One qbXML round trip: the server's request and what QuickBooks answered."""

    request: str
    response: str
    hresult: str = ""
    message: str = ""
    detail: str = ""
    percent: int | None = None


@dataclass
class Problem:
    """An error the user would see. ``code`` is a QBWC code or an HRESULT."""

    code: str
    operation: str
    message: str


@dataclass
class Transcript:
    """A whole session (or the adding of a .qwc, ``kind == "add"``)."""

    application: str
    url: str
    number: int = 0
    kind: str = "session"
    started_at: str = ""
    seconds: float = 0.0
    outcome: str = "running"
    calls: list[Call] = field(default_factory=list)
    exchanges: list[Exchange] = field(default_factory=list)
    progress: list[int] = field(default_factory=list)
    noops: int = 0
    errors: list[Problem] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    faults: list[str] = field(default_factory=list)
    last_error_messages: list[str] = field(default_factory=list)
    close_message: str | None = None

    # ------------------------------------------------------------ questions tests ask
    @property
    def ok(self) -> bool:
        return not self.errors

    @property
    def operations(self) -> list[str]:
        return [call.operation for call in self.calls]

    @property
    def round_trips(self) -> int:
        return len(self.exchanges)

    @property
    def error_codes(self) -> list[str]:
        return [problem.code for problem in self.errors]

    def requests_containing(self, text: str) -> list[Exchange]:
        return [exchange for exchange in self.exchanges if text in exchange.request]

    # ------------------------------------------------------------ renderings
    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["round_trips"] = self.round_trips
        data["ok"] = self.ok
        return data

    def to_json(self, indent: int | None = 2) -> str:
        return json.dumps(self.to_dict(), indent=indent)

    def to_text(self) -> str:
        title = "Adding the .qwc" if self.kind == "add" else f"Session {self.number}"
        lines = [f"{title} of {self.application} at {self.url} ({self.started_at}, {self.seconds:.2f} s): "
                 f"{self.outcome}"]
        for call in self.calls:
            lines.append(f"  {call.at:7.2f}s  {call.operation:<19} {call.seconds * 1000:7.0f} ms  {call.summary}")
        if self.kind == "session":
            progress = " → ".join(f"{p}%" for p in self.progress) or "none"
            lines.append(f"  {self.round_trips} qbXML round trip(s), {self.noops} NoOp pause(s), progress {progress}")
        for note in self.notes:
            lines.append(f"  note: {note}")
        for fault in self.faults:
            lines.append(f"  injected fault: {fault}")
        for problem in self.errors:
            lines.append(f"  ERROR {problem.code} during {problem.operation}: {problem.message}")
        if self.close_message is not None:
            lines.append(f"  status shown by the Web Connector: {self.close_message}")
        return "\n".join(lines)
