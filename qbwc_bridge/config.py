"""Settings: the only place that reads the environment (``QBWC_BRIDGE_*``).

Every value is validated here so that a bad deployment fails at start with one line
naming the variable, instead of somewhere deep inside a Web Connector session.
"""
from __future__ import annotations

import datetime as dt
import ipaddress
import logging
import os
import secrets
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from urllib.parse import urlsplit

from .errors import ConfigurationError
from .token_keys import TokenKeyError, check_key, development_keys

PREFIX = "QBWC_BRIDGE_"
DEFAULT_DATA_DIR = Path("var")
DEFAULT_SECRET_FILE = "secret_key"
LOG_FORMATS = ("text", "json")
MIN_SILENT_AFTER_MINUTES = 10
QBO_ENVIRONMENTS = ("production", "sandbox")
# Sandbox by default: a deployment that forgot the setting talks to Intuit's test companies,
# where a mistake costs nothing, never to a real company's books by accident. Intuit's
# production keys do not work there, so a production deployment notices at its first connect.
DEFAULT_QBO_ENVIRONMENT = "sandbox"
QBO_API_BASES = {
    "production": "https://quickbooks.api.intuit.com",
    "sandbox": "https://sandbox-quickbooks.api.intuit.com",
}
# Intuit's OAuth 2 endpoints, the same for both environments (PROTOCOL.md §5.1).
QBO_AUTHORIZE_URL = "https://appcenter.intuit.com/connect/oauth2"
QBO_TOKEN_URL = "https://oauth.platform.intuit.com/oauth2/v1/tokens/bearer"
QBO_REVOKE_URL = "https://developer.api.intuit.com/v2/oauth2/tokens/revoke"
QBO_CALLBACK_PATH = "/qbo/callback"
# Intuit's "Disconnect URL" (app settings): where it sends a person who removed BlueTrace in My Apps.
QBO_DISCONNECTED_PATH = "/qbo/disconnected"
# Plain http is allowed only for these hosts (a fake QuickBooks Online or a laptop run).
LOOPBACK_HOSTS = ("localhost", "127.0.0.1")


def _find_shared_dir() -> Path | None:
    """The project's ``shared/`` folder beside a checkout (reference data, Intuit's XSDs).

    Only tests, the simulator and schema validation use it; the service runs without it.
    """
    here = Path(__file__).resolve()
    for base in (Path.cwd(), *Path.cwd().parents, *here.parents):
        candidate = base / "shared"
        if (candidate / "PROTOCOL.md").is_file():
            return candidate
        sibling = base.parent / "shared"
        if (sibling / "PROTOCOL.md").is_file():
            return sibling
    return None


