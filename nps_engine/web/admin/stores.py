"""The store picker (``POST /admin/store``): when the config has several stores, a signed-in
person switches the dashboard to another store they have an account in; every page, filter and
export then reads that store, with their role there (``guard.StoreUser``).

The choice is a cookie holding the store id (HttpOnly, SameSite=Lax, scoped to ``/admin``); it
grants nothing by itself: each request checks again that the person has an account in that store,
and falls back to the store they signed in to when not.
"""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import BaseRoute, Route

from nps_engine.web.admin.guard import Guard, StoreUser
from nps_engine.web.admin.render import AdminPages


def routes(guard: Guard, pages: AdminPages) -> list[BaseRoute]:
    async def choose(request: Request, user: StoreUser) -> Response:
        form = await request.form()
        wanted = str(form.get("store", ""))
        if wanted not in dict(user.stores):
            return pages.render("missing.html.j2", user, 404)
        response = RedirectResponse(guard.safe_next(str(form.get("next", ""))), status_code=303)
        guard.choose_store(response, wanted)
        return response

    return [Route("/store", guard.signed_in(choose), methods=["POST"])]
