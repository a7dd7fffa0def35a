"""The one place zenpy is built, and the one place its errors become ours.

zenpy 2.0.57 has sharp edges this module files down (see ../shared/reference/zendesk-notes.md):

* It sleeps on 429 + ``Retry-After`` in a loop with no cap unless ``ratelimit_budget`` is set; we
  always set it, and turn ``RatelimitBudgetExceeded`` into ``ZendeskRateLimited(budget_spent=True)``
  *outside* our retry policy, so the two never stack.
* It reads ``Retry-After`` with ``int()``: ``1.5`` raises ``ValueError``. A response hook on our
  session rounds the header up to whole seconds before zenpy sees it.
* It mounts a urllib3 retry adapter (503/413, 3 tries) only on sessions it creates, and only for
  https. We hand it our own session (timeout, User-Agent), so http (sandbox) and https behave the
  same and 5xx are retried once, by ``connectors.retry``.
* Its user cache never expires: ``disable_cache=True``.
* ``ZENPY_FORCE_SCHEME``/``ZENPY_FORCE_NETLOC`` would redirect every client in the process; a
  ``base_url`` is applied to this client's Api objects only.

What we use zenpy for is its transport: the 429 wait bounded by the budget, and the mapping of
error bodies to exceptions. Most calls go through :meth:`ZendeskClient.send` on one zenpy Api
object, so the budget (kept per Api object by zenpy) is effectively one per client and run; its
object layer (dirty tracking, caches, lazy generators) is used only for listing and creating user
fields. ``send`` relies on zenpy internals (``_build_url``, ``_call_api``), unchanged through
2.0.57; the contract tests pin the exact requests, so an upgrade that changes them fails there.
zenpy objects never leave ``connectors.zendesk``: callers get records and plain values.
"""

from __future__ import annotations

import email.utils
import math
import re
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, TypeVar
from urllib.parse import quote, urlsplit

import requests
from requests.adapters import HTTPAdapter
from zenpy import Zenpy
from zenpy.lib.api import BaseApi
from zenpy.lib.endpoint import Url
from zenpy.lib.exception import APIException, RatelimitBudgetExceeded

from connectors.budgets import wait_for
from connectors.http import make_session, no_answer, request_id
from connectors.retry import MAX_ATTEMPTS, call_with_retries
from connectors.zendesk.errors import (
    ZendeskAuthenticationError,
    ZendeskError,
    ZendeskRateLimited,
    ZendeskRecordNotFound,
    ZendeskRequestRejected,
    ZendeskTransientError,
)
from nps_engine.ports import RequestBudget

T = TypeVar("T")

# A 429 without a usable Retry-After (zenpy does not wait on those): what our policy waits.
DEFAULT_RETRY_AFTER = 5.0
WRITE_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})
# Numeric ids and job ids ("V3-47ed...") in paths, counted as one route.
_ID_SEGMENT = re.compile(r"/(?:\d+|V3-[0-9a-f]+)(?=/|\.json|$)")


@dataclass
class Traffic:
    """What this client sent, counted from every HTTP response (retries included)."""

    calls: int = 0
    writes: int = 0
    throttled: int = 0
    last_retry_after: float = DEFAULT_RETRY_AFTER
    by_path: dict[str, int] = field(default_factory=dict)

    def record(self, response: requests.Response) -> None:
        self.calls += 1
        method = (response.request.method or "GET").upper()
        self.writes += method in WRITE_METHODS
        path = _ID_SEGMENT.sub("/{id}", urlsplit(response.request.url or "").path)
        key = f"{method} {path}"
        self.by_path[key] = self.by_path.get(key, 0) + 1
        if response.status_code == 429:
            self.throttled += 1
            self.last_retry_after = float(response.headers.get("Retry-After") or 0) or (
                DEFAULT_RETRY_AFTER
            )


def whole_seconds(retry_after: str, now: datetime) -> str | None:
    """``Retry-After`` as zenpy can read it: whole seconds, rounded up; None when unreadable.

    RFC 9110 allows seconds or an HTTP date; Zendesk sends seconds, a proxy may send ``1.5``.
    """
    try:
        return str(max(0, math.ceil(float(retry_after))))
    except ValueError:
        pass
    try:
        when = email.utils.parsedate_to_datetime(retry_after)
    except (TypeError, ValueError):
        return None
    return str(max(1, math.ceil((when - now).total_seconds())))


