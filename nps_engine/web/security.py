"""Security headers on every response of the web app.

- ``Content-Security-Policy``: only our own scripts, styles and images (plus https images for
  the store's logo); no inline script or style, so an injected tag cannot run; no framing.
- ``X-Frame-Options: DENY`` for browsers that ignore ``frame-ancestors``.
- ``Referrer-Policy: no-referrer``: survey and unsubscribe URLs carry a token; a click on the
  review link must not hand it to the review site in the ``Referer`` header.
- ``X-Content-Type-Options: nosniff`` and ``Cache-Control: no-store`` (pages are per person).
"""

from __future__ import annotations

from starlette.types import ASGIApp, Message, Receive, Scope, Send

CONTENT_SECURITY_POLICY = (
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' https: data:; "
    "connect-src 'self'; form-action 'self'; base-uri 'none'; frame-ancestors 'none'"
)

HEADERS: tuple[tuple[bytes, bytes], ...] = (
    (b"content-security-policy", CONTENT_SECURITY_POLICY.encode()),
    (b"x-frame-options", b"DENY"),
    (b"referrer-policy", b"no-referrer"),
    (b"x-content-type-options", b"nosniff"),
)


class SecurityHeaders:
    """ASGI middleware adding :data:`HEADERS` (and ``no-store`` unless a route set caching)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = list(message.get("headers", []))
                present = {name.lower() for name, _ in headers}
                headers += [(name, value) for name, value in HEADERS if name not in present]
                if b"cache-control" not in present:
                    headers.append((b"cache-control", b"no-store"))
                message["headers"] = headers
            await send(message)

        await self.app(scope, receive, send_with_headers)
