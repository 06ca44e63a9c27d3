"""A throwaway PostgreSQL server for the test session.

The suite must prove the store works on PostgreSQL, not only on SQLite, and CI
machines have Debian's PostgreSQL server binaries but no running server. So the
session starts its own: ``initdb`` into a temporary directory, ``pg_ctl start`` on a
free loopback port with durability switched off (tests never need a crash-safe
database and fsync dominates their run time), one fresh database per test, and
``pg_ctl stop -m immediate`` plus ``rm -rf`` at the end.

PostgreSQL refuses to run as root; CI runs as root. Then the directory is handed to
the ``postgres`` OS user and the server tools run as that user through ``runuser``.

Environment:
    QBWC_BRIDGE_PG_BIN: directory holding ``initdb`` and ``pg_ctl`` (overrides discovery).
    QBWC_BRIDGE_TEST_POSTGRES_URL: use this existing server instead of starting one,
        e.g. ``postgresql+psycopg://postgres@127.0.0.1:5432/``. Its role must be
        allowed to create databases; the ones the session creates are dropped at its end.
"""
from __future__ import annotations

import atexit
import contextlib
import itertools
import logging
import os
import re
import shutil
import subprocess
import tempfile
from collections.abc import Iterator, Sequence
from pathlib import Path

import sqlalchemy as sa
from sqlalchemy.engine import make_url

from .network import free_loopback_port

log = logging.getLogger(__name__)

PG_BIN_ENV = "QBWC_BRIDGE_PG_BIN"
EXTERNAL_URL_ENV = "QBWC_BRIDGE_TEST_POSTGRES_URL"
SERVER_USER = "postgres"
START_TIMEOUT_SECONDS = 30
# PostgreSQL caps identifiers at 63 bytes.
MAX_DATABASE_NAME = 63


class PostgresUnavailable(Exception):
    """No PostgreSQL server tools on this machine: the postgres tests cannot run."""


def find_pg_bin_dir() -> Path:
    """The directory with ``initdb`` and ``pg_ctl``.

    Debian keeps the server tools out of PATH (``/usr/lib/postgresql/<major>/bin``), so
    PATH alone would miss them; the newest installed major version wins.

    Raises:
        PostgresUnavailable: no directory holding both tools was found.
    """
    explicit = os.environ.get(PG_BIN_ENV)
    if explicit:
        if not _has_server_tools(Path(explicit)):
            raise PostgresUnavailable(f"{PG_BIN_ENV}={explicit!r} holds no initdb and pg_ctl")
        return Path(explicit)
    debian_dirs = sorted(
        (path for path in Path("/usr/lib/postgresql").glob("*/bin") if path.parent.name.isdigit()),
        key=lambda path: int(path.parent.name),
        reverse=True,
    )
    for candidate in debian_dirs:
        if _has_server_tools(candidate):
            return candidate
    pg_config = shutil.which("pg_config")
    if pg_config:
        bindir = subprocess.run([pg_config, "--bindir"], capture_output=True, text=True, check=False).stdout.strip()
        if bindir and _has_server_tools(Path(bindir)):
            return Path(bindir)
    raise PostgresUnavailable(
        "PostgreSQL server tools (initdb, pg_ctl) not found: install Debian's postgresql package, "
        f"set {PG_BIN_ENV} to their directory, or set {EXTERNAL_URL_ENV} to an existing server"
    )


def _has_server_tools(directory: Path) -> bool:
    return all(os.access(directory / tool, os.X_OK) for tool in ("initdb", "pg_ctl"))


class PostgresServer:
    """A server the tests may create databases on; owns the ones it created.

    Args:
        base_url: SQLAlchemy URL of the server with no database name,
            e.g. ``postgresql+psycopg://postgres@127.0.0.1:5432/``.
    """

    def __init__(self, base_url: str) -> None:
        self.base_url = base_url
        self._created: list[str] = []
        self._sequence = itertools.count(1)
        self._admin_engine = sa.create_engine(make_url(base_url).set(database="postgres"), isolation_level="AUTOCOMMIT")

    def create_database(self, label: str = "test") -> str:
        """Create an empty database and return its URL.

        ``label`` (e.g. the test's name) makes the name readable in server logs; a
        counter keeps it unique.
        """
        suffix = f"_{next(self._sequence)}"
        slug = re.sub(r"[^a-z0-9_]+", "_", label.lower()).strip("_").removeprefix("test_") or "db"
        name = f"test_{slug}"[: MAX_DATABASE_NAME - len(suffix)] + suffix
        with self._admin_engine.connect() as connection:
            connection.exec_driver_sql(f'CREATE DATABASE "{name}"')
        self._created.append(name)
        return make_url(self.base_url).set(database=name).render_as_string(hide_password=False)

    def drop_created_databases(self) -> None:
        """Drop every database this object created (for servers that outlive the session)."""
        with self._admin_engine.connect() as connection:
            for name in self._created:
                connection.exec_driver_sql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        self._created.clear()

    def dispose(self) -> None:
        self._admin_engine.dispose()