class ZendeskClient:
    """zenpy configured our way, plus :meth:`call` (retry + translation) and :meth:`send`."""

    def __init__(
        self,
        *,
        subdomain: str,
        email: str | None = None,
        api_token: str | None = None,
        oauth_token: str | None = None,
        base_url: str | None = None,
        timeout: float = 30.0,
        ratelimit_budget_seconds: int = 120,
        max_attempts: int = MAX_ATTEMPTS,
        sleep: Callable[[float], None] = time.sleep,
        budget: RequestBudget | None = None,
    ) -> None:
        """``budget``: the account's allowance shared with other workers (distributed mode);
        each request waits its turn there before it is sent."""
        if not oauth_token and not (email and api_token):
            raise ValueError("Zendesk needs either email + api_token, or oauth_token")
        self.traffic = Traffic()
        self._sleep = sleep
        self._max_attempts = max_attempts
        self._budget = budget
        session = make_session(timeout)
        session.hooks["response"].append(self._on_response)
        if budget is not None:
            adapter = _BudgetedAdapter(budget, sleep, cap=float(ratelimit_budget_seconds))
            session.mount("https://", adapter)
            session.mount("http://", adapter)
        scheme, domain_subdomain, domain = _address(subdomain, base_url)
        self._zenpy = Zenpy(
            subdomain=domain_subdomain,
            domain=domain,
            email=email if not oauth_token else None,
            token=api_token if not oauth_token else None,
            oauth_token=oauth_token,
            session=session,
            timeout=timeout,
            ratelimit_budget=ratelimit_budget_seconds,
            disable_cache=True,
        )
        _use_scheme(self._zenpy, scheme)

    def _on_response(self, response: requests.Response, *_: Any, **__: Any) -> requests.Response:
        raw = response.headers.get("Retry-After")
        if raw is not None:
            fixed = whole_seconds(raw, datetime.now(UTC))
            if fixed is None:
                del response.headers["Retry-After"]
            else:
                response.headers["Retry-After"] = fixed
        self.traffic.record(response)
        if self._budget is not None:
            self._budget.observe(response.status_code, response.headers)
        return response

    def call(self, what: str, action: Callable[[Zenpy], T], *, retry: bool = True) -> T:
        """Run ``action(zenpy)`` under our retry policy; errors come out as ``ZendeskError``.

        ``what`` names the operation in error messages ("search user", "export tickets").
        ``action`` must consume any lazy zenpy generator itself, so paging errors land here too.
        ``retry=False`` is for writes whose outcome is unknown after a failure (creating a
        ticket): the caller reconciles instead of repeating them.
        """

        def attempt() -> T:
            try:
                return action(self._zenpy)
            except RatelimitBudgetExceeded:
                raise  # not retryable by our policy: zenpy already spent its budget waiting
            except Exception as error:
                translated = translate(error, what)
                if translated is None:
                    raise
                raise translated from error

        attempts = self._max_attempts if retry else 1
        try:
            return call_with_retries(attempt, sleep=self._sleep, max_attempts=attempts)
        except RatelimitBudgetExceeded:
            raise ZendeskRateLimited(
                f"{what}: still rate limited after waiting the whole budget "
                "(zendesk.ratelimit_budget_seconds); stopping here, the next run carries on",
                retry_after=self.traffic.last_retry_after,
                budget_spent=True,
            ) from None

    def send(
        self,
        method: str,
        path: str,
        *,
        params: Mapping[str, str] | None = None,
        payload: Mapping[str, Any] | None = None,
    ) -> Any:
        """One raw call through zenpy's 429 handling: for the endpoints zenpy does not wrap well
        (bulk ``update_many?ids=``, the cursor export whose cursor zenpy does not URL-encode).
        Returns the decoded JSON body (None for an empty one). Use inside :meth:`call`."""
        api: BaseApi = self._zenpy.tickets
        encoded = {key: quote(value, safe=",") for key, value in (params or {}).items()}
        url = api._build_url(Url(path, params=encoded))
        http_method = getattr(api.session, method.lower())
        response = api._call_api(http_method, url, json=payload, timeout=api.timeout)
        return response.json() if response.content else None


class _BudgetedAdapter(HTTPAdapter):
    """Sends each request only when the shared budget has room (at most ``cap`` seconds of
    waiting, then zenpy's own 429 handling takes over)."""

    def __init__(
        self, budget: RequestBudget, sleep: Callable[[float], None], *, cap: float
    ) -> None:
        super().__init__()
        self._budget, self._wait, self._cap = budget, sleep, cap

    def send(self, request: requests.PreparedRequest, *args: Any, **kwargs: Any) -> Any:
        wait_for(self._budget.acquire, self._wait, self._cap)
        return super().send(request, *args, **kwargs)


