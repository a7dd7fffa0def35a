"""Background jobs of the bulk endpoints (``update_many``) and their ``job_statuses``.

Zendesk queues a bulk change and answers with a ``queued`` job status (progress and results null);
polling ``GET /api/v2/job_statuses/{id}.json`` then shows ``working`` ("Updating ticket #31",
progress 31 of 100) and finally ``completed`` with one result per item and the message
``Completed at 2023-09-18 23:25:12 +0000`` (samples/job_status_*.json). Ids look like
``V3-47ed156789697d342091e8d273f50b5d``.

The simulator applies the change when the job is queued (a client that never polls still gets
its change), but reports progress poll by poll: the first poll sees ``working``, the
``polls_to_complete``-th sees ``completed``. Deterministic, so tests can assert each state.
"""

from __future__ import annotations

import threading
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

MAX_JOBS_KEPT = 100  # "Zendesk only logs the last 100 jobs" (zendesk-notes 2.6)


@dataclass
class Job:
    id: str
    noun: str  # "ticket" or "user", for the working message
    results: list[dict[str, Any]]
    polls: int = 0
    completed_at: datetime | None = None

    @property
    def total(self) -> int:
        return len(self.results)


class JobBoard:
    def __init__(
        self, polls_to_complete: int = 2, clock: Callable[[], datetime] | None = None
    ) -> None:
        self.polls_to_complete = max(1, polls_to_complete)
        self._clock = clock or (lambda: datetime.now(UTC))
        self._jobs: dict[str, Job] = {}
        self._lock = threading.Lock()

    def queue(self, noun: str, results: list[dict[str, Any]]) -> Job:
        job = Job(id=f"V3-{uuid.uuid4().hex}", noun=noun, results=results)
        with self._lock:
            self._jobs[job.id] = job
            while len(self._jobs) > MAX_JOBS_KEPT:
                del self._jobs[next(iter(self._jobs))]
        return job

    def poll(self, job_id: str) -> Job | None:
        """The job as the next status request sees it (each poll moves it on)."""
        with self._lock:
            job = self._jobs.get(job_id)
            if job is not None:
                job.polls += 1
                if job.polls >= self.polls_to_complete and job.completed_at is None:
                    job.completed_at = self._clock()
            return job

    def render(self, job: Job, base_url: str) -> dict[str, Any]:
        body: dict[str, Any] = {
            "id": job.id,
            "url": f"{base_url}/api/v2/job_statuses/{job.id}.json",
            "total": job.total,
            "progress": None,
            "status": "queued",
            "message": None,
            "results": None,
        }
        if job.completed_at is not None:
            stamp = job.completed_at.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S +0000")
            body.update(
                progress=job.total,
                status="completed",
                message=f"Completed at {stamp}",
                results=job.results,
            )
        elif job.polls > 0:
            done = max(1, (job.total * job.polls) // (self.polls_to_complete + 1))
            body.update(progress=done, status="working", message=f"Updating {job.noun} #{done}")
        return {"job_status": body}


def updated(item_id: int) -> dict[str, Any]:
    """A per-item result of a bulk update, keys as the real completed job lists them."""
    return {"id": item_id, "action": "update", "status": "Updated", "success": True}


def failed(item_id: int, error: str, details: str) -> dict[str, Any]:
    # Failure results follow the Created/Updated/Failed shape Zendesk Developer Advocacy posted
    # (docs_examples/create_or_update_many_results_with_failure_community.json).
    return {
        "id": item_id,
        "action": "update",
        "status": "Failed",
        "success": False,
        "error": error,
        "details": details,
    }


def not_found(item_id: Any) -> dict[str, Any]:
    return failed(item_id if isinstance(item_id, int) else 0, "RecordNotFound", "Not found")
