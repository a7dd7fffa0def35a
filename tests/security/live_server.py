"""A real uvicorn server on loopback, in a thread, with the limits ``nps serve`` uses."""

from __future__ import annotations

import logging
import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import uvicorn

from jobs.runtime.logs import LOGGERS
from nps_engine.config.server_limits import ServerLimits
from nps_engine.web.server import server_config


def serving(app: Any, limits: ServerLimits) -> Any:
    """Serve ``app`` on 127.0.0.1; yields the port. Stopped (bounded) on exit."""
    return serving_with(app, limits, {})


@contextmanager
def serving_with(app: Any, limits: ServerLimits, options: dict[str, Any]) -> Iterator[int]:
    """``serving`` with more uvicorn options (``proxy_headers``, ``forwarded_allow_ips``)."""
    listener = socket.socket()
    listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    listener.bind(("127.0.0.1", 0))
    port = listener.getsockname()[1]
    server = uvicorn.Server(server_config(app, limits, lifespan="off", **options))
    thread = threading.Thread(target=server.run, kwargs={"sockets": [listener]}, daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started and time.monotonic() < deadline:
        time.sleep(0.02)
    assert server.started, "uvicorn did not start"
    try:
        yield port
    finally:
        server.should_exit = True
        thread.join(timeout=10)
        listener.close()


@contextmanager
def logging_restored() -> Iterator[None]:
    """Put our loggers back as they were: ``logs.configure`` changes them process-wide."""
    saved = {
        name: (list(logger.handlers), logger.level, logger.propagate)
        for name in (*LOGGERS, "uvicorn.error", "uvicorn.access", "uvicorn.asgi")
        for logger in [logging.getLogger(name)]
    }
    try:
        yield
    finally:
        for name, (handlers, level, propagate) in saved.items():
            logger = logging.getLogger(name)
            logger.handlers[:] = handlers
            logger.setLevel(level)
            logger.propagate = propagate


def connect(port: int, source: str = "127.0.0.1") -> socket.socket:
    """A client socket from ``source`` (any 127.x address is loopback on Linux)."""
    return socket.create_connection(("127.0.0.1", port), timeout=5, source_address=(source, 0))


def read_reply(client: socket.socket, timeout: float = 5.0) -> bytes:
    """What the server sends until it closes or goes quiet for ``timeout``."""
    client.settimeout(timeout)
    chunks = []
    try:
        while True:
            chunk = client.recv(65536)
            if not chunk:
                break
            chunks.append(chunk)
            if b"\r\n\r\n" in b"".join(chunks) and b"content-length: 0" in b"".join(chunks):
                break
    except (TimeoutError, ConnectionResetError):
        pass
    return b"".join(chunks)


def get(port: int, path: str, source: str = "127.0.0.1") -> bytes:
    with connect(port, source) as client:
        client.sendall(f"GET {path} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n".encode())
        return read_reply(client)
