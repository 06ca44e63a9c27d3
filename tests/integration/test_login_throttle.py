"""The login throttle, for the Web Connector and the admin, on SQLite and PostgreSQL.

Failures are counted atomically (twelve at once count twelve), per source address (an attacker
cannot lock the real Web Connector or a bookkeeper out from elsewhere), and every refusal costs
the same (unknown, wrong password, locked).
"""
from __future__ import annotations

import ipaddress
import statistics
import threading
import time
from collections.abc import Callable

import pytest
import requests
from lxml import etree
from sqlalchemy import select

from qbwc_bridge.backends.desktop.web_connector import WebConnectorService
from qbwc_bridge.services.users import disable_user
from qbwc_bridge.store.models import LoginThrottle
from qbwc_bridge.web.app import create_app
from tests.integration.admin_pages import PASSWORD, AdminClient, admin_app, people  # noqa: F401 (fixtures)
from tests.integration.soap_helpers import SOAP_NS, TNS, envelope
from tests.support.live_server import LiveServer

CONCURRENT = 12
ATTACKER, CUSTOMER = "198.51.100.7", "203.0.113.20"
# Generous: what must not happen is the 100x gap of a refusal that skips the password check.
TIMING_RATIO = 3.0
SAMPLES = 7


def throttle_row(store, kind: str, login: str, source: str) -> tuple[int, bool] | None:
    with store.begin() as db:
        row = db.scalar(select(LoginThrottle).where(LoginThrottle.kind == kind, LoginThrottle.login == login,
                                                    LoginThrottle.source == source))  # fmt: skip
        return None if row is None else (row.failed_attempts, row.locked_until is not None)


