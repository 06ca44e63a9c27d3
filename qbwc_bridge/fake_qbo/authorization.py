"""Intuit's OAuth 2 authorization server: registered apps, consent codes, grants, tokens.

A grant is one company (realm) connected to one app. Its refresh token **rotates** on
every refresh. Intuit keeps accepting the previous refresh token for about 24 hours
(PROTOCOL §5.1); this fake refuses it at once with ``invalid_grant`` and counts the reuse,
on purpose: a client that works only thanks to that grace period loses its connection
whenever two processes refresh at once more than a day apart from the last rotation, so
we must never rely on it, and the tests must see it.

Not thread-safe by itself: :class:`~.intuit.FakeIntuit` calls it under its lock.
"""
from __future__ import annotations

import secrets
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from .clock import Clock

SCOPE_ACCOUNTING = "com.intuit.quickbooks.accounting"
ACCESS_TOKEN_SECONDS = 3600
# What Intuit answers today (101 days); PROTOCOL §5 calls it a rolling 100 days.
REFRESH_TOKEN_SECONDS = 8_726_400
CODE_LIFETIME = timedelta(minutes=10)


class OAuthError(Exception):
    """An error answer of the token or revoke endpoint: ``{"error": ...}`` with its status."""

    def __init__(self, status: int, error: str, description: str = "") -> None:
        super().__init__(f"{status} {error}: {description}")
        self.status = status
        self.error = error
        self.description = description

    def body(self) -> dict[str, str]:
        # Intuit answers only {"error": "invalid_grant"}; a description helps whoever reads a test failure.
        answer = {"error": self.error}
        if self.description:
            answer["error_description"] = self.description
        return answer


class ConsentError(Exception):
    """A consent request Intuit shows an error page for instead of redirecting (bad client or redirect)."""


class AccessDenied(Exception):
    """An API call whose bearer token is missing, unknown, revoked, expired or for another company."""

    def __init__(self, detail: str) -> None:
        super().__init__(detail)
        self.detail = detail


@dataclass(frozen=True)
class RegisteredApp:
    client_id: str
    client_secret: str
    redirect_uris: frozenset[str]


@dataclass
class AuthorizationCode:
    client_id: str
    redirect_uri: str
    realm: str
    expires_at: datetime
    used: bool = False


@dataclass
class Grant:
    number: int
    client_id: str
    realm: str
    refresh_token: str
    refresh_expires_at: datetime
    retired_refresh_tokens: set[str] = field(default_factory=set)
    revoked: bool = False


@dataclass
class AccessToken:
    grant: Grant
    expires_at: datetime


@dataclass(frozen=True)
class RefreshTokenReuse:
    """A refresh with a refresh token that had already been rotated away (answered invalid_grant)."""

    at: datetime
    client_id: str
    realm: str


