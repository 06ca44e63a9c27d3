"""Live mode (Desktop): a finished Web Connector session stays open on NoOp for the account's minutes.

The simulated Web Connector (with a short NoOp pause) and the strict fake QuickBooks talk to the
server over HTTP; the service's clock runs with real time plus an offset the test moves, so the
minutes pass without waiting for them. Orders are packed from inside the Web Connector's pauses,
as they would be while a real one waits.
"""
from __future__ import annotations

import datetime as dt
import random

import pytest

from qbwc_bridge.backends.desktop.qwc import render_qwc
from qbwc_bridge.backends.desktop.schema import schema_dir
from qbwc_bridge.backends.desktop.web_connector import NOOP, WebConnectorService
from qbwc_bridge.services import invoices
from qbwc_bridge.simulator import Faults, RequestProcessor, WebConnector
from qbwc_bridge.store.models import Account, WebConnectorSession, utcnow
from qbwc_bridge.web.app import create_app
from tests.integration.invoice_world import make_company, ours, seed_matches
from tests.integration.soap_helpers import hcp_response
from tests.support.live_server import LiveServer

PAUSE = 0.01  # seconds: QBWC's ~5 s NoOp pause, shortened (bench/bench_live_mode.py uses the real one)


class MovableClock:
    """Real time plus an offset a test can move forward (sessions' minutes without the wait)."""

    def __init__(self):
        self.offset = dt.timedelta()

    def __call__(self) -> dt.datetime:
        return utcnow() + self.offset

    def advance(self, **delta: float) -> None:
        self.offset += dt.timedelta(**delta)


@pytest.fixture
def clock():
    return MovableClock()


@pytest.fixture
def live_server(settings, store, clock):
    app = create_app(settings, store)
    app.web_connector.clock = clock
    with LiveServer(app) as server:
        yield server


@pytest.fixture
def world(store, tenant):
    return seed_matches(store, tenant.account.account_id, make_company(seed=5))


@pytest.fixture
def connector(shared_dir, settings, store, live_server, tenant, world, tmp_path, clock):
    """A Web Connector that has added the tenant's .qwc, after its first (initial sync) session."""
    return _connector(shared_dir, settings, store, live_server, tenant, world, tmp_path, clock)


def _connector(shared_dir, settings, store, live_server, tenant, world, tmp_path, clock, faults=None):
    port = live_server.url.rsplit(":", 1)[1]
    qwc = tmp_path / "acme.qwc"
    with store.begin() as db:
        qwc.write_text(render_qwc(db, settings.replace(public_url=f"http://localhost:{port}"), tenant.account.account_id))
    connector = WebConnector(RequestProcessor(world.company, schema_dir(shared_dir)), password=tenant.password,
                             noop_pause=PAUSE, faults=faults, max_calls_per_session=400)  # fmt: skip
    assert connector.add_application(str(qwc)).ok
    initial = connector.run_session()
    assert initial.ok and initial.progress[-1] == 100 and initial.noops == 0, initial.to_text()
    after_session(settings, clock)
    return connector


def after_session(settings, clock):
    clock.advance(seconds=settings.busy_window_seconds + 1)


def set_live_mode(store, tenant, minutes: int) -> None:
    with store.begin() as db:
        db.get(Account, tenant.account.account_id).live_mode_minutes = minutes


def pack(store, tenant, world, order_id: str) -> None:
    with store.begin() as db:
        invoices.record_packed_order(db, tenant.account.account_id, order_id,
                                     world.order(random.Random(order_id), f"SO-{order_id}"))  # fmt: skip


def adds_in(transcript) -> list[int]:
    """The numbers of the transcript's calls that handed QuickBooks an InvoiceAdd."""
    return [n for n, call in enumerate(transcript.calls) if call.operation == "sendRequestXML" and "InvoiceAdd" in call.summary]


def test_live_mode_off_ends_the_session_when_the_work_is_done(connector, store, tenant, world):
    pack(store, tenant, world, "A")
    transcript = connector.run_session()
    assert transcript.ok, transcript.to_text()
    assert transcript.outcome == "completed" and transcript.progress[-1] == 100 and transcript.noops == 0
    assert 99 not in transcript.progress[-1:] and "getLastError" not in transcript.operations
    assert len(ours(world.company, "A")) == 1


