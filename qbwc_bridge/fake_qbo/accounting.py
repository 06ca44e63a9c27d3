"""The Accounting API's resources under ``/v3/company/<realm>/``: which call does what.

Every function runs under the FakeIntuit lock, answers the body of a 200, and raises
:class:`~.faults.Fault` for QuickBooks' error answers.
"""
from __future__ import annotations

from typing import Any

from . import faults
from .company import ENTITIES, FakeCompany

Body = dict[str, Any]


def read(company: FakeCompany, segments: list[str], args: dict[str, str], path: str) -> Body:
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
