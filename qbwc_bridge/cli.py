"""``qbwc-bridge``: serve, drive QuickBooks Online (worker), deliver webhooks, migrate, manage accounts and users, write .qwc files, demo.

Output meant for scripts (``--json``) is stable: keys are only ever added. Secrets are
printed once, at creation, and never logged.
"""
from __future__ import annotations

import contextlib
import csv
import datetime as dt
import gc
import json
import logging
import signal
import sys
import tempfile
import threading
from collections.abc import Iterator
from pathlib import Path

import click
import waitress

from . import logs, metrics, retention, security
from .backends.desktop import credentials
from .backends.desktop.qwc import QwcRefused, render_qwc
from .backends.online.connection import rewrap_tokens
from .backends.push import PushDriver
from .config import Settings
from .demo import prepare_demo, start_fake_quickbooks_online
from .errors import BridgeError, ConfigurationError
from .services import accounts as account_service
from .services.import_files import detect_format, read_rows
from .services.imports import import_rows
from .services.invoices import look_up_before_resending
from .services import users as user_service
from .simulator.cli import simulate_command
from .store.db import Store
from .store.migrate import upgrade
from .store.models import MAX_ID
from .supervisor import Supervisor, listeners
from .web.app import create_app
from .webhooks.deliverer import BackgroundDeliverer, Deliverer
from .webhooks.sealed_secret import SecretBox
from .worker import BackgroundWorker, Worker

log = logging.getLogger(__name__)

# An id past the column's range would reach the database as an error (a traceback), not as "no such account".
ACCOUNT_ID = click.IntRange(1, MAX_ID)


class Context:
    """Settings and store, created lazily so `--help` works without a database."""

    def __init__(self):
        self._settings: Settings | None = None
        self._store: Store | None = None

    @property
    def settings(self) -> Settings:
        if self._settings is None:
            self._settings = Settings.from_env()
        return self._settings

    @property
    def store(self) -> Store:
        if self._store is None:
            self._store = Store.from_settings(self.settings)
        return self._store

    def use_settings(self, settings: Settings) -> None:
        """Settings this command's process uses from now on (the demo's, pointing at its fake Intuit)."""
        self._settings = settings

    def close(self) -> None:
        if self._store is not None:
            self._store.dispose()


pass_context = click.make_pass_decorator(Context, ensure=True)


def _fail(message: str) -> None:
    click.echo(f"error: {message}", err=True)
    sys.exit(2)


class BridgeGroup(click.Group):
    """Turns configuration and domain errors into one clear line, never a traceback."""

    def invoke(self, ctx):
        ctx.call_on_close(ctx.ensure_object(Context).close)
        try:
            return super().invoke(ctx)
        except ConfigurationError as exc:
            _fail(str(exc))
        except (BridgeError, ValueError) as exc:
            _fail(str(exc))


@click.group(cls=BridgeGroup)
def main() -> None:
    """BlueTrace ⇄ QuickBooks bridge."""


def _configure_logging(settings: Settings) -> None:
    logs.configure(settings)


@main.command()
@pass_context
def migrate(context: Context) -> None:
    """Create or upgrade the database schema."""
    upgrade(context.store)
    click.echo("database is up to date")


def _push_worker(context: Context) -> Worker:
    """The worker of push (QuickBooks Online) companies: the engine says what is due and drives it."""
    driver = PushDriver(context.settings)
    return Worker(context.store, due=driver.due_accounts, drive=driver.drive_account)


def _deliverer(context: Context) -> Deliverer:
    return Deliverer(context.store, SecretBox(context.settings.secret_key))


@main.command()
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=8080, show_default=True, type=int)
@click.option("--threads", default=8, show_default=True, type=int)
@click.option("--processes", default=1, show_default=True, type=click.IntRange(1, 64),
              help="Serve from this many processes sharing the port: one per core on PostgreSQL (a process "
              "runs Python on one core at a time). On SQLite, more than one only adds waits for its one writer.")
@click.option("--no-worker", is_flag=True,
              help="Do not drive QuickBooks Online companies in this process (run `qbwc-bridge worker` instead).")
@click.option("--no-webhooks", is_flag=True,
              help="Do not deliver webhooks from this process (run `qbwc-bridge deliver-webhooks` instead).")