@dataclass(frozen=True)
class Settings:
    """Deployment settings. Build with :meth:`from_env`; tests use :meth:`replace`."""

    database_url: str
    public_url: str
    secret_key: str
    run_every_minutes: int = 2
    log_level: str = "INFO"
    data_dir: Path = DEFAULT_DATA_DIR
    max_body_bytes: int = 16 * 1024 * 1024
    ticket_idle_seconds: int = 30 * 60
    busy_window_seconds: int = 15
    # How long a message set handed to a Web Connector may still be applied by QuickBooks after its
    # session was superseded or ended: its Adds are not looked up (nor resent) before then. A set is at
    # most 50 requests / 256 KiB and QuickBooks applies one in seconds, even a slow multi-user file in
    # well under a minute; QBWC's own HTTP calls time out after 100 s (.NET's default). Ten minutes is
    # several times the worst of these, and only delays the Adds of a session that died mid-set.
    inflight_timeout_seconds: int = 600
    login_max_failures: int = 5
    login_lockout_seconds: int = 300
    shared_dir: Path | None = field(default=None)
    secure_cookies: bool = True
    # Peers whose X-Forwarded-For is believed when telling where a login comes from (the
    # throttle counts per source address); empty: the TCP peer is the source.
    trusted_proxies: tuple[ipaddress.IPv4Network | ipaddress.IPv6Network, ...] = ()
    # Operations: logs, metrics, silent Web Connectors, retention.
    log_format: str = "text"
    metrics_token: str | None = None
    metrics_dir: Path | None = None
    silent_after_minutes: int = 10
    log_retention_days: int = 30
    # QuickBooks Online: the app's OAuth client (None: Online connect is not set up here),
    # Intuit's endpoints, and the keys that encrypt stored tokens (newest first).
    qbo_client_id: str | None = None
    qbo_client_secret: str | None = field(default=None, repr=False)
    qbo_environment: str = DEFAULT_QBO_ENVIRONMENT
    qbo_api_base: str = QBO_API_BASES[DEFAULT_QBO_ENVIRONMENT]
    qbo_authorize_url: str = QBO_AUTHORIZE_URL
    qbo_token_url: str = QBO_TOKEN_URL
    qbo_revoke_url: str = QBO_REVOKE_URL
    qbo_redirect_uri: str = "http://localhost:8080" + QBO_CALLBACK_PATH
    token_keys: tuple[str, ...] = field(default=(), repr=False)

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> "Settings":
        """Read ``QBWC_BRIDGE_*`` variables.

        Raises:
            ConfigurationError: a value is invalid; the message names the variable.
        """
        env = os.environ if environ is None else environ

        def get(name: str, default: str | None = None) -> str | None:
            value = env.get(PREFIX + name)
            return default if value is None or value.strip() == "" else value.strip()

        data_dir = Path(get("DATA_DIR", str(DEFAULT_DATA_DIR)))
        database_url = get("DATABASE_URL") or f"sqlite:///{(data_dir / 'qbwc_bridge.sqlite3').as_posix()}"
        if "://" not in database_url:
            raise ConfigurationError(
                f"{PREFIX}DATABASE_URL={database_url!r} is not a database URL "
                "(expected e.g. sqlite:///var/qbwc_bridge.sqlite3 or postgresql+psycopg://user@host/db)"
            )
        public_url = (get("PUBLIC_URL") or "http://localhost:8080").rstrip("/")
        _check_public_url(public_url)
        secret_key = get("SECRET_KEY") or _load_or_create_secret(data_dir)
        if len(secret_key) < 32:
            raise ConfigurationError(f"{PREFIX}SECRET_KEY is too short: use at least 32 random characters")
        log_level = (get("LOG_LEVEL") or "INFO").upper()
        if log_level not in logging.getLevelNamesMapping():
            raise ConfigurationError(f"{PREFIX}LOG_LEVEL={log_level!r} is not a logging level (DEBUG, INFO, WARNING, ERROR)")
        shared = get("SHARED_DIR")
        shared_dir = Path(shared) if shared else _find_shared_dir()
        if shared and not shared_dir.is_dir():
            raise ConfigurationError(f"{PREFIX}SHARED_DIR={shared!r} is not a directory")
        log_format = (get("LOG_FORMAT") or "text").lower()
        if log_format not in LOG_FORMATS:
            raise ConfigurationError(f"{PREFIX}LOG_FORMAT={log_format!r} is not a log format (text, json)")
        metrics_token = get("METRICS_TOKEN")
        if metrics_token is not None and len(metrics_token) < 32:
            raise ConfigurationError(f"{PREFIX}METRICS_TOKEN is too short: use at least 32 random characters")
        metrics_dir = get("METRICS_DIR")
        if metrics_dir and not Path(metrics_dir).is_dir():
            raise ConfigurationError(f"{PREFIX}METRICS_DIR={metrics_dir!r} is not a directory")
        run_every_minutes = _int(get, "RUN_EVERY_MINUTES", 2, 1, 24 * 60)
        qbo_client_id, qbo_client_secret = get("QBO_CLIENT_ID"), get("QBO_CLIENT_SECRET")
        if (qbo_client_id is None) != (qbo_client_secret is None):
            raise ConfigurationError(
                f"{PREFIX}QBO_CLIENT_ID and {PREFIX}QBO_CLIENT_SECRET go together: set both (Intuit's app keys) or neither"
            )
        qbo_environment = (get("QBO_ENVIRONMENT") or DEFAULT_QBO_ENVIRONMENT).lower()
        if qbo_environment not in QBO_ENVIRONMENTS:
            raise ConfigurationError(f"{PREFIX}QBO_ENVIRONMENT={qbo_environment!r} is not production or sandbox")
        redirect_uri = get("QBO_REDIRECT_URI")
        if redirect_uri is None:
            redirect_uri = public_url + QBO_CALLBACK_PATH
            if qbo_client_id is not None:  # Intuit accepts no other plain-http redirect either
                _check_qbo_url("PUBLIC_URL", public_url, origin_only=False)
        else:
            _check_qbo_url("QBO_REDIRECT_URI", redirect_uri, origin_only=False)
        return cls(
            database_url=database_url,
            public_url=public_url,
            secret_key=secret_key,
            run_every_minutes=run_every_minutes,
            log_level=log_level,
            data_dir=data_dir,
            max_body_bytes=_int(get, "MAX_BODY_BYTES", 16 * 1024 * 1024, 64 * 1024, 1024**3),
            ticket_idle_seconds=_int(get, "TICKET_IDLE_SECONDS", 30 * 60, 60, 24 * 3600),
            busy_window_seconds=_int(get, "BUSY_WINDOW_SECONDS", 15, 1, 3600),
            inflight_timeout_seconds=_int(get, "INFLIGHT_TIMEOUT_SECONDS", 600, 1, 24 * 3600),
            shared_dir=shared_dir,
            secure_cookies=_bool(get, "SECURE_COOKIES", urlsplit(public_url).scheme == "https"),
            trusted_proxies=_networks(get, "TRUSTED_PROXIES"),
            log_format=log_format,
            metrics_token=metrics_token,
            metrics_dir=Path(metrics_dir) if metrics_dir else None,
            silent_after_minutes=_int(get, "SILENT_AFTER_MINUTES", default_silent_after(run_every_minutes), 1, 30 * 24 * 60),
            log_retention_days=_int(get, "LOG_RETENTION_DAYS", 30, 1, 3650),
            qbo_client_id=qbo_client_id,
            qbo_client_secret=qbo_client_secret,
            qbo_environment=qbo_environment,
            qbo_api_base=_qbo_url(get, "QBO_API_BASE", QBO_API_BASES[qbo_environment], origin_only=True).rstrip("/"),
            qbo_authorize_url=_qbo_url(get, "QBO_AUTHORIZE_URL", QBO_AUTHORIZE_URL),
            qbo_token_url=_qbo_url(get, "QBO_TOKEN_URL", QBO_TOKEN_URL),
            qbo_revoke_url=_qbo_url(get, "QBO_REVOKE_URL", QBO_REVOKE_URL),
            qbo_redirect_uri=redirect_uri,
            token_keys=_token_keys(get, data_dir),
        )

    def replace(self, **changes) -> "Settings":
        return replace(self, **changes)

    @property
    def inflight_timeout(self) -> dt.timedelta:
        """How long a message set handed to a Web Connector may still be applied by QuickBooks."""
        return dt.timedelta(seconds=self.inflight_timeout_seconds)

    @property
    def log_retention(self) -> dt.timedelta:
        """How long exchange-log entries and finished sessions are kept."""
        return dt.timedelta(days=self.log_retention_days)

    @property
    def silent_after(self) -> dt.timedelta:
        """How long a connected Web Connector may stay quiet before its account shows an error."""
        return dt.timedelta(minutes=self.silent_after_minutes)

    @property
    def qbo_configured(self) -> bool:
        """Whether this deployment has Intuit app keys, so Online accounts can connect."""
        return self.qbo_client_id is not None and self.qbo_client_secret is not None

    @property
    def is_sqlite(self) -> bool:
        return self.database_url.startswith("sqlite")


