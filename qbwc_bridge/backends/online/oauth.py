"""Intuit's OAuth 2 endpoints: the consent page's URL, the code exchange, the refresh, the revoke.

(Plus one read of the company's name right after connecting, see :meth:`IntuitOAuth.company_name`.)

Plain ``httpx`` with timeouts, HTTP Basic client authentication, form bodies and JSON
answers, as Intuit documents them (PROTOCOL.md §5.1). Nothing here touches the store:
:mod:`.connection` decides when to call, and keeps what comes back.

Every answer is classed by what the caller must do: :class:`InvalidGrant` (Intuit no
longer accepts this authorization: a person must connect again), :class:`OAuthRefused`
(Intuit refused our request itself, e.g. wrong app keys: the deployment must be fixed) or
:class:`IntuitUnavailable` (timeouts, 5xx, 429, no answer: try again later, nothing lost:
a refresh token Intuit rotated while its answer was lost keeps working for about a day).
No token ever appears in an exception's text.
"""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from urllib.parse import urlencode

import httpx

from ...config import Settings
from ...errors import NeedsPerson, RetryLater
from ...store.models import utcnow

SCOPE = "com.intuit.quickbooks.accounting"
MINOR_VERSION = "75"  # PROTOCOL.md §5: on every Accounting call
# Connect 5 s, the whole answer 20 s: Intuit answers token calls in well under a second; a
# refresh holds its company's lock while it waits, so the wait must be bounded.
TIMEOUT = httpx.Timeout(20.0, connect=5.0)
# What Intuit documents when an answer leaves them out (access token 1 h, refresh token 100 days).
DEFAULT_ACCESS_SECONDS = 3600
DEFAULT_REFRESH_SECONDS = 100 * 24 * 3600


class InvalidGrant(Exception):
    """Intuit no longer accepts the code or refresh token (``invalid_grant``): consent is needed again."""


class WrongRealm(Exception):
    """The authorization Intuit gave is not for the company the callback named."""


class OAuthRefused(NeedsPerson):
    """Intuit refused the request itself (wrong app keys, wrong redirect URI): the deployment must be fixed."""


class IntuitUnavailable(RetryLater):
    """No usable answer from Intuit (timeout, network, 5xx, 429): the same call may succeed later."""


@dataclass(frozen=True)
class TokenGrant:
    """What a code exchange or a refresh gave: both tokens and when each expires."""

    access_token: str = field(repr=False)
    refresh_token: str = field(repr=False)
    access_expires_at: dt.datetime
    refresh_expires_at: dt.datetime