def all_at_once(count: int, attempt: Callable[[int], object]) -> list[object]:
    """Run ``attempt(i)`` in ``count`` threads released together."""
    barrier = threading.Barrier(count)
    results: list[object] = [None] * count

    def run(index: int) -> None:
        barrier.wait()
        results[index] = attempt(index)

    threads = [threading.Thread(target=run, args=(i,)) for i in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    return results


def authenticate(url: str, username: str, password: str, forwarded_for: str | None = None) -> list[str]:
    headers = {"Content-Type": "text/xml; charset=utf-8", "SOAPAction": f'"{TNS}authenticate"'}
    if forwarded_for:
        headers["X-Forwarded-For"] = forwarded_for
    body = envelope("authenticate", strUserName=username, strPassword=password)
    response = requests.post(url, data=body, headers=headers, timeout=60)
    assert response.status_code == 200, response.text
    result = etree.fromstring(response.content).find(
        f"{{{SOAP_NS}}}Body/{{{TNS}}}authenticateResponse/{{{TNS}}}authenticateResult"
    )
    return [item.text or "" for item in result]


def median_seconds(attempt: Callable[[int], object], samples: int = SAMPLES) -> float:
    durations = []
    for index in range(samples):
        started = time.perf_counter()
        attempt(index)
        durations.append(time.perf_counter() - started)
    return statistics.median(durations)


def assert_same_cost(medians: dict[str, float]) -> None:
    shown = ", ".join(f"{name} {seconds * 1000:.1f} ms" for name, seconds in medians.items())
    print(f"median cost of a refusal: {shown}")
    assert max(medians.values()) <= TIMING_RATIO * min(medians.values()), shown


@pytest.fixture
def proxied_url(settings, store):
    """The bridge behind a proxy on 127.0.0.1 that we trust: X-Forwarded-For names the source.

    waitress is set up as ``qbwc-bridge serve`` sets it up when there are trusted proxies.
    """
    trusting = settings.replace(trusted_proxies=(ipaddress.ip_network("127.0.0.1/32"),))
    with LiveServer(create_app(trusting, store), clear_untrusted_proxy_headers=False) as live:
        yield live.url + "/qbwc"


# -- the Web Connector ---------------------------------------------------------------------


def test_twelve_simultaneous_wrong_passwords_all_count_and_lock_the_web_connector(store, settings, tenant):
    service = WebConnectorService(store, settings)
    answers = all_at_once(CONCURRENT, lambda _: service.authenticate(tenant.username, "wrong", source=ATTACKER))
    assert [answer[1] for answer in answers] == ["nvu"] * CONCURRENT
    assert throttle_row(store, "web_connector", tenant.username, ATTACKER) == (CONCURRENT, True)
    assert service.authenticate(tenant.username, tenant.password, source=ATTACKER)[1] == "nvu"


def test_an_attacker_elsewhere_cannot_lock_out_the_real_web_connector(proxied_url, store, tenant, settings):
    for _ in range(settings.login_max_failures * 2):
        assert authenticate(proxied_url, tenant.username, "guess", forwarded_for=ATTACKER)[1] == "nvu"
    # Locked for the attacker, even with the right password ...
    assert authenticate(proxied_url, tenant.username, tenant.password, forwarded_for=ATTACKER)[1] == "nvu"
    # ... while the customer's Web Connector, from its own address, gets in.
    assert authenticate(proxied_url, tenant.username, tenant.password, forwarded_for=CUSTOMER)[1] != "nvu"


def test_a_forwarded_for_header_from_an_untrusted_peer_is_ignored(settings, store, tenant):
    """Without QBWC_BRIDGE_TRUSTED_PROXIES an attacker cannot escape its lock by naming other addresses
    (even where waitress lets the header through)."""
    with LiveServer(create_app(settings, store), clear_untrusted_proxy_headers=False) as live:
        soap_url = live.url + "/qbwc"
        for index in range(settings.login_max_failures):
            authenticate(soap_url, tenant.username, "guess", forwarded_for=f"192.0.2.{index + 1}")
        assert authenticate(soap_url, tenant.username, tenant.password, forwarded_for=CUSTOMER)[1] == "nvu"
    assert throttle_row(store, "web_connector", tenant.username, "127.0.0.1") == (settings.login_max_failures + 1, True)


def test_every_web_connector_refusal_costs_the_same(store, settings, tenant):
    service = WebConnectorService(store, settings)
    for _ in range(settings.login_max_failures):
        service.authenticate(tenant.username, "guess", source=ATTACKER)
    # Fresh sources for the unknown and the wrong, so that they are never locked themselves.
    medians = {
        "unknown user": median_seconds(lambda i: service.authenticate("bt-nobody", "guess", source=f"192.0.2.{i}")),
        "wrong password": median_seconds(lambda i: service.authenticate(tenant.username, "guess", source=f"192.0.2.{100 + i}")),
        "locked": median_seconds(lambda i: service.authenticate(tenant.username, tenant.password, source=ATTACKER)),
    }
    assert_same_cost(medians)


# -- the admin -----------------------------------------------------------------------------


def _admin_login(url: str, email: str, password: str) -> int:
    """A browser's login over HTTP: the form (cookie and CSRF token), then the POST."""
    browser = requests.Session()
    form = browser.get(url + "/admin/login", timeout=60).text
    token = form.split('name="csrf_token" value="')[1].split('"')[0]
    response = browser.post(url + "/admin/login", data={"email": email, "password": password, "csrf_token": token},
                            allow_redirects=False, timeout=60)  # fmt: skip
    return response.status_code


def test_twelve_simultaneous_wrong_admin_passwords_all_count_and_lock(server, store, people):
    statuses = all_at_once(CONCURRENT, lambda _: _admin_login(server.url, people.acme_bookkeeper, "guess"))
    assert statuses == [401] * CONCURRENT
    assert throttle_row(store, "admin", people.acme_bookkeeper, "127.0.0.1") == (CONCURRENT, True)
    assert _admin_login(server.url, people.acme_bookkeeper, PASSWORD) == 401


def test_an_attacker_elsewhere_cannot_lock_a_bookkeeper_out(admin_app, people, settings):
    attacker, bookkeeper = AdminClient(admin_app), AdminClient(admin_app)
    attacker.client.environ_base["REMOTE_ADDR"] = ATTACKER
    bookkeeper.client.environ_base["REMOTE_ADDR"] = CUSTOMER
    for _ in range(settings.login_max_failures * 2):
        assert attacker.login(people.acme_bookkeeper, "guess").status_code == 401
    assert attacker.login(people.acme_bookkeeper).status_code == 401
    assert bookkeeper.login(people.acme_bookkeeper).status_code == 302


def test_every_admin_refusal_costs_the_same(admin_app, store, people, settings):
    clients = {}

    def login_from(source: str, email: str, password: str) -> int:
        if source not in clients:
            clients[source] = AdminClient(admin_app)
            clients[source].client.environ_base["REMOTE_ADDR"] = source
            clients[source].get("/admin/login")
        client = clients[source]
        return client.post("/admin/login", {"email": email, "password": password}).status_code

    with store.begin() as db:
        disable_user(db, people.globex_bookkeeper)
    for _ in range(settings.login_max_failures):
        login_from(ATTACKER, people.acme_bookkeeper, "guess")
    medians = {
        "unknown email": median_seconds(lambda i: login_from(f"192.0.2.{i}", "nobody@acme.test", "guess")),
        "wrong password": median_seconds(lambda i: login_from(f"192.0.2.{100 + i}", people.acme_bookkeeper, "guess")),
        "locked": median_seconds(lambda i: login_from(ATTACKER, people.acme_bookkeeper, PASSWORD)),
        "disabled": median_seconds(lambda i: login_from(f"192.0.2.{200 + i}", people.globex_bookkeeper, PASSWORD)),
    }
    assert_same_cost(medians)
