"""``/admin/sign-in``, the one-time link ``/admin/link/{token}``, and ``/admin/sign-out``."""

from __future__ import annotations

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import BaseRoute, Route

from nps_engine.records import normalise_email
from nps_engine.store.dashboard_users import (
    SignedIn,
    check_password,
    end_session,
    start_session,
    use_sign_in_link,
)
from nps_engine.web.admin.guard import FORM_COOKIE, SESSION_COOKIE, Guard
from nps_engine.web.admin.render import AdminPages

MAX_FIELD = 1024


def routes(guard: Guard, pages: AdminPages) -> list[BaseRoute]:
    context = guard.context

    def form_page(request: Request, status: int = 200, **values: object) -> Response:
        token = guard.form_token(request)
        next_page = guard.safe_next(request.query_params.get("next"))
        response = pages.render(
            "sign_in.html.j2", None, status, form_csrf=token, next_page=next_page,
            **{"error": None, "email": "", **values},
        )  # fmt: skip
        guard.set_form_token(response, token)
        return response

    async def sign_in_page(request: Request) -> Response:
        if await guard.user(request) is not None:
            return RedirectResponse(guard.admin_path, status_code=303)
        return form_page(request)

    async def sign_in(request: Request) -> Response:
        form = await request.form()
        email = str(form.get("email", ""))[:MAX_FIELD]
        password = str(form.get("password", ""))[:MAX_FIELD]
        expected = request.cookies.get(FORM_COOKIE, "")
        if not expected or form.get("csrf") != expected or not await _same_site(guard, request):
            return form_page(request, 403, error="This form has expired; please try again.")
        ip, account = guard.client(request), normalise_email(email) or "-"
        if guard.by_ip.blocked(ip) or guard.by_account.blocked(account):
            return form_page(
                request, 429, email=email,
                error="Too many sign-in attempts. Wait 15 minutes and try again.",
            )  # fmt: skip
        guard.by_ip.record(ip)
        user_id = await run_in_threadpool(
            check_password, context.database, context.store_id, email, password
        )
        if user_id is None:
            guard.by_account.record(account)
            return form_page(request, 401, email=email, error="Wrong email or password.")
        guard.by_account.clear(account)
        return await _signed_in_response(guard, user_id, str(form.get("next", "")))

    async def link_page(request: Request) -> Response:
        # A GET only shows a button: mail and chat scanners open links, and must not use this one.
        token = guard.form_token(request)
        response = pages.render(
            "link.html.j2", None, form_csrf=token, link=request.path_params["token"]
        )
        guard.set_form_token(response, token)
        return response

    async def use_link(request: Request) -> Response:
        form = await request.form()
        expected = request.cookies.get(FORM_COOKIE, "")
        if not expected or form.get("csrf") != expected or not await _same_site(guard, request):
            return form_page(request, 403, error="This form has expired; please try again.")
        ip = guard.client(request)
        if guard.by_ip.blocked(ip):
            return form_page(request, 429, error="Too many sign-in attempts. Wait 15 minutes.")
        guard.by_ip.record(ip)
        user_id = await run_in_threadpool(
            use_sign_in_link, context.database, context.store_id,
            str(form.get("link", ""))[:MAX_FIELD], context.clock(),
        )  # fmt: skip
        if user_id is None:
            return form_page(
                request, 401, error="That sign-in link has expired or was already used."
            )
        return await _signed_in_response(guard, user_id, guard.admin_path)

    async def sign_out(request: Request, user: SignedIn) -> Response:
        token = request.cookies.get(SESSION_COOKIE, "")
        await run_in_threadpool(end_session, context.database, token)
        response = RedirectResponse(f"{guard.admin_path}/sign-in", status_code=303)
        guard.clear_session(response)
        return response

    return [
        Route("/sign-in", sign_in_page, methods=["GET"]),
        Route("/sign-in", sign_in, methods=["POST"]),
        Route("/link/{token}", link_page, methods=["GET"]),
        Route("/link", use_link, methods=["POST"]),
        Route("/sign-out", guard.signed_in(sign_out), methods=["POST"]),
    ]


async def _same_site(guard: Guard, request: Request) -> bool:
    origin = request.headers.get("origin")
    own = f"{request.url.scheme}://{request.url.netloc}"
    return origin in (None, "null", guard.origin, own)


async def _signed_in_response(guard: Guard, user_id: int, next_page: str) -> Response:
    context = guard.context
    token = await run_in_threadpool(
        start_session, context.database, context.store_id, user_id, context.clock(),
        guard.lifetime,
    )  # fmt: skip
    response = RedirectResponse(guard.safe_next(next_page), status_code=303)
    guard.set_session(response, token)
    return response