class IntuitOAuth:
    """The OAuth client of one deployment (its app keys and Intuit's endpoints from ``settings``)."""

    def __init__(self, settings: Settings, http: httpx.Client | None = None):
        if not settings.qbo_configured:
            raise OAuthRefused(
                "QuickBooks Online is not set up on this bridge: it has no Intuit app keys.",
                action="Whoever runs the bridge sets QBWC_BRIDGE_QBO_CLIENT_ID and QBWC_BRIDGE_QBO_CLIENT_SECRET "
                "(the keys of BlueTrace's app at developer.intuit.com) and restarts it.",
            )
        self.settings = settings
        self._http = http or httpx.Client(timeout=TIMEOUT, follow_redirects=False)
        self._auth = httpx.BasicAuth(settings.qbo_client_id, settings.qbo_client_secret)

    def close(self) -> None:
        self._http.close()

    def __enter__(self) -> "IntuitOAuth":
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def authorize_url(self, state: str) -> str:
        """Intuit's consent page for this app, coming back to our callback with ``state``."""
        query = urlencode({
            "client_id": self.settings.qbo_client_id,
            "response_type": "code",
            "scope": SCOPE,
            "redirect_uri": self.settings.qbo_redirect_uri,
            "state": state,
        })
        separator = "&" if "?" in self.settings.qbo_authorize_url else "?"
        return f"{self.settings.qbo_authorize_url}{separator}{query}"

    def exchange_code(self, code: str, *, now: dt.datetime | None = None) -> TokenGrant:
        """The tokens for the authorization code the callback received.

        Raises:
            InvalidGrant: the code is unknown, used or expired. OAuthRefused. IntuitUnavailable.
        """
        form = {"grant_type": "authorization_code", "code": code, "redirect_uri": self.settings.qbo_redirect_uri}
        return self._grant(form, now or utcnow())

    def refresh(self, refresh_token: str, *, now: dt.datetime | None = None) -> TokenGrant:
        """New tokens for ``refresh_token``; the answer's refresh token replaces it (Intuit rotates them).

        Raises:
            InvalidGrant: the refresh token is revoked, expired or was already rotated away.
            OAuthRefused. IntuitUnavailable.
        """
        return self._grant({"grant_type": "refresh_token", "refresh_token": refresh_token}, now or utcnow())

    def revoke(self, token: str) -> None:
        """Revoke ``token`` (a refresh token revokes the whole authorization) at Intuit.

        Raises:
            OAuthRefused: Intuit refused (an unknown token is not refused: it is revoked already).
            IntuitUnavailable.
        """
        response = self._post(self.settings.qbo_revoke_url, json={"token": token})
        if response.status_code >= 400 and _error_code(response) not in {"invalid_grant", "invalid_token"}:
            _raise_for(response)

    def company_name(self, realm_id: str, access_token: str) -> str | None:
        """The company's name from its CompanyInfo, or None when it cannot be read right now.

        The one Accounting call connect makes. It proves the new token is the claimed
        company's: ``realmId`` comes back in the browser's URL, where anyone can change it,
        and Intuit's token answer does not say which company it is for. It also lets the
        connection card name the company at once (the sync keeps it up to date).

        Raises:
            WrongRealm: Intuit answered 401 or 403: the token is not for ``realm_id``.
        """
        url = f"{self.settings.qbo_api_base}/v3/company/{realm_id}/companyinfo/{realm_id}"
        try:
            response = self._http.get(url, params={"minorversion": MINOR_VERSION}, headers={
                "Authorization": f"Bearer {access_token}", "Accept": "application/json"})
        except httpx.HTTPError:
            return None
        if response.status_code in (401, 403):
            raise WrongRealm(f"Intuit refused company {realm_id} to the new authorization (HTTP {response.status_code})")
        try:
            name = response.json()["CompanyInfo"]["CompanyName"] if response.status_code == 200 else None
        except (ValueError, KeyError, TypeError):
            return None
        return name if isinstance(name, str) and name.strip() else None

    def _grant(self, form: dict[str, str], now: dt.datetime) -> TokenGrant:
        response = self._post(self.settings.qbo_token_url, data=form)
        if response.status_code != 200:
            _raise_for(response)
        try:
            body = response.json()
            access, refresh = body["access_token"], body["refresh_token"]
            access_seconds = int(body.get("expires_in") or DEFAULT_ACCESS_SECONDS)
            refresh_seconds = int(body.get("x_refresh_token_expires_in") or DEFAULT_REFRESH_SECONDS)
        except (ValueError, KeyError, TypeError):
            raise IntuitUnavailable("Intuit's token answer could not be read (no tokens in it); nothing was changed") from None
        if not isinstance(access, str) or not isinstance(refresh, str) or not access or not refresh:
            raise IntuitUnavailable("Intuit's token answer carried no tokens; nothing was changed")
        return TokenGrant(access, refresh, now + dt.timedelta(seconds=access_seconds),
                          now + dt.timedelta(seconds=refresh_seconds))

    def _post(self, url: str, **body) -> httpx.Response:
        try:
            return self._http.post(url, auth=self._auth, headers={"Accept": "application/json"}, **body)
        except httpx.HTTPError as exc:
            raise IntuitUnavailable(f"Intuit did not answer ({type(exc).__name__}); try again in a minute") from None


def _error_code(response: httpx.Response) -> str | None:
    try:
        body = response.json()
    except ValueError:
        return None
    return body.get("error") if isinstance(body, dict) and isinstance(body.get("error"), str) else None


def _raise_for(response: httpx.Response) -> None:
    status, code = response.status_code, _error_code(response)
    if status == 429 or status >= 500:
        raise IntuitUnavailable(f"Intuit answered HTTP {status}; try again in a minute")
    if code == "invalid_grant":
        raise InvalidGrant("Intuit no longer accepts this authorization (invalid_grant)")
    raise OAuthRefused(
        f"Intuit refused the request: HTTP {status} {code or ''}".rstrip(),
        action="Check the bridge's QBWC_BRIDGE_QBO_CLIENT_ID, QBWC_BRIDGE_QBO_CLIENT_SECRET and that "
        "QBWC_BRIDGE_QBO_REDIRECT_URI is registered for BlueTrace's app at developer.intuit.com.",
    )
