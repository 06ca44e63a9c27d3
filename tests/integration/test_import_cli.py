"""``qbwc-bridge import items|customers FILE``: good rows kept, bad rows reported by line, one re-match."""
from __future__ import annotations

import csv
import json
import os
import subprocess
import sys
from decimal import Decimal

import pytest
from click.testing import CliRunner, Result
from sqlalchemy import func, select

from qbwc_bridge.cli import main
from qbwc_bridge.services.import_files import MAX_LINE_BYTES
from qbwc_bridge.store.models import BtCustomer, BtItem
from tests.integration.test_api_catalog import finish_initial_sync, seed_qb_items


@pytest.fixture
def env(settings, store, tmp_path) -> dict[str, str]:
    """The environment a person would set to point the CLI at the test database."""
    return {
        "QBWC_BRIDGE_DATABASE_URL": settings.database_url,
        "QBWC_BRIDGE_DATA_DIR": str(tmp_path / "var"),
        "QBWC_BRIDGE_SECRET_KEY": "s" * 40,
    }


@pytest.fixture
def account_id(tenant, store) -> int:
    """A connected account (its initial sync done), so imported records get matched."""
    finish_initial_sync(store, tenant.account.account_id)
    return tenant.account.account_id


def run(env, *args: str) -> Result:
    return CliRunner().invoke(main, list(args), env=env, catch_exceptions=False)


def write(path, text: str):
    path.write_text(text, encoding="utf-8")
    return path


def items(store, account_id) -> dict[str, BtItem]:
    with store.begin() as db:
        return {row.item_id: row for row in db.scalars(select(BtItem).where(BtItem.account_id == account_id))}


def test_a_csv_import_keeps_good_rows_and_reports_bad_ones_by_line(env, store, account_id, tmp_path):
    seed_qb_items(store, account_id, {"name": "SKU-1"})
    file = write(
        tmp_path / "items.csv",
        "item_id,sku,name,sales_price,kind,active,colour\n"
        "i1,SKU-1,Widget,12.50,service,yes,red\n"
        "i2,SKU-2,Gadget,abc,,,\n"  # line 3: bad price
        "i3,SKU-1,Clash,1,,,\n"  # line 4: SKU already taken in this file
        'i4,,"Multi\nline name",,,,\n'  # line 5: a name cannot hold a line break
        "i5,SKU-5,,,,,\n"  # line 7: no name
        "i6,SKU-6,Fine,0.1,inventory,no,\n",
    )
    result = run(env, "import", "items", str(file), "--account", str(account_id))
    assert result.exit_code == 1, result.output
    assert "2 stored (2 new, 0 updated, 0 unchanged), 4 rejected" in result.stdout
    errors = [line.strip() for line in result.stderr.splitlines() if line.strip().startswith("line ")]
    assert errors == [
        "line 3 (i2): sales_price must be a decimal amount such as \"12.50\", not 'abc'",
        "line 4 (i3): SKU 'SKU-1' is already used by item 'i1'; SKUs must be unique.",
        "line 5 (i4): name holds control characters (line breaks, tabs or invisible codes)",
        "line 7 (i5): name is required",
    ]
    stored = items(store, account_id)
    assert set(stored) == {"i1", "i6"}
    assert stored["i1"].sales_price == Decimal("12.5") and stored["i1"].kind == "service"
    assert stored["i6"].active is False and stored["i6"].sales_price == Decimal("0.1")
    # Matched once at the end, by the engine.
    assert stored["i1"].qb_list_id == "80000001-1"
    assert "Matching: 1 of 2 matched" in result.stdout


def test_importing_the_same_file_again_changes_nothing(env, store, account_id, tmp_path):
    file = write(tmp_path / "items.ndjson", "".join(
        json.dumps({"item_id": f"i{n}", "sku": f"S{n}", "name": f"Item {n}", "sales_price": "1.25"}) + "\n" for n in range(30)
    ))
    first = run(env, "import", "items", str(file), "--account", str(account_id), "--json", "--batch-size", "7")
    assert first.exit_code == 0, first.output
    assert json.loads(first.stdout)["created"] == 30
    again = json.loads(run(env, "import", "items", str(file), "--account", str(account_id), "--json").stdout)
    assert (again["created"], again["updated"], again["unchanged"], again["rematched"]) == (0, 0, 30, 0)


