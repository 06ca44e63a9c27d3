"""Log output: text or JSON lines, each tagged with the account and Web Connector session, secrets redacted.

Which account and session a line belongs to is bound once, where the request learns it (the
API's token check, the Web Connector's ticket check), in context variables; every line logged
later in that request carries it without each call site passing it along. Each request runs
in its own copy of the context (:func:`run_in_fresh_context`): waitress reuses threads, and a
binding must not leak into the next request the thread serves.

Redaction is a safety net, not the policy: code never logs a password, ticket or token on
purpose, and whatever slips through (a library logging a SOAP envelope at DEBUG) is masked by
the formatter, the last thing a line passes before it is written.
"""
from __future__ import annotations

import contextvars
import datetime as dt
import json
import logging
import re
import sys
from collections.abc import Callable
from typing import IO, Any, TypeVar

from .config import Settings
from .services.diagnostics import REDACTED, redact

_account_id: contextvars.ContextVar[int | None] = contextvars.ContextVar("qbwc_bridge_account_id", default=None)
_session_id: contextvars.ContextVar[int | None] = contextvars.ContextVar("qbwc_bridge_session_id", default=None)

TEXT_FORMAT = "%(asctime)s %(levelname)s %(name)s%(context)s: %(message)s"
# Our tokens and tickets are 43 URL-safe characters (256 bits); nothing else we log is a run that long.
_BARE_TOKEN = re.compile(r"[A-Za-z0-9_-]{40,}")
# Credentials in HTTP headers, however a library prints them.
_HEADER = re.compile(r"(?P<key>\b(?:authorization|cookie|set-cookie)\b['\"]?\s*[:=]\s*['\"]?)(?P<value>[^'\"\n]+)", re.IGNORECASE)
# OAuth tokens and app secrets as a JSON field or form pair (Intuit's token answers, our requests),
# whatever their length: "access_token": "...", refresh_token=..., client_secret=...
_OAUTH_FIELD = re.compile(
    r"(?P<key>\b(?:access_token|refresh_token|id_token|client_secret)['\"]?\s*[:=]\s*['\"]?)(?P<value>[^'\"\s&,;}]+)",
    re.IGNORECASE,
)

T = TypeVar("T")


def bind(*, account_id: int | None = None, session_id: int | None = None) -> None:
    """Tag every later line of this request with the account (and the Web Connector session)."""
    if account_id is not None:
        _account_id.set(account_id)
    if session_id is not None:
        _session_id.set(session_id)


def run_in_fresh_context(function: Callable[..., T], *args: Any) -> T:
    """Call ``function`` with bindings that end when it returns."""
    context = contextvars.copy_context()
    context.run(_unbind)
    return context.run(function, *args)


def _unbind() -> None:
    _account_id.set(None)
    _session_id.set(None)


def mask(text: str) -> str:
    """``text`` with secret-bearing XML elements, key=value pairs, header values and bare tokens masked."""
    text = redact(text)
    text = _HEADER.sub(lambda m: m["key"] + REDACTED, text)
    text = _OAUTH_FIELD.sub(lambda m: m["key"] + REDACTED, text)
    return _BARE_TOKEN.sub(REDACTED, text)


class ContextFilter(logging.Filter):
    """Copies the bound account and session onto each record (``account_id``, ``session_id``)."""

    def filter(self, record: logging.LogRecord) -> bool:
        record.account_id = _account_id.get()
        record.session_id = _session_id.get()
        return True


class TextFormatter(logging.Formatter):
    """The classic one-line format, with ``[account 3 session 17]`` when known, masked."""

    def __init__(self):
        super().__init__(TEXT_FORMAT)

    def format(self, record: logging.LogRecord) -> str:
        parts = []
        if getattr(record, "account_id", None) is not None:
            parts.append(f"account {record.account_id}")
        if getattr(record, "session_id", None) is not None:
            parts.append(f"session {record.session_id}")
        record.context = f" [{' '.join(parts)}]" if parts else ""
        return mask(super().format(record))


class JsonFormatter(logging.Formatter):
    """One JSON object per line: time, level, logger, message, account_id, session_id (and exception)."""

    def format(self, record: logging.LogRecord) -> str:
        line = {
            "time": dt.datetime.fromtimestamp(record.created, dt.timezone.utc).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "message": mask(record.getMessage()),
            "account_id": getattr(record, "account_id", None),
            "session_id": getattr(record, "session_id", None),
        }
        if record.exc_info:
            line["exception"] = mask(self.formatException(record.exc_info))
        return json.dumps(line, ensure_ascii=False)


def configure(settings: Settings, stream: IO[str] | None = None) -> logging.Handler:
    """Send every log line to ``stream`` (stderr) at the configured level, in the configured format."""
    handler = logging.StreamHandler(stream or sys.stderr)
    handler.addFilter(ContextFilter())
    handler.setFormatter(JsonFormatter() if settings.log_format == "json" else TextFormatter())
    root = logging.getLogger()
    for old in list(root.handlers):
        root.removeHandler(old)
    root.addHandler(handler)
    root.setLevel(settings.log_level)
    return handler
