"""A small threaded HTTP/1.1 server on 127.0.0.1 for simulators, with faults and a request log.

A simulator is a list of :class:`Route` (method, path regex, route name, handler). Each handler
takes a :class:`Request` (path parameters in ``request.params``) and returns a :class:`Response`.
The server asks :class:`sandbox.traffic.Traffic` for a fault before routing, applies it (answer
instead, connection reset, delay), and records every outcome. ``before_route`` lets the simulator
answer first (authentication, rate limits), ``after_route`` adds headers to every answer. A
SIGNAL fault reaches them as ``request.notes["signal"]`` (its name).

    server = LoopbackServer(routes, traffic, port=0)   # 0 = a free port
    server.start()          # serves on a daemon thread; server.base_url -> "http://127.0.0.1:PORT"
    server.stop()           # stops accepting and closes open keep-alive connections

The standard library server is enough here: one process, a handful of clients, and full control
of the socket (a reset must really be a TCP RST, which ASGI servers do not expose).
"""

from __future__ import annotations

import contextlib
import json
import re
import socket
import struct
import threading
import time
import traceback
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

from sandbox.traffic import Fault, FaultKind, Traffic

IDLE_CONNECTION_SECONDS = 10.0


@dataclass
class Request:
    method: str
    path: str
    query: dict[str, list[str]]
    headers: dict[str, str]  # lower-case names
    body: bytes
    base_url: str  # scheme://host:port the client used, for absolute URLs back to us
    route: str = ""
    params: dict[str, str] = field(default_factory=dict)
    notes: dict[str, Any] = field(default_factory=dict)  # what before_route tells after_route

    def arg(self, name: str) -> str | None:
        values = self.query.get(name)
        return values[0] if values else None

    def json(self) -> Any:
        """The JSON body, or None when the body is empty; ValueError when it is not JSON."""
        if not self.body:
            return None
        return json.loads(self.body)


@dataclass
class Response:
    status: int
    body: bytes = b""
    headers: dict[str, str] = field(default_factory=dict)
    throttled: bool = False  # for the traffic log (Shopify THROTTLED answers are HTTP 200)
    cost: int = 0

    @classmethod
    def json(cls, status: int, payload: Any, headers: dict[str, str] | None = None) -> Response:
        body = json.dumps(payload, separators=(",", ":")).encode()
        merged = {"Content-Type": "application/json; charset=utf-8", **(headers or {})}
        return cls(status, body, merged)

    @classmethod
    def text(cls, status: int, text: str, headers: dict[str, str] | None = None) -> Response:
        merged = {"Content-Type": "text/plain; charset=utf-8", **(headers or {})}
        return cls(status, text.encode(), merged)


Handler = Callable[[Request], Response]
Hook = Callable[[Request], Response | None]


@dataclass(frozen=True)
class Route:
    method: str
    pattern: str  # regex on the path, named groups become request.params
    name: str  # the route template used by the traffic log, e.g. "GET /api/v2/users/{id}.json"
    handler: Handler

    def match(self, method: str, path: str) -> dict[str, str] | None:
        if method != self.method:
            return None
        found = re.fullmatch(self.pattern, path)
        return None if found is None else found.groupdict()


class LoopbackServer:
    def __init__(
        self,
        routes: Sequence[Route],
        traffic: Traffic,
        *,
        port: int = 0,
        before_route: Hook | None = None,
        after_route: Callable[[Request, Response], None] | None = None,
        not_found: Handler | None = None,
    ) -> None:
        self.routes = list(routes)
        self.traffic = traffic
        self.before_route = before_route
        self.after_route = after_route
        self.not_found = not_found or (lambda request: Response.text(404, "Not Found"))
        self._port = port
        self._httpd: _Server | None = None  # bound in start(): an unstarted server holds no socket
        self._thread: threading.Thread | None = None
        self.errors: list[str] = []  # tracebacks of handlers that raised

    @property
    def port(self) -> int:
        """The port served on (known once started; the requested port before)."""
        return int(self._httpd.server_address[1]) if self._httpd else self._port

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> None:
        self._httpd = _Server(("127.0.0.1", self._port), _handler_class(self))
        self._thread = threading.Thread(
            target=self._httpd.serve_forever, kwargs={"poll_interval": 0.1}, daemon=True
        )
        self._thread.start()

    def stop(self) -> None:
        """Stop serving and release the port; safe to call twice or before start()."""
        if self._httpd is None:
            return
        if self._thread is not None:
            self._httpd.shutdown()
            self._thread.join()
            self._thread = None
        self._httpd.close_connections()
        self._httpd.server_close()
        self._httpd = None

    def resolve(self, method: str, path: str) -> tuple[str, Handler, dict[str, str]]:
        for route in self.routes:
            params = route.match(method, path)
            if params is not None:
                return route.name, route.handler, params
        return f"{method} (unrouted)", self.not_found, {}

    def serve(self, request: Request) -> Response:
        """Answer one request: hooks first, then the route's handler.

        A bug in a simulator becomes a 500 (kept in ``errors`` for tests to assert on), not a
        dropped connection that a client would take for a network fault.
        """
        try:
            answer = self.before_route(request) if self.before_route else None
            if answer is None:
                _, handler, _ = self.resolve(request.method, request.path)
                answer = handler(request)
            if self.after_route is not None:
                self.after_route(request, answer)
        except Exception:  # noqa: BLE001 - reported through errors and the 500
            self.errors.append(traceback.format_exc())
            return Response.text(500, "Internal Server Error")
        return answer


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True

    def __init__(self, address: tuple[str, int], handler: type[BaseHTTPRequestHandler]) -> None:
        self.open_connections: set[socket.socket] = set()
        self.connections_lock = threading.Lock()
        super().__init__(address, handler)

    def close_connections(self) -> None:
        with self.connections_lock:
            for connection in list(self.open_connections):
                with contextlib.suppress(OSError):  # already closed by the client
                    connection.shutdown(socket.SHUT_RDWR)
            self.open_connections.clear()


