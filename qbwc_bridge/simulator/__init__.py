"""A QuickBooks Web Connector simulator and a strict fake QuickBooks company.

Nobody can run QuickBooks Desktop or the Web Connector in CI, and bridges break in
production exactly where their tests used toy fakes: element order, name collisions,
lost responses, iterators. This package is an instrument as strict as the real
thing, used by the end-to-end tests, the demo and support staff
(``qbwc-bridge simulate``) against any deployment, local or remote::

    from qbwc_bridge.backends.desktop.schema import schema_dir
    from qbwc_bridge.simulator import Faults, RequestProcessor, WebConnector, load_company

    company = load_company("demo-company.json")          # or generate_company(...)
    quickbooks = RequestProcessor(company, schema_dir(shared_dir))   # or None: the built-in checks
    connector = WebConnector(quickbooks, password="secret", faults=Faults.parse("lose_response=@1"))
    assert connector.add_application("bridge.qwc").ok    # GETs AppURL, stamps FileID
    for transcript in connector.run(sessions=3):
        print(transcript.to_text())
    company.invoices_by_ref("1001")

Modules: :mod:`.company` (state and QuickBooks' rules), :mod:`.request_processor`
(message sets: XSD, versions, onError, iterators), :mod:`.qbxml_grammar` (the built-in
checks used without Intuit's XSD), :mod:`.queries` / :mod:`.adds`
(handlers), :mod:`.rets` (qbXML rendering), :mod:`.field_rules` (lengths and versions
from Intuit's annotated samples), :mod:`.faults`, :mod:`.seeding` (JSON descriptions),
:mod:`.generation` (companies with planted data problems), :mod:`.qwc`, :mod:`.envelopes`, :mod:`.http_transport`,
:mod:`.connector`, :mod:`.transcript`, :mod:`.cli`.

It is written independently of the bridge's own qbXML code on purpose: a separate
implementation does not share our bugs.
"""
from .company import CompanySettings, FakeCompany, QuickBooksStatus
from .connector import WebConnector
from .faults import FaultRule, Faults
from .qwc import QwcFile, QwcRejected
from .request_processor import ProcessResult, ProcessorSession, RequestProcessor, SimulatorBug
from .generation import GeneratedCompany, ProblemMix, generate_company
from .seeding import SeedError, company_from_description, describe_company, load_company, save_company
from .transcript import Transcript

__all__ = [
    "CompanySettings",
    "FakeCompany",
    "FaultRule",
    "Faults",
    "GeneratedCompany",
    "ProblemMix",
    "ProcessResult",
    "ProcessorSession",
    "QuickBooksStatus",
    "QwcFile",
    "QwcRejected",
    "RequestProcessor",
    "SeedError",
    "SimulatorBug",
    "Transcript",
    "WebConnector",
    "company_from_description",
    "describe_company",
    "generate_company",
    "load_company",
    "save_company",
]
