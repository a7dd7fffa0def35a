"""Comment themes kept up to date by the loop: the themes job of `nps run`, `nps serve` and the
queue workers, its interval, and its clean skips."""

from __future__ import annotations

from datetime import timedelta

import pytest

from jobs import bootstrap
from jobs.runtime.runner import run_job
from jobs.steps import themes_due, themes_step
from nps_engine.config import parse_settings
from nps_engine.config.settings import Settings
from nps_engine.store import comment_themes as cache
from nps_engine.store.database import Database
from tests.fakes import FakeCommentEmbedder
from tests.jobs.test_themes_job import COMMENTS, NOW, add_answers


def settings(store: str, **extra: object) -> Settings:
    document = {"store": {"id": store, "language": "fr"}, **extra}
    (result,) = parse_settings(document, {})
    return result


@pytest.fixture
def fake_model(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(bootstrap, "comment_embedder", lambda settings: FakeCommentEmbedder())


@pytest.mark.usefixtures("fake_model")
def test_the_themes_job_themes_new_comments_and_only_those_the_next_time(
    database: Database, store_id: str
) -> None:
    add_answers(database, store_id, COMMENTS)
    first = run_job(database, store_id, "themes", themes_step(settings(store_id), database, NOW))
    assert first.ok
    assert first.counters["comments_embedded"] == len(COMMENTS)
    assert first.counters["themes_recomputed"] == 1
    themed = {c.response_id: c.text for c in cache.commented_answers(database, store_id)}
    before = cache.cached_comments(database, store_id)

    add_answers(database, store_id, ["parcel arrived late again", "taille trop petite"])
    later = NOW + timedelta(hours=7)
    second = run_job(database, store_id, "themes", themes_step(settings(store_id), database, later))
    assert second.ok
    assert second.counters["comments_embedded"] == 2
    assert second.counters["comments_themed"] == 2
    assert second.counters.get("themes_recomputed", 0) == 0
    after = cache.cached_comments(database, store_id)
    assert len(after.response_ids) == len(themed) + 2
    assert after.assigned.all()
    assert (after.vectors[: len(before.response_ids)] == before.vectors).all()


def test_a_store_without_comments_skips_the_job_without_loading_the_model(
    database: Database, store_id: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    def no_model(settings: Settings) -> None:
        raise AssertionError("the model was loaded for a store without comments")

    monkeypatch.setattr(bootstrap, "comment_embedder", no_model)
    outcome = run_job(database, store_id, "themes", themes_step(settings(store_id), database, NOW))
    assert outcome.status == "succeeded"
    assert outcome.counters == {"themes_no_comments": 1}


def test_without_the_themes_extra_the_job_succeeds_and_says_it_skipped(
    database: Database, store_id: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    from connectors.comment_embedder import ThemesNotInstalled

    def not_installed(settings: Settings) -> None:
        raise ThemesNotInstalled("comment themes need the themes extra")

    monkeypatch.setattr(bootstrap, "comment_embedder", not_installed)
    add_answers(database, store_id, COMMENTS[:3])
    outcome = run_job(database, store_id, "themes", themes_step(settings(store_id), database, NOW))
    assert outcome.status == "succeeded"
    assert outcome.counters == {"themes_not_installed": 1}
    assert outcome.errors == ()


@pytest.mark.usefixtures("fake_model")
def test_nps_run_runs_themes_once_per_themes_hours(database: Database, store_id: str) -> None:
    every_4h = settings(store_id, schedule={"themes_hours": 4})
    assert themes_due(every_4h, database, NOW)  # never ran
    add_answers(database, store_id, COMMENTS)
    run_job(database, store_id, "themes", themes_step(every_4h, database, NOW), clock=lambda: NOW)
    assert not themes_due(every_4h, database, NOW + timedelta(hours=3, minutes=59))
    assert themes_due(every_4h, database, NOW + timedelta(hours=4))


def test_the_queue_scheduler_enqueues_themes_on_their_own_queue() -> None:
    from jobs.distributed.dispatcher import store_schedules
    from jobs.distributed.queue_app import QUEUES

    schedules = {s.job: s.every for s in store_schedules(settings("s"))}
    assert schedules["themes"] == timedelta(hours=6)
    assert QUEUES["themes"] == "nps.themes"
