"""``qbwc-bridge simulate``: play the Web Connector against a deployment, with a fake QuickBooks.

Support staff reproduce a customer's trouble with it: point it at the customer's
``.qwc`` (local or a real https deployment), give the password, optionally a company
(JSON description or a state saved by an earlier run) and faults, and read each
session's transcript. ``--save-company`` keeps the fake company's state for the next
run. It works from a plain ``pip install``: without Intuit's qbXML XSD the fake checks
message sets with its built-in grammar; with it (``--schema-dir``, ``--shared-dir`` or
``QBWC_BRIDGE_SHARED_DIR``) with the XSD. The first line says which. The exit status is 1 when any session reported an error, so scripts can tell.
"""
from __future__ import annotations

import json
import ssl
from importlib import resources
from pathlib import Path

import click

from ..backends.desktop.schema import ENTRY_POINT, schema_dir
from ..config import Settings
from ..errors import ConfigurationError
from .company import FakeCompany
from .connector import WebConnector
from .faults import Faults
from .http_transport import HttpTransport
from .request_processor import RequestProcessor
from .seeding import SeedError, load_company
from . import seeding

DEMO_COMPANY = "demo-company.json"
NO_SCHEMA = "none"


def _demo_company_path() -> Path:
    return Path(str(resources.files("qbwc_bridge.simulator") / "examples" / DEMO_COMPANY))


def _schema_folder(schema_option: str | None, shared_dir: Path | None) -> Path | None:
    """The XSD folder to check message sets with, or None for the built-in checks.

    Raises:
        ConfigurationError: a folder was named but holds no XSD.
    """
    if schema_option == NO_SCHEMA:
        return None
    if schema_option is not None:
        folder = Path(schema_option)
        if not (folder / ENTRY_POINT).is_file():
            raise ConfigurationError(f"{folder / ENTRY_POINT} does not exist (--schema-dir)")
        return folder
    if shared_dir is None:
        shared_dir = Settings.from_env().shared_dir
    return schema_dir(shared_dir) if shared_dir is not None else None


@click.command("simulate")
@click.option("--qwc", "qwc_path", required=True, type=click.Path(exists=True, dir_okay=False, path_type=Path),
              help="The .qwc file the customer added to the Web Connector.")
@click.option("--password", prompt=True, hide_input=True, help="The password typed into the Web Connector.")
@click.option("--company", "company_path", type=click.Path(exists=True, dir_okay=False, path_type=Path),
              help="Fake company: a JSON description or a saved state (default: the packaged demo company).")
@click.option("--save-company", type=click.Path(dir_okay=False, path_type=Path),
              help="Write the company's state here after the runs (may be the --company file).")
@click.option("--faults", "fault_spec", default="", metavar="SPEC",
              help="Faults to inject, e.g. 'seed=7,lose_response=@2,lock_error=0.25,not_running=@1'. "
                   "Names: lose_response, lock_error, not_running, other_mode, slow, server_gone; "
                   "values: a probability or @n+m ordinals; plus seed=N, slow_seconds=S.")
@click.option("--runs", type=click.IntRange(1, 1000), default=1, show_default=True, help="Sessions to run.")
@click.option("--json", "as_json", is_flag=True, help="Print the transcripts as one JSON document.")
@click.option("--noop-pause", type=click.FloatRange(0, 60), default=5.0, show_default=True,
              help="Seconds to wait after a NoOp, as QBWC does.")
@click.option("--max-calls", type=click.IntRange(10, 10**6), default=500, show_default=True,
              help="SOAP calls after which a session is abandoned (a live-mode session asks twice per NoOp pause: "
                   "raise it to watch one idle for long).")
@click.option("--timeout", type=click.FloatRange(1, 3600), default=120.0, show_default=True,
              help="Seconds before an HTTP call is abandoned.")
@click.option("--shared-dir", type=click.Path(exists=True, file_okay=False, path_type=Path),
              help="Folder holding qbxml-schema/13.0 (default: the service's setting QBWC_BRIDGE_SHARED_DIR).")
@click.option("--schema-dir", "schema_option", metavar="DIR|none",
              help="Folder holding Intuit's qbxmlops130.xsd, or 'none' for the built-in checks only "
                   "(default: the shared folder's, else the built-in checks).")
@click.option("--ca-file", type=click.Path(exists=True, dir_okay=False, path_type=Path),
              help="Trust the https server's certificate if this PEM file (a CA or the self-signed "
                   "certificate itself) signed it, instead of the system's CAs. Names are still checked.")
def simulate_command(qwc_path: Path, password: str, company_path: Path | None, save_company: Path | None,
                     fault_spec: str, runs: int, as_json: bool, noop_pause: float, max_calls: int, timeout: float,
                     shared_dir: Path | None, schema_option: str | None, ca_file: Path | None) -> None:
    """Run simulated Web Connector sessions against the server named in a .qwc."""
    try:
        faults = Faults.parse(fault_spec)
    except ValueError as error:
        raise click.BadParameter(str(error), param_hint="--faults") from None
    try:
        company: FakeCompany = load_company(company_path or _demo_company_path())
        schema_folder = _schema_folder(schema_option, shared_dir)
        ssl_context = ssl.create_default_context(cafile=str(ca_file)) if ca_file else None
    except (SeedError, ConfigurationError, OSError, json.JSONDecodeError, ssl.SSLError) as error:
        raise click.ClickException(str(error)) from None
    quickbooks = RequestProcessor(company, schema_folder)
    connector = WebConnector(quickbooks, password, faults=faults,
                             transport=HttpTransport(timeout=timeout, ssl_context=ssl_context), noop_pause=noop_pause,
                             max_calls_per_session=max_calls)
    added = connector.add_application(qwc_path)
    sessions = connector.run(runs) if added.ok else []
    if save_company is not None:
        seeding.save_company(company, save_company)
    if as_json:
        click.echo(json.dumps({"add": added.to_dict(), "sessions": [s.to_dict() for s in sessions],
                               "faults": faults.describe(), "validation": quickbooks.validation,
                               "company": company.counts()}, indent=2))
    else:
        click.echo(f"validation: {quickbooks.validation}")
        click.echo(f"faults: {faults.describe()}")
        click.echo(added.to_text())
        for transcript in sessions:
            click.echo("")
            click.echo(transcript.to_text())
        counts = ", ".join(f"{count} {name}" for name, count in company.counts().items())
        click.echo(f"\nthe fake company now holds {counts}")
    if not added.ok or any(not s.ok for s in sessions):
        raise SystemExit(1)
