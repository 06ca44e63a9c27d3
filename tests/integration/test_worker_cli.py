"""The CLI of the push worker (a public contract): ``worker [--once]`` and ``serve [--no-worker]``."""
from __future__ import annotations

import logging
import threading

import pytest
from click.testing import CliRunner, Result

from qbwc_bridge import cli
from qbwc_bridge.cli import main

WORKER_THREAD = "qbwc-bridge worker"


@pytest.fixture(autouse=True)
def root_logging_restored():
    """The commands configure the root logger for a process; this test process gets its own back."""
    root = logging.getLogger()
    handlers, level = list(root.handlers), root.level
    yield
    root.handlers[:] = handlers
    root.setLevel(level)


@pytest.fixture
def cli_env(database_url, tmp_path) -> dict[str, str]:
    # A database nobody has migrated: the worker brings it up to date like serve does.
    return {"QBWC_BRIDGE_DATABASE_URL": database_url, "QBWC_BRIDGE_DATA_DIR": str(tmp_path / "var"),
            "QBWC_BRIDGE_SECRET_KEY": "s" * 40, "QBWC_BRIDGE_PUBLIC_URL": "http://localhost:8080"}  # fmt: skip


def run(env, *args: str) -> Result:
    return CliRunner().invoke(main, list(args), env=env)


def test_worker_once_exits_0_when_nothing_is_due(cli_env):
    result = run(cli_env, "worker", "--once")
    assert result.exit_code == 0, result.output
    assert result.exception is None


def test_worker_refuses_a_bad_configuration_in_one_line(cli_env):
    result = run({**cli_env, "QBWC_BRIDGE_LOG_LEVEL": "LOUD"}, "worker", "--once")
    assert result.exit_code != 0 and isinstance(result.exception, SystemExit), result.exception
    lines = result.output.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error:") and "QBWC_BRIDGE_LOG_LEVEL" in lines[0], result.output


@pytest.mark.parametrize(("options", "worker_runs"), [((), True), (("--no-worker",), False)])
def test_serve_runs_one_worker_thread_unless_told_not_to_and_stops_it_with_the_server(
    cli_env, monkeypatch, options, worker_runs
):
    seen_while_serving: list[bool] = []

    def serving(app, **kwargs):  # waitress.serve returns when the server stops
        seen_while_serving.append(any(t.name == WORKER_THREAD and t.is_alive() for t in threading.enumerate()))

    monkeypatch.setattr(cli.waitress, "serve", serving)
    result = run(cli_env, "serve", "--port", "0", *options)
    assert result.exit_code == 0, result.output
    assert seen_while_serving == [worker_runs]
    assert not any(t.name == WORKER_THREAD for t in threading.enumerate())
