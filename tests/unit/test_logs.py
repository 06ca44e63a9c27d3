"""Log lines: tagged with the bound account and session, secrets masked whatever logged them."""
from __future__ import annotations

import io
import json
import logging

import pytest

from qbwc_bridge import logs
from qbwc_bridge.config import Settings
from qbwc_bridge.errors import ConfigurationError

TOKEN = "Zk3-q" + "x" * 38


@pytest.fixture
def captured(tmp_path):
    def configure(fmt: str) -> io.StringIO:
        stream = io.StringIO()
        logs.configure(Settings.from_env({"QBWC_BRIDGE_DATA_DIR": str(tmp_path), "QBWC_BRIDGE_LOG_FORMAT": fmt,
                                          "QBWC_BRIDGE_LOG_LEVEL": "DEBUG"}), stream)  # fmt: skip
        return stream

    root = logging.getLogger()
    handlers, level = list(root.handlers), root.level
    yield configure
    root.handlers[:] = handlers
    root.setLevel(level)


@pytest.mark.parametrize("text", [
    "<strPassword>hunter2-Zq9</strPassword>",
    "<ns0:ticket>hunter2-Zq9</ns0:ticket>",
    "login password=hunter2-Zq9",
    "headers {'Authorization': 'Bearer hunter2-Zq9'}",
    "Cookie: session=hunter2-Zq9",
])
def test_secrets_are_masked_wherever_they_appear(text):
    assert "hunter2-Zq9" not in logs.mask(text)


def test_a_bare_token_is_masked_and_ordinary_ids_are_not():
    assert TOKEN not in logs.mask(f"looked up {TOKEN}")
    assert logs.mask("ListID 80000001-1234567890 order {3F2504E0-4F89-11D3-9A0C-0305E82C3301}") == \
        "ListID 80000001-1234567890 order {3F2504E0-4F89-11D3-9A0C-0305E82C3301}"


def test_json_lines_carry_the_bound_account_and_session_and_end_with_the_request(captured):
    stream = captured("json")

    def request():
        logs.bind(account_id=3)
        logs.bind(session_id=17)
        logging.getLogger("qbwc_bridge.test").info("sent %s", f"<ticket>{TOKEN}</ticket>")

    # Whatever the caller's own context holds (earlier in-process calls of the service bind there too),
    # the request's bindings end with it.
    logging.getLogger("qbwc_bridge.test").warning("before")
    logs.run_in_fresh_context(request)
    logging.getLogger("qbwc_bridge.test").warning("after")
    before, first, after = (json.loads(line) for line in stream.getvalue().splitlines())
    assert (first["account_id"], first["session_id"], first["level"]) == (3, 17, "INFO")
    assert TOKEN not in first["message"] and "[redacted]" in first["message"]
    assert (after["account_id"], after["session_id"]) == (before["account_id"], before["session_id"])


def test_text_lines_name_the_account_and_session(captured):
    stream = captured("text")
    logs.run_in_fresh_context(lambda: (logs.bind(account_id=3, session_id=17), logging.getLogger("x").info("hello")))
    assert "x [account 3 session 17]: hello" in stream.getvalue()


@pytest.mark.parametrize("name, value", [("LOG_FORMAT", "xml"), ("METRICS_TOKEN", "short"), ("METRICS_DIR", "/no/such/dir"),
                                         ("SILENT_AFTER_MINUTES", "0"), ("LOG_RETENTION_DAYS", "0")])
def test_a_bad_operations_setting_names_its_variable(tmp_path, name, value):
    with pytest.raises(ConfigurationError, match=f"QBWC_BRIDGE_{name}"):
        Settings.from_env({"QBWC_BRIDGE_DATA_DIR": str(tmp_path), f"QBWC_BRIDGE_{name}": value})
