"""The query language subset we use, with QuickBooks' paging and errors.

    SELECT * | SELECT COUNT(*) FROM <Entity>
        [WHERE <cond> AND <cond> ...] [ORDERBY <field> [ASC|DESC], ...]
        [STARTPOSITION n] [MAXRESULTS n]          (the last two in either order)
    <cond>: field = 'v' | field IN ('a', 'b') | field < > <= >= 'v' | field LIKE '%v%'
            | Active = true | Active IN (true, false)

Keywords, entity and field names are case-insensitive; strings are quoted with ``'`` and
``\\'`` escapes a quote. QuickBooks has no OR and no projections we need; both are parser
errors here (4000). Name lists (Item, Customer, Term, Account, Vendor, Employee, TaxCode) answer
active records only unless the WHERE mentions Active. STARTPOSITION is 1-based (0 is the
recorded 4001), MAXRESULTS defaults to 100 and may not exceed 1000 (our decision: QBO's
answer to more is not recorded; refusing it catches a client that would silently get
1000). String comparisons ignore case (our reading of QBO). Without ORDERBY the order is
by Id (our decision: QBO's default order is undocumented; the recorded Vendor pages look
sorted by DisplayName, so clients must not rely on it either way).

A query whose only condition is on Active and has no ORDERBY is answered by slicing,
so paging through 100k records costs O(page) per call.
"""
from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from itertools import islice
from typing import Any

from . import faults
from .clock import parse_time
from .company import NAME_LISTS, FakeCompany
from .records import Record

DEFAULT_MAX_RESULTS = 100
MAX_RESULTS_LIMIT = 1000

_META = ("MetaData.CreateTime", "MetaData.LastUpdatedTime")
QUERYABLE: dict[str, tuple[str, ...]] = {
    "Item": ("Id", "Name", "Sku", "Active", "Type", "FullyQualifiedName", *_META),
    "Customer": ("Id", "DisplayName", "PrimaryEmailAddr", "Active", "GivenName", "FamilyName", "CompanyName",
                 "FullyQualifiedName", "Balance", *_META),
    "Invoice": ("Id", "DocNumber", "TxnDate", "CustomerRef", "TotalAmt", "Balance", *_META),
    "Term": ("Id", "Name", "Active", *_META),
    "Account": ("Id", "Name", "AccountType", "Classification", "Active", "FullyQualifiedName", *_META),
    "Vendor": ("Id", "DisplayName", "Active", *_META),
    "Employee": ("Id", "DisplayName", "Active", *_META),
    "TaxCode": ("Id", "Name", "Active", *_META),
}
# Fields holding a nested object whose one queried value lives under this key.
NESTED = {"PrimaryEmailAddr": "Address", "CustomerRef": "value"}
NUMBERS = ("TotalAmt", "Balance")
OPERATORS = ("=", "<", ">", "<=", ">=", "IN", "LIKE")

_TOKEN = re.compile(r"\s*(?:(?P<string>'(?:\\.|[^'\\])*')|(?P<op><=|>=|!=|[=<>(),*])"
                    r"|(?P<word>[A-Za-z_][A-Za-z0-9_.]*)|(?P<number>-?\d+(?:\.\d+)?))")


@dataclass(frozen=True)
class Token:
    kind: str  # string | op | word | number | end
    text: str
    column: int

    @property
    def keyword(self) -> str:
        return self.text.upper() if self.kind == "word" else self.text


@dataclass(frozen=True)
class Condition:
    field: str
    operator: str
    values: tuple[Any, ...]


@dataclass(frozen=True)
class Query:
    entity: str
    count: bool
    conditions: tuple[Condition, ...]
    order: tuple[tuple[str, bool], ...]  # (field, descending)
    start: int
    max_results: int


