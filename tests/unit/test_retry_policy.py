import random

import pytest
import requests

from connectors.errors import AuthenticationError, RateLimited, TransientError
from connectors.retry import policy, should_retry, wait_seconds


class Flaky:
    """Fails with the given errors in order, then returns "ok"."""

    def __init__(self, *errors: Exception) -> None:
        self.errors = list(errors)
        self.calls = 0

    def __call__(self) -> str:
        self.calls += 1
        if self.errors:
            raise self.errors.pop(0)
        return "ok"


def test_transient_errors_are_retried_with_exponential_waits() -> None:
    sleeps: list[float] = []
    flaky = Flaky(TransientError("502"), TransientError("503"), TransientError("reset"))
    assert policy(sleep=sleeps.append, rng=random.Random(0))(flaky) == "ok"
    assert flaky.calls == 4
    assert [round(s / b, 2) >= 1 for s, b in zip(sleeps, [0.5, 1, 2], strict=True)] == [True] * 3
    assert all(s <= b * 1.25 for s, b in zip(sleeps, [0.5, 1, 2], strict=True))


def test_retry_after_from_the_vendor_is_waited_exactly() -> None:
    sleeps: list[float] = []
    flaky = Flaky(RateLimited("429", retry_after=7))
    assert policy(sleep=sleeps.append)(flaky) == "ok"
    assert sleeps == [7]


def test_permanent_errors_fail_at_once() -> None:
    flaky = Flaky(AuthenticationError("bad token"))
    with pytest.raises(AuthenticationError):
        policy(sleep=lambda _: None)(flaky)
    assert flaky.calls == 1


def test_attempts_are_bounded_and_the_last_error_surfaces() -> None:
    flaky = Flaky(*[TransientError(f"fail {i}") for i in range(10)])
    with pytest.raises(TransientError, match="fail 4"):
        policy(max_attempts=5, sleep=lambda _: None)(flaky)
    assert flaky.calls == 5


def test_total_waiting_is_bounded() -> None:
    sleeps: list[float] = []
    flaky = Flaky(*[RateLimited("slow down", retry_after=50) for _ in range(5)])
    with pytest.raises(RateLimited):
        policy(max_total_wait=120, sleep=sleeps.append)(flaky)
    assert sum(sleeps) <= 120
    assert sleeps == [50, 50]


@pytest.mark.parametrize(
    ("error", "retry"),
    [
        (requests.ConnectionError("reset"), True),
        (requests.Timeout("slow"), True),
        (TransientError("x"), True),
        (AuthenticationError("x"), False),
        (ValueError("bug"), False),
    ],
)
def test_what_is_worth_retrying(error: Exception, retry: bool) -> None:
    assert should_retry(error) is retry


def test_backoff_is_capped() -> None:
    assert wait_seconds(1, None) == 0.5
    assert wait_seconds(4, None) == 4.0
    assert wait_seconds(20, None) == 30.0
