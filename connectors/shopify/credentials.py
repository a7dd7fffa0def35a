"""Where the Admin API token comes from: a Dev Dashboard app's client credentials, or the
permanent token of an app created in the store admin before 2026.

Since 2026-01-01 a store can no longer create apps in its admin; an app made in the Dev Dashboard
and installed on the store gets tokens through the OAuth client credentials grant:
``POST https://{shop}.myshopify.com/admin/oauth/access_token`` with ``grant_type``,
``client_id`` and ``client_secret`` form-encoded, answered with ``access_token``, ``scope``
(comma-separated) and ``expires_in`` (about 24 hours)
(https://shopify.dev/docs/apps/build/authentication-authorization/access-tokens/client-credentials-grant).

The token lives in memory only and is asked for again shortly before it expires, or at once when
Shopify answers 401 (:meth:`ClientCredentials.renew`). Neither the token nor the secret is ever
put in a log line or an error message.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Protocol

import requests

from connectors.http import request_id
from connectors.shopify.errors import SYSTEM, GrantRefused, ShopifyTransientError

log = logging.getLogger(__name__)

# Renew this long before the announced expiry (or a tenth of the lifetime when shorter), so a
# request never leaves with a token that dies on its way.
RENEW_MARGIN_SECONDS = 300.0

DEV_DASHBOARD_HINT = (
    "check in the Dev Dashboard (dev.shopify.com > Apps > your app) that shopify.client_id and "
    "shopify.client_secret are this app's (Settings > Credentials), that the app has a released "
    "version and is installed on {shop}, and that the store belongs to the app's organisation"
)


class TokenSource(Protocol):
    """What the client asks for a token; ``kind`` says which access this is, for people."""

    kind: str

    def token(self) -> str: ...

    def renew(self) -> bool:
        """Forget the current token after a 401; True when a new one can be asked for."""
        ...

    def granted_scopes(self) -> tuple[str, ...] | None:
        """The scopes the grant listed, or None when this kind of access does not say."""
        ...


@dataclass
class StaticToken:
    """The permanent ``shpat_`` token of an app created in the store admin (before 2026)."""

    value: str
    kind: str = "legacy admin app token (shopify.access_token)"

    def token(self) -> str:
        return self.value

    def renew(self) -> bool:
        return False

    def granted_scopes(self) -> tuple[str, ...] | None:
        return None

    def __repr__(self) -> str:
        return "StaticToken(***)"


class ClientCredentials:
    """Tokens of a Dev Dashboard app installed on the shop, bought with its id and secret."""

    kind = "Dev Dashboard app (client credentials grant)"

    def __init__(
        self,
        grant_url: str,
        shop: str,
        client_id: str,
        client_secret: str,
        http: requests.Session,
        *,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.grant_url = grant_url
        self.shop = shop
        self._client_id = client_id
        self._client_secret = client_secret
        self._http = http
        self._clock = clock
        self._token: str | None = None
        self._renew_at = 0.0
        self._scopes: tuple[str, ...] | None = None
        self.grants = 0  # tokens obtained in this process (the bench and tests read it)

    def __repr__(self) -> str:
        return f"ClientCredentials(shop={self.shop!r}, client_id=***)"

    def token(self) -> str:
        if self._token is None or self._clock() >= self._renew_at:
            self._grant()
        assert self._token is not None
        return self._token

    def renew(self) -> bool:
        self._token = None
        return True

    def granted_scopes(self) -> tuple[str, ...] | None:
        if self._scopes is None:
            self.token()
        return self._scopes

    def _grant(self) -> None:
        form = {
            "grant_type": "client_credentials",
            "client_id": self._client_id,
            "client_secret": self._client_secret,
        }
        try:
            response = self._http.post(
                self.grant_url, data=form, headers={"Accept": "application/json"}
            )
        except (requests.ConnectionError, requests.Timeout) as exc:
            raise ShopifyTransientError(
                f"no answer from Shopify's token endpoint: {type(exc).__name__}", system=SYSTEM
            ) from exc
        if response.status_code >= 500 or response.status_code == 429:
            raise ShopifyTransientError(
                "Shopify's token endpoint failed",
                system=SYSTEM,
                status=response.status_code,
                request_id=request_id(response),
            )
        body = _json(response)
        token = body.get("access_token")
        if response.status_code >= 400 or not isinstance(token, str) or not token:
            raise GrantRefused(
                f"Shopify refused the client credentials grant ({_reason(response, body)}): "
                + DEV_DASHBOARD_HINT.format(shop=self.shop),
                system=SYSTEM,
                status=response.status_code,
                request_id=request_id(response),
            )
        lifetime = _seconds(body.get("expires_in"))
        margin = min(RENEW_MARGIN_SECONDS, lifetime / 10)
        self._token = token
        self._renew_at = self._clock() + lifetime - margin
        self._scopes = tuple(
            s.strip() for s in str(body.get("scope") or "").split(",") if s.strip()
        )
        self.grants += 1
        log.info("shopify: new access token for %s, valid %.0f s", self.shop, lifetime)


def _json(response: requests.Response) -> dict[str, object]:
    try:
        body = response.json()
    except ValueError:
        return {}
    return body if isinstance(body, dict) else {}


def _reason(response: requests.Response, body: dict[str, object]) -> str:
    """The OAuth error code and description, never the request (it holds the secret)."""
    parts = [f"HTTP {response.status_code}"]
    for key in ("error", "error_description", "errors"):
        if body.get(key):
            parts.append(str(body[key])[:200])
    return ": ".join(parts)


def _seconds(value: object) -> float:
    """``expires_in`` in seconds; 24 hours when Shopify leaves it out (the documented life)."""
    try:
        seconds = float(value)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return 86_400.0
    return seconds if seconds > 0 else 86_400.0
