"""Logging into the admin: hashed passwords, lockout, new sessions, logout, CSRF on every form."""
from __future__ import annotations

import datetime as dt

from freezegun import freeze_time
from sqlalchemy import select

from qbwc_bridge.store.models import User
from tests.integration.admin_pages import PASSWORD, AdminClient, admin_app, client, people  # noqa: F401 (fixtures)


def test_admin_lands_on_login_then_on_the_bookkeepers_own_account(client, people):
    response = client.get("/admin")
    assert response.status_code in (301, 302, 308)
    response = client.get("/admin/", follow_redirects=False)
    assert response.status_code == 302 and "/admin/login" in response.headers["Location"]

    response = client.login(people.acme_bookkeeper)
    assert response.status_code == 302
    page = client.get("/admin/", follow_redirects=True)
    assert page.request.path == f"/admin/accounts/{people.acme.account_id}/general"
    assert "Acme Supply" in page.get_data(as_text=True)


def test_support_lands_on_every_account(client, people):
    client.login(people.support)
    page = client.get("/admin/", follow_redirects=True)
    assert page.request.path == "/admin/support/"
    text = page.get_data(as_text=True)
    assert "Acme Supply" in text and "Globex Traders" in text


def test_a_wrong_password_is_refused_without_saying_whether_the_email_exists(client, people):
    wrong = client.login(people.acme_bookkeeper, "not the password")
    unknown = client.login("nobody@acme.test", "not the password")
    assert wrong.status_code == unknown.status_code == 401
    assert "The email or password is wrong." in wrong.get_data(as_text=True)
    assert wrong.get_data(as_text=True).replace("books@acme.test", "X") == unknown.get_data(as_text=True).replace(
        "nobody@acme.test", "X"
    )
    assert client.get("/admin/").status_code == 302  # still logged out


def test_passwords_are_stored_as_argon2_hashes(store, people):
    with store.begin() as db:
        user = db.scalar(select(User).where(User.email == people.acme_bookkeeper))
        assert user.password_hash.startswith("$argon2id$") and PASSWORD not in user.password_hash


def test_repeated_wrong_passwords_lock_the_login_for_a_while(client, people, settings):
    start = dt.datetime(2030, 1, 1, 12, 0, tzinfo=dt.timezone.utc)
    with freeze_time(start) as frozen:
        for _ in range(settings.login_max_failures):
            assert client.login(people.acme_bookkeeper, "guess").status_code == 401
        # Locked: even the right password is refused, with the same words.
        locked = client.login(people.acme_bookkeeper)
        assert locked.status_code == 401
        assert "locked for" in locked.get_data(as_text=True)
        frozen.tick(dt.timedelta(seconds=settings.login_lockout_seconds + 1))
        assert client.login(people.acme_bookkeeper).status_code == 302


def test_a_right_password_resets_the_count_of_wrong_ones(client, people, settings, admin_app):
    for _ in range(settings.login_max_failures - 1):
        client.login(people.acme_bookkeeper, "guess")
    assert client.login(people.acme_bookkeeper).status_code == 302
    other = AdminClient(admin_app)
    for _ in range(settings.login_max_failures - 1):
        other.login(people.acme_bookkeeper, "guess")
    assert other.login(people.acme_bookkeeper).status_code == 302


def test_logging_in_starts_a_new_session(client, people):
    client.get("/admin/login")
    before_cookie = client.client.get_cookie("session").value
    before_token = client.token
    client.login(people.acme_bookkeeper)
    assert client.client.get_cookie("session").value != before_cookie
    assert client.token != before_token  # a token seen before login is worth nothing after it
    # The cookie a visitor held before logging in never becomes a logged-in session.
    client.client.set_cookie("session", before_cookie)
    assert client.get("/admin/").status_code == 302


def test_logging_out_ends_the_session_even_for_a_copied_cookie(client, people, admin_app):
    client.login(people.acme_bookkeeper)
    copied = client.client.get_cookie("session").value
    response = client.post("/admin/logout")
    assert response.status_code == 302
    assert client.get("/admin/").status_code == 302
    thief = AdminClient(admin_app)
    thief.client.set_cookie("session", copied)
    assert thief.get("/admin/").status_code == 302


def test_a_changed_password_ends_existing_sessions(client, people, store):
    from qbwc_bridge import security

    client.login(people.acme_bookkeeper)
    assert client.get("/admin/").status_code == 302  # -> own account page
    assert client.get(f"/admin/accounts/{people.acme.account_id}/connect").status_code == 200
    with store.begin() as db:
        db.scalar(select(User).where(User.email == people.acme_bookkeeper)).password_hash = security.hash_password("x" * 12)
    assert client.get(f"/admin/accounts/{people.acme.account_id}/connect").status_code == 302


def test_after_login_only_admin_paths_are_followed(admin_app, people):
    for target, landing in [("https://evil.test/admin", "/admin/"), ("//evil.test/admin", "/admin/"),
                            ("/admin/support/", "/admin/support/")]:
        client = AdminClient(admin_app)
        client.get("/admin/login")
        response = client.post("/admin/login", {"email": people.support, "password": PASSWORD, "next": target})
        assert response.headers["Location"] == landing, target


def test_forms_without_their_csrf_token_are_refused(client, people):
    # Even the login form: a site cannot log a visitor into an account of its choosing.
    refused = client.post("/admin/login", {"email": people.acme_bookkeeper, "password": PASSWORD}, with_token=False)
    assert refused.status_code == 400
    assert "security token" in refused.get_data(as_text=True)

    client.login(people.acme_bookkeeper)
    account_id = people.acme.account_id
    for path, form in [
        (f"/admin/accounts/{account_id}/general", {"invoice_creation": "on"}),
        (f"/admin/accounts/{account_id}/web-connector-password", {}),
        (f"/admin/accounts/{account_id}/items/sync", {"sync": "on"}),
        (f"/admin/accounts/{account_id}/customers/resync", {"record_id": "C1"}),
        ("/admin/logout", {}),
    ]:
        missing = client.post(path, form, with_token=False)
        wrong = client.client.post(path, data={**form, "csrf_token": "forged"})
        assert missing.status_code == wrong.status_code == 400, path
        assert missing.mimetype == "text/html"
    # Nothing was changed, and the session is still alive.
    assert client.get(f"/admin/accounts/{account_id}/general").status_code == 200


def test_session_cookie_is_httponly_and_samesite(client, people):
    client.get("/admin/login")
    response = client.post("/admin/login", {"email": people.acme_bookkeeper, "password": PASSWORD})
    cookie = response.headers["Set-Cookie"]
    assert "HttpOnly" in cookie and "SameSite=Lax" in cookie


def test_admin_pages_cannot_be_framed_or_load_foreign_code(client, people):
    for path in ["/admin/login", "/admin/static/admin.css"]:
        with client.client.get(path) as response:
            headers = response.headers
        assert headers["X-Frame-Options"] == "DENY", path
        assert "frame-ancestors 'none'" in headers["Content-Security-Policy"], path
        assert headers["X-Content-Type-Options"] == "nosniff", path
