"""The request log and fault injection shared by every simulator (Shopify, Zendesk, SMTP).

Framework-agnostic: a simulator asks ``Traffic`` what to do with each call, applies the answer
with its own HTTP machinery, and reports the outcome. Tests and benchmarks read the counters.

    traffic = Traffic(FaultPlan(error_rate=0.05, reset_rate=0.01, seed=7))
    traffic.script("POST /admin/api/graphql.json", 3, Fault.signal("throttled"))

    # in a simulator, once per incoming request:
    fault = traffic.begin("GET /api/v2/users/{id}.json")   # counts the call; None = serve normally
    if fault is not None:
        if fault.kind is FaultKind.DELAY:   time.sleep(fault.delay_seconds)  # then serve normally
        elif fault.kind is FaultKind.RESET: drop the connection without an answer (RST)
        elif fault.kind is FaultKind.RESPOND: answer fault.status / fault.headers / fault.body
        elif fault.kind is FaultKind.SIGNAL: the simulator's own meaning of fault.name
    traffic.record(route, status, bytes_in=..., bytes_out=..., cost=..., throttled=...)

    traffic.snapshot()      # TrafficSnapshot: calls, calls_by_route, calls_by_status, rate_limited,
                            # throttled, cost, bytes_in, bytes_out, faults_by_kind, entries
    traffic.reset_counters()

Routes are the simulator's route templates (``"GET /api/v2/users/{id}.json"``), so counters and
scripts do not depend on ids. Random faults come from one ``random.Random(seed)``: the same plan
and the same sequence of calls inject the same faults. Scripted faults ("the 3rd call to this
route gets X", counted from 1, or from the last ``reset_counters``) win over random ones; the
route ``"*"`` counts every call whatever its route. Everything is guarded by one lock: simulators
serve from several threads.

Real outages rarely come from the application: a load balancer answers 502/504 with an HTML page,
which clients expecting JSON must survive. Random 5xx faults therefore carry such pages
(``gateway_page``).
"""

from __future__ import annotations

import enum
import random
import threading
from collections import Counter
from dataclasses import dataclass, field

ANY_ROUTE = "*"
MAX_ENTRIES = 10_000  # the log keeps the latest entries only; counters are never truncated

_REASONS = {
    500: "Internal Server Error",
    502: "Bad Gateway",
    503: "Service Temporarily Unavailable",
    504: "Gateway Time-out",
}


def gateway_page(status: int) -> bytes:
    """The HTML an nginx load balancer sends for a 5xx, byte for byte in its layout."""
    reason = _REASONS.get(status, "Error")
    return (
        f"<html>\r\n<head><title>{status} {reason}</title></head>\r\n<body>\r\n"
        f"<center><h1>{status} {reason}</h1></center>\r\n<hr><center>nginx</center>\r\n"
        "</body>\r\n</html>\r\n"
    ).encode()


class FaultKind(enum.Enum):
    RESPOND = "respond"  # answer with status/headers/body instead of the real handler
    RESET = "reset"  # close the connection without any answer
    DELAY = "delay"  # wait delay_seconds, then serve normally
    SIGNAL = "signal"  # a simulator-specific fault by name ("throttled", "rate_limited", ...)


@dataclass(frozen=True)
class Fault:
    kind: FaultKind
    status: int = 0
    body: bytes = b""
    headers: tuple[tuple[str, str], ...] = ()
    delay_seconds: float = 0.0
    name: str = ""

    @classmethod
    def respond(
        cls, status: int, body: bytes = b"", headers: dict[str, str] | None = None
    ) -> Fault:
        pairs = tuple((headers or {}).items())
        return cls(FaultKind.RESPOND, status=status, body=body, headers=pairs)

    @classmethod
    def gateway_error(cls, status: int = 502) -> Fault:
        return cls.respond(status, gateway_page(status), {"Content-Type": "text/html"})

    @classmethod
    def reset(cls) -> Fault:
        return cls(FaultKind.RESET)

    @classmethod
    def delay(cls, seconds: float) -> Fault:
        return cls(FaultKind.DELAY, delay_seconds=seconds)

    @classmethod
    def signal(cls, name: str) -> Fault:
        return cls(FaultKind.SIGNAL, name=name)

    @property
    def label(self) -> str:
        """How the fault is counted: ``respond:502``, ``reset``, ``delay``, ``signal:throttled``."""
        if self.kind is FaultKind.RESPOND:
            return f"respond:{self.status}"
        if self.kind is FaultKind.SIGNAL:
            return f"signal:{self.name}"
        return str(self.kind.value)


@dataclass(frozen=True)
class FaultPlan:
    """Random faults for one run. Rates are probabilities per call, drawn in this order."""

    error_rate: float = 0.0
    error_statuses: tuple[int, ...] = (500, 502, 503, 504)
    reset_rate: float = 0.0
    slow_rate: float = 0.0
    slow_seconds: float = 0.2
    seed: int = 0
    routes: frozenset[str] | None = None  # random faults only on these routes; None = all

    def __post_init__(self) -> None:
        for name in ("error_rate", "reset_rate", "slow_rate"):
            rate = getattr(self, name)
            if not 0.0 <= rate <= 1.0:
                raise ValueError(f"FaultPlan.{name} must be between 0 and 1, got {rate}")
        if not self.error_statuses:
            raise ValueError("FaultPlan.error_statuses must name at least one status")

    def draw(self, rng: random.Random, route: str) -> Fault | None:
        if self.routes is not None and route not in self.routes:
            return None
        if self.error_rate and rng.random() < self.error_rate:
            status = rng.choice(self.error_statuses)
            return Fault.gateway_error(status)
        if self.reset_rate and rng.random() < self.reset_rate:
            return Fault.reset()
        if self.slow_rate and rng.random() < self.slow_rate:
            return Fault.delay(self.slow_seconds)
        return None


