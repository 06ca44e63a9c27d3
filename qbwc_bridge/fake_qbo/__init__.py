"""A fake QuickBooks Online (Intuit's OAuth 2 and the Accounting API), as strict as the real one.

Shipped in the package so that tests, the demo and support can run an Online company
without Intuit::

    from qbwc_bridge.fake_qbo import FakeIntuit, ManualClock, serve

    intuit = FakeIntuit(clock=ManualClock())
    intuit.register_app("client", "secret", ["http://127.0.0.1:8000/qbo/callback"])
    company = intuit.add_company("9130350000000001", "Sandbox Company US")
    company.add_item("Widget", sku="W-1", unit_price="9.50")
    with serve(intuit) as server:
        ...  # server.url: /connect/oauth2, /oauth2/v1/tokens/bearer, /v3/company/<realm>/...
    intuit.duplicate_doc_numbers("9130350000000001")

Answer shapes follow ``shared/fixtures/qbo-recorded``; where the fake decides something
the recordings and PROTOCOL §5 do not show, a comment says so. Modules: :mod:`.intuit`
(state and inspection), :mod:`.authorization` (OAuth), :mod:`.company`, :mod:`.records`,
:mod:`.query`, :mod:`.writes`, :mod:`.batch`, :mod:`.changes` (CDC), :mod:`.accounting` (resources),
:mod:`.limits`, :mod:`.injection`, :mod:`.faults`, :mod:`.consent`, :mod:`.clock`,
:mod:`.app` (WSGI), :mod:`.server`, :mod:`.sample` (the demo's company); ``python -m
qbwc_bridge.fake_qbo`` serves the sample company for support.
"""
from .app import make_app
from .clock import ManualClock
from .company import CompanySettings, FakeCompany
from .intuit import FakeIntuit, LoggedRequest, Violation
from .sample import add_sample_company
from .server import RunningFakeIntuit, serve

__all__ = ["CompanySettings", "FakeCompany", "FakeIntuit", "LoggedRequest", "ManualClock", "RunningFakeIntuit",
           "Violation", "add_sample_company", "make_app", "serve"]
