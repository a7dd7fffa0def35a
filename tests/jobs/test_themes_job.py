"""Comment themes kept in the store: cache, incremental runs, recomputes, pinned themes and the
owner's renames and merges, on SQLite and PostgreSQL."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, date, datetime, timedelta
from typing import Any

import numpy as np
import pytest
from numpy.typing import NDArray

from jobs.theme_listing import theme_listing
from jobs.themes_job import update_themes
from nps_engine.config import parse_settings
from nps_engine.config.settings import Settings
from nps_engine.report import Period
from nps_engine.store import comment_themes as cache
from nps_engine.store.database import Database
from nps_engine.store.models import Response
from nps_engine.store.shop_privacy import Subject, redact_customer
from nps_engine.store.theme_rows import set_owner_choice, theme_rows
from tests.fakes import FakeCommentEmbedder

NOW = datetime(2026, 6, 15, 12, tzinfo=UTC)
PERIOD = Period(date(2026, 1, 1), date(2026, 6, 15), "UTC")
COMMENTS = [
    *(f"parcel arrived late {i}" for i in range(6)),
    *(f"colis en retard livraison {i}" for i in range(6)),
    *(f"size too small fit {i}" for i in range(6)),
    *(f"support never gave an answer {i}" for i in range(6)),
]


def settings(store: str, **themes: Any) -> Settings:
    (result,) = parse_settings({"store": {"id": store, "language": "fr"}, "themes": themes}, {})
    return result


def add_answers(database: Database, store: str, comments: list[str]) -> list[int]:
    """The answers' ids, in order (1-based in the tests' comments: ``ids[0]`` is comment 1)."""
    rows = [
        Response(
            store=store, source="import", kind="transactional", email=f"c{n}@example.com",
            score=3 if "late" in comment else 9, comment=comment,
            responded_at=NOW - timedelta(days=30 + n % 20), updated_at=NOW,
            import_key=f"{comment[:60]}-{n}",
        )
        for n, comment in enumerate(comments)
    ]  # fmt: skip
    with database.session() as session:
        session.add_all(rows)
        session.flush()
        return [row.id for row in rows]


def themes_of(database: Database, store: str) -> dict[int, int | None]:
    listing = theme_listing(settings(store), database, NOW, PERIOD)
    return {rid: f.theme_id for f in listing.figures for rid in f.response_ids}


def test_no_comment_gives_no_theme_and_no_error(database: Database, store_id: str) -> None:
    run = update_themes(settings(store_id), database, FakeCommentEmbedder(), NOW)
    assert (run.comments, run.themes) == (0, 0)
    assert theme_listing(settings(store_id), database, NOW, PERIOD).figures == []


def test_one_comment_is_other(database: Database, store_id: str) -> None:
    (rid,) = add_answers(database, store_id, ["parcel arrived late"])
    run = update_themes(settings(store_id), database, FakeCommentEmbedder(), NOW)
    assert run.comments == 1
    assert themes_of(database, store_id) == {rid: None}


def test_ten_comments_find_the_two_topics(database: Database, store_id: str) -> None:
    ids = add_answers(database, store_id, COMMENTS[:5] + COMMENTS[12:17])
    update_themes(settings(store_id), database, FakeCommentEmbedder(), NOW)
    themes = themes_of(database, store_id)
    late, small = {themes[ids[i]] for i in range(5)}, {themes[ids[i]] for i in range(5, 10)}
    assert len(late) == 1
    assert len(small) == 1
    assert late != small
    assert None not in late | small


def test_languages_share_a_theme_and_keywords_are_in_the_store_language(
    database: Database, store_id: str
) -> None:
    ids = add_answers(database, store_id, COMMENTS)
    update_themes(settings(store_id), database, FakeCommentEmbedder(), NOW)
    themes = themes_of(database, store_id)
    assert len({themes[ids[i]] for i in range(12)}) == 1  # English and French delivery comments
    rows = {row.id: row for row in theme_rows(database, store_id)}
    delivery = rows[themes[ids[0]]]  # type: ignore[index]
    assert {"retard", "colis", "livraison"} & set(delivery.keywords)


def test_same_seed_same_themes(database: Database, store_id: str) -> None:
    add_answers(database, store_id, COMMENTS)
    update_themes(settings(store_id), database, FakeCommentEmbedder(), NOW)
    first = themes_of(database, store_id)
    update_themes(settings(store_id), database, FakeCommentEmbedder(), NOW, rebuild=True)
    assert themes_of(database, store_id) == first


def test_new_comments_are_assigned_without_moving_old_ones(
    database: Database, store_id: str
) -> None:
    ids = add_answers(database, store_id, COMMENTS)
    update_themes(settings(store_id), database, FakeCommentEmbedder(), NOW)
    before = themes_of(database, store_id)
    new = add_answers(database, store_id, ["size is small again", "late parcel again"])
    embedder = FakeCommentEmbedder()
    run = update_themes(settings(store_id), database, embedder, NOW)
    assert not run.rebuilt
    assert run.embedded == 2
    assert run.assigned == 2
    assert sorted(embedder.embedded) == ["late parcel again", "size is small again"]  # new only
    after = themes_of(database, store_id)
    assert {rid: after[rid] for rid in before} == before
    assert after[new[0]] == before[ids[12]]
    assert after[new[1]] == before[ids[0]]


def test_pinned_theme_takes_its_comments_and_label(database: Database, store_id: str) -> None:
    ids = add_answers(database, store_id, COMMENTS)
    pinned = {"pinned": [{"label": "Service client", "examples": ["support answer", "agent"]}]}
    update_themes(settings(store_id, **pinned), database, FakeCommentEmbedder(), NOW)
    rows = {row.id: row for row in theme_rows(database, store_id)}
    themes = themes_of(database, store_id)
    service = {themes[ids[i]] for i in range(18, 24)}
    assert len(service) == 1
    (theme_id,) = service
    assert theme_id is not None
    assert rows[theme_id].pinned
    assert rows[theme_id].shown_label == "Service client"


def test_rename_and_merge_survive_a_recompute(database: Database, store_id: str) -> None:
    ids = add_answers(database, store_id, COMMENTS)
    update_themes(settings(store_id), database, FakeCommentEmbedder(), NOW)
    themes = themes_of(database, store_id)
    delivery, sizing, service = themes[ids[0]], themes[ids[12]], themes[ids[18]]
    assert delivery
    assert sizing
    assert service
    set_owner_choice(database, store_id, delivery, renamed_to="Livraison")
    set_owner_choice(database, store_id, service, merged_into=sizing)
    update_themes(settings(store_id), database, FakeCommentEmbedder(), NOW, rebuild=True)
    listing = theme_listing(settings(store_id), database, NOW, PERIOD)
    by_label = {f.label: f for f in listing.figures}
    assert by_label["Livraison"].size == 12
    merged = next(f for f in listing.figures if ids[18] in f.response_ids)
    assert ids[12] in merged.response_ids
    assert merged.size == 12


def test_changed_comment_is_embedded_again(database: Database, store_id: str) -> None:
    ids = add_answers(database, store_id, COMMENTS)
    update_themes(settings(store_id), database, FakeCommentEmbedder(), NOW)
    with database.session() as session:
        answer = session.get(Response, ids[0])
        assert answer is not None
        answer.comment = "size too small"
    embedder = FakeCommentEmbedder()
    update_themes(settings(store_id), database, embedder, NOW)
    assert embedder.embedded == ["size too small"]
    themes = themes_of(database, store_id)
    assert themes[ids[0]] == themes[ids[12]]


class _WiderModel(FakeCommentEmbedder):
    """Another model, with vectors of another size (e5's 384 against the USE's 512)."""

    model_name = "fake-topics-wide"

    def embed(self, texts: Sequence[str]) -> NDArray[np.float32]:
        narrow = super().embed(texts)
        return np.hstack([narrow, np.zeros((len(texts), 4), np.float32)])


def test_another_model_embeds_every_comment_again_and_recomputes(
    database: Database, store_id: str
) -> None:
    """An owner who changes ``themes.model`` gets themes from the new model's vectors alone."""
    ids = add_answers(database, store_id, COMMENTS)
    update_themes(settings(store_id), database, FakeCommentEmbedder(), NOW)
    wider = _WiderModel()
    run = update_themes(settings(store_id), database, wider, NOW)
    assert run.rebuilt
    assert sorted(wider.embedded) == sorted(COMMENTS)
    themes = themes_of(database, store_id)
    assert themes[ids[0]] == themes[ids[6]]  # "parcel arrived late" with "colis en retard"
    assert themes[ids[0]] != themes[ids[12]]