class AuthorizationServer:
    def __init__(self, clock: Clock) -> None:
        self.clock = clock
        self.apps: dict[str, RegisteredApp] = {}
        self.codes: dict[str, AuthorizationCode] = {}
        self.grants: list[Grant] = []
        self.access_tokens: dict[str, AccessToken] = {}
        self.grants_by_refresh_token: dict[str, Grant] = {}
        self.refresh_count = 0
        self.refresh_token_reuses: list[RefreshTokenReuse] = []

    def register_app(self, client_id: str, client_secret: str, redirect_uris: tuple[str, ...] | list[str]) -> None:
        self.apps[client_id] = RegisteredApp(client_id, client_secret, frozenset(redirect_uris))

    def check_consent_request(self, client_id: str, redirect_uri: str) -> RegisteredApp:
        """The app and redirect URI of a consent request; errors here are never redirected."""
        app = self.apps.get(client_id)
        if app is None:
            raise ConsentError(f"Unknown client_id {client_id!r}.")
        if redirect_uri not in app.redirect_uris:
            raise ConsentError(f"The redirect_uri {redirect_uri!r} is not registered for this app.")
        return app

    def issue_code(self, client_id: str, redirect_uri: str, realm: str) -> str:
        code = "AB11" + secrets.token_urlsafe(32)
        self.codes[code] = AuthorizationCode(client_id, redirect_uri, realm, self.clock() + CODE_LIFETIME)
        return code

    def authenticate_app(self, client_id: str | None, client_secret: str | None) -> RegisteredApp:
        app = self.apps.get(client_id or "")
        if app is None or not secrets.compare_digest(app.client_secret, client_secret or ""):
            raise OAuthError(401, "invalid_client")
        return app

    def exchange_code(self, app: RegisteredApp, code: str, redirect_uri: str) -> dict[str, Any]:
        issued = self.codes.get(code)
        if issued is None or issued.client_id != app.client_id:
            raise OAuthError(400, "invalid_grant", "unknown authorization code")
        if issued.used:
            raise OAuthError(400, "invalid_grant", "authorization code already used")
        if self.clock() >= issued.expires_at:
            raise OAuthError(400, "invalid_grant", "authorization code expired")
        if redirect_uri != issued.redirect_uri:
            raise OAuthError(400, "invalid_grant", "redirect_uri differs from the consent request's")
        issued.used = True
        grant = Grant(len(self.grants) + 1, app.client_id, issued.realm, "", self.clock())
        self.grants.append(grant)
        return self._issue_tokens(grant)

    def refresh(self, app: RegisteredApp, refresh_token: str) -> dict[str, Any]:
        grant = self.grants_by_refresh_token.get(refresh_token)
        if grant is None or grant.client_id != app.client_id:
            raise OAuthError(400, "invalid_grant", "unknown refresh token")
        if refresh_token in grant.retired_refresh_tokens:
            self.refresh_token_reuses.append(RefreshTokenReuse(self.clock(), app.client_id, grant.realm))
            raise OAuthError(400, "invalid_grant", "refresh token already rotated")
        if grant.revoked:
            raise OAuthError(400, "invalid_grant", "grant revoked")
        if self.clock() >= grant.refresh_expires_at:
            raise OAuthError(400, "invalid_grant", "refresh token expired")
        grant.retired_refresh_tokens.add(refresh_token)
        self.refresh_count += 1
        return self._issue_tokens(grant)

    def _issue_tokens(self, grant: Grant) -> dict[str, Any]:
        now = self.clock()
        access_token = "eyJfake." + secrets.token_urlsafe(48)
        grant.refresh_token = "AB11" + secrets.token_urlsafe(36)
        grant.refresh_expires_at = now + timedelta(seconds=REFRESH_TOKEN_SECONDS)
        self.grants_by_refresh_token[grant.refresh_token] = grant
        self.access_tokens[access_token] = AccessToken(grant, now + timedelta(seconds=ACCESS_TOKEN_SECONDS))
        return {
            "token_type": "bearer",
            "access_token": access_token,
            "refresh_token": grant.refresh_token,
            "expires_in": ACCESS_TOKEN_SECONDS,
            "x_refresh_token_expires_in": REFRESH_TOKEN_SECONDS,
        }

    def revoke(self, app: RegisteredApp, token: str) -> None:
        """Revoke the grant a refresh or access token belongs to.

        An unknown token is answered 200 like RFC 7009 says (our decision: Intuit's answer
        for it is undocumented); a token of another app is refused.
        """
        grant = self.grants_by_refresh_token.get(token)
        if grant is None and token in self.access_tokens:
            grant = self.access_tokens[token].grant
        if grant is None:
            return
        if grant.client_id != app.client_id:
            raise OAuthError(400, "invalid_request", "token of another app")
        grant.revoked = True

    def realm_of(self, bearer: str | None) -> str:
        """The company an API call's access token may use, or AccessDenied."""
        token = self.access_tokens.get(bearer or "")
        if token is None:
            raise AccessDenied("Token invalid")
        if token.grant.revoked:
            raise AccessDenied("Token revoked")
        if self.clock() >= token.expires_at:
            raise AccessDenied(f"Token expired: {bearer[:50]}")
        return token.grant.realm

    def expire_access_tokens(self, realm: str | None = None, *, older_than: timedelta | None = None) -> int:
        """End every live access token (of one company): the next API call answers 401 3200.

        ``older_than``: only tokens issued at least that long ago, as if access tokens lived that
        long (Intuit's live an hour): a token just issued by a refresh is not refused at once.
        """
        now = self.clock()
        issued_by = now - (older_than or timedelta(0)) + timedelta(seconds=ACCESS_TOKEN_SECONDS)
        ended = 0
        for token in self.access_tokens.values():
            if (realm is None or token.grant.realm == realm) and now < token.expires_at <= issued_by:
                token.expires_at = now
                ended += 1
        return ended

    def revoke_realm(self, realm: str) -> None:
        """The company disconnected the app from its side (QuickBooks' Apps page)."""
        for grant in self.grants:
            if grant.realm == realm:
                grant.revoked = True