def test_customers_from_ndjson_with_addresses(env, store, account_id, tmp_path):
    file = write(
        tmp_path / "customers.jsonl",
        json.dumps({"customer_id": "c1", "name": "Ann", "billing_email": "ann@x.test",
                    "bill_address": {"line1": "1 Main", "city": "Springfield"}}) + "\n"
        + json.dumps({"customer_id": "c2", "name": "Bob", "billing_email": "not an email"}) + "\n"
        + "{broken\n",
    )
    result = run(env, "import", "customers", str(file), "--account", str(account_id), "--json")
    assert result.exit_code == 1
    summary = json.loads(result.stdout)
    assert summary["created"] == 1 and summary["rejected"] == 2
    assert [(e["line"], e["field"]) for e in summary["errors"]] == [(2, "billing_email"), (3, None)]
    with store.begin() as db:
        ann = db.get(BtCustomer, (account_id, "c1"))
        assert ann.bill_address == {"line1": "1 Main", "city": "Springfield"} and ann.email_key == "ann@x.test"
        assert ann.issue in {"not_found", None}


def test_rematching_runs_once_at_the_end_not_per_row(env, store, account_id, tmp_path, monkeypatch):
    from qbwc_bridge.sync import records

    calls = []
    real = records.rematch
    monkeypatch.setattr(records, "rematch", lambda db, account, side, ids=None, changed_qb=None: (
        calls.append(ids), real(db, account, side, ids, changed_qb)))
    file = write(tmp_path / "items.csv", "item_id,name\n" + "".join(f"i{n},Item {n}\n" for n in range(2500)))
    assert run(env, "import", "items", str(file), "--account", str(account_id), "--batch-size", "500").exit_code == 0
    assert len(calls) == 1 and len(calls[0]) == 2500


def test_a_sku_moving_between_items_of_one_batch_is_stored(env, store, account_id, tmp_path):
    """b-item gives SKU S1 up and a-item takes it: the database sees a-item first (primary key order)."""
    first = write(tmp_path / "one.csv", "item_id,sku,name\nb-item,S1,B\na-item,S2,A\n")
    assert run(env, "import", "items", str(first), "--account", str(account_id)).exit_code == 0
    second = write(tmp_path / "two.csv", "item_id,sku,name\nb-item,S3,B\na-item,S1,A\n")
    result = run(env, "import", "items", str(second), "--account", str(account_id))
    assert result.exit_code == 0, result.output
    stored = items(store, account_id)
    assert (stored["a-item"].sku, stored["b-item"].sku) == ("S1", "S3")


def test_the_errors_file_lists_every_rejected_row(env, store, account_id, tmp_path):
    file = write(tmp_path / "items.csv", "item_id,name,kind\n" + "".join(f"i{n},Item,bogus\n" for n in range(60)))
    report = tmp_path / "rejects.csv"
    result = run(env, "import", "items", str(file), "--account", str(account_id), "--errors", str(report))
    assert result.exit_code == 1
    assert "... and 10 more" in result.stderr
    with report.open(encoding="utf-8") as rows:
        rejected = list(csv.DictReader(rows))
    assert len(rejected) == 60 and rejected[0] == {"line": "2", "record_id": "i0", "field": "kind", "message": rejected[0]["message"]}


def test_refusals_of_the_whole_file_are_one_clear_line(env, account_id, tmp_path):
    no_id = write(tmp_path / "items.csv", "sku,name\nA,B\n")
    result = run(env, "import", "items", str(no_id), "--account", str(account_id))
    assert result.exit_code == 2 and "no item_id column" in result.stderr
    unknown = write(tmp_path / "items.txt", "x")
    assert "--format" in run(env, "import", "items", str(unknown), "--account", str(account_id)).stderr
    missing_account = run(env, "import", "items", str(no_id), "--account", "999")
    assert missing_account.exit_code == 2 and "account 999 does not exist" in missing_account.stderr


def test_the_real_command_shows_progress_on_stderr_and_the_summary_on_stdout(env, store, account_id, tmp_path):
    file = write(tmp_path / "items.csv", "item_id,sku,name\n" + "".join(f"i{n},S{n},Item {n}\n" for n in range(3000)))
    done = subprocess.run(
        [sys.executable, "-m", "qbwc_bridge", "import", "items", str(file), "--account", str(account_id)],
        env={**os.environ, **env}, capture_output=True, text=True, timeout=120,
    )
    assert done.returncode == 0, done.stderr
    assert "Importing items" in done.stderr
    assert done.stdout.startswith("Items: 3000 stored (3000 new")
    with store.begin() as db:
        assert db.scalar(select(func.count()).select_from(BtItem).where(BtItem.account_id == account_id)) == 3000


def _rejects(result: Result) -> list[str]:
    assert "Traceback" not in result.output
    return [line.strip() for line in result.stderr.splitlines() if line.strip().startswith("line ")]