def default_silent_after(run_every_minutes: int) -> int:
    """Three missed runs, but never under ten minutes: one late run (a PC waking up) is not silence."""
    return max(3 * run_every_minutes, MIN_SILENT_AFTER_MINUTES)


def _int(get, name: str, default: int, low: int, high: int) -> int:
    raw = get(name)
    if raw is None:
        return default
    try:
        value = int(raw)
    except ValueError:
        raise ConfigurationError(f"{PREFIX}{name}={raw!r} is not a whole number") from None
    if not low <= value <= high:
        raise ConfigurationError(f"{PREFIX}{name}={value} is out of range ({low}..{high})")
    return value


def _bool(get, name: str, default: bool) -> bool:
    raw = get(name)
    if raw is None:
        return default
    lowered = raw.lower()
    if lowered in {"1", "true", "yes", "on"}:
        return True
    if lowered in {"0", "false", "no", "off"}:
        return False
    raise ConfigurationError(f"{PREFIX}{name}={raw!r} is not a boolean (true/false)")


def _networks(get, name: str) -> tuple[ipaddress.IPv4Network | ipaddress.IPv6Network, ...]:
    raw = get(name)
    if raw is None:
        return ()
    networks = []
    for part in (piece.strip() for piece in raw.split(",")):
        if not part:
            continue
        try:
            networks.append(ipaddress.ip_network(part, strict=False))
        except ValueError:
            raise ConfigurationError(f"{PREFIX}{name}: {part!r} is not an IP address or CIDR network") from None
    return tuple(networks)


