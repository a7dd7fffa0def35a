"""Waiting for the background job a bulk call (``update_many``) queues.

https://developer.zendesk.com/api-reference/ticketing/ticket-management/job_statuses/
A bulk call answers at once with ``queued``; ``GET /job_statuses/{id}`` then shows ``working`` and
finally ``completed`` (one result per item, each with ``success``/``status``) or ``failed``. zenpy
has no polling loop. Zendesk keeps at most 30 jobs queued per account, so we wait for each job
before queueing the next.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from connectors.zendesk.client import ZendeskClient
from connectors.zendesk.errors import ZendeskRequestRejected, ZendeskTransientError

FIRST_POLL_SECONDS = 0.25
MAX_POLL_SECONDS = 5.0
JOB_TIMEOUT_SECONDS = 300.0


@dataclass(frozen=True, slots=True)
class JobOutcome:
    job_id: str
    status: str
    # Item ids whose result did not succeed, with the vendor's reason.
    failures: Mapping[int, str]


def poll_waits(timeout: float) -> list[float]:
    """Waits before each poll: none at first (small jobs are often done by the time we ask),
    then 0.25, 0.5, 1, 2, 4, 5, 5 ... seconds, adding up to at most ``timeout``."""
    waits, wait, total = [0.0], FIRST_POLL_SECONDS, 0.0
    while total + wait <= timeout:
        waits.append(wait)
        total += wait
        wait = min(MAX_POLL_SECONDS, wait * 2)
    return waits


def wait_for_job(
    client: ZendeskClient,
    queued: Any,
    *,
    what: str,
    sleep: Callable[[float], None] = time.sleep,
    timeout: float = JOB_TIMEOUT_SECONDS,
) -> JobOutcome:
    """Poll the job in ``queued`` (the bulk call's answer) until it completes or fails."""
    job = _job_of(queued, what)
    for wait in poll_waits(timeout):
        if job.get("status") not in ("queued", "working"):
            return outcome_of(job)
        if wait:
            sleep(wait)
        job = _poll(client, str(job["id"]), what)
    if job.get("status") in ("queued", "working"):
        raise ZendeskTransientError(
            f"{what}: job {job['id']} still {job['status']} after {timeout}s"
        )
    return outcome_of(job)


def _poll(client: ZendeskClient, job_id: str, what: str) -> Mapping[str, Any]:
    path = f"job_statuses/{job_id}.json"
    return _job_of(client.call(f"{what} (job status)", lambda _z: client.send("GET", path)), what)


def outcome_of(job: Mapping[str, Any]) -> JobOutcome:
    failures: dict[int, str] = {}
    for result in job.get("results") or ():
        if not isinstance(result, Mapping):
            continue
        ok = result.get("success", result.get("status") in ("Updated", "Created"))
        if not ok and isinstance(result.get("id"), int):
            failures[result["id"]] = str(result.get("error") or result.get("status") or "failed")
    return JobOutcome(str(job.get("id")), str(job.get("status")), failures)


def _job_of(body: Any, what: str) -> Mapping[str, Any]:
    job = body.get("job_status") if isinstance(body, Mapping) else None
    if not isinstance(job, Mapping) or "id" not in job:
        raise ZendeskRequestRejected(f"{what}: the answer has no job_status")
    return job
