"""The uvicorn server of ``nps serve``, with limits against slow and greedy clients.

uvicorn bounds idle keep-alive connections but not a client that sends its request line and
headers one byte at a time: 300 such connections held the server. :class:`GuardedHttpProtocol`
adds what the ``limits:`` settings promise:

- the request line and headers must arrive within ``header_timeout_seconds`` (408, closed);
- one client address may hold ``max_connections_per_ip`` connections; more are closed at once
  (not for the trusted proxies of ``--forwarded-allow-ips``: behind nginx every connection comes
  from the proxy, which keeps its own per-client limits);
- ``max_connections`` in all (uvicorn's ``limit_concurrency``: beyond it, 503).

Bodies are bounded by :mod:`nps_engine.web.body_limits`, in the app. uvicorn's own log lines go
through the handlers ``nps`` configured (``log_config=None``), so ``--json-logs`` covers them.
"""

from __future__ import annotations

import asyncio
from collections import Counter
from typing import Any

import uvicorn
from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

from nps_engine.config.server_limits import ServerLimits

REQUEST_TIMEOUT = b"HTTP/1.1 408 Request Timeout\r\ncontent-length: 0\r\nconnection: close\r\n\r\n"


class GuardedHttpProtocol(HttpToolsProtocol):
    """uvicorn's httptools protocol with a header deadline and a per-address connection cap.

    Subclassed per server by :func:`guarded_protocol`, which sets the class attributes below.
    """

    header_timeout: float = 10.0
    per_ip: int = 50
    open_per_ip: Counter[str]
    # Reverse proxies we trust (their connections carry many clients): no per-address cap.
    proxies: frozenset[str] = frozenset()

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        self._header_deadline: asyncio.TimerHandle | None = None
        self._address = self.client[0] if self.client else "unknown"
        self.open_per_ip[self._address] += 1
        capped = "*" not in self.proxies and self._address not in self.proxies
        if capped and self.open_per_ip[self._address] > self.per_ip:
            self.logger.warning("closed a connection over the per-address limit (%d)", self.per_ip)
            transport.close()
            return
        self._arm_header_deadline()

    def connection_lost(self, exc: Exception | None) -> None:
        self._disarm_header_deadline()
        self.open_per_ip[self._address] -= 1
        if self.open_per_ip[self._address] <= 0:
            del self.open_per_ip[self._address]
        super().connection_lost(exc)

    def on_message_begin(self) -> None:
        super().on_message_begin()
        if self._header_deadline is None:  # the next request on a kept-alive connection
            self._arm_header_deadline()

    def on_headers_complete(self) -> None:
        self._disarm_header_deadline()
        super().on_headers_complete()

    def _arm_header_deadline(self) -> None:
        self._header_deadline = self.loop.call_later(self.header_timeout, self._headers_too_slow)

    def _disarm_header_deadline(self) -> None:
        if self._header_deadline is not None:
            self._header_deadline.cancel()
            self._header_deadline = None

    def _headers_too_slow(self) -> None:
        self._header_deadline = None
        if not self.transport.is_closing():
            self.transport.write(REQUEST_TIMEOUT)
            self.transport.close()


def guarded_protocol(
    limits: ServerLimits, proxies: frozenset[str] = frozenset()
) -> type[GuardedHttpProtocol]:
    """A protocol class with these limits, and its own count of connections per address."""
    return type(
        "GuardedHttpProtocol",
        (GuardedHttpProtocol,),
        {
            "header_timeout": limits.header_timeout_seconds,
            "per_ip": limits.max_connections_per_ip,
            "open_per_ip": Counter(),
            "proxies": proxies,
        },
    )


def server_config(app: Any, limits: ServerLimits, **options: Any) -> uvicorn.Config:
    """uvicorn's settings for ``app`` under ``limits``; ``options`` are passed on (host, port)."""
    trusted = str(options.get("forwarded_allow_ips") or "") if options.get("proxy_headers") else ""
    proxies = frozenset(address.strip() for address in trusted.split(",") if address.strip())
    return uvicorn.Config(
        app,
        http=guarded_protocol(limits, proxies),
        limit_concurrency=limits.max_connections,
        timeout_keep_alive=5,
        server_header=False,
        # Access logs would write survey and unsubscribe tokens (capabilities) to disk.
        access_log=False,
        # uvicorn's lines go through the handlers (and the masking) that `nps` set up.
        log_config=None,
        **options,
    )
