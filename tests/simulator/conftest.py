"""Fixtures for the simulator's self-tests: a seeded company, its processor, a stub server."""
from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest

from qbwc_bridge.simulator import FakeCompany, RequestProcessor, company_from_description

from tests.simulator.stub_server import RunningServer, ScriptedServer

OWNER_ID = "{57F3B9B1-86F1-4FCC-B1EE-566DE1813D20}"
FILE_ID = "{90A44FB5-33D9-4815-AC85-BC87A7E7D1EB}"
ZONE = timezone(timedelta(hours=-5))

CUSTOMER_QUERY = ('<?xml version="1.0" encoding="utf-8"?><?qbxml version="13.0"?><QBXML><QBXMLMsgsRq '
                  'onError="stopOnError"><CustomerQueryRq requestID="q1"><FullName>Acme Corp</FullName>'
                  '</CustomerQueryRq></QBXMLMsgsRq></QBXML>')
INVOICE_ADD = ('<?xml version="1.0" encoding="utf-8"?><?qbxml version="13.0"?><QBXML><QBXMLMsgsRq '
               'onError="stopOnError"><InvoiceAddRq requestID="inv"><InvoiceAdd><CustomerRef><FullName>Acme Corp'
               '</FullName></CustomerRef><RefNumber>1001</RefNumber><Memo>Tom &amp; Jerry &lt;3</Memo>'
               '<InvoiceLineAdd><ItemRef><FullName>Installation</FullName></ItemRef><Quantity>1</Quantity>'
               '</InvoiceLineAdd></InvoiceAdd></InvoiceAddRq></QBXMLMsgsRq></QBXML>')

DESCRIPTION = {
    "company": {"name": "Test Hardware LLC"},
    "terms": [{"name": "Net 30", "due_days": 30}, {"name": "15th", "day_of_month_due": 15, "due_next_month_days": 5}],
    "vendors": [{"name": "Bolt Supply"}],
    "employees": [{"name": "Pat Staff"}],
    "customers": [
        {"name": "Acme Corp", "email": "ap@acme.test", "terms": "Net 30",
         "bill_address": {"addr1": "1 Main St", "city": "Springfield", "state": "IL", "postal_code": "62701"}},
        {"name": "Beta LLC", "email": "a@beta.test; b@beta.test", "terms": "15th"},
        {"name": "Gamma Inc", "active": False},
    ],
    "items": [
        {"kind": "service", "name": "Installation", "description": "On-site installation", "price": "75.00",
         "account": "Services"},
        {"kind": "non_inventory", "name": "Cable", "sales_and_purchase": True, "description": "Cat6 cable",
         "price": "3.50", "income_account": "Sales", "purchase_cost": "1.20", "expense_account": "Purchases"},
        {"kind": "inventory", "name": "WIDGET-1", "description": "Widget", "price": "19.99",
         "income_account": "Sales", "cogs_account": "Cost of Goods Sold", "asset_account": "Inventory Asset",
         "quantity_on_hand": "10", "manufacturer_part_number": "W-1"},
        {"kind": "other_charge", "name": "Freight", "price": "12.00", "account": "Sales"},
        {"kind": "service", "name": "Old Service", "price": "1.00", "account": "Services", "active": False},
    ],
}


class Clock:
    """A settable clock for TimeModified (starts 2024-03-01 09:00 -05:00)."""

    def __init__(self) -> None:
        self.now = datetime(2024, 3, 1, 9, 0, 0, tzinfo=ZONE)

    def __call__(self) -> datetime:
        return self.now

    def advance(self, **delta: float) -> None:
        self.now += timedelta(**delta)


@pytest.fixture()
def schema_folder(shared_dir: Path) -> Path:
    from qbwc_bridge.backends.desktop.schema import schema_dir

    return schema_dir(shared_dir)


@pytest.fixture()
def clock() -> Clock:
    return Clock()


@pytest.fixture()
def company(clock: Clock) -> FakeCompany:
    return company_from_description(DESCRIPTION, clock=clock)


@pytest.fixture()
def processor(company: FakeCompany, schema_folder: Path) -> RequestProcessor:
    return RequestProcessor(company, schema_folder)


def message_set(body: str, version: str = "13.0", on_error: str = "stopOnError") -> str:
    return (f'<?xml version="1.0" encoding="utf-8"?><?qbxml version="{version}"?><QBXML>'
            f'<QBXMLMsgsRq onError="{on_error}">{body}</QBXMLMsgsRq></QBXML>')


def qwc_text(url: str, support: str | None = None, owner_id: str = OWNER_ID, file_id: str = FILE_ID,
             app_name: str = "BlueTrace Bridge") -> str:
    return f"""<?xml version="1.0"?>
<QBWCXML>
  <AppName>{app_name}</AppName>
  <AppID></AppID>
  <AppURL>{url}</AppURL>
  <AppDescription>BlueTrace inventory</AppDescription>
  <AppSupport>{support or url + '/support'}</AppSupport>
  <UserName>acme-books</UserName>
  <OwnerID>{owner_id}</OwnerID>
  <FileID>{file_id}</FileID>
  <QBType>QBFS</QBType>
  <Scheduler><RunEveryNMinutes>5</RunEveryNMinutes></Scheduler>
  <IsReadOnly>false</IsReadOnly>
</QBWCXML>"""


@pytest.fixture()
def stub() -> Iterator[Callable[..., RunningServer]]:
    """Start scripted servers on demand; all are stopped after the test."""
    running: list[RunningServer] = []

    def start(**script) -> RunningServer:
        server = RunningServer(ScriptedServer(script=script))
        running.append(server)
        return server

    yield start
    for server in running:
        server.stop()