def translate(error: BaseException, what: str) -> ZendeskError | None:
    """Our error for one zenpy/requests failure, or None when it is not a vendor fault."""
    if isinstance(error, ZendeskError):
        return error
    response = getattr(error, "response", None)
    if isinstance(error, APIException | requests.HTTPError) and response is not None:
        return error_for_response(response, what)
    if isinstance(error, requests.exceptions.RetryError):
        return ZendeskTransientError(f"{what}: the server kept failing")
    if isinstance(error, requests.ConnectionError | requests.Timeout):
        return ZendeskTransientError(f"{what}: no answer from {no_answer(error)}")
    if isinstance(error, ValueError) and "invalid literal for int()" in str(error):
        # zenpy's int(Retry-After); our hook makes this unreachable, but never crash on it.
        return ZendeskRateLimited(f"{what}: rate limited", retry_after=DEFAULT_RETRY_AFTER)
    return None


def error_for_response(response: requests.Response, what: str) -> ZendeskError:
    """Which branch of the tree an HTTP failure belongs to (docstring of ``errors.py``)."""
    status = response.status_code
    rid = request_id(response)
    detail = _detail(response)
    message = f"{what}: {detail}" if detail else what
    if status in (401, 403):
        hint = (
            "check zendesk.email/api_token (or oauth_token)"
            if status == 401
            else "the token's user lacks permission for this"
        )
        return ZendeskAuthenticationError(f"{message}; {hint}", status=status, request_id=rid)
    if status == 429:
        wait = float(response.headers.get("Retry-After") or 0) or DEFAULT_RETRY_AFTER
        return ZendeskRateLimited(message, retry_after=wait, status=status, request_id=rid)
    if status == 404:
        return ZendeskRecordNotFound(message, status=status, request_id=rid)
    if status == 409 or status >= 500:
        return ZendeskTransientError(message, status=status, request_id=rid)
    return ZendeskRequestRejected(message, status=status, request_id=rid)


def _detail(response: requests.Response) -> str:
    """``error: description`` from a JSON error body; never ``details``, which can echo emails."""
    try:
        body = response.json()
    except ValueError:
        return ""
    if not isinstance(body, dict):
        return ""
    error = body.get("error")
    if isinstance(error, dict):  # some endpoints nest {"title", "message"}
        error = error.get("title") or error.get("message")
    description = body.get("description")
    return ": ".join(str(part) for part in (error, description) if part)


def _address(subdomain: str, base_url: str | None) -> tuple[str, str, str]:
    """(scheme, zenpy subdomain, zenpy domain) so zenpy's ``{subdomain}.{domain}`` is the netloc.

    zenpy insists on a subdomain, so an override ``http://127.0.0.1:8702`` is split as
    ``127`` + ``0.0.1:8702``. A host without a dot cannot be split: ``localhost`` is mapped to
    127.0.0.1, anything else is refused with a clear message.
    """
    if base_url is None:
        return "https", subdomain, "zendesk.com"
    parts = urlsplit(base_url.rstrip("/"))
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ValueError(f"zendesk.base_url {base_url!r} must look like http(s)://host[:port]")
    if parts.path not in ("", "/") or parts.query:
        raise ValueError(f"zendesk.base_url {base_url!r} must not have a path: zenpy adds /api/v2")
    netloc = parts.netloc.rpartition("@")[2]
    if parts.hostname == "localhost":
        netloc = netloc.replace("localhost", "127.0.0.1", 1)
    head, dot, tail = netloc.partition(".")
    if not dot:
        raise ValueError(f"zendesk.base_url host in {base_url!r} needs a dot (use an IP or FQDN)")
    return parts.scheme, head, tail


def _use_scheme(zenpy: Zenpy, scheme: str) -> None:
    """Set ``protocol`` on every Api object this client holds, nested ones included
    (``users.search`` is a separate object); forgetting one sends it to https and fails."""
    seen: set[int] = set()
    pending: list[object] = [zenpy]
    while pending:
        holder = pending.pop()
        for value in vars(holder).values():
            if isinstance(value, BaseApi) and id(value) not in seen:
                seen.add(id(value))
                value.protocol = scheme
                pending.append(value)