@pass_context
def serve(context: Context, host: str, port: int, threads: int, processes: int, no_worker: bool,
          no_webhooks: bool) -> None:
    """Serve the SOAP endpoint, API and admin with waitress (and one QuickBooks Online worker and one webhook
    deliverer per process unless --no-worker / --no-webhooks)."""
    _configure_logging(context.settings)
    with _metrics_shared_by(processes, context.settings.metrics_dir) as metrics_dir:
        if metrics_dir is not None:
            metrics.share_across_processes(metrics_dir)
            context.use_settings(context.settings.replace(metrics_dir=metrics_dir))  # what /metrics sums
        upgrade(context.store)
        try:
            bound = listeners(host, port, processes)
        except OSError as exc:
            raise ConfigurationError(f"cannot listen on {host}:{port}: {exc.strerror or exc}") from None
        sockets = bound.sockets
        log.info("serving on http://%s:%d from %d process(es) (Web Connector endpoint %s/qbwc)", host,
                 sockets[0].getsockname()[1], processes, context.settings.public_url)  # fmt: skip
        with bound:
            if processes == 1:
                _serve(context, threads, no_worker, no_webhooks, sockets=sockets)
                return
            # Children open their own connections: one inherited from here would be shared by all of them.
            context.store.dispose()
            Supervisor(processes, lambda slot: _serve(context, threads, no_worker, no_webhooks,
                                                      sockets=[sockets[slot]])).run()  # fmt: skip


@contextlib.contextmanager
def _metrics_shared_by(processes: int, configured: Path | None) -> Iterator[Path | None]:
    """Where the processes' counters live: QBWC_BRIDGE_METRICS_DIR if set; for several processes without it,
    a fresh directory of their own (removed at the end), so that a scrape of any of them counts them all."""
    if configured is not None or processes == 1:
        yield configured
        return
    with tempfile.TemporaryDirectory(prefix="qbwc-bridge-metrics-") as directory:
        yield Path(directory)


def _serve(context: Context, threads: int, no_worker: bool, no_webhooks: bool, **listen) -> None:
    """One process's service: the app on waitress plus the background threads, until the process ends."""
    app = create_app(context.settings, context.store)
    pruner = retention.Pruner(context.store, context.settings.log_retention)
    pruner.start()
    worker = None if no_worker else BackgroundWorker(_push_worker(context))
    if worker is not None:
        worker.start()
    deliverer = None if no_webhooks else BackgroundDeliverer(_deliverer(context))
    if deliverer is not None:
        deliverer.start()
    # Everything imported and built so far lives as long as the process: out of the cyclic
    # collector's sight, a full collection during an initial sync walks only what the sync made.
    gc.freeze()
    try:
        # waitress drops X-Forwarded-For unless told otherwise; web/source_address.py believes it only from
        # QBWC_BRIDGE_TRUSTED_PROXIES, so keep it when there are some.
        waitress.serve(app, threads=threads, ident="qbwc-bridge",
                       clear_untrusted_proxy_headers=not context.settings.trusted_proxies, **listen)  # fmt: skip
    finally:
        if worker is not None:
            worker.stop()
        if deliverer is not None:
            deliverer.stop()
        pruner.stop()


@main.command("worker")
@click.option("--once", is_flag=True, help="Drive what is due now, then exit (0) instead of waiting for more.")
@pass_context
def worker_command(context: Context, once: bool) -> None:
    """Drive QuickBooks Online companies: send their due work and sync their lists, until stopped.

    Run as many as you like on one PostgreSQL database: each company is driven by one at a
    time. SIGTERM or Ctrl-C stops it after the drive under way.
    """
    _configure_logging(context.settings)
    if context.settings.metrics_dir is not None:
        metrics.share_across_processes(context.settings.metrics_dir)
    upgrade(context.store)
    push_worker = _push_worker(context)
    if once:
        push_worker.run_once()
        return
    stop = threading.Event()
    for signal_number in (signal.SIGTERM, signal.SIGINT):
        signal.signal(signal_number, lambda *_: stop.set())
    log.info("worker %s started; polling every %g s at most", push_worker.holder, push_worker.poll_seconds)
    push_worker.run_forever(stop)
    log.info("worker %s stopped", push_worker.holder)


@main.command("deliver-webhooks")
@click.option("--once", is_flag=True, help="Send what is due now, then exit (0) instead of waiting for more.")
@pass_context
def deliver_webhooks(context: Context, once: bool) -> None:
    """Deliver pending webhook events to each account's endpoint, until stopped.

    Run as many as you like on one PostgreSQL database: each event is claimed by one at a
    time. SIGTERM or Ctrl-C stops it after the send under way.
    """
    _configure_logging(context.settings)
    upgrade(context.store)
    deliverer = _deliverer(context)
    try:
        if once:
            click.echo(f"{deliverer.run_once()} deliveries attempted")
            return
        stop = threading.Event()
        for signal_number in (signal.SIGTERM, signal.SIGINT):
            signal.signal(signal_number, lambda *_: stop.set())
        log.info("webhook deliverer started; polling every %g s at most", deliverer.poll_seconds)
        deliverer.run_forever(stop)
        log.info("webhook deliverer stopped")
    finally:
        deliverer.close()


