"""Running a job: the lock, the ``job_runs`` row, the counters, and what failed.

Every scheduled piece of work (sync, send surveys, push tags, report) goes through
:func:`run_job`, so all of them behave alike at 3 a.m.: one run per store at a time, a row saying
what happened, errors collected instead of aborting what could still be finished, and an outcome
the CLI turns into a summary and an exit code.
"""

from __future__ import annotations

import logging
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import update
from sqlalchemy.exc import OperationalError, SQLAlchemyError

from connectors.errors import AuthenticationError, ConnectorError
from jobs.runtime.locks import JobLockGuard, LockHeld, LockLost
from jobs.runtime.logs import mask_text
from nps_engine.store.database import Database
from nps_engine.store.models import JobRun

log = logging.getLogger("nps.jobs")


def utc_now() -> datetime:
    return datetime.now(UTC)


@dataclass
class JobContext:
    """Handed to a job: where to count things and where to report a problem without stopping."""

    store: str
    job: str
    counters: Counter[str] = field(default_factory=Counter)
    errors: list[str] = field(default_factory=list)
    # Why it failed, for the queue workers: a refused token pauses the store; a transient
    # fault (vendor or database down) is worth a retry.
    credentials_refused: bool = False
    transient: bool = False

    def count(self, name: str, amount: int = 1) -> None:
        self.counters[name] += amount

    def add_counts(self, counts: dict[str, int]) -> None:
        for name, amount in counts.items():
            self.counters[name] += amount

    def error(self, message: str) -> None:
        """Record a problem that did not stop the job (the run ends as ``partial``)."""
        message = mask_text(message)
        log.warning("%s/%s: %s", self.store, self.job, message)
        self.errors.append(message)


@dataclass(frozen=True)
class JobOutcome:
    store: str
    job: str
    # succeeded | partial (finished with errors) | failed (stopped) | locked (another run holds it);
    # a job_runs row may also read "interrupted" (the process died mid-run)
    status: str
    counters: dict[str, int]
    errors: tuple[str, ...]
    seconds: float
    credentials_refused: bool = False
    transient: bool = False

    @property
    def ok(self) -> bool:
        return self.status == "succeeded"


def run_job(
    database: Database,
    store: str,
    job: str,
    work: Callable[[JobContext], Any],
    clock: Callable[[], datetime] = utc_now,
) -> JobOutcome:
    """Run ``work`` under the (store, job) lock and record it in ``job_runs``."""
    started = clock()
    context = JobContext(store, job)
    try:
        with JobLockGuard(database, store, job, clock):
            run_id = _start_row(database, store, job, started)
            status = _execute(work, context)
            _finish_row(database, run_id, status, context, clock())
    except LockHeld as held:
        log.warning("%s", held)
        return JobOutcome(store, job, "locked", {}, (str(held),), 0.0)
    except (SQLAlchemyError, LockLost) as error:
        # The database failed around the job (locked, gone): one line, and the next job runs.
        problem = str(error) if isinstance(error, LockLost) else database_problem(error)
        log.error("%s/%s failed: %s", store, job, problem)
        context.errors.append(problem)
        status = "failed"
    seconds = (clock() - started).total_seconds()
    return JobOutcome(
        store, job, status, dict(context.counters), tuple(context.errors), seconds,
        credentials_refused=context.credentials_refused,
        transient=status == "failed" and context.transient,
    )  # fmt: skip


def _execute(work: Callable[[JobContext], Any], context: JobContext) -> str:
    try:
        work(context)
    except AuthenticationError as error:
        context.credentials_refused = True
        context.errors.append(f"{error} - check the token and its scopes in the config")
        log.error("%s/%s stopped: %s", context.store, context.job, error)
        return "failed"
    except ConnectorError as error:
        context.transient = all(failure.transient for failure in _failures(error))
        context.credentials_refused |= any(
            isinstance(failure, AuthenticationError) for failure in _failures(error)
        )
        if not getattr(error, "already_recorded", False):
            context.errors.append(mask_text(str(error)))
        log.error("%s/%s stopped: %s", context.store, context.job, error)
        return "failed"
    except LockLost as lost:
        context.errors.append(str(lost))
        log.error("%s/%s stopped: %s", context.store, context.job, lost)
        return "failed"
    except SQLAlchemyError as error:
        problem = database_problem(error)
        context.errors.append(problem)
        log.error("%s/%s stopped: %s", context.store, context.job, problem)
        return "failed"
    except Exception as error:  # a job's crash must still be recorded in job_runs
        context.transient = isinstance(error, OperationalError)  # the database went away
        context.errors.append(mask_text(f"unexpected {type(error).__name__}: {error}"))
        log.exception("%s/%s crashed", context.store, context.job)
        return "failed"
    return "partial" if context.errors else "succeeded"


def _failures(error: ConnectorError) -> list[ConnectorError]:
    """The errors behind one that stopped a job (``jobs.steps.AllPartsFailed`` carries several)."""
    failures = getattr(error, "failures", None)
    return list(failures) if failures else [error]


def database_problem(error: SQLAlchemyError) -> str:
    """One line for a database fault: the driver's first line, never the SQL's values."""
    cause = getattr(error, "orig", None) or error
    lines = str(cause).strip().splitlines() or [""]
    return mask_text(f"database error ({type(cause).__name__}): {lines[0][:300]}")


def _start_row(database: Database, store: str, job: str, started: datetime) -> int:
    with database.session() as session:
        # We hold the lock, so any run of this job still marked running died without finishing
        # (SIGKILL, power loss): say so instead of showing it running forever in `nps status`.
        session.execute(
            update(JobRun)
            .where(JobRun.store == store, JobRun.job == job, JobRun.status == "running")
            .values(status="interrupted", finished_at=started)
        )
        row = JobRun(
            store=store, job=job, status="running", started_at=started, counters={}, errors=[]
        )
        session.add(row)
        session.flush()
        return row.id


def _finish_row(
    database: Database, run_id: int, status: str, context: JobContext, finished: datetime
) -> None:
    with database.session() as session:
        session.execute(
            update(JobRun)
            .where(JobRun.id == run_id)
            .values(
                status=status,
                finished_at=finished,
                counters=dict(context.counters),
                errors=context.errors[:100],  # a run with 10,000 failures keeps a sample
            )
        )
