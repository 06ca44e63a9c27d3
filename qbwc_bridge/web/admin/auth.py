"""Logging in and out of the admin, and who is looking: a bookkeeper or support staff.

Sessions are Flask's signed cookies (HttpOnly, SameSite=Lax, Secure behind https: set
in ``web/app.py``) holding only the user id, a fingerprint of the password hash, the
login time and the CSRF token. A signed cookie stays valid wherever it is copied, so
the server decides when it ends: a changed password (the fingerprint), logging out
(``User.sessions_revoked_at``: every session of the user started before it), disabling
the user (``User.disabled_at``) and :data:`SESSION_MAX_AGE` after login.
Logging in starts a new session (nothing from before survives, so a planted cookie
cannot be promoted: session fixation), and wrong passwords are throttled the same way
as the Web Connector's (``throttle.py``: ``Settings.login_max_failures`` from one source
address lock that address out for ``login_lockout_seconds``, so nobody elsewhere can lock
a bookkeeper out). Every attempt costs one argon2 verification and the same writes,
whether the user is unknown, disabled, locked or typed a wrong password, so timing does
not tell which emails have logins.
"""
from __future__ import annotations

import datetime as dt
import functools
import hashlib
import time
from collections.abc import Callable
from dataclasses import dataclass
from urllib.parse import urlsplit

from flask import Blueprint, abort, current_app, flash, g, redirect, render_template, request, session, url_for
from sqlalchemy import select

from ... import security, throttle
from ...store.models import LoginKind, User, UserRole, utcnow
from ..source_address import source_address
from . import csrf, pages

SESSION_MAX_AGE = dt.timedelta(hours=12)


@functools.cache
def dummy_hash() -> str:
    """Verified against when the email is unknown, so every attempt costs the same.

    Hashed once per process when the admin is registered (:func:`register_admin`), not at
    import: an Argon2 hash costs about 0.1 s, and every ``qbwc-bridge`` command imports the admin.
    """
    return security.hash_password("not a real password")


bp = Blueprint("admin_auth", __name__, url_prefix="/admin")
csrf.protect(bp)
pages.install_error_pages(bp)
pages.install_security_headers(bp)


@dataclass(frozen=True)
class Viewer:
    """The logged-in person, as the views need them (no ORM object outlives its unit of work)."""

    user_id: int
    email: str
    role: str
    account_id: int | None

    @property
    def is_support(self) -> bool:
        return self.role == UserRole.SUPPORT.value

    def may_see(self, account_id: int) -> bool:
        return self.is_support or self.account_id == account_id


def _fingerprint(password_hash: str) -> str:
    return hashlib.sha256(password_hash.encode()).hexdigest()[:32]


def current_viewer() -> Viewer | None:
    """The viewer of this request, loaded once from the session (None when logged out)."""
    if "viewer" in g:
        return g.viewer
    g.viewer = None
    user_id, fingerprint, logged_in_at = session.get("uid"), session.get("fp"), session.get("iat")
    if not (isinstance(user_id, int) and fingerprint and isinstance(logged_in_at, (int, float))):
        return None
    if time.time() - logged_in_at > SESSION_MAX_AGE.total_seconds():
        session.clear()
        return None
    with current_app.extensions["qbwc_bridge.store"].begin() as db:
        user = db.get(User, user_id)
        if (
            user is None
            or user.disabled_at is not None
            or _fingerprint(user.password_hash) != fingerprint
            or (user.sessions_revoked_at is not None and user.sessions_revoked_at.timestamp() >= logged_in_at)
        ):
            session.clear()
            return None
        g.viewer = Viewer(user.id, user.email, user.role, user.account_id)
    return g.viewer


def login_required(view: Callable) -> Callable:
    """Send a logged-out visitor to the login page, then back here."""

    @functools.wraps(view)
    def wrapper(**kwargs):
        if current_viewer() is None:
            return redirect(url_for("admin_auth.login", next=request.full_path.rstrip("?")))
        return view(**kwargs)

    return wrapper


def support_required(view: Callable) -> Callable:
    """Support staff only: a bookkeeper gets a 403 page."""

    @functools.wraps(view)
    @login_required
    def wrapper(**kwargs):
        if not current_viewer().is_support:
            abort(403)
        return view(**kwargs)

    return wrapper


def require_account(account_id: int) -> Viewer:
    """The viewer, if they may see ``account_id``; otherwise a 404 (never confirm another account exists)."""
    viewer = current_viewer()
    if viewer is None or not viewer.may_see(account_id):
        abort(404)
    return viewer


def safe_next(target: str | None) -> str:
    """Where to go after login: only a path inside the admin, never another site."""
    default = url_for("admin_integration.index")
    if not target:
        return default
    parts = urlsplit(target)
    if parts.scheme or parts.netloc or not parts.path.startswith("/admin") or target.startswith("//") or "\\" in target:
        return default
    return target


@bp.route("/login", methods=["GET", "POST"])
def login():
    if request.method == "GET":
        if current_viewer() is not None:
            return redirect(safe_next(request.args.get("next")))
        return render_template("admin/login.html", next=request.args.get("next", ""), email="")
    email = (request.form.get("email") or "").strip().lower()
    password = request.form.get("password") or ""
    target = safe_next(request.form.get("next"))
    viewer = _check_login(email, password)
    if viewer is None:
        return (
            render_template(
                "admin/login.html",
                next=request.form.get("next", ""),
                email=email,
                error="The email or password is wrong.",
                max_failures=current_app.extensions["qbwc_bridge.settings"].login_max_failures,
                lockout_minutes=current_app.extensions["qbwc_bridge.settings"].login_lockout_seconds // 60,
            ),
            401,
        )
    return redirect(target)


def _check_login(email: str, password: str) -> Viewer | None:
    """Verify a login and start a new session; failures are throttled per source like the Web Connector's."""
    settings = current_app.extensions["qbwc_bridge.settings"]
    source = source_address(request.environ, settings.trusted_proxies)
    now = utcnow()
    with current_app.extensions["qbwc_bridge.store"].begin() as db:
        locked = throttle.is_locked(db, LoginKind.ADMIN, email, source, now)
        user = db.scalar(select(User).where(User.email == throttle.login_key(email)))  # stored lower-case
        verified = security.verify_password(user.password_hash if user else dummy_hash(), password)
        if user is None or user.disabled_at is not None or locked or not verified:
            throttle.record_failure(
                db, LoginKind.ADMIN, email, source, now,
                max_failures=settings.login_max_failures, lockout=dt.timedelta(seconds=settings.login_lockout_seconds),
            )  # fmt: skip
            return None
        throttle.record_success(db, LoginKind.ADMIN, email, source)
        viewer = Viewer(user.id, user.email, user.role, user.account_id)
        fingerprint = _fingerprint(user.password_hash)
    # A new session: nothing a visitor carried before logging in survives it.
    session.clear()
    session["uid"], session["fp"], session["iat"] = viewer.user_id, fingerprint, time.time()
    csrf.rotate()
    g.viewer = viewer
    return viewer


@bp.post("/logout")
def logout():
    viewer = current_viewer()
    if viewer is not None:
        with current_app.extensions["qbwc_bridge.store"].begin() as db:
            db.get(User, viewer.user_id).sessions_revoked_at = utcnow()
    session.clear()
    csrf.rotate()
    flash("You are logged out.", "info")
    return redirect(url_for("admin_auth.login"))