@main.command()
@click.option("--dry-run", is_flag=True, help="Count what would go; delete nothing.")
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
@pass_context
def prune(context: Context, dry_run: bool, as_json: bool) -> None:
    """Delete exchange-log entries and finished sessions older than QBWC_BRIDGE_LOG_RETENTION_DAYS."""
    result = retention.prune(context.store, context.settings.log_retention, dry_run=dry_run)
    if as_json:
        click.echo(json.dumps(result.as_json(), indent=2))
        return
    verb = "would delete" if dry_run else "deleted"
    click.echo(
        f"Older than {result.cutoff:%Y-%m-%d %H:%M} UTC: {verb} {result.log_entries} exchange-log entries "
        f"and {result.sessions} finished sessions; kept {result.sessions_kept} old sessions that unconfirmed "
        f"operations still need. {verb.capitalize()} {result.login_throttles} login-throttle records a day past "
        "their last failure."
    )


@main.command("after-restore")
@click.option("--backup-taken-at", required=True, type=click.DateTime(["%Y-%m-%dT%H:%M:%S%z", "%Y-%m-%dT%H:%M:%S",
              "%Y-%m-%d %H:%M:%S%z", "%Y-%m-%d %H:%M:%S", "%Y-%m-%dT%H:%M%z", "%Y-%m-%d %H:%M"]),
              help="When the restored backup was taken (UTC unless an offset is given).")
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
@pass_context
def after_restore(context: Context, backup_taken_at: dt.datetime, as_json: bool) -> None:
    """After restoring a backup: make every unfinished invoice look QuickBooks up before it is sent.

    Run it once BlueTrace has sent again the orders packed since the backup, before any Web
    Connector reaches the restored bridge (see README, Deploying: backups).
    """
    with context.store.begin() as db:
        marked = look_up_before_resending(db, backup_taken_at)
    if as_json:
        click.echo(json.dumps({"invoices_to_look_up": marked}))
        return
    click.echo(f"{marked} invoice(s) will be looked up in QuickBooks before they are sent")


@main.command("rewrap-tokens")
@pass_context
def rewrap_tokens_command(context: Context) -> None:
    """Store every QuickBooks Online token under the newest of QBWC_BRIDGE_TOKEN_KEYS (after adding a key)."""
    rewritten = rewrap_tokens(context.store, context.settings)
    click.echo(f"{rewritten} connection(s) rewritten under the newest key; the older keys can be removed now.")


@main.group()
def account() -> None:
    """Accounts (one BlueTrace account ↔ one QuickBooks company)."""


@account.command("create")
@click.argument("name")
@click.option("--kind", type=click.Choice(["desktop", "online"]), required=True)
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
@pass_context
def account_create(context: Context, name: str, kind: str, as_json: bool) -> None:
    """Create an account; prints its API token and Web Connector login ONCE."""
    upgrade(context.store)
    with context.store.begin() as db:
        created = account_service.create_account(db, name, kind)
    data = {
        "account_id": created.account_id,
        "name": created.name,
        "kind": created.kind,
        "api_token": created.api_token,
        "file_id": created.file_id,
        "web_connector_username": created.wc_username,
        "web_connector_password": created.wc_password,
    }
    if as_json:
        click.echo(json.dumps(data, indent=2))
        return
    click.echo(f"Account {created.account_id} created: {created.name} ({created.kind})")
    click.echo(f"  API token:                 {created.api_token}")
    if created.wc_username:
        click.echo(f"  Web Connector username:    {created.wc_username}")
        click.echo(f"  Web Connector password:    {created.wc_password}")
    click.echo("These secrets are shown once; store them now.")


@account.command("reset-password")
@click.argument("account_id", type=ACCOUNT_ID)
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
@pass_context
def account_reset_password(context: Context, account_id: int, as_json: bool) -> None:
    """A new Web Connector password, printed ONCE; the account's open Web Connector sessions end now."""
    with context.store.begin() as db:
        password = credentials.reset_web_connector_password(db, account_id,
                                                                inflight_timeout=context.settings.inflight_timeout)
        username = account_service.get_account(db, account_id).credential.username
    if as_json:
        click.echo(json.dumps({"account_id": account_id, "username": username, "password": password}, indent=2))
        return
    click.echo(f"Account {account_id}: new Web Connector password for {username}")
    click.echo(f"  password: {password}  (shown once; open Web Connector sessions have ended)")
    click.echo("Type it into the Web Connector's Password field for this application.")


