"""Who is asking: the session cookie, CSRF tokens and sign-in attempt limits of ``/admin``.

- The cookie holds a random token (the database keeps its SHA-256): HttpOnly, SameSite=Lax,
  Secure when ``web.public_url`` is https, scoped to the admin path, expiring with the session.
- Every form carries a CSRF token: the session's own (stored with it) once signed in, and before
  that a double-submit cookie (the sign-in forms). POSTs whose ``Origin`` is another site are
  refused as well.
- Sign-in attempts are limited per IP address (every attempt) and per account (failures), in a
  sliding window, in memory: enough to make guessing a password hopeless.
"""

from __future__ import annotations

import hmac
import secrets
import time
from collections import deque
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import timedelta
from threading import Lock
from urllib.parse import quote

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import JSONResponse, RedirectResponse, Response

from nps_engine.store.dashboard_users import SignedIn, session_user, store_role
from nps_engine.web.context import WebContext

SESSION_COOKIE = "nps_admin"
FORM_COOKIE = "nps_admin_form"
STORE_COOKIE = "nps_admin_store"  # the store chosen in the picker (its id; not a secret)
LIMIT_WINDOW_SECONDS = 15 * 60.0


@dataclass(frozen=True, slots=True)
class StoreUser(SignedIn):
    """The signed-in person as the chosen store's dashboard sees them: ``role`` is their role in
    that store, ``store`` its context, and ``stores`` the (id, name) of every store they may
    open (the picker shows it when there are two or more)."""

    store: WebContext | None = None
    stores: tuple[tuple[str, str], ...] = ()

    @property
    def context(self) -> WebContext:
        assert self.store is not None
        return self.store


Handler = Callable[[Request, StoreUser], Awaitable[Response]]


class Attempts:
    """Sign-in attempts per key (an IP address or an account) in a sliding window."""

    def __init__(self, limit: int, window: float, clock: Callable[[], float] = time.monotonic):
        self.limit, self.window, self.clock = limit, window, clock
        self._seen: dict[str, deque[float]] = {}
        self._lock = Lock()

    def blocked(self, key: str) -> bool:
        with self._lock:
            return len(self._recent(key)) >= self.limit

    def record(self, key: str) -> None:
        with self._lock:
            self._recent(key).append(self.clock())
            if len(self._seen) > 10_000:  # forget idle keys so a scan cannot grow memory
                for idle in [k for k, hits in self._seen.items() if not hits]:
                    del self._seen[idle]

    def clear(self, key: str) -> None:
        with self._lock:
            self._seen.pop(key, None)

    def _recent(self, key: str) -> deque[float]:
        hits = self._seen.setdefault(key, deque())
        while hits and hits[0] <= self.clock() - self.window:
            hits.popleft()
        return hits


@dataclass
class Guard:
    context: WebContext
    root: str  # the path of web.public_url ("" or "/nps")
    origin: str
    secure: bool
    by_ip: Attempts
    by_account: Attempts

    @property
    def admin_path(self) -> str:
        return f"{self.root}/admin"

    @property
    def lifetime(self) -> timedelta:
        return timedelta(hours=self.context.settings.dashboard.session_hours)

    async def user(self, request: Request) -> SignedIn | None:
        token = request.cookies.get(SESSION_COOKIE)
        if not token:
            return None
        context = self.context
        return await run_in_threadpool(
            session_user, context.database, context.store_id, token, context.clock()
        )

    def signed_in(self, handler: Handler) -> Callable[[Request], Awaitable[Response]]:
        """Run ``handler`` only for a signed-in user; POSTs must also pass the CSRF checks."""

        async def endpoint(request: Request) -> Response:
            user = await self.user(request)
            if user is None:
                return self.refuse(request)
            if request.method == "POST" and not await self.form_is_ours(request, user.csrf_token):
                return Response("This form has expired; reload the page.", status_code=403)
            chosen = await run_in_threadpool(self.in_store, user, request.cookies.get(STORE_COOKIE))
            return await handler(request, chosen)

        return endpoint

    def in_store(self, user: SignedIn, wanted: str | None) -> StoreUser:
        """``user`` in the store ``wanted`` (the picker's cookie) when they have an account
        there, with that account's role; else in the store they signed in to."""
        home = self.context
        roles = {home.store_id: (home, user.role)}
        for other in home.dashboard_stores:
            role = store_role(other.database, other.store_id, user.email)
            if role is not None:
                roles[other.store_id] = (other, role)
        store, role = roles.get(wanted or "", roles[home.store_id])
        stores = tuple((ctx.store_id, ctx.settings.store.name) for ctx, _ in roles.values())
        return StoreUser(
            user.user_id, user.email, role, user.csrf_token, user.expires_at, store, stores
        )

    def choose_store(self, response: Response, store_id: str) -> None:
        response.set_cookie(
            STORE_COOKIE, store_id, max_age=int(self.lifetime.total_seconds()),
            path=self.admin_path, secure=self.secure, httponly=True, samesite="lax",
        )  # fmt: skip

    def refuse(self, request: Request) -> Response:
        wants_json = request.url.path.endswith(
            ".json"
        ) or "application/json" in request.headers.get("accept", "")
        if wants_json:
            return JSONResponse({"error": "sign in first"}, status_code=401)
        target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
        return RedirectResponse(
            f"{self.admin_path}/sign-in?next={quote(target, safe='')}", status_code=303
        )

    async def form_is_ours(self, request: Request, expected: str) -> bool:
        origin = request.headers.get("origin")
        if origin not in (None, "null", self.origin) and origin != _own_origin(request):
            return False
        form = await request.form()
        given = form.get("csrf")
        return isinstance(given, str) and hmac.compare_digest(given, expected)

    def set_session(self, response: Response, token: str) -> None:
        response.set_cookie(
            SESSION_COOKIE, token, max_age=int(self.lifetime.total_seconds()),
            path=self.admin_path, secure=self.secure, httponly=True, samesite="lax",
        )  # fmt: skip

    def clear_session(self, response: Response) -> None:
        response.delete_cookie(
            SESSION_COOKIE, path=self.admin_path, secure=self.secure, httponly=True, samesite="lax"
        )

    def form_token(self, request: Request) -> str:
        """The double-submit token of the sign-in forms (kept if the browser has one)."""
        return request.cookies.get(FORM_COOKIE) or secrets.token_urlsafe(24)

    def set_form_token(self, response: Response, token: str) -> None:
        response.set_cookie(
            FORM_COOKIE, token, max_age=3600, path=self.admin_path, secure=self.secure,
            httponly=True, samesite="lax",
        )  # fmt: skip

    def client(self, request: Request) -> str:
        return request.client.host if request.client else "unknown"

    def safe_next(self, target: str | None) -> str:
        """Only our own admin pages: never an open redirect to another site."""
        if target and target.startswith(self.admin_path + "/") and "//" not in target[1:]:
            return target
        if target == self.admin_path:
            return target
        return self.admin_path


def _own_origin(request: Request) -> str:
    return f"{request.url.scheme}://{request.url.netloc}"


def build_guard(context: WebContext) -> Guard:
    from urllib.parse import urlsplit

    public = urlsplit(str(context.web.public_url))
    dashboard = context.settings.dashboard
    return Guard(
        context=context,
        root=public.path.rstrip("/"),
        origin=f"{public.scheme}://{public.netloc}",
        secure=public.scheme == "https",
        by_ip=Attempts(dashboard.sign_ins_per_ip, LIMIT_WINDOW_SECONDS),
        by_account=Attempts(dashboard.failed_sign_ins_per_account, LIMIT_WINDOW_SECONDS),
    )
