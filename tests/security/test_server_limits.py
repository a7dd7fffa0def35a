"""Items 3 and 4 against a real uvicorn on loopback: bodies bounded while they arrive (413 early,
memory flat), slow headers and bodies cut off, one address cannot hold every connection."""

from __future__ import annotations

import contextlib
import resource
import select
import time
from pathlib import Path
from typing import Any

import pytest
from live_server import connect, get, read_reply, serving
from survey_support import survey_settings

from nps_engine.config.server_limits import ServerLimits
from nps_engine.store.database import Database
from nps_engine.web.app import create_app

MB = 1024 * 1024


def app_with(database: Database, store_id: str, **limits: object) -> object:
    settings = survey_settings(store_id, limits=limits)
    return create_app(settings, database)


def rss_mb() -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def post_head(path: str, extra: str) -> bytes:
    return (
        f"POST {path} HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n{extra}\r\n".encode()
    )


def test_a_declared_oversized_webhook_is_refused_413_before_its_body(
    sqlite_database: Database, store_id: str
) -> None:
    app = app_with(sqlite_database, store_id, webhook_body_kb=1024)
    with serving(app, ServerLimits(webhook_body_kb=1024)) as port, connect(port) as client:
        client.sendall(post_head("/webhooks/shopify", f"Content-Length: {150 * MB}\r\n"))
        reply = read_reply(client)
    assert reply.startswith(b"HTTP/1.1 413")


def test_a_chunked_body_is_counted_while_it_arrives_and_memory_stays_flat(
    sqlite_database: Database, store_id: str
) -> None:
    app = app_with(sqlite_database, store_id, webhook_body_kb=1024)
    chunk = b"x" * 65536
    frame = f"{len(chunk):x}\r\n".encode() + chunk + b"\r\n"
    with serving(app, ServerLimits(webhook_body_kb=1024)) as port, connect(port) as client:
        before = rss_mb()
        client.sendall(post_head("/webhooks/shopify", "Transfer-Encoding: chunked\r\n"))
        sent = 0
        reply = b""
        while sent < 60 * MB:  # bounded: stop at 60 MB whatever happens
            readable, _, _ = select.select([client], [], [], 0)
            if readable:
                reply = read_reply(client, timeout=2)
                break
            try:
                client.sendall(frame)
            except (BrokenPipeError, ConnectionResetError):
                reply = read_reply(client, timeout=2)
                break
            sent += len(chunk)
        grown = rss_mb() - before
    assert reply.startswith(b"HTTP/1.1 413")
    assert sent < 20 * MB  # refused long before the sender was done
    assert grown < 40


def test_a_survey_form_has_a_smaller_limit_than_webhooks(
    sqlite_database: Database, store_id: str
) -> None:
    app = app_with(sqlite_database, store_id)
    body = b"score=9&comment=" + b"a" * (400 * 1024)
    with serving(app, ServerLimits()) as port, connect(port) as client:
        client.sendall(
            f"POST /s/sometoken HTTP/1.1\r\nHost: x\r\nContent-Length: {len(body)}\r\n"
            "Content-Type: application/x-www-form-urlencoded\r\n\r\n".encode()
            + body
        )
        reply = read_reply(client)
    assert reply.startswith(b"HTTP/1.1 413")


def test_a_body_that_stops_arriving_gets_408(sqlite_database: Database, store_id: str) -> None:
    app = app_with(sqlite_database, store_id, body_timeout_seconds=0.5)
    with serving(app, ServerLimits(body_timeout_seconds=0.5)) as port, connect(port) as client:
        client.sendall(post_head("/webhooks/shopify", "Content-Length: 100\r\n") + b'{"id": 1')
        started = time.monotonic()
        reply = read_reply(client)
    assert reply.startswith(b"HTTP/1.1 408")
    assert time.monotonic() - started < 4


