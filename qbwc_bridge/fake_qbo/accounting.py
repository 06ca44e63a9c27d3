"""The Accounting API's resources under ``/v3/company/<realm>/``: which call does what.

Every function runs under the FakeIntuit lock, answers the body of a 200, and raises
:class:`~.faults.Fault` for QuickBooks' error answers.
"""
from __future__ import annotations

from typing import Any

from . import faults
from .batch import run_batch
from .changes import changes
from .company import ENTITIES, FakeCompany
from .query import run
from .writes import write as apply_write

Body = dict[str, Any]
CREATABLE = ("item", "customer", "invoice")


def is_write(method: str, segments: list[str]) -> bool:
    return method == "POST" and len(segments) == 1 and (segments[0] in CREATABLE or segments[0] == "batch")


def read(company: FakeCompany, segments: list[str], args: dict[str, str], path: str) -> Body:
    if segments == ["query"]:
        if not args.get("query"):
            raise faults.query_parser_error('Encountered " <EOF> " at line 1, column 1.')
        return {"QueryResponse": run(company, args["query"])}
    if segments == ["cdc"]:
        return changes(company, args)
    if len(segments) == 2 and segments[0] == "companyinfo" and segments[1] == company.realm:
        return {"CompanyInfo": company.company_info()}
    if segments == ["preferences"]:
        return {"Preferences": company.preferences()}
    if len(segments) == 2 and segments[0] in ENTITIES:
        entity = ENTITIES[segments[0]]
        if not segments[1].isdigit():
            raise faults.invalid_id(segments[1])
        record = company.get(entity, segments[1])
        if record is None:
            raise faults.object_not_found()
        return {entity: record}
    raise faults.unsupported_operation(path)


def write(company: FakeCompany, segments: list[str], args: dict[str, str], body: Any, path: str) -> Body:
    if segments == ["batch"]:
        return run_batch(company, body)
    if args.get("operation"):
        raise faults.unsupported_operation(f"{path}?operation={args['operation']}")  # void, delete: not modelled
    entity = ENTITIES[segments[0]]
    return {entity: apply_write(company, entity, body)}
