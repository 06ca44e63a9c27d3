"""Change data capture: ``GET cdc?entities=Item,Customer&changedSince=...``.

Answers every record of the named entities whose LastUpdatedTime is at or after
``changedSince`` (inactive ones included), and every record deleted or merged away since
then as ``{"domain":"QBO","status":"Deleted","Id":..,"MetaData":{"LastUpdatedTime":..}}``,
in the recorded shape (cdc_basic): ``{"CDCResponse":[{"QueryResponse":[{"Item":[..],
"startPosition":1,"maxResults":n}, ...]}]}``. An entity without changes answers ``{}``
(our decision, like an empty query). At most 30 days back and 1000 objects per answer
(PROTOCOL §5.1); past 1000 the rest is cut off, so a client must ask again from a later
changedSince. The error codes for a missing parameter, an unknown entity or a
changedSince too far back are ours (not recorded).
"""
from __future__ import annotations

from datetime import timedelta
from typing import Any

from . import faults
from .clock import metadata_time, parse_time
from .company import FakeCompany
from .records import Record

MAX_AGE = timedelta(days=30)
MAX_OBJECTS = 1000


def changes(company: FakeCompany, args: dict[str, str]) -> dict[str, Any]:
    if not args.get("entities"):
        raise faults.required_missing("entities")
    if not args.get("changedSince"):
        raise faults.required_missing("changedSince")
    try:
        since = parse_time(args["changedSince"])
    except ValueError:
        raise faults.invalid_value("changedSince", "must be an ISO 8601 date-time") from None
    if since < company.clock() - MAX_AGE:
        raise faults.query_validation_error("changedSince may not be more than 30 days in the past")
    entities = []
    for name in args["entities"].split(","):
        entity = next((e for e in company.tables if e.lower() == name.strip().lower()), None)
        if entity is None:
            raise faults.query_validation_error(f"Entity {name.strip()} is not supported by change data capture")
        entities.append(entity)
    budget = MAX_OBJECTS
    answers: list[dict[str, Any]] = []
    for entity in entities:
        found = _changed(company, entity, since, budget)
        budget -= len(found)
        answers.append({entity: found, "startPosition": 1, "maxResults": len(found)} if found else {})
    return {"CDCResponse": [{"QueryResponse": answers}]}


def _changed(company: FakeCompany, entity: str, since: Any, budget: int) -> list[Record]:
    table = company.table(entity)
    found: list[Record] = []
    for record in table.rows:
        if len(found) >= budget:
            return found
        if parse_time(record["MetaData"]["LastUpdatedTime"]) >= since:
            found.append(record)
    for tombstone in table.tombstones:
        if len(found) >= budget:
            break
        if tombstone.deleted_at >= since:
            found.append({"domain": "QBO", "status": "Deleted", "Id": tombstone.id,
                          "MetaData": {"LastUpdatedTime": metadata_time(tombstone.deleted_at,
                                                                        company.settings.zone)}})
    return found
