"""Request bodies bounded while they arrive: a size per endpoint, and a pause limit.

Starlette's ``request.body()`` reads everything before a route can look at it, so a 150 MB
webhook used to sit whole in memory before its signature was checked. This middleware answers
413 at once when ``Content-Length`` says too much, and otherwise counts the bytes as the app
receives them and stops at the limit (chunked bodies have no length to trust). A body that stops
arriving for ``body_timeout_seconds`` is answered 408. Memory stays at one limit per request.
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass

from starlette.types import ASGIApp, Message, Receive, Scope, Send

log = logging.getLogger(__name__)

WEBHOOK_PREFIX = "/webhooks/"


class BodyTooLarge(Exception):
    pass


class BodyTooSlow(Exception):
    pass


@dataclass(frozen=True)
class BodyLimits:
    webhook_bytes: int
    form_bytes: int
    timeout_seconds: float

    def for_path(self, path: str) -> int:
        return self.webhook_bytes if path.startswith(WEBHOOK_PREFIX) else self.form_bytes


class BodyLimitMiddleware:
    def __init__(self, app: ASGIApp, limits: BodyLimits) -> None:
        self.app = app
        self.limits = limits

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        limit = self.limits.for_path(scope.get("path", ""))
        declared = _content_length(scope)
        if declared is not None and declared > limit:
            await _refuse(send, 413, f"body over {limit // 1024} KB")
            return
        received = 0
        started = False
        body_done = False

        async def bounded_receive() -> Message:
            nonlocal received, body_done
            if body_done:
                # Once the body is in, receive() only waits for the client to disconnect, as
                # long as a streamed response (a million-row export) lasts: no pause limit then.
                return await receive()
            try:
                # A timer, not wait_for's extra task per message: this runs on every request.
                async with asyncio.timeout(self.limits.timeout_seconds):
                    message = await receive()
            except TimeoutError:
                raise BodyTooSlow from None
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > limit:
                    raise BodyTooLarge
                body_done = not message.get("more_body", False)
            return message

        async def tracking_send(message: Message) -> None:
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
            await send(message)

        try:
            await self.app(scope, bounded_receive, tracking_send)
        except BodyTooLarge:
            log.warning("refused a body over %d KB on %s", limit // 1024, scope.get("path"))
            if not started:
                await _refuse(send, 413, f"body over {limit // 1024} KB")
        except BodyTooSlow:
            log.warning("a client stopped sending its body on %s", scope.get("path"))
            if not started:
                await _refuse(send, 408, "body not received in time")


def _content_length(scope: Scope) -> int | None:
    for name, value in scope.get("headers", ()):
        if name == b"content-length":
            try:
                return int(value) if len(value) < 20 else 2**63
            except ValueError:
                return None
    return None


async def _refuse(send: Send, status: int, reason: str) -> None:
    body = f'{{"error": "{reason}"}}'.encode()
    await send(
        {
            "type": "http.response.start",
            "status": status,
            # The rest of the body is not read: the connection cannot carry another request.
            "headers": [
                (b"content-type", b"application/json"),
                (b"content-length", str(len(body)).encode()),
                (b"connection", b"close"),
            ],
        }
    )
    await send({"type": "http.response.body", "body": body})
