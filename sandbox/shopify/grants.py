"""The OAuth client credentials grant of a Dev Dashboard app, with tokens that expire.

``POST /admin/oauth/access_token`` with ``grant_type=client_credentials``, ``client_id`` and
``client_secret`` (form-encoded, as Shopify's docs show; Shopify's Node library sends the same
fields as JSON, so both are read) answers ``{"access_token", "scope", "expires_in"}``
(https://shopify.dev/docs/apps/build/authentication-authorization/access-tokens/client-credentials-grant).
Real tokens last about 24 hours; here the lifetime is a setting, so a test sees one expire in the
middle of a sync. A wrong client id or secret gets OAuth's ``invalid_client`` (RFC 6749 section
5.2; Shopify's exact wording is unverified), an app that is not installed ``app_not_installed``.

The permanent token of an app created in the store admin before 2026 (``shpat_...``) is still
accepted, as Shopify keeps honouring those.
"""

from __future__ import annotations

import json
import secrets
import threading
from collections.abc import Callable
from datetime import datetime, timedelta
from urllib.parse import parse_qs

from sandbox.loopback import Request, Response

DEFAULT_CLIENT_ID = "sandbox0client0id00000000000000000"
DEFAULT_CLIENT_SECRET = "shpss_sandbox_client_secret_000000"  # noqa: S105 - loopback only
DEFAULT_TOKEN_LIFETIME = timedelta(hours=24)
# What a Dev Dashboard app for nps-loop is given on install (sync, tags, rewards).
DEFAULT_SCOPES = (
    "read_orders",
    "read_all_orders",
    "read_customers",
    "write_customers",
    "read_fulfillments",
    "read_returns",
    "write_discounts",
)


class AppGrants:
    """The tokens one installed app was granted, each with its expiry on the simulator's clock."""

    def __init__(
        self,
        clock: Callable[[], datetime],
        *,
        client_id: str = DEFAULT_CLIENT_ID,
        client_secret: str = DEFAULT_CLIENT_SECRET,
        scopes: tuple[str, ...] = DEFAULT_SCOPES,
        token_lifetime: timedelta = DEFAULT_TOKEN_LIFETIME,
        installed: bool = True,
        permanent_token: str | None = None,
    ) -> None:
        self.clock = clock
        self.client_id = client_id
        self.client_secret = client_secret
        self.scopes = scopes
        self.token_lifetime = token_lifetime
        self.installed = installed
        self.permanent_token = permanent_token
        self.granted = 0  # tokens handed out, for tests
        self._expiry: dict[str, datetime] = {}
        self._lock = threading.Lock()

    def grant(self, request: Request) -> Response:
        fields = _fields(request)
        if fields.get("grant_type") != "client_credentials":
            return _oauth_error(
                400, "unsupported_grant_type", "grant_type must be client_credentials"
            )
        same_id = secrets.compare_digest(fields.get("client_id", ""), self.client_id)
        same_secret = secrets.compare_digest(fields.get("client_secret", ""), self.client_secret)
        if not (same_id and same_secret):
            return _oauth_error(401, "invalid_client", "Client authentication failed.")
        if not self.installed:
            return _oauth_error(400, "app_not_installed", "The app is not installed on this shop.")
        token = "shpat_" + secrets.token_hex(16)
        with self._lock:
            self._expiry[token] = self.clock() + self.token_lifetime
            self.granted += 1
        return Response.json(
            200,
            {
                "access_token": token,
                "scope": ",".join(self.scopes),
                "expires_in": int(self.token_lifetime.total_seconds()),
            },
        )

    def accepts(self, token: str | None) -> bool:
        """A live granted token, or the legacy permanent one."""
        if token is None:
            return False
        if self.permanent_token is not None and secrets.compare_digest(token, self.permanent_token):
            return True
        with self._lock:
            expiry = self._expiry.get(token)
        return expiry is not None and self.clock() < expiry

    def revoke_all(self) -> None:
        """Every granted token stops working now (an uninstall, a rotated secret)."""
        with self._lock:
            self._expiry.clear()

    def has_scope(self, scope: str) -> bool:
        return scope in self.scopes


def _fields(request: Request) -> dict[str, str]:
    if request.headers.get("content-type", "").startswith("application/json"):
        try:
            document = json.loads(request.body or b"{}")
        except ValueError:
            return {}
        return {str(k): str(v) for k, v in document.items()} if isinstance(document, dict) else {}
    parsed = parse_qs(request.body.decode("utf-8", errors="replace"))
    return {name: values[0] for name, values in parsed.items()}


def _oauth_error(status: int, error: str, description: str) -> Response:
    return Response.json(status, {"error": error, "error_description": description})