def test_a_csv_cell_over_128_kib_is_a_line_numbered_reject_and_the_rest_imports(env, store, account_id, tmp_path):
    # On main the csv module's "field larger than field limit" escaped as a traceback.
    file = write(
        tmp_path / "items.csv",
        "item_id,sku,name,description\n"
        "i1,S1,One,\n"
        f"i2,S2,Two,{'x' * (140 * 1024)}\n"
        "i3,S3,Three,\n",
    )
    result = run(env, "import", "items", str(file), "--account", str(account_id))
    assert result.exit_code == 1, result.output
    assert _rejects(result) == ["line 3: the row cannot be read as CSV (field larger than field limit (131072))"]
    assert set(items(store, account_id)) == {"i1", "i3"}


@pytest.mark.parametrize("fmt", ["csv", "ndjson"])
def test_a_line_over_the_maximum_is_a_line_numbered_reject_and_the_rest_imports(env, store, account_id, tmp_path, fmt):
    long_name = "y" * (MAX_LINE_BYTES + 10)
    if fmt == "csv":
        text = f"item_id,name\ni1,One\ni2,{long_name}\ni3,Three\n"
    else:
        text = "".join(json.dumps({"item_id": i, "name": name}) + "\n" for i, name in (("i1", "One"), ("i2", long_name), ("i3", "Three")))
    file = write(tmp_path / f"items.{fmt}", text)
    result = run(env, "import", "items", str(file), "--account", str(account_id))
    assert result.exit_code == 1, result.output
    assert _rejects(result) == [f"line {2 if fmt == 'ndjson' else 3}: the line is longer than {MAX_LINE_BYTES} bytes"]
    assert set(items(store, account_id)) == {"i1", "i3"}


@pytest.mark.parametrize("fmt", ["csv", "ndjson"])
def test_a_nul_byte_is_a_line_numbered_reject_and_the_rest_imports(env, store, account_id, tmp_path, fmt):
    # On main a NUL in a column the import ignores went in unnoticed (CSV) or read as broken JSON (NDJSON).
    if fmt == "csv":
        text = "item_id,name,colour\ni1,One,red\ni2,Two,r\x00ed\ni3,Three,\n"
    else:
        text = '{"item_id": "i1", "name": "One"}\n{"item_id": "i2", "name": "Two"}\x00\n{"item_id": "i3", "name": "Three"}\n'
    file = write(tmp_path / f"items.{fmt}", text)
    result = run(env, "import", "items", str(file), "--account", str(account_id))
    assert result.exit_code == 1, result.output
    assert _rejects(result) == [f"line {3 if fmt == 'csv' else 2}: the line holds a NUL byte (is the file UTF-16?)"]
    assert set(items(store, account_id)) == {"i1", "i3"}


@pytest.mark.parametrize(
    "encoding, fmt, expected",
    [
        ("utf-16", "csv", "The file is UTF-16 text; save it as UTF-8 (in Excel: CSV UTF-8) and import it again."),
        ("utf-16", "ndjson", "The file is UTF-16 text; save it as UTF-8 (in Excel: CSV UTF-8) and import it again."),
        ("utf-32", "csv", "The file is UTF-32 text; save it as UTF-8 (in Excel: CSV UTF-8) and import it again."),
        ("utf-16-le", "csv", "The header (line 1) cannot be read: the line holds a NUL byte (is the file UTF-16?)."),
    ],
)
def test_a_file_that_is_not_utf8_is_one_clear_error_and_stores_nothing(env, store, account_id, tmp_path, encoding, fmt, expected):
    line = '{"item_id": "i1", "name": "One"}\n' if fmt == "ndjson" else "i1,One\n"
    file = tmp_path / f"items.{fmt}"
    file.write_bytes((("item_id,name\n" if fmt == "csv" else "") + line).encode(encoding))
    result = run(env, "import", "items", str(file), "--account", str(account_id))
    assert result.exit_code == 2, result.output
    assert [line for line in result.stderr.splitlines() if line.startswith("error:")] == [f"error: {expected}"]
    assert "Traceback" not in result.output and items(store, account_id) == {}


def test_an_account_id_past_the_column_is_a_usage_error_not_a_traceback(env, tmp_path):
    # On main the id reached the database: an OverflowError (SQLite) or DataError (PostgreSQL).
    file = write(tmp_path / "items.csv", "item_id,name\ni1,One\n")
    result = run(env, "import", "items", str(file), "--account", "99999999999999999999")
    assert result.exit_code == 2 and "is not in the range 1<=x<=2147483647" in result.stderr
