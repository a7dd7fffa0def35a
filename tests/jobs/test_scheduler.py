from datetime import UTC, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest

from jobs.runtime.scheduler import Schedule, Scheduler, due_jobs, in_window

PARIS = ZoneInfo("Europe/Paris")
SYNC = Schedule("sync", timedelta(minutes=15))
SEND = Schedule("send", timedelta(hours=1), (time(9), time(18)))


def at(hour: int, minute: int = 0) -> datetime:
    return datetime(2026, 11, 2, hour, minute, tzinfo=UTC)  # Paris is UTC+1 in November


def test_everything_never_run_is_due_in_its_window() -> None:
    assert due_jobs([SYNC, SEND], {}, at(9), PARIS) == ["sync", "send"]


def test_a_job_waits_for_its_interval() -> None:
    last = {"sync": at(9, 0), "send": at(9, 0)}
    assert due_jobs([SYNC, SEND], last, at(9, 14), PARIS) == []
    assert due_jobs([SYNC, SEND], last, at(9, 15), PARIS) == ["sync"]
    assert due_jobs([SYNC, SEND], last, at(10, 0), PARIS) == ["sync", "send"]


@pytest.mark.parametrize(
    ("utc_hour", "inside"),
    [(7, False), (8, True), (16, True), (17, False)],  # 09:00-18:00 Paris = 08:00-17:00 UTC
)
def test_surveys_go_out_only_in_store_local_hours(utc_hour: int, inside: bool) -> None:
    assert in_window(at(utc_hour), (time(9), time(18)), PARIS) is inside


def test_a_window_across_midnight() -> None:
    assert in_window(at(23), (time(22), time(6)), ZoneInfo("UTC"))
    assert not in_window(at(12), (time(22), time(6)), ZoneInfo("UTC"))


def test_a_crashing_job_does_not_stop_the_others_or_the_loop() -> None:
    now = [at(9)]
    ran: list[str] = []

    def broken() -> None:
        raise RuntimeError("boom")

    scheduler = Scheduler(
        [SYNC, SEND], {"sync": broken, "send": lambda: ran.append("send")}, PARIS, lambda: now[0]
    )
    assert scheduler.run_pending() == ["sync", "send"]
    assert ran == ["send"]
    now[0] = at(9, 20)
    assert scheduler.run_pending() == ["sync"]


def test_serve_schedules_every_job_of_the_store_with_its_intervals() -> None:
    from nps_engine.config import parse_settings
    from nps_engine.store.database import Database

    (settings,) = parse_settings(
        {
            "store": {"id": "s", "timezone": "Europe/Paris"},
            "database": {"url": "sqlite://"},
            "email": {"from": "a@b.co"},
            "web": {"public_url": "https://nps.example.com", "secret_key": "x" * 16},
            "schedule": {"sync_minutes": 10, "send_between": ["08:00", "20:00"], "themes_hours": 3},
        },
        {},
    )
    from jobs.runtime.scheduler import store_scheduler

    database = Database("sqlite://")
    scheduler = store_scheduler(settings, database, lambda: at(9))
    assert [(s.job, s.every, s.between) for s in scheduler.schedules] == [
        ("sync", timedelta(minutes=10), None),
        ("surveys send", timedelta(hours=1), (time(8), time(20))),
        ("tags push", timedelta(minutes=5), None),
        ("themes", timedelta(hours=3), None),
        ("report", timedelta(hours=24), None),
    ]
    database.dispose()