@pytest.mark.parametrize("segment", ["detractors", "promoters"])
def test_segment_keeps_only_its_answers(database: Database, store_id: str, segment: str) -> None:
    ids = add_answers(database, store_id, COMMENTS)
    update_themes(settings(store_id), database, FakeCommentEmbedder(), NOW)
    listing = theme_listing(settings(store_id), database, NOW, PERIOD, segment=segment)
    found = {rid for f in listing.figures for rid in f.response_ids}
    assert found == (set(ids[:6]) if segment == "detractors" else set(ids[6:]))


def test_redacted_customer_loses_the_embedding_of_their_comment(
    database: Database, store_id: str
) -> None:
    ids = add_answers(database, store_id, COMMENTS)
    update_themes(settings(store_id), database, FakeCommentEmbedder(), NOW)
    with database.session() as session:
        redact_customer(session, store_id, Subject(0, "c0@example.com"), NOW)
    cached = cache.cached_comments(database, store_id)
    assert ids[0] not in cached.response_ids.tolist()
    assert ids[1] in cached.response_ids.tolist()


def test_each_distinct_comment_is_read_by_the_model_once_and_long_ones_only_in_part(
    database: Database, store_id: str
) -> None:
    from jobs.themes_job import EMBED_BATCH, MAX_CHARS

    letter = "The parcel came late and the box was torn. " * 200  # 8,600 characters
    repeated = ["Parfait", " Parfait ", "Parfait\n"] * (EMBED_BATCH // 2)  # spans two batches
    ids = add_answers(database, store_id, [*COMMENTS, *repeated, letter])
    embedder = FakeCommentEmbedder()
    run = update_themes(settings(store_id), database, embedder, NOW)
    assert run.embedded == len(ids)
    assert embedder.embedded.count("Parfait") == 1
    assert len(embedder.embedded) == len(COMMENTS) + 2
    longest = max(embedder.embedded, key=len)
    assert len(longest) <= MAX_CHARS
    assert letter.startswith(longest)
    cached = cache.cached_comments(database, store_id)
    assert len(cached.response_ids) == len(ids)
    assert cached.assigned.all()


def test_themes_part_puts_each_answer_in_the_reports_segments(
    database: Database, store_id: str
) -> None:
    """The segments of the themes part are the report's, churn risk read with the store's usual
    gap between orders (it once left the gap out, and "gone quiet" customers with it)."""
    from sqlalchemy import select

    from nps_engine.records import SurveyKind
    from nps_engine.segments import enabled_segments
    from nps_engine.store.models import CommentTheme, Customer, Order, Ticket
    from nps_engine.store.order_habits import usual_return_days
    from nps_engine.store.report_facts import load_report_inputs

    with database.session() as session:
        for n, comment in enumerate(COMMENTS):
            customer, answered = n + 1, NOW - timedelta(days=30 + n % 20)
            session.add(Customer(store=store_id, id=customer, email=f"c{n}@example.com",
                                 orders_count=2))  # fmt: skip
            # two orders 20 days apart: the usual gap; every third customer's last one is long
            # ago ("gone quiet" past twice that gap), every fifth returned the surveyed order
            last = answered - timedelta(days=200 if n % 3 == 0 else 5)
            for number, placed in ((1, last - timedelta(days=20)), (2, last)):
                session.add(Order(store=store_id, id=customer * 10 + number,
                                  name=f"#{customer}-{number}", customer_id=customer,
                                  created_at=placed, updated_at=placed,
                                  returned=n % 5 == 0 and number == 2))  # fmt: skip
            if n % 4 == 1:
                opened = answered - timedelta(days=3)
                session.add(Ticket(store=store_id, id=customer, customer_id=customer,
                                   status="solved", created_at=opened,
                                   updated_at=opened))  # fmt: skip
            session.add(Response(store=store_id, source="survey", kind="transactional",
                                 customer_id=customer, email=f"c{n}@example.com",
                                 order_id=customer * 10 + 2, score=n % 11, comment=comment,
                                 responded_at=answered, updated_at=NOW))  # fmt: skip
    chosen = settings(store_id)
    update_themes(chosen, database, FakeCommentEmbedder(), NOW)
    listing = theme_listing(chosen, database, NOW, PERIOD)

    usual = usual_return_days(database, store_id, NOW)
    assert usual == 20
    themed = CommentTheme.__table__.c
    inputs = load_report_inputs(
        database, store_id, months=PERIOD.months(), kind=SurveyKind.TRANSACTIONAL,
        basis="responses", now=NOW, support_window_days=90,
        among=Response.__table__.c.id.in_(select(themed.response_id)),
    )  # fmt: skip
    assert len(inputs.facts) == len(COMMENTS)
    expected = {
        segment.name: sum(1 for facts in inputs.facts if segment.matches(facts))
        for segment in enabled_segments(chosen.segments, NOW, usual)
    }
    found = {group.name: group.comments for group in listing.by_segment}
    assert {name: found[name] for name in expected} == expected
    without_gap = enabled_segments(chosen.segments, NOW)
    churn = next(segment for segment in without_gap if segment.name == "churn_risk")
    assert expected["churn_risk"] > sum(1 for facts in inputs.facts if churn.matches(facts))


def test_themes_part_counts_a_segment_on_imported_properties(
    database: Database, store_id: str
) -> None:
    """A custom segment on an imported answer's property has no SQL: the themes part tests it
    in Python, beside the segments the database computes."""
    ids = add_answers(database, store_id, COMMENTS)
    with database.session() as session:
        for n, rid in enumerate(ids):
            answer = session.get(Response, rid)
            assert answer is not None
            answer.properties = {"Plan": "Pro" if n % 4 == 0 else "Basic"}
    (chosen,) = parse_settings(
        {
            "store": {"id": store_id, "language": "fr"},
            "segments": {"custom": [{"name": "pro_plan", "rule": {"property": {"plan": "pro"}}}]},
        },
        {},
    )
    update_themes(chosen, database, FakeCommentEmbedder(), NOW)
    listing = theme_listing(chosen, database, NOW, PERIOD, segment="pro_plan")
    found = {rid for figure in listing.figures for rid in figure.response_ids}
    assert found == {rid for n, rid in enumerate(ids) if n % 4 == 0}
    by_segment = {group.name: group.comments for group in theme_listing(
        chosen, database, NOW, PERIOD).by_segment}  # fmt: skip
    assert by_segment["pro_plan"] == len(COMMENTS) // 4