@account.command("rotate-token")
@click.argument("account_id", type=ACCOUNT_ID)
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
@pass_context
def account_rotate_token(context: Context, account_id: int, as_json: bool) -> None:
    """A new API token, printed ONCE; the old one is refused from now on."""
    with context.store.begin() as db:
        token = account_service.rotate_api_token(db, account_id)
    if as_json:
        click.echo(json.dumps({"account_id": account_id, "api_token": token}, indent=2))
        return
    click.echo(f"Account {account_id}: new API token (the old one no longer works)")
    click.echo(f"  API token: {token}  (shown once)")


@main.command("qwc")
@click.argument("account_id", type=ACCOUNT_ID)
@click.option("-o", "--output", type=click.Path(dir_okay=False, path_type=Path), help="Write to FILE instead of stdout.")
@pass_context
def qwc_command(context: Context, account_id: int, output: Path | None) -> None:
    """Write the .qwc file of a Desktop account."""
    try:
        with context.store.begin() as db:
            text = render_qwc(db, context.settings, account_id)
    except QwcRefused as exc:
        _fail(str(exc))
    if output:
        output.write_text(text, encoding="utf-8")
        click.echo(f"wrote {output}")
    else:
        click.echo(text, nl=False)


@main.group()
def user() -> None:
    """Admin users."""


@user.command("create")
@click.argument("email")
@click.option("--role", type=click.Choice(["support", "bookkeeper"]), required=True)
@click.option("--account", "account_id", type=ACCOUNT_ID, help="The bookkeeper's account.")
@click.option("--password-stdin", is_flag=True, help="Read the password from standard input.")
@click.option("--json", "as_json", is_flag=True)
@pass_context
def user_create(context: Context, email: str, role: str, account_id: int | None, password_stdin: bool, as_json: bool) -> None:
    """Create an admin login (a password is generated unless --password-stdin)."""
    generated = not password_stdin
    password = security.new_password() if generated else sys.stdin.readline().rstrip("\r\n")
    upgrade(context.store)
    with context.store.begin() as db:
        created = user_service.create_user(db, email, password, role, account_id)
        data = {"user_id": created.id, "email": created.email, "role": created.role, "account_id": created.account_id}
    if generated:
        data["password"] = password
    if as_json:
        click.echo(json.dumps(data, indent=2))
    else:
        click.echo(f"User {data['email']} ({data['role']}) created")
        if generated:
            click.echo(f"  password: {password}  (shown once)")


@user.command("disable")
@click.argument("email")
@pass_context
def user_disable(context: Context, email: str) -> None:
    """Stop an admin login: the user cannot log in and their open sessions end now."""
    with context.store.begin() as db:
        disabled = user_service.disable_user(db, email).email
    click.echo(f"User {disabled} disabled; their admin sessions have ended")


@user.command("reset-password")
@click.argument("email")
@click.option("--password-stdin", is_flag=True, help="Read the new password from standard input.")
@pass_context
def user_reset_password(context: Context, email: str, password_stdin: bool) -> None:
    """A new admin password (generated and shown once unless --password-stdin); open sessions end."""
    generated = not password_stdin
    password = security.new_password() if generated else sys.stdin.readline().rstrip("\r\n")
    with context.store.begin() as db:
        changed = user_service.reset_password(db, email, password).email
    click.echo(f"User {changed}: password changed; their admin sessions have ended")
    if generated:
        click.echo(f"  password: {password}  (shown once)")


