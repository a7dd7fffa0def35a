"""The shared request log and fault injector every simulator uses."""

from __future__ import annotations

import threading

import pytest

from sandbox.traffic import Fault, FaultKind, FaultPlan, Traffic, gateway_page

ROUTE = "GET /api/v2/users/{id}.json"


def test_third_call_to_a_route_gets_the_scripted_fault_and_only_that_call() -> None:
    traffic = Traffic()
    traffic.script(ROUTE, 3, Fault.signal("throttled"))
    faults = [traffic.begin(ROUTE) for _ in range(5)]
    assert [f.label if f else None for f in faults] == [None, None, "signal:throttled", None, None]


def test_scripted_fault_counts_calls_per_route_not_globally() -> None:
    traffic = Traffic()
    traffic.script(ROUTE, 2, Fault.reset())
    assert traffic.begin("GET /other") is None
    assert traffic.begin(ROUTE) is None
    fault = traffic.begin(ROUTE)
    assert fault is not None
    assert fault.kind is FaultKind.RESET


def test_any_route_script_counts_every_call() -> None:
    traffic = Traffic()
    traffic.script("*", 2, Fault.gateway_error(503))
    assert traffic.begin("a") is None
    fault = traffic.begin("b")
    assert fault is not None
    assert fault.status == 503


def test_sequence_starts_after_the_calls_already_made() -> None:
    traffic = Traffic()
    traffic.begin(ROUTE)
    traffic.script_sequence(ROUTE, [Fault.gateway_error(502), None, Fault.delay(0.1)])
    labels = [getattr(traffic.begin(ROUTE), "label", None) for _ in range(4)]
    assert labels == ["respond:502", None, "delay", None]


def test_same_seed_and_calls_inject_the_same_faults() -> None:
    plan = FaultPlan(error_rate=0.2, reset_rate=0.1, slow_rate=0.1, seed=42)

    def run() -> list[str | None]:
        traffic = Traffic(plan)
        return [getattr(traffic.begin(ROUTE), "label", None) for _ in range(300)]

    first = run()
    assert first == run()
    assert {"reset", "delay"} <= set(first)
    assert any(label and label.startswith("respond:5") for label in first)


def test_error_rate_is_honoured_roughly_and_counted() -> None:
    traffic = Traffic(FaultPlan(error_rate=0.3, seed=1))
    for _ in range(2000):
        if traffic.begin(ROUTE) is None:
            traffic.record(ROUTE, 200)
        else:
            traffic.record(ROUTE, 502)
    snapshot = traffic.snapshot()
    assert 500 < snapshot.faults < 700
    assert snapshot.calls == 2000
    assert sum(snapshot.calls_by_status.values()) == 2000


def test_random_faults_can_be_limited_to_some_routes() -> None:
    traffic = Traffic(FaultPlan(error_rate=1.0, routes=frozenset({ROUTE})))
    assert traffic.begin("GET /api/v2/user_fields.json") is None
    assert traffic.begin(ROUTE) is not None


def test_gateway_errors_carry_an_html_load_balancer_page() -> None:
    fault = Fault.gateway_error(502)
    assert fault.status == 502
    assert dict(fault.headers)["Content-Type"] == "text/html"
    assert b"<title>502 Bad Gateway</title>" in fault.body
    assert gateway_page(504).startswith(b"<html>")


def test_counters_sum_429s_throttles_cost_and_bytes() -> None:
    traffic = Traffic()
    traffic.begin(ROUTE)
    traffic.record(ROUTE, 429, bytes_in=10, bytes_out=100)
    traffic.begin("POST /graphql")
    traffic.record("POST /graphql", 200, cost=12, throttled=True, bytes_out=50)
    snapshot = traffic.snapshot()
    assert snapshot.rate_limited == 1
    assert snapshot.throttled == 1
    assert snapshot.cost == 12
    assert (snapshot.bytes_in, snapshot.bytes_out) == (10, 150)
    assert snapshot.calls_to(ROUTE) == 1
    assert snapshot.calls_by_status == {429: 1, 200: 1}


def test_log_entry_names_the_fault_injected_on_that_call() -> None:
    traffic = Traffic()
    traffic.script(ROUTE, 1, Fault.gateway_error(502))
    traffic.begin(ROUTE)
    traffic.record(ROUTE, 502)
    traffic.begin(ROUTE)
    traffic.record(ROUTE, 200)
    assert [entry.fault for entry in traffic.snapshot().entries] == ["respond:502", None]


def test_reset_counters_zeroes_everything() -> None:
    traffic = Traffic()
    traffic.script(ROUTE, 5, Fault.reset())
    traffic.begin(ROUTE)
    traffic.record(ROUTE, 200, cost=3)
    traffic.reset_counters()
    snapshot = traffic.snapshot()
    assert (snapshot.calls, snapshot.cost, snapshot.entries) == (0, 0, ())
    assert all(traffic.begin(ROUTE) is None for _ in range(6))


def test_concurrent_calls_are_all_counted() -> None:
    traffic = Traffic()

    def hammer() -> None:
        for _ in range(500):
            traffic.begin(ROUTE)
            traffic.record(ROUTE, 200)

    threads = [threading.Thread(target=hammer) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert traffic.snapshot().calls_to(ROUTE) == 2000


@pytest.mark.parametrize("field", ["error_rate", "reset_rate", "slow_rate"])
def test_a_rate_outside_zero_to_one_is_refused_naming_the_field(field: str) -> None:
    with pytest.raises(ValueError, match=field):
        FaultPlan(**{field: 1.5})  # type: ignore[arg-type]
