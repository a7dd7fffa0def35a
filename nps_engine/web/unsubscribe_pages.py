"""Unsubscribe: ``GET /u/{token}`` asks, ``POST /u/{token}`` does it.

The POST is RFC 8058 one-click: mail providers (Gmail, Yahoo, Apple) send
``List-Unsubscribe=One-Click`` to the URL in the ``List-Unsubscribe`` header, without cookies or
a page fetch first, so the signed token in the URL is the whole authorisation (no form nonce).
The GET only shows a confirmation button: link scanners must not unsubscribe anyone.
Unsubscribe tokens stay valid for years (``UNSUBSCRIBE_MAX_AGE``); the address is suppressed
for every future survey, whatever the customer id.

No ORM here: the invite is one Core read (in place on SQLite, see ``answer_queue``), the
suppression one Core insert on a worker thread (a write may wait for another writer).
"""

from __future__ import annotations

from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from nps_engine.invite_tokens import Purpose, TokenError, TokenExpired
from nps_engine.records import SuppressionReason
from nps_engine.store.invites import InviteContact, contact_of, contact_read
from nps_engine.store.suppressions import suppress
from nps_engine.web.answer_queue import AnswerQueue
from nps_engine.web.pages import Pages
from nps_engine.web.rate_limit import RateLimiter


class UnsubscribePages:
    def __init__(self, pages: Pages, limiter: RateLimiter, store: AnswerQueue) -> None:
        self.pages = pages
        self.limiter = limiter
        self.store = store
        self.context = pages.context
        self.contact = contact_read(self.context.database.engine.dialect)

    def routes(self) -> list[BaseRoute]:
        return [
            Route("/u/{token}", self.confirm, methods=["GET"]),
            Route("/u/{token}", self.unsubscribe, methods=["POST"]),
        ]

    async def confirm(self, request: Request) -> Response:
        invite = await self._invite(request.path_params["token"])
        if isinstance(invite, Response):
            return self._localised(request, invite)
        texts = self.pages.texts_for(invite.locale)
        return self.pages.render(
            "unsubscribe.html.j2",
            texts,
            title=texts("unsubscribe_title"),
            heading=texts("unsubscribe_title"),
            message=texts("unsubscribe_question"),
            button=texts("unsubscribe_button"),
            action=f"{self.pages.root}/u/{request.path_params['token']}",
        )

    async def unsubscribe(self, request: Request) -> Response:
        client = request.client.host if request.client else "unknown"
        # Mail providers send RFC 8058 one-click POSTs from a few addresses, for many customers:
        # a signed, valid token is its own proof, so those skip the per-address limit.
        one_click = await self._one_click(request)
        if not one_click and not self.limiter.allow(client):
            response = self.pages.message(self.pages.texts_for_request(request), "too_many", 429)
            response.headers["retry-after"] = "60"
            return response
        invite = await self._invite(request.path_params["token"])
        if isinstance(invite, Response):
            return self._localised(request, invite)
        await run_in_threadpool(self._suppress, invite)
        return self.pages.message(self.pages.texts_for(invite.locale), "unsubscribed", 200)

    async def _one_click(self, request: Request) -> bool:
        try:
            form = await request.form(max_files=0, max_fields=10)
        except (ValueError, KeyError, HTTPException):
            return False
        if form.get("List-Unsubscribe") != "One-Click":
            return False
        try:
            self.pages.unsubscribe_tokens.verify(
                request.path_params["token"], Purpose.UNSUBSCRIBE, self.context.clock()
            )
        except TokenError:
            return False
        return True

    async def _invite(self, token: str) -> InviteContact | Response:
        """The invite, or a bare status response for a bad token (localised by the caller)."""
        now = self.context.clock()
        try:
            invite_id = self.pages.unsubscribe_tokens.verify(token, Purpose.UNSUBSCRIBE, now)
        except TokenExpired:
            return Response(status_code=410)
        except TokenError:
            return Response(status_code=400)
        key = {"store": self.context.store_id, "invite_id": invite_id}
        invite = contact_of(await self.store.rows(self.contact, key))
        return invite if invite is not None else Response(status_code=404)

    def _localised(self, request: Request, bare: Response) -> Response:
        kind = "expired" if bare.status_code == 410 else "invalid"
        return self.pages.message(self.pages.texts_for_request(request), kind, bare.status_code)

    def _suppress(self, invite: InviteContact) -> None:
        with self.context.database.engine.begin() as connection:
            suppress(
                connection,
                self.context.store_id,
                invite.email,
                SuppressionReason.UNSUBSCRIBED,
                self.context.clock(),
                detail=f"unsubscribe link of invite {invite.invite_id}",
            )
