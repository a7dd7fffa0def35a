"""The ASGI app served by ``nps serve``: survey pages, unsubscribe, health, vendor webhooks.

Composition is one explicit tuple: a route module exposes ``routes(context) -> list[BaseRoute]``
and is listed in :data:`ROUTE_MODULES`. What a module needs from the outside world (the Shopify
webhook reader, the Zendesk ticket tagger) arrives in ``WebContext.adapters``, built by
``jobs/bootstrap.py``.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import datetime
from pathlib import Path
from types import ModuleType

from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.routing import BaseRoute, Mount
from starlette.staticfiles import StaticFiles

from nps_engine.config.settings import Settings
from nps_engine.store.database import Database
from nps_engine.web import admin, health, shopify_webhooks, survey_pages, zendesk_webhooks
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
) -> Starlette:
    """The app for one store. ``clock`` is injectable so tests can age tokens and throttle;
    ``adapters`` come from ``jobs.bootstrap.web_adapters`` (webhooks answer 404 without them)."""
    context = WebContext(
        settings=settings, database=database, clock=clock, adapters=adapters or WebAdapters()
    )
    routes: list[BaseRoute] = []
    for module in modules:
        routes.extend(module.routes(context))
    routes.append(Mount("/static", app=StaticFiles(directory=STATIC), name="static"))
    app = Starlette(routes=routes, middleware=[Middleware(SecurityHeaders)])
    app.state.context = context
    return app
