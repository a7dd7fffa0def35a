"""The one retry policy for transient faults, shared by every adapter.

What to retry is :func:`should_retry`; how long to wait is :func:`wait_seconds`; both are pure so
tests assert exact decisions and waits. Attempts and total waiting are bounded, so a dead vendor
ends the run with a clear error instead of hanging a cron job. Adapters must not stack another
retry layer on top of this (zenpy's own 429 sleeping is bounded by its ``ratelimit_budget``).
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable
from typing import TypeVar

import requests
from tenacity import RetryCallState, Retrying, retry_if_exception, stop_after_attempt
from tenacity.stop import stop_base

from connectors.errors import RateLimited, TransientError

T = TypeVar("T")

MAX_ATTEMPTS = 5
MAX_TOTAL_WAIT = 120.0
BASE_WAIT = 0.5
MAX_SINGLE_WAIT = 30.0


def should_retry(error: BaseException) -> bool:
    """Transient adapter errors and network failures are worth another try; nothing else is.

    Connection errors and timeouts from ``requests`` are retried too, in case an adapter lets one
    through untranslated. Permanent errors (bad token, validation) never are.
    """
    if isinstance(error, TransientError):
        return True
    return isinstance(error, requests.ConnectionError | requests.Timeout)


def wait_seconds(attempt: int, error: BaseException | None, jitter: float = 0.0) -> float:
    """Seconds to wait before attempt ``attempt + 1`` (``attempt`` counts from 1).

    A vendor's ``Retry-After`` wins; otherwise exponential backoff (0.5, 1, 2, 4 ...) capped at
    30 s, plus ``jitter`` (a fraction 0..1 of the backoff) so many workers do not retry in lockstep.
    """
    if isinstance(error, RateLimited):
        return max(0.0, float(error.retry_after))
    backoff = min(MAX_SINGLE_WAIT, BASE_WAIT * 2.0 ** (attempt - 1))
    return backoff * (1.0 + jitter)


class _StopOnTotalWait(stop_base):
    """Stop when the next wait would take the total past ``limit``."""

    def __init__(self, limit: float) -> None:
        self.limit = limit

    def __call__(self, retry_state: RetryCallState) -> bool:
        return retry_state.idle_for + _next_wait(retry_state) > self.limit


def _next_wait(retry_state: RetryCallState) -> float:
    outcome = retry_state.outcome
    error = outcome.exception() if outcome is not None else None
    return wait_seconds(retry_state.attempt_number, error)


def policy(
    *,
    max_attempts: int = MAX_ATTEMPTS,
    max_total_wait: float = MAX_TOTAL_WAIT,
    sleep: Callable[[float], None] = time.sleep,
    rng: random.Random | None = None,
) -> Retrying:
    """A tenacity ``Retrying`` built from the rules above; call it as ``policy()(fn, *args)``."""
    jitter_source = rng or random.Random()  # noqa: S311 - jitter, not security

    def wait(retry_state: RetryCallState) -> float:
        outcome = retry_state.outcome
        error = outcome.exception() if outcome is not None else None
        return wait_seconds(retry_state.attempt_number, error, jitter_source.random() * 0.25)

    return Retrying(
        retry=retry_if_exception(should_retry),
        wait=wait,
        stop=stop_after_attempt(max_attempts) | _StopOnTotalWait(max_total_wait),
        sleep=sleep,
        reraise=True,
    )


def call_with_retries(fn: Callable[[], T], **policy_options: object) -> T:
    """Run ``fn`` under :func:`policy`; the last error is re-raised when retries run out."""
    return policy(**policy_options)(fn)  # type: ignore[arg-type]