def test_slow_header_senders_are_cut_off_and_cannot_starve_health(
    sqlite_database: Database, store_id: str
) -> None:
    limits = ServerLimits(header_timeout_seconds=1.0, max_connections_per_ip=5)
    app = app_with(sqlite_database, store_id)
    with serving(app, limits) as port:
        slow = [connect(port, source="127.0.0.2") for _ in range(8)]
        try:
            for client in slow:
                client.sendall(b"GET /health HTTP/1.1\r\nHost: x\r\n")
            started = time.monotonic()
            health = get(port, "/health")  # another client, meanwhile
            assert health.startswith(b"HTTP/1.1 200")
            assert time.monotonic() - started < 1.0
            time.sleep(0.2)
            for client in slow:  # a header line every 0.3 s, as a slowloris would
                with contextlib.suppress(BrokenPipeError, ConnectionResetError):
                    client.sendall(b"X-Slow: 1\r\n")
            replies = [read_reply(client, timeout=3) for client in slow]
        finally:
            for client in slow:
                client.close()
    timed_out = [r for r in replies if r.startswith(b"HTTP/1.1 408")]
    closed_at_once = [r for r in replies if r == b""]
    assert len(timed_out) == 5  # the per-address share, cut at the header deadline
    assert len(closed_at_once) == 3  # over the per-address limit


@pytest.mark.parametrize("path", ["/health", "/webhooks/shopify"])
def test_small_requests_pass(sqlite_database: Database, store_id: str, path: str) -> None:
    app = app_with(sqlite_database, store_id)
    with serving(app, ServerLimits()) as port:
        reply = get(port, path)
    assert reply.split(b" ")[1] in (b"200", b"405")


def test_a_trusted_reverse_proxy_is_not_held_to_the_per_address_cap(
    sqlite_database: Database, store_id: str
) -> None:
    from live_server import serving_with

    limits = ServerLimits(max_connections_per_ip=2)
    app = app_with(sqlite_database, store_id)
    options = {"proxy_headers": True, "forwarded_allow_ips": "127.0.0.3"}
    with serving_with(app, limits, options) as port:
        proxy = [connect(port, source="127.0.0.3") for _ in range(4)]
        other = [connect(port, source="127.0.0.4") for _ in range(3)]
        try:
            for client in proxy + other:
                client.sendall(b"GET /health HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
            through_proxy = [read_reply(client) for client in proxy]
            direct = [read_reply(client) for client in other]
        finally:
            for client in proxy + other:
                client.close()
    assert all(reply.startswith(b"HTTP/1.1 200") for reply in through_proxy)
    assert [reply.startswith(b"HTTP/1.1 200") for reply in direct].count(True) == 2


def test_a_streamed_answer_outlives_the_body_pause_limit() -> None:
    """Once the request body is in, the app's receive() only waits for a disconnect (Starlette's
    streaming responses listen for one): a long export must not be cut as a stalled body."""
    import asyncio

    from nps_engine.web.body_limits import BodyLimitMiddleware, BodyLimits

    sent: list[dict[str, object]] = []

    async def streaming_app(scope: object, receive: Any, send: Any) -> None:
        await receive()  # the (empty) body of a GET
        await send({"type": "http.response.start", "status": 200, "headers": []})
        waiting = asyncio.ensure_future(receive())  # listens for a disconnect meanwhile
        for _ in range(3):
            await asyncio.sleep(0.1)
            if waiting.done():  # as in Starlette's task group, the listener's error ends the app
                waiting.result()
            await send({"type": "http.response.body", "body": b"rows", "more_body": True})
        waiting.cancel()
        await send({"type": "http.response.body", "body": b""})

    async def client_receive() -> dict[str, object]:
        if not sent:
            return {"type": "http.request", "body": b"", "more_body": False}
        await asyncio.sleep(3600)  # a client that stays connected
        return {"type": "http.disconnect"}

    async def client_send(message: dict[str, object]) -> None:
        sent.append(message)

    limits = BodyLimits(webhook_bytes=1024, form_bytes=1024, timeout_seconds=0.05)
    app = BodyLimitMiddleware(streaming_app, limits)
    scope = {"type": "http", "path": "/admin/responses.csv", "headers": []}
    asyncio.run(app(scope, client_receive, client_send))  # type: ignore[arg-type]
    assert sent[0].get("status") == 200
    assert b"".join(m.get("body", b"") for m in sent[1:]) == b"rowsrowsrows"  # type: ignore[misc]