def test_an_order_packed_while_the_session_idles_goes_out_on_the_next_ask_exactly_once(
        connector, store, tenant, world, clock, settings):
    set_live_mode(store, tenant, 5)
    pack(store, tenant, world, "A")
    seen: list[int] = []

    def meanwhile(pause: int) -> None:
        seen.append(len(world.company.invoices))
        if pause == 1:
            pack(store, tenant, world, "B")  # packed while the Web Connector waits
        elif ours(world.company, "B") or pause > 50:
            clock.advance(minutes=6)  # past the live-mode minutes: the next getLastError ends the session

    connector.on_noop = meanwhile
    transcript = connector.run_session()
    assert transcript.ok, transcript.to_text()
    assert len(ours(world.company, "A")) == 1 and len(ours(world.company, "B")) == 1
    # B went out in the same session, on the first ask after the pause in which it was packed.
    first_add, second_add = adds_in(transcript)
    operations = transcript.operations
    assert operations[first_add + 1:first_add + 2] == ["receiveResponseXML"]
    assert operations[first_add + 2:second_add] == ["sendRequestXML", "getLastError"]
    assert seen[0] == 1 and 99 in transcript.progress
    assert transcript.outcome == "stopped by the application: 'Live mode is over for this run: the next scheduled " \
                                 "run connects again.'"
    assert operations[-1] == "closeConnection"
    with store.begin() as db:
        ws = db.query(WebConnectorSession).order_by(WebConnectorSession.id.desc()).first()
        assert ws.state == "closed" and ws.last_error is None and ws.operations_done >= 2
    # Nothing is left to send, and nothing is sent twice in the next session either.
    after_session(settings, clock)
    connector.on_noop = None
    set_live_mode(store, tenant, 0)
    later = connector.run_session()
    assert len(ours(world.company, "B")) == 1 and not adds_in(later)


def test_the_session_ends_by_itself_after_the_minutes_counted_from_the_end_of_its_work(connector, store, tenant,
                                                                                      world, clock):  # fmt: skip
    set_live_mode(store, tenant, 1)
    pack(store, tenant, world, "A")
    connector.on_noop = lambda pause: clock.advance(seconds=20)
    transcript = connector.run_session()
    assert transcript.ok, transcript.to_text()
    # Idle from the answer to A's set: NoOp at +0 s, +20 s, +40 s; at +60 s the minute is over.
    assert transcript.noops == 3
    assert transcript.last_error_messages == ["Live mode is over for this run: the next scheduled run connects again."]
    assert transcript.operations[-1] == "closeConnection"


def test_turning_live_mode_off_ends_an_idling_session_at_the_next_ask(connector, store, tenant, world):
    set_live_mode(store, tenant, 30)
    pack(store, tenant, world, "A")
    connector.on_noop = lambda pause: set_live_mode(store, tenant, 0) if pause == 2 else None
    transcript = connector.run_session()
    assert transcript.noops == 2 and transcript.operations[-1] == "closeConnection", transcript.to_text()


def test_quickbooks_saying_another_user_holds_the_data_ends_the_idle_session(
        shared_dir, settings, store, live_server, tenant, world, tmp_path, clock):
    # The second Add (B's, packed while the session idles) meets 3170/3175/3180: someone is at work in QuickBooks.
    connector = _connector(shared_dir, settings, store, live_server, tenant, world, tmp_path, clock,
                           faults=Faults.parse("lock_error=@2"))  # fmt: skip
    set_live_mode(store, tenant, 30)
    pack(store, tenant, world, "A")
    connector.on_noop = lambda pause: pack(store, tenant, world, "B") if pause == 1 else None
    transcript = connector.run_session()
    assert transcript.ok, transcript.to_text()
    assert transcript.noops == 1 and transcript.progress[-1] == 100 and transcript.outcome == "completed"
    assert len(ours(world.company, "A")) == 1 and not ours(world.company, "B")  # B waits for its retry


def test_an_error_ends_an_idle_session(settings, store, tenant, world, clock, shared_dir):
    """QuickBooks answers the set of an order packed during the idle with an HRESULT: -1, and no more NoOp."""
    service = WebConnectorService(store, settings, clock=clock)
    quickbooks = RequestProcessor(world.company, schema_dir(shared_dir)).begin_session()
    with store.begin() as db:
        account = db.get(Account, tenant.account.account_id)
        account.status, account.live_mode_minutes = "connected", 10
    pack(store, tenant, world, "A")
    ticket, status = service.authenticate(tenant.username, tenant.password)[:2]
    assert status == ""
    hcp = hcp_response(tenant.owner_id, tenant.account.file_id,
                       versions=world.company.settings.supported_versions)  # fmt: skip
    first = True
    while True:  # the work: the initial pulls and A
        request = service.send_request_xml(ticket, hcp if first else "", "C:\\Co.QBW", "US", 13, 0)
        first = False
        assert request, service.get_last_error(ticket)
        result = quickbooks.process(request)
        percent = service.receive_response_xml(ticket, result.response, result.hresult, result.message)
        if percent == 99 and not service.send_request_xml(ticket, "", "C:\\Co.QBW", "US", 13, 0):
            break  # idle: the work is done and the session stayed open
        assert 0 <= percent < 100
    assert service.get_last_error(ticket) == NOOP
    pack(store, tenant, world, "B")
    request = service.send_request_xml(ticket, "", "C:\\Co.QBW", "US", 13, 0)
    assert "InvoiceAdd" in request
    assert service.receive_response_xml(ticket, "", "0x80040410", "The company file is open in another mode") == -1
    assert service.get_last_error(ticket) != NOOP
    service.close_connection(ticket)
    assert service.send_request_xml(ticket, "", "C:\\Co.QBW", "US", 13, 0) == ""
    assert service.get_last_error(ticket) != NOOP  # an ended session is never kept waiting
    assert len(ours(world.company, "A")) == 1 and not ours(world.company, "B")