@dataclass(frozen=True)
class RequestEntry:
    route: str
    status: int  # 0 when the connection was reset
    bytes_in: int
    bytes_out: int
    cost: int
    throttled: bool
    fault: str | None


@dataclass(frozen=True)
class TrafficSnapshot:
    calls: int
    calls_by_route: dict[str, int]
    calls_by_status: dict[int, int]
    rate_limited: int  # HTTP 429 answers
    throttled: int  # Shopify THROTTLED answers (HTTP 200)
    cost: int  # Shopify query cost actually charged
    bytes_in: int
    bytes_out: int
    faults_by_kind: dict[str, int]
    entries: tuple[RequestEntry, ...] = field(repr=False)

    def calls_to(self, route: str) -> int:
        return self.calls_by_route.get(route, 0)

    @property
    def faults(self) -> int:
        return sum(self.faults_by_kind.values())


class Traffic:
    """One simulator's (or one sandbox's) request log and fault injector; thread-safe."""

    def __init__(self, plan: FaultPlan | None = None) -> None:
        self._lock = threading.Lock()
        self._plan = plan or FaultPlan()
        self._rng = random.Random(self._plan.seed)
        self._scripts: dict[tuple[str, int], Fault] = {}
        self._clear()

    def _clear(self) -> None:
        self._calls: Counter[str] = Counter()
        self._total = 0
        self._statuses: Counter[int] = Counter()
        self._faults: Counter[str] = Counter()
        self._rate_limited = self._throttled = self._cost = 0
        self._bytes_in = self._bytes_out = 0
        self._entries: list[RequestEntry] = []
        self._pending: dict[int, str] = {}  # thread id -> fault label of its current call

    @property
    def plan(self) -> FaultPlan:
        return self._plan

    def configure(self, plan: FaultPlan) -> None:
        """Replace the random plan (and restart its seeded sequence) mid-run."""
        with self._lock:
            self._plan = plan
            self._rng = random.Random(plan.seed)

    def script(self, route: str, call_number: int, fault: Fault) -> None:
        """The ``call_number``-th call (from 1) to ``route`` (``"*"``: any route) gets ``fault``."""
        if call_number < 1:
            raise ValueError(f"call_number counts from 1, got {call_number}")
        with self._lock:
            self._scripts[(route, call_number)] = fault

    def script_sequence(self, route: str, faults: list[Fault | None]) -> None:
        """The next calls to ``route`` get these faults in order (None: served normally)."""
        with self._lock:
            start = self._total if route == ANY_ROUTE else self._calls[route]
        for offset, fault in enumerate(faults, start=1):
            if fault is not None:
                self.script(route, start + offset, fault)

    def begin(self, route: str) -> Fault | None:
        """Count one incoming call and decide its fault, if any."""
        with self._lock:
            self._calls[route] += 1
            self._total += 1
            fault = self._scripts.pop((route, self._calls[route]), None)
            fault = fault or self._scripts.pop((ANY_ROUTE, self._total), None)
            fault = fault or self._plan.draw(self._rng, route)
            if fault is None:
                self._pending.pop(threading.get_ident(), None)
            else:
                self._faults[fault.label] += 1
                self._pending[threading.get_ident()] = fault.label
            return fault

    def record(
        self,
        route: str,
        status: int,
        *,
        bytes_in: int = 0,
        bytes_out: int = 0,
        cost: int = 0,
        throttled: bool = False,
    ) -> None:
        """Log the outcome of a call begun on this thread (status 0 = connection reset)."""
        with self._lock:
            fault = self._pending.pop(threading.get_ident(), None)
            self._statuses[status] += 1
            self._rate_limited += status == 429
            self._throttled += throttled
            self._cost += cost
            self._bytes_in += bytes_in
            self._bytes_out += bytes_out
            self._entries.append(
                RequestEntry(route, status, bytes_in, bytes_out, cost, throttled, fault)
            )
            if len(self._entries) > MAX_ENTRIES:
                del self._entries[: len(self._entries) - MAX_ENTRIES]

    def snapshot(self) -> TrafficSnapshot:
        with self._lock:
            return TrafficSnapshot(
                calls=self._total,
                calls_by_route=dict(self._calls),
                calls_by_status=dict(self._statuses),
                rate_limited=self._rate_limited,
                throttled=self._throttled,
                cost=self._cost,
                bytes_in=self._bytes_in,
                bytes_out=self._bytes_out,
                faults_by_kind=dict(self._faults),
                entries=tuple(self._entries),
            )

    def reset_counters(self) -> None:
        """Zero the counters and the log; scripts not yet triggered are dropped too."""
        with self._lock:
            self._clear()
            self._scripts.clear()
