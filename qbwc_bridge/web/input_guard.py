"""The guard every API and admin request passes before a view runs: URLs and forms must be plain text.

A NUL byte reaches PostgreSQL as an error (a 500), bytes that are not UTF-8 become
U+FFFD or stay percent-encoded in Werkzeug's reading (a silent '?': the request then
means something else than what was sent), and an id past 32 bits overflows the
column it is compared with. So, before any view or SQL sees them, the path, every
query parameter and every form field must decode as strict UTF-8 (which also refuses
lone surrogates and overlong spellings), hold no NUL and stay short; ``<int:...>``
path ids must fit the database's INTEGER. What fails is a 400 (the API's JSON error,
the admin's error page) naming the part that was wrong. Each view still validates
what the value means.

The SOAP endpoint is not behind this guard: it screens its own bodies (``web/soap.py``).
"""
from __future__ import annotations

from collections.abc import Iterator
from urllib.parse import unquote_to_bytes

from flask import Flask, request
from werkzeug.exceptions import BadRequest
from werkzeug.routing import IntegerConverter

from ..store.models import MAX_ID

#: Paths longer than this are no URL of ours (ids are at most 100 characters).
MAX_PATH_CHARS = 2000
#: One query parameter; searches and filters are at most 100 characters, a login's ``next`` a path.
MAX_QUERY_VALUE_CHARS = 1000
#: One form field; the admin's forms hold ids, names, SKUs, emails and passwords.
MAX_FORM_VALUE_CHARS = 10_000


class UnreadableInput(BadRequest):
    """400: a part of the request (``where``) is not text we can store or look up."""

    def __init__(self, where: str, problem: str):
        super().__init__(f"The {where} {problem}; nothing was changed.")


class StoredId(IntegerConverter):
    """``<int:...>`` limited to ASCII digits and to ids a row can have (a larger one is a 404).

    Werkzeug's own reads any Unicode digit (``\\d``) and any size, which overflows the column.
    """

    regex = r"[0-9]{1,10}"

    def __init__(self, map, *args, **kwargs):
        kwargs.setdefault("max", MAX_ID)
        super().__init__(map, *args, **kwargs)


def install(app: Flask) -> None:
    """Bound ``<int:...>`` ids and screen every request of ``app`` before its views run."""
    app.url_map.converters["int"] = StoredId
    app.before_request(screen)


def screen() -> None:
    """Raises: UnreadableInput for the first part of the request that is not plain, short text."""
    _check("address", _text(_wsgi_bytes(request.environ.get("PATH_INFO", "")), "address"), MAX_PATH_CHARS)
    for name, value in _pairs(_wsgi_bytes(request.environ.get("QUERY_STRING", "")), "query parameter"):
        _check(f"query parameter {name!r}", value, MAX_QUERY_VALUE_CHARS)
    if request.mimetype == "application/x-www-form-urlencoded":
        for name, value in _pairs(request.get_data(cache=True), "form field"):
            _check(f"form field {name!r}", value, MAX_FORM_VALUE_CHARS)
    elif request.mimetype == "multipart/form-data":
        # Werkzeug has already decoded these (bad bytes as U+FFFD); none of our forms is multipart.
        raise UnreadableInput("form", "must be sent as application/x-www-form-urlencoded")


def _wsgi_bytes(value: str) -> bytes:
    # WSGI hands over the request's bytes as latin-1 text (PEP 3333).
    return value.encode("latin-1")


def _pairs(raw: bytes, what: str) -> Iterator[tuple[str, str]]:
    """Name/value pairs of a query string or form body, read as Werkzeug reads them, but strictly."""
    for pair in raw.split(b"&"):
        if not pair:
            continue
        name, _, value = pair.partition(b"=")
        name_text = _text(unquote_to_bytes(name.replace(b"+", b" ")), what)
        _check(what, name_text, MAX_QUERY_VALUE_CHARS)
        yield name_text, _text(unquote_to_bytes(value.replace(b"+", b" ")), f"{what} {name_text!r}")


def _text(raw: bytes, where: str) -> str:
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError:
        raise UnreadableInput(where, "is not UTF-8 text") from None


def _check(where: str, value: str, max_chars: int) -> None:
    if "\x00" in value:
        raise UnreadableInput(where, "holds a NUL byte")
    if len(value) > max_chars:
        raise UnreadableInput(where, f"is {len(value)} characters long; at most {max_chars} are allowed")