@main.command()
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=8080, show_default=True, type=int)
@click.option("--no-serve", is_flag=True, help="Prepare the demo and exit.")
@pass_context
def demo(context: Context, host: str, port: int, no_serve: bool) -> None:
    """Prepare a demo (SQLite under ./var, a Desktop and an Online account, an admin login) and serve it
    with a fake QuickBooks Online."""
    facts = prepare_demo(context.store, context.settings)
    online = facts["online"]
    base = context.settings.public_url
    click.echo("")
    click.echo("qbwc-bridge demo is ready")
    click.echo(f"  Web Connector AppURL:  {base}/qbwc")
    click.echo(f"  Admin:                 {base}/admin")
    click.echo(f"    support staff:       {facts['admin_email']} / {facts['admin_password']}")
    click.echo(f"    bookkeeper:          {facts['bookkeeper_email']} / {facts['bookkeeper_password']}")
    click.echo(f"  API base:              {base}/api/v1  (Authorization: Bearer {facts['api_token']})")
    click.echo(f"  Demo account:          #{facts['account_id']} {facts['account_name']}")
    click.echo(f"  Web Connector login:   {facts['wc_username']} / {facts['wc_password']}")
    click.echo(f"  .qwc file:             {facts['qwc_path']}")
    click.echo(f"  Simulate a session:    .venv/bin/qbwc-bridge simulate --qwc {facts['qwc_path']} --password {facts['wc_password']}")
    click.echo(f"  Online demo account:   #{online['account_id']} {online['account_name']}  (API token {online['api_token']})")
    click.echo(f"  Connect it:            {base}/admin/accounts/{online['account_id']}/connect/online"
               "  (Connect to QuickBooks, then Connect on the fake Intuit page)")
    if no_serve:
        click.echo("")
        return
    fake_intuit, demo_settings = start_fake_quickbooks_online(context.settings)
    click.echo(f"  QuickBooks Online:     {fake_intuit.url}  (a fake, in this process; the worker syncs the account once connected)")
    click.echo("")
    context.use_settings(demo_settings)
    try:
        click.get_current_context().invoke(serve, host=host, port=port)
    finally:
        fake_intuit.stop()


@main.group("import")
def import_group() -> None:
    """Bulk import of BlueTrace records (the first load), from CSV or NDJSON."""


def _import_options(command):
    """The arguments both import commands take."""
    for decorator in reversed((
        click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path)),
        click.option("--account", "account_id", type=ACCOUNT_ID, required=True, help="The account the records belong to."),
        click.option("--format", "fmt", type=click.Choice(["csv", "ndjson"]), help="Default: from the file name."),
        click.option("--batch-size", default=1000, show_default=True, type=click.IntRange(1, 100_000), help="Rows per commit."),
        click.option("--errors", "errors_file", type=click.Path(dir_okay=False, path_type=Path), help="Write every rejected row to FILE (CSV)."),
        click.option("--json", "as_json", is_flag=True, help="Machine-readable summary."),
        pass_context,
    )):
        command = decorator(command)
    return command


@import_group.command("items")
@_import_options
def import_items(context: Context, **options) -> None:
    """Import items (item_id, sku, name, description, sales_price, purchase_cost, kind, active)."""
    _import(context, "items", **options)


@import_group.command("customers")
@_import_options
def import_customers(context: Context, **options) -> None:
    """Import customers (customer_id, name, company_name, billing_email, phone, bill_address.*, ship_address.*, active)."""
    _import(context, "customers", **options)


def _import(context: Context, kind: str, *, file: Path, account_id: int, fmt: str | None, batch_size: int,
            errors_file: Path | None, as_json: bool) -> None:
    """Good rows are stored even when others are rejected; the exit status is 1 when any was."""
    fmt = fmt or detect_format(file.name)
    upgrade(context.store)
    with file.open("rb") as stream, click.progressbar(
        length=file.stat().st_size, label=f"Importing {kind}", file=sys.stderr, show_eta=True
    ) as bar:
        result = import_rows(
            context.store, account_id, kind, read_rows(stream, kind, fmt, on_bytes=bar.update), batch_size=batch_size
        )
    if errors_file is not None:
        with errors_file.open("w", newline="", encoding="utf-8") as out:
            writer = csv.writer(out)
            writer.writerow(["line", "record_id", "field", "message"])
            writer.writerows([e.line, e.record_id or "", e.field or "", e.message] for e in result.errors)
    if as_json:
        click.echo(json.dumps(result.as_json(), indent=2))
    else:
        shown = 50
        for error in result.errors[:shown]:
            click.echo(f"  {error}", err=True)
        if len(result.errors) > shown:
            more = f"  ... and {len(result.errors) - shown} more"
            click.echo(more + ("" if errors_file else " (--errors FILE lists them all)"), err=True)
        counts = result.counts
        click.echo(
            f"{kind.capitalize()}: {result.stored} stored ({result.created} new, {result.updated} updated, "
            f"{result.unchanged} unchanged), {len(result.errors)} rejected."
        )
        if counts:
            issues = ", ".join(f"{name} {count}" for name, count in counts["issues"].items() if count) or "none"
            click.echo(f"Matching: {counts['matched']} of {counts['total']} matched; issues: {issues}.")
    if result.errors:
        sys.exit(1)


main.add_command(simulate_command, "simulate")
