"""The ASGI app served by ``nps serve``: survey pages, unsubscribe, health, vendor webhooks.

Composition is one explicit tuple: a route module exposes ``routes(context) -> list[BaseRoute]``
and is listed in :data:`ROUTE_MODULES`. What a module needs from the outside world (the Shopify
webhook reader, the Zendesk ticket tagger) arrives in ``WebContext.adapters``, built by
``jobs/bootstrap.py``.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from datetime import datetime
from pathlib import Path
from types import ModuleType

from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import PlainTextResponse, RedirectResponse, Response
from starlette.routing import BaseRoute, Match, Mount
from starlette.staticfiles import StaticFiles

from nps_engine.config.settings import Settings
from nps_engine.store.database import Database
from nps_engine.web import admin, health, shopify_webhooks, survey_pages, zendesk_webhooks
from nps_engine.web.body_limits import BodyLimitMiddleware, BodyLimits
from nps_engine.web.context import WebAdapters, WebContext, utc_now
from nps_engine.web.security import SecurityHeaders

STATIC = Path(__file__).parent / "static"

# Each module: ``routes(context: WebContext) -> list[BaseRoute]``. Add webhook modules here.
ROUTE_MODULES: tuple[ModuleType, ...] = (
    health,
    survey_pages,
    shopify_webhooks,
    zendesk_webhooks,
    admin,
)


def create_app(
    settings: Settings,
    database: Database,
    *,
    clock: Callable[[], datetime] = utc_now,
    adapters: WebAdapters | None = None,
    modules: Sequence[ModuleType] = ROUTE_MODULES,
    dashboard_stores: Sequence[WebContext] = (),
) -> Starlette:
    """The app for one store. ``clock`` is injectable so tests can age tokens and throttle;
    ``adapters`` come from ``jobs.bootstrap.web_adapters`` (webhooks answer 404 without them);
    ``dashboard_stores``: the config's other stores, offered by the dashboard's store picker."""
    context = WebContext(
        settings=settings,
        database=database,
        clock=clock,
        adapters=adapters or WebAdapters(),
        dashboard_stores=tuple(dashboard_stores),
    )
    routes: list[BaseRoute] = []
    for module in modules:
        routes.extend(module.routes(context))
    routes.append(Mount("/static", app=StaticFiles(directory=STATIC), name="static"))
    limits = settings.limits
    body_limits = BodyLimits(
        webhook_bytes=limits.webhook_body_kb * 1024,
        form_bytes=limits.form_body_kb * 1024,
        timeout_seconds=limits.body_timeout_seconds,
    )
    app = Starlette(
        routes=routes,
        middleware=[
            Middleware(SecurityHeaders),
            # Inside Starlette's error middleware, outside the routes: it sees their exceptions.
            Middleware(BodyLimitMiddleware, limits=body_limits),
        ],
    )
    # Starlette's own trailing-slash redirect builds its Location from the Host header (an open
    # redirect); ours uses web.public_url.
    app.router.redirect_slashes = False
    app.add_exception_handler(404, slash_redirect(app.router.routes, settings))
    app.state.context = context
    return app


def slash_redirect(
    known: Sequence[BaseRoute], settings: Settings
) -> Callable[[Request, Exception], Awaitable[Response]]:
    """A 404 handler that redirects ``/health/`` to ``/health`` (and back) on the public URL."""
    public = str(settings.web.public_url).rstrip("/") if settings.web else None

    async def not_found(request: Request, _error: Exception) -> Response:
        path = request.url.path
        other = path.rstrip("/") if path.endswith("/") else path + "/"
        scope = {"type": "http", "path": other, "method": request.method, "root_path": ""}
        if public and other and any(route.matches(scope)[0] != Match.NONE for route in known):
            query = f"?{request.url.query}" if request.url.query else ""
            return RedirectResponse(public + other + query)
        return PlainTextResponse("Not Found", status_code=404)

    return not_found