def _check_public_url(url: str) -> None:
    parts = urlsplit(url)
    if parts.scheme not in {"http", "https"} or not parts.hostname:
        raise ConfigurationError(f"{PREFIX}PUBLIC_URL={url!r} must be an http(s) URL such as https://bridge.example.com")
    if parts.query or parts.fragment:
        raise ConfigurationError(f"{PREFIX}PUBLIC_URL={url!r} must not carry a query or fragment")


def _qbo_url(get, name: str, default: str, *, origin_only: bool = False) -> str:
    """An Intuit endpoint: the default, or an override that must be https (plain http on loopback only)."""
    value = get(name)
    if value is None:
        return default
    _check_qbo_url(name, value, origin_only=origin_only)
    return value


def _check_qbo_url(name: str, url: str, *, origin_only: bool) -> None:
    parts = urlsplit(url)
    if parts.scheme not in {"http", "https"} or not parts.hostname:
        raise ConfigurationError(f"{PREFIX}{name}={url!r} is not an https URL")
    if parts.scheme != "https" and parts.hostname not in LOOPBACK_HOSTS:
        raise ConfigurationError(
            f"{PREFIX}{name}={url!r} must be https (plain http only for localhost or 127.0.0.1)"
        )
    if origin_only and (parts.path not in {"", "/"} or parts.query or parts.fragment):
        raise ConfigurationError(
            f"{PREFIX}{name}={url!r} must be the scheme and host only, e.g. https://sandbox-quickbooks.api.intuit.com"
        )


def _token_keys(get, data_dir: Path) -> tuple[str, ...]:
    raw = get("TOKEN_KEYS")
    if raw is None:
        return development_keys(data_dir)
    keys = [part.strip() for part in raw.split(",") if part.strip()]
    if not keys:
        raise ConfigurationError(f"{PREFIX}TOKEN_KEYS lists no key")
    try:
        return tuple(check_key(key) for key in keys)
    except TokenKeyError as exc:
        raise ConfigurationError(f"{PREFIX}TOKEN_KEYS: {exc}") from None


def _load_or_create_secret(data_dir: Path) -> str:
    """A development secret kept in the data dir, so a laptop run needs no setup.

    Production deployments with several processes set QBWC_BRIDGE_SECRET_KEY instead.
    """
    path = data_dir / DEFAULT_SECRET_FILE
    if path.is_file():
        return path.read_text().strip()
    data_dir.mkdir(parents=True, exist_ok=True)
    value = secrets.token_urlsafe(48)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w") as handle:
        handle.write(value)
    return value