class ThrowawayPostgres:
    """Runs a private PostgreSQL cluster in a temporary directory; use as a context manager.

    Args:
        bin_dir: directory with ``initdb`` and ``pg_ctl`` (see :func:`find_pg_bin_dir`).
    """

    def __init__(self, bin_dir: Path) -> None:
        self.bin_dir = bin_dir
        self.port: int | None = None
        self._root: Path | None = None
        self._running = False

    @property
    def base_url(self) -> str:
        return f"postgresql+psycopg://{SERVER_USER}@127.0.0.1:{self.port}/"

    @property
    def data_dir(self) -> Path:
        assert self._root is not None, "server not started"
        return self._root / "data"

    def __enter__(self) -> ThrowawayPostgres:
        self.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    def start(self, attempts: int = 3) -> None:
        """initdb and start the server; retried on a new port if the chosen one was taken.

        Raises:
            RuntimeError: initdb or the server failed; the message carries their output.
        """
        # mkdtemp under the system temp dir, not pytest's (mode 0700 under root's name),
        # so that the postgres user can reach it.
        self._root = Path(tempfile.mkdtemp(prefix="qbwc-bridge-pg-"))
        atexit.register(self.stop)
        try:
            if _running_as_root():
                shutil.chown(self._root, user=SERVER_USER)
            self._run_tool(
                "initdb", "-D", str(self.data_dir), "-A", "trust", "-U", SERVER_USER,
                "--no-sync", "--no-instructions", "-E", "UTF8", "--locale=C",
            )  # fmt: skip
            for attempt in range(1, attempts + 1):
                self.port = free_loopback_port()
                try:
                    self._start_server()
                    break
                except RuntimeError:
                    if attempt == attempts:
                        raise
                    log.warning("PostgreSQL did not start on port %s; trying another port", self.port)
        except BaseException:
            self.stop()
            raise
        log.info("throwaway PostgreSQL listening on 127.0.0.1:%s (%s)", self.port, self.data_dir)

    def _start_server(self) -> None:
        assert self._root is not None
        options = (
            f"-h 127.0.0.1 -p {self.port} -k {self._root} -F "
            "-c fsync=off -c synchronous_commit=off -c full_page_writes=off -c max_connections=100"
        )
        self._running = True
        self._run_tool(
            "pg_ctl", "-D", str(self.data_dir), "-l", str(self._root / "server.log"),
            "-o", options, "-w", "-t", str(START_TIMEOUT_SECONDS), "-s", "start",
        )  # fmt: skip

    def stop(self) -> None:
        """Stop the server at once and remove its files. Safe to call more than once."""
        atexit.unregister(self.stop)
        if self._running:
            self._running = False
            try:
                self._run_tool("pg_ctl", "-D", str(self.data_dir), "-m", "immediate", "-w", "-s", "stop")
            except RuntimeError:
                log.exception("could not stop the throwaway PostgreSQL in %s", self.data_dir)
        if self._root is not None:
            # A run's few hundred test databases are gigabytes of small files: deleting them held the
            # suite's end for over a minute. Renamed out of the way at once, a detached rm deletes them.
            doomed = self._root.with_name(self._root.name + ".removing")
            try:
                self._root.rename(doomed)
                # The shell returns at once and leaves rm running: nothing of ours waits for it.
                subprocess.run(["sh", "-c", 'rm -rf -- "$1" >/dev/null 2>&1 &', "sh", str(doomed)],
                               stdin=subprocess.DEVNULL, check=True, timeout=10)  # fmt: skip
            except (OSError, subprocess.SubprocessError):
                shutil.rmtree(doomed if doomed.exists() else self._root, ignore_errors=True)
            self._root = None

    def server_log(self) -> str:
        """The server's own log: why it failed to start, when it did."""
        path = self._root / "server.log" if self._root else None
        return path.read_text(errors="replace") if path and path.exists() else ""

    def _run_tool(self, tool: str, *args: str) -> None:
        """Run a server tool, as the postgres user when we are root (PostgreSQL refuses root).

        Raises:
            RuntimeError: the tool failed; its output and the server log are in the message.
        """
        command: Sequence[str] = [str(self.bin_dir / tool), *args]
        if _running_as_root():
            command = ["runuser", "-u", SERVER_USER, "--", *command]
        result = subprocess.run(
            command,
            cwd=self._root,  # the postgres user cannot enter root's working directory
            stdin=subprocess.DEVNULL,
            capture_output=True,
            text=True,
            timeout=START_TIMEOUT_SECONDS + 30,
            check=False,
        )
        if result.returncode != 0:
            raise RuntimeError(
                f"{' '.join(command)} exited with {result.returncode}:\n{result.stdout}{result.stderr}"
                f"\n--- server log ---\n{self.server_log()}"
            )


def _running_as_root() -> bool:
    return os.geteuid() == 0


@contextlib.contextmanager
def open_postgres_server() -> Iterator[PostgresServer]:
    """The server for this test session: the external one if configured, else a throwaway.

    Raises:
        PostgresUnavailable: no external server is configured and no server tools exist.
    """
    external_url = os.environ.get(EXTERNAL_URL_ENV)
    if external_url:
        server = PostgresServer(external_url)
        try:
            yield server
        finally:
            server.drop_created_databases()
            server.dispose()
        return
    with ThrowawayPostgres(find_pg_bin_dir()) as cluster:
        server = PostgresServer(cluster.base_url)
        try:
            yield server
        finally:
            server.dispose()
