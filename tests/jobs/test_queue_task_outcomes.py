"""What a queue task does after its job ran: retry a transient failure a bounded number of times
with the shared policy's waits, pause a store whose credentials were refused, put the rest of a
sliced store back in the queue, and nothing else."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from types import SimpleNamespace
from typing import Any

import pytest

from connectors.retry import wait_seconds
from jobs.distributed.queue_state import Pause
from jobs.distributed.slices import StoreSlice
from jobs.distributed.tasks import _after
from jobs.runtime.runner import JobOutcome
from nps_engine.config.queue import QueueSettings


class Retry(Exception):
    def __init__(self, countdown: float, max_retries: int) -> None:
        super().__init__(countdown)
        self.countdown, self.max_retries = countdown, max_retries


@dataclass
class FakeState:
    paused: list[tuple[str, str]] = field(default_factory=list)
    resumed: list[str] = field(default_factory=list)

    def pause(self, store: str, reason: str, now: datetime, base_minutes: int) -> Pause:
        self.paused.append((store, reason))
        return Pause(reason, now, now)

    def resume(self, store: str) -> bool:
        self.resumed.append(store)
        return False


@dataclass
class FakeApp:
    nps_queue: QueueSettings = field(
        default_factory=lambda: QueueSettings.model_validate({"broker_url": "redis://x"})
    )
    sent: list[dict[str, Any]] = field(default_factory=list)

    def signature(self, name: str, **options: Any) -> Any:
        return SimpleNamespace(apply_async=lambda: self.sent.append(options))


def task(retries: int) -> Any:
    def retry(countdown: float, max_retries: int) -> Retry:
        return Retry(countdown, max_retries)

    request = SimpleNamespace(retries=retries, chain=[{"task": "nps.store_job"}])
    return SimpleNamespace(request=request, retry=retry)


def outcome(status: str, **flags: bool) -> JobOutcome:
    return JobOutcome("shop", "sync", status, {}, ("shopify: no answer",), 1.0, **flags)


def test_a_transient_failure_is_retried_with_the_shared_policys_wait() -> None:
    app, state = FakeApp(), FakeState()
    with pytest.raises(Retry) as retried:
        _after(task(1), app, state, outcome("failed", transient=True), StoreSlice(60), 0)  # type: ignore[arg-type]
    assert retried.value.countdown == wait_seconds(2, None)
    assert retried.value.max_retries == 3


def test_retries_stop_after_max_retries() -> None:
    app, state = FakeApp(), FakeState()
    _after(task(3), app, state, outcome("failed", transient=True), StoreSlice(60), 0)  # type: ignore[arg-type]
    assert app.sent == []


def test_refused_credentials_pause_the_store_and_are_not_retried() -> None:
    app, state = FakeApp(), FakeState()
    failed = outcome("failed", transient=False, credentials_refused=True)
    _after(task(0), app, state, failed, StoreSlice(60), 0)  # type: ignore[arg-type]
    assert state.paused == [("shop", "shopify: no answer")]
    assert app.sent == []


def test_a_store_whose_slice_ended_goes_back_to_the_end_of_the_queue() -> None:
    app, state = FakeApp(), FakeState()
    store_slice = StoreSlice(60)
    store_slice.ended = True
    _after(task(0), app, state, outcome("succeeded"), store_slice, 2)  # type: ignore[arg-type]
    assert app.sent == [
        {"args": ("shop", "sync"), "kwargs": {"part": 3}, "queue": "nps.sync", "immutable": True}
    ]
    assert state.resumed == ["shop"]  # a success ends any earlier pause


def test_a_copy_that_finds_the_job_locked_does_nothing_and_leaves_the_chain_to_the_holder() -> None:
    app, state, copy = FakeApp(), FakeState(), task(0)
    _after(copy, app, state, outcome("locked"), StoreSlice(60), 0)  # type: ignore[arg-type]
    assert copy.request.chain is None  # the store's next jobs are not queued a second time
    assert app.sent == []
    assert state.paused == []
    assert state.resumed == []
