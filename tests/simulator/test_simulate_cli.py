"""``qbwc-bridge simulate`` as support staff run it."""
from __future__ import annotations

import json

from click.testing import CliRunner

from qbwc_bridge.simulator import load_company
from qbwc_bridge.simulator.cli import simulate_command
from tests.simulator.conftest import INVOICE_ADD, qwc_text


def test_simulate_prints_each_session_and_keeps_the_company(stub, tmp_path, shared_dir):
    server = stub()
    server.app.requests_to_send.append(INVOICE_ADD)
    qwc = tmp_path / "bridge.qwc"
    qwc.write_text(qwc_text(server.url))
    state = tmp_path / "company.json"
    arguments = ["--qwc", str(qwc), "--password", "secret", "--runs", "2", "--noop-pause", "0",
                 "--shared-dir", str(shared_dir), "--save-company", str(state)]
    result = CliRunner().invoke(simulate_command, arguments)
    assert result.exit_code == 0, result.output
    assert "Session 1 of BlueTrace Bridge" in result.output and "Session 2" in result.output
    assert "InvoiceAddRq" in result.output and "secret" not in result.output
    assert len(load_company(state).invoices_by_ref("1001")) == 2  # the demo's own 1001 and ours

    server.app.requests_to_send.append(INVOICE_ADD)
    again = CliRunner().invoke(simulate_command, arguments[:4] + ["--company", str(state), "--json", "--shared-dir",
                                                                  str(shared_dir), "--faults", "lose_response=@1"])
    assert again.exit_code == 0, again.output
    report = json.loads(again.output)
    assert report["add"]["ok"] and len(report["sessions"]) == 1
    assert "response lost" in report["sessions"][0]["outcome"]
    assert report["company"]["invoices"] == 3


def test_simulate_exits_1_when_a_session_fails_and_2_on_a_bad_fault_spec(stub, tmp_path, shared_dir):
    server = stub(closeConnection=lambda p: 42)
    qwc = tmp_path / "bridge.qwc"
    qwc.write_text(qwc_text(server.url))
    base = ["--qwc", str(qwc), "--password", "secret", "--noop-pause", "0", "--shared-dir", str(shared_dir)]
    failing = CliRunner().invoke(simulate_command, base + ["--faults", "server_gone=@3"])
    assert failing.exit_code == 1 and "QBWC1012" in failing.output
    bad = CliRunner().invoke(simulate_command, base + ["--faults", "crash=1"])
    assert bad.exit_code == 2 and "unknown fault 'crash'" in bad.output


def test_simulate_runs_without_intuits_schema_and_says_which_checks_it_used(stub, tmp_path, monkeypatch, shared_dir):
    monkeypatch.delenv("QBWC_BRIDGE_SHARED_DIR", raising=False)
    server = stub()
    server.app.requests_to_send.append(INVOICE_ADD)
    server.app.requests_to_send.append(INVOICE_ADD.replace("<RefNumber>", "<Memo>x</Memo><RefNumber>"))
    qwc = tmp_path / "bridge.qwc"
    qwc.write_text(qwc_text(server.url))
    base = ["--qwc", str(qwc), "--password", "secret", "--noop-pause", "0"]

    builtin = CliRunner().invoke(simulate_command, base + ["--schema-dir", "none"])
    assert builtin.output.startswith("validation: built-in checks (the requests the bridge sends)\n")
    assert "sent InvoiceAddRs 0" in builtin.output
    assert "0x80040400 (built-in checks: InvoiceAddRq/InvoiceAdd/RefNumber: element not expected" in builtin.output

    folder = shared_dir / "qbxml-schema" / "13.0"
    with_xsd = CliRunner().invoke(simulate_command, base + ["--schema-dir", str(folder), "--json"])
    assert json.loads(with_xsd.output)["validation"] == f"Intuit's XSD and annotated samples from {folder}"

    missing = CliRunner().invoke(simulate_command, base + ["--schema-dir", str(tmp_path)])
    assert missing.exit_code == 1 and "qbxmlops130.xsd does not exist" in missing.output


def test_simulate_refuses_a_ca_file_that_holds_no_certificate_in_one_line(tmp_path, shared_dir):
    qwc = tmp_path / "bridge.qwc"
    qwc.write_text(qwc_text("https://bridge.localtest"))
    not_a_certificate = tmp_path / "ca.pem"
    not_a_certificate.write_text("not a certificate\n")
    result = CliRunner().invoke(simulate_command, ["--qwc", str(qwc), "--password", "secret", "--shared-dir",
                                                   str(shared_dir), "--ca-file", str(not_a_certificate)])
    assert result.exit_code == 1 and result.output.startswith("Error: ") and "Traceback" not in result.output
