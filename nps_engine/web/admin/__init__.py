"""The feedback workspace under ``/admin``: sign-in, the overview, the responses feed, one
answer's page, exports and the store picker. Nothing under ``/admin`` answers without a session
(a redirect to the sign-in page, or 401 for JSON); its stylesheet and script are the public
``/static/admin.*``.
"""

from __future__ import annotations

from starlette.routing import BaseRoute, Mount

from nps_engine.web.admin import answers, overview, sign_in, stores
from nps_engine.web.admin.guard import build_guard
from nps_engine.web.admin.render import AdminPages
from nps_engine.web.context import WebContext


def routes(context: WebContext) -> list[BaseRoute]:
    if context.settings.web is None:
        return []
    guard = build_guard(context)
    store = context.settings.store
    pages = AdminPages(guard.root, store.name, store.timezone)
    admin_routes: list[BaseRoute] = [
        *sign_in.routes(guard, pages),
        *overview.routes(guard, pages),
        *answers.routes(guard, pages),
        *stores.routes(guard, pages),
    ]
    return [Mount("/admin", routes=admin_routes)]