def tokenize(text: str) -> list[Token]:
    tokens: list[Token] = []
    position = 0
    stripped = text.rstrip()
    while position < len(stripped):
        match = _TOKEN.match(stripped, position)
        if match is None or match.end() == position:
            column = position + 1 + (len(stripped[position:]) - len(stripped[position:].lstrip()))
            raise faults.query_parser_error(
                f'Encountered "{stripped[column - 1]}" at line 1, column {column}.')
        kind = match.lastgroup or "op"
        tokens.append(Token(kind, match.group(kind), match.start(kind) + 1))
        position = match.end()
    tokens.append(Token("end", "<EOF>", len(stripped) + 1))
    return tokens


class _Parser:
    def __init__(self, text: str) -> None:
        self.tokens = tokenize(text)
        self.position = 0

    def peek(self) -> Token:
        return self.tokens[self.position]

    def take(self) -> Token:
        token = self.tokens[self.position]
        self.position += 1
        return token

    def fail(self, expecting: str) -> faults.Fault:
        token = self.peek()
        return faults.query_parser_error(
            f'Encountered " {token.text} " at line 1, column {token.column}.\nWas expecting: {expecting}')

    def expect(self, keyword: str) -> Token:
        if self.peek().keyword != keyword:
            raise self.fail(f'"{keyword}"')
        return self.take()

    def parse(self) -> Query:
        self.expect("SELECT")
        count = False
        if self.peek().keyword == "COUNT":
            self.take()
            self.expect("(")
            self.expect("*")
            self.expect(")")
            count = True
        else:
            self.expect("*")
        self.expect("FROM")
        if self.peek().kind != "word":
            raise self.fail("<ENTITY>")
        entity_token = self.take()
        entity = next((e for e in QUERYABLE if e.lower() == entity_token.text.lower()), None)
        if entity is None:
            raise faults.query_validation_error(f"Entity {entity_token.text} is not supported")
        conditions: list[Condition] = []
        if self.peek().keyword == "WHERE":
            self.take()
            conditions.append(self.condition(entity))
            while self.peek().keyword == "AND":
                self.take()
                conditions.append(self.condition(entity))
        order: list[tuple[str, bool]] = []
        if self.peek().keyword == "ORDERBY":
            self.take()
            order.append(self.ordering(entity))
            while self.peek().keyword == ",":
                self.take()
                order.append(self.ordering(entity))
        start, max_results = 1, DEFAULT_MAX_RESULTS
        seen: set[str] = set()
        while self.peek().keyword in ("STARTPOSITION", "MAXRESULTS") and self.peek().keyword not in seen:
            keyword = self.take().keyword
            seen.add(keyword)
            if self.peek().kind != "number" or "." in self.peek().text:
                raise self.fail("<INTEGER>")
            value = int(self.take().text)
            if value < 1:
                raise faults.query_validation_error(f"value {value} is too small. Min allowed value is 1")
            if keyword == "MAXRESULTS" and value > MAX_RESULTS_LIMIT:
                raise faults.query_validation_error(
                    f"value {value} is too large. Max allowed value is {MAX_RESULTS_LIMIT}")
            if keyword == "STARTPOSITION":
                start = value
            else:
                max_results = value
        if self.peek().kind != "end":
            raise self.fail('<EOF> | "AND" | "ORDERBY" | "STARTPOSITION" | "MAXRESULTS"')
        return Query(entity, count, tuple(conditions), tuple(order), start, max_results)

    def field(self, entity: str) -> str:
        if self.peek().kind != "word":
            raise self.fail("<PROPERTY>")
        name = self.take().text
        field = next((f for f in QUERYABLE[entity] if f.lower() == name.lower()), None)
        if field is None:
            raise faults.query_validation_error(f"property '{name}' is not queryable")
        return field

    def condition(self, entity: str) -> Condition:
        field = self.field(entity)
        operator = self.peek().keyword
        if operator not in OPERATORS:
            raise self.fail('"=" | "<" | ">" | "<=" | ">=" | "IN" | "LIKE"')
        self.take()
        if operator == "IN":
            self.expect("(")
            values = [self.value(field)]
            while self.peek().keyword == ",":
                self.take()
                values.append(self.value(field))
            self.expect(")")
            return Condition(field, operator, tuple(values))
        if operator == "LIKE":
            if self.peek().kind != "string":
                raise self.fail("<STRING>")
            pattern = _unquote(self.take().text)
            regex = ".*".join(re.escape(part.casefold()) for part in pattern.split("%"))
            return Condition(field, operator, (re.compile(regex, re.DOTALL),))
        return Condition(field, operator, (self.value(field),))

    def value(self, field: str) -> Any:
        token = self.peek()
        if field == "Active":
            if token.keyword not in ("TRUE", "FALSE"):
                raise self.fail("true | false")
            self.take()
            return token.keyword == "TRUE"
        if token.kind not in ("string", "number"):
            raise self.fail("<STRING>")
        self.take()
        text = _unquote(token.text) if token.kind == "string" else token.text
        return _literal(field, text)

    def ordering(self, entity: str) -> tuple[str, bool]:
        field = self.field(entity)
        descending = False
        if self.peek().keyword in ("ASC", "DESC"):
            descending = self.take().keyword == "DESC"
        return field, descending