def _handler_class(server: LoopbackServer) -> type[BaseHTTPRequestHandler]:
    class _Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"
        timeout = IDLE_CONNECTION_SECONDS

        def setup(self) -> None:
            super().setup()
            # Headers and body leave in two writes; without NODELAY, Nagle + delayed ACK add
            # ~40 ms to every keep-alive answer.
            self.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            owner = self.server
            assert isinstance(owner, _Server)
            with owner.connections_lock:
                owner.open_connections.add(self.connection)

        def finish(self) -> None:
            owner = self.server
            assert isinstance(owner, _Server)
            with owner.connections_lock:
                owner.open_connections.discard(self.connection)
            with contextlib.suppress(OSError):  # the connection was reset on purpose
                super().finish()

        def log_message(self, format: str, *args: Any) -> None:
            """Silence: the traffic log is the record, stderr stays readable in tests."""

        def _dispatch(self) -> None:
            _serve_one(server, self)

        do_GET = do_POST = do_PUT = do_DELETE = do_PATCH = _dispatch  # noqa: N815

    return _Handler


def _serve_one(server: LoopbackServer, handler: BaseHTTPRequestHandler) -> None:
    request = _read_request(handler)
    route, _, params = server.resolve(request.method, request.path)
    request.route, request.params = route, params
    fault = server.traffic.begin(route)
    if fault is not None and fault.kind is FaultKind.RESET:
        server.traffic.record(route, 0, bytes_in=len(request.body))
        _reset(handler)
        return
    if fault is not None and fault.kind is FaultKind.DELAY:
        time.sleep(fault.delay_seconds)
    if fault is not None and fault.kind is FaultKind.SIGNAL:
        request.notes["signal"] = fault.name  # the simulator's own fault, for its hooks
    response = _faulted(fault) or server.serve(request)
    # Logged before the answer leaves, so a client that has its answer sees it counted.
    server.traffic.record(
        route,
        response.status,
        bytes_in=len(request.body),
        bytes_out=len(response.body),
        cost=response.cost,
        throttled=response.throttled,
    )
    _write(handler, response)


def _faulted(fault: Fault | None) -> Response | None:
    if fault is None or fault.kind is not FaultKind.RESPOND:
        return None
    return Response(fault.status, fault.body, dict(fault.headers))


def _read_request(handler: BaseHTTPRequestHandler) -> Request:
    parts = urlsplit(handler.path)
    length = int(handler.headers.get("Content-Length") or 0)
    body = handler.rfile.read(length) if length else b""
    host = handler.headers.get("Host") or "127.0.0.1"
    return Request(
        method=handler.command,
        path=parts.path,
        query=parse_qs(parts.query, keep_blank_values=True),
        headers={name.lower(): value for name, value in handler.headers.items()},
        body=body,
        base_url=f"http://{host}",
    )


def _write(handler: BaseHTTPRequestHandler, response: Response) -> None:
    handler.send_response(response.status)
    for name, value in response.headers.items():
        handler.send_header(name, value)
    handler.send_header("Content-Length", str(len(response.body)))
    handler.end_headers()
    if handler.command != "HEAD":
        handler.wfile.write(response.body)


def _reset(handler: BaseHTTPRequestHandler) -> None:
    """Abort with a TCP RST (SO_LINGER 0), as a crashed load balancer would."""
    connection = handler.connection
    connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    connection.close()
    handler.close_connection = True
