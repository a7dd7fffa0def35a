from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select

from connectors.errors import AuthenticationError, TransientError
from jobs.runtime.locks import JobLockGuard, LockHeld
from jobs.runtime.runner import JobContext, run_job
from nps_engine.store.database import Database
from nps_engine.store.models import JobLock, JobRun

NOW = datetime(2026, 11, 1, 12, tzinfo=UTC)


def clock() -> datetime:
    return NOW


def _runs(database: Database, store: str) -> list[JobRun]:
    with database.session() as session:
        return list(session.scalars(select(JobRun).where(JobRun.store == store)))


def test_a_clean_run_is_recorded_with_its_counters(database: Database, store_id: str) -> None:
    def work(context: JobContext) -> None:
        context.count("orders", 40)
        context.count("orders", 2)

    outcome = run_job(database, store_id, "sync", work, clock)
    assert outcome.status == "succeeded"
    assert outcome.counters == {"orders": 42}
    (row,) = _runs(database, store_id)
    assert (row.job, row.status, row.counters, row.finished_at) == (
        "sync",
        "succeeded",
        {"orders": 42},
        NOW,
    )


def test_errors_that_did_not_stop_the_job_make_it_partial(
    database: Database, store_id: str
) -> None:
    def work(context: JobContext) -> None:
        context.count("pushed", 9)
        context.error("customer 7: Customer does not exist")

    outcome = run_job(database, store_id, "push", work, clock)
    assert outcome.status == "partial"
    assert outcome.errors == ("customer 7: Customer does not exist",)
    assert _runs(database, store_id)[0].errors == ["customer 7: Customer does not exist"]


@pytest.mark.parametrize(
    ("error", "expected"),
    [
        (TransientError("502 after 5 attempts", system="shopify"), "shopify: 502 after 5 attempts"),
        (AuthenticationError("invalid token", system="zendesk"), "check the token"),
        (ZeroDivisionError("bug"), "unexpected ZeroDivisionError"),
    ],
)
def test_a_job_that_raises_is_recorded_as_failed(
    database: Database, store_id: str, error: Exception, expected: str
) -> None:
    def work(context: JobContext) -> None:
        raise error

    outcome = run_job(database, store_id, "sync", work, clock)
    assert outcome.status == "failed"
    assert expected in outcome.errors[0]
    assert _runs(database, store_id)[0].status == "failed"


def test_a_second_concurrent_run_of_the_same_job_is_refused(
    database: Database, store_id: str
) -> None:
    ran: list[str] = []
    with JobLockGuard(database, store_id, "sync", clock):
        outcome = run_job(database, store_id, "sync", lambda c: ran.append("sync"), clock)
        other_job = run_job(database, store_id, "push", lambda c: ran.append("push"), clock)
        other_store = run_job(database, store_id + "-b", "sync", lambda c: ran.append("b"), clock)
    assert outcome.status == "locked"
    assert "in progress" in outcome.errors[0]
    assert (other_job.status, other_store.status) == ("succeeded", "succeeded")
    assert ran == ["push", "b"]
    assert run_job(database, store_id, "sync", lambda c: ran.append("again"), clock).ok


def test_a_lock_left_by_a_dead_process_is_taken_over(sqlite_database: Database) -> None:
    with sqlite_database.session() as session:
        session.add(
            JobLock(
                store="s",
                job="sync",
                holder="elsewhere:1",
                acquired_at=NOW,
                expires_at=NOW - timedelta(seconds=1),
            )
        )
    assert run_job(sqlite_database, "s", "sync", lambda c: None, clock).ok


def test_a_live_lock_on_another_host_is_respected(sqlite_database: Database) -> None:
    with sqlite_database.session() as session:
        session.add(
            JobLock(
                store="s",
                job="sync",
                holder="elsewhere:1",
                acquired_at=NOW,
                expires_at=NOW + timedelta(minutes=5),
            )
        )
    with (
        pytest.raises(LockHeld, match="elsewhere:1"),
        JobLockGuard(sqlite_database, "s", "sync", clock),
    ):
        pass


def test_a_job_whose_every_system_failed_is_failed_not_partial(
    sqlite_database: Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    from jobs import steps
    from nps_engine.config import parse_settings

    (settings,) = parse_settings(
        {
            "store": {"id": "s"},
            "database": {"url": sqlite_database.url},
            "shopify": {"shop": "s", "access_token": "t"},
            "zendesk": {"subdomain": "s", "email": "a@b.co", "api_token": "t"},
        },
        {},
    )

    def refused(*_args: object, **_kwargs: object) -> None:
        raise AuthenticationError("the access token was refused", system="shopify")

    def unavailable(*_args: object, **_kwargs: object) -> None:
        raise TransientError("503 after 5 attempts", system="zendesk")

    monkeypatch.setattr(steps, "sync_shopify", refused)
    monkeypatch.setattr(steps, "sync_zendesk", unavailable)
    monkeypatch.setattr(steps.bootstrap, "order_source", lambda s, d=None: None)
    monkeypatch.setattr(steps.bootstrap, "ticket_source", lambda s: None)
    outcome = run_job(sqlite_database, "s", "sync", steps.sync_step(settings, sqlite_database, NOW))
    assert outcome.status == "failed"
    assert outcome.errors == (
        "shopify: the access token was refused",
        "zendesk: 503 after 5 attempts",
    )

    monkeypatch.setattr(steps, "sync_zendesk", lambda *a, **k: _Summary())
    outcome = run_job(sqlite_database, "s", "sync", steps.sync_step(settings, sqlite_database, NOW))
    assert outcome.status == "partial"
    assert outcome.errors == ("shopify: the access token was refused",)


class _Summary:
    stopped = None

    def counts(self) -> dict[str, int]:
        return {"tickets": 3}


def test_a_run_killed_mid_way_is_shown_interrupted_once_the_next_run_starts(
    database: Database, store_id: str
) -> None:
    with database.session() as session:
        session.add(
            JobRun(
                store=store_id, job="sync", status="running", started_at=NOW, counters={}, errors=[]
            )
        )
    assert run_job(database, store_id, "sync", lambda c: None, clock).ok
    statuses = sorted(run.status for run in _runs(database, store_id))
    assert statuses == ["interrupted", "succeeded"]