def _unquote(text: str) -> str:
    return re.sub(r"\\(.)", r"\1", text[1:-1], flags=re.DOTALL)


def _literal(field: str, text: str) -> Any:
    try:
        if field == "Id":
            return int(text)
        if field.startswith("MetaData."):
            return parse_time(text)
        if field in NUMBERS:
            return Decimal(text)
    except (ValueError, InvalidOperation):
        raise faults.query_validation_error(f"invalid value '{text}' for property {field}") from None
    return text.casefold()


def comparable(record: Record, field: str) -> Any:
    """The record's value of a queryable field in the form literals are compared with (None: absent)."""
    if field.startswith("MetaData."):
        return parse_time(record["MetaData"][field.split(".", 1)[1]])
    value = record.get(field)
    if value is None:
        return None
    if field in NESTED:
        value = value.get(NESTED[field])
        return None if value is None else value.casefold()
    if field == "Id":
        return int(value)
    if field == "Active" or field in NUMBERS:
        return value
    return str(value).casefold()


_COMPARE: dict[str, Callable[[Any, Any], bool]] = {
    "=": lambda a, b: a == b, "<": lambda a, b: a < b, ">": lambda a, b: a > b,
    "<=": lambda a, b: a <= b, ">=": lambda a, b: a >= b,
}


def matches(record: Record, condition: Condition) -> bool:
    value = comparable(record, condition.field)
    if value is None:
        return False
    if condition.operator == "IN":
        return value in condition.values
    if condition.operator == "LIKE":
        return isinstance(value, str) and condition.values[0].fullmatch(value) is not None
    return _COMPARE[condition.operator](value, condition.values[0])


def parse(text: str) -> Query:
    return _Parser(text).parse()


def run(company: FakeCompany, text: str) -> dict[str, Any]:
    """The ``QueryResponse`` of a query against a company."""
    query = parse(text)
    table = company.table(query.entity)
    active_conditions = [c for c in query.conditions if c.field == "Active"]
    others = [c for c in query.conditions if c.field != "Active"]
    if query.entity in NAME_LISTS and not active_conditions:
        candidates = table.active
    elif active_conditions == [Condition("Active", "=", (True,))]:
        candidates = table.active
    elif active_conditions and all(c.operator == "IN" and set(c.values) == {True, False}
                                   for c in active_conditions):
        candidates = table.rows
    else:
        others = list(query.conditions)
        candidates = table.rows
    if others or query.order:
        candidates = [record for record in candidates if all(matches(record, c) for c in others)]
        for field, descending in reversed(query.order):
            candidates.sort(key=lambda record, f=field: _sort_key(record, f), reverse=descending)
    if query.count:
        return {"totalCount": len(candidates)}
    page = list(islice(candidates, query.start - 1, query.start - 1 + query.max_results))
    if not page:
        return {}
    return {query.entity: page, "startPosition": query.start, "maxResults": len(page)}


def _sort_key(record: Record, field: str) -> tuple[bool, Any]:
    value = comparable(record, field)
    return value is not None, value
