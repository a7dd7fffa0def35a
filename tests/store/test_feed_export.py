"""The export streamed from one SQL query (segments, facts and pushed tags computed by the
database) writes, byte for byte, what the earlier export wrote, under every filter: on a
generated store with every kind of segment (built-in, custom over each feature, a ``property``
rule left to Python), names, redactions, locales, comments a spreadsheet would run, pushed and
unpushed tags and comment themes, on SQLite and PostgreSQL.

The earlier export is kept here as the reference: each answer's facts from the report's fact
query (``fact_query.with_facts``), its segments tested in Python, its tags read from
``tag_state``, written by the earlier formatter (one ``csv.writer`` line and one ``json.dumps``
per answer).
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterable, Iterator
from datetime import date
from typing import Any

import pytest
from sqlalchemy import false, insert, null, select, true, update
from test_report_tallies import NOW, generate, settings_for

from nps_engine.config import Settings
from nps_engine.records import SurveyKind
from nps_engine.response_export import csv_chunks, jsonl_chunks
from nps_engine.response_filters import ResponseFilters, mask_email
from nps_engine.response_view import FeedRow
from nps_engine.segments import ResponseFacts, enabled_segments
from nps_engine.store.database import Database
from nps_engine.store.fact_query import OPTIONAL_FACTS, with_facts
from nps_engine.store.facts_reader import FactsReader, _utc
from nps_engine.store.feed_query import joined, language
from nps_engine.store.feed_themes import FeedThemes
from nps_engine.store.models import (
    CommentTheme,
    Customer,
    Invite,
    Order,
    Response,
    TagState,
    Theme,
)
from nps_engine.store.response_feed import Feed

USUAL_DAYS = 12.5  # a short usual gap between orders: every part of churn risk is in play
TIMEZONE = "Europe/Paris"
COMMENTS = (
    None, "", "   ", "Great, fast; \"really\" good", "=HYPERLINK(\"http://x\")", "+33 6 12",
    "-5 stars", "@admin look", "Délai trop long, colis abîmé", "line one\nline two",
    "Le carton était écrasé", "\tindented",
)  # fmt: skip
_r, _c, _o = Response.__table__.c, Customer.__table__.c, Order.__table__.c


def enrich(database: Database, store: str) -> None:
    """What ``test_report_tallies.generate`` leaves out and the export shows: names (some
    redacted), locales of customers and of invites, comments, pushed tags, comment themes."""
    with database.engine.begin() as connection:
        for customer in range(1, 151):
            connection.execute(
                update(Customer)
                .where(_c.store == store, _c.id == customer)
                .values(
                    first_name=(None, "Ann", "", "Zoé")[customer % 4],
                    last_name=(None, "Buyer", "O'Neil")[customer % 3],
                    locale=(None, "fr-FR", "EN", "de", "")[customer % 5],
                    redacted_at=NOW if customer % 29 == 0 else None,
                )
            )
        answers = connection.execute(
            select(_r.id, _r.customer_id, _r.email).where(_r.store == store).order_by(_r.id)
        ).all()
        for n, (answer_id, customer_id, email) in enumerate(answers):
            invite_id = None
            if n % 6 == 0:
                invite_id = connection.execute(
                    insert(Invite).values(
                        store=store, kind="transactional", customer_id=customer_id,
                        email=email or "guest@example.com", locale=("it", None, "FR-ca")[n % 3],
                        state="answered", created_at=NOW,
                    ).returning(Invite.__table__.c.id)
                ).scalar_one()  # fmt: skip
            connection.execute(
                update(Response)
                .where(_r.id == answer_id)
                .values(comment=COMMENTS[n % len(COMMENTS)], invite_id=invite_id)
            )
            if n % 4 == 0 and COMMENTS[n % len(COMMENTS)]:
                connection.execute(
                    insert(CommentTheme).values(
                        store=store, response_id=answer_id, embedder="test", text_hash="x",
                        vector=b"", theme_id=(1, 2, 3, None)[n % 8 // 2],
                        assigned_at=NOW if n % 3 else None,
                    )
                )  # fmt: skip
        for customer in range(1, 151, 2):
            for system, tags in (("shopify", ["nps:promoter", "nps-score:9"]), ("zendesk", None)):
                if system == "zendesk" and customer % 3:
                    continue
                connection.execute(
                    insert(TagState).values(
                        store=store, system=system, customer_id=customer, tags=tags, fields={},
                        pushed_at=None if customer % 7 == 0 else NOW,
                    )
                )  # fmt: skip
        for theme_id, label, merged in ((1, "Delivery", None), (2, "Box", None), (3, "Bin", 2)):
            connection.execute(
                insert(Theme).values(
                    store=store, id=theme_id, label=label, keywords=[], pinned=False,
                    merged_into=merged, created_at=NOW, updated_at=NOW,
                )
            )  # fmt: skip


@pytest.fixture
def store(database: Database, store_id: str) -> tuple[Database, Settings]:
    generate(database, store_id)
    enrich(database, store_id)
    return database, settings_for(database, store_id)


def feed_of(database: Database, settings: Settings) -> Feed:
    store = settings.store.id
    return Feed(
        database, store, TIMEZONE, settings.segments, NOW, USUAL_DAYS,
        FeedThemes.of_store(database, store),
    )  # fmt: skip


def every_filter() -> list[ResponseFilters]:
    """Each filter, and a segment filter of each kind (the unfiltered export shows every
    answer's segments already)."""
    segments = (
        "support_contacted", "returned", "churn_risk", "not_vip_nor_wholesale", "quiet_30",
        "big_spenders", "dropped", "open_ticket", "nested", "plan_pro",
    )  # fmt: skip
    return [
        ResponseFilters(),
        *(ResponseFilters(segment=segment) for segment in segments),
        ResponseFilters(segment="no_such_segment"),
        ResponseFilters(category="detractor", segment="churn_risk"),
        ResponseFilters(score=8),
        ResponseFilters(language="fr"),
        ResponseFilters(with_comment=True),
        ResponseFilters(with_comment=False, kind="relationship"),
        ResponseFilters(search="CARTON"),
        ResponseFilters(theme="2"),
        ResponseFilters(theme="other"),
        ResponseFilters(since=date(2026, 3, 1), until=date(2026, 4, 30)),
    ]


def test_export_writes_what_the_earlier_export_wrote_under_every_filter(
    store: tuple[Database, Settings],
) -> None:
    database, settings = store
    feed = feed_of(database, settings)
    reference = EarlierExport(feed)
    assert len(feed.segments) > 20
    assert feed.query.python_segments is not None  # the property rule
    for filters in every_filter():
        earlier = reference.rows(filters)
        exported = "".join(csv_chunks(feed.export_rows(filters, batch_size=300), size=1000))
        assert exported == "".join(earlier_csv(earlier)), filters
    for filters in (ResponseFilters(), ResponseFilters(segment="plan_pro", theme="other")):
        assert list(feed.rows(filters, batch_size=300)) == reference.rows(filters)
    everyone = reference.rows(ResponseFilters())
    assert len(everyone) > 800
    for name in [segment.name for segment in feed.segments]:  # each segment in and out
        assert 0 < sum(name in row.segments for row in everyone) < len(everyone), name
    for delimiter in (",", ";"):
        for masked in (False, True):
            rows = feed.export_rows(ResponseFilters())
            written = "".join(csv_chunks(rows, delimiter=delimiter, masked=masked))
            assert written == "".join(earlier_csv(everyone, delimiter=delimiter, masked=masked))
    for masked in (False, True):
        written = "".join(jsonl_chunks(feed.export_rows(ResponseFilters()), masked=masked))
        assert written == "".join(earlier_jsonl(everyone, masked=masked))


def test_pages_of_a_segment_left_to_python_hold_exactly_its_members(
    store: tuple[Database, Settings],
) -> None:
    database, settings = store
    feed = feed_of(database, settings)
    filters = ResponseFilters(segment="plan_pro")
    members = [row.id for row in EarlierExport(feed).rows(filters)]
    paged, after = [], None
    while True:
        page = feed.page(filters, after, limit=25)
        paged += [row.id for row in page.rows]
        if page.next_cursor is None:
            break
        after = page.next_cursor
    assert paged == members
    assert len(members) > 25


class EarlierExport:
    """The feed as the export read it before: facts and segments in Python, answer by answer."""

    def __init__(self, feed: Feed) -> None:
        self.feed = feed
        segments = enabled_segments(feed.settings, NOW, USUAL_DAYS)
        self.segments = {
            answer_id: tuple(s.name for s in segments if s.matches(facts))
            for answer_id, facts in self._facts().items()
        }
        t = TagState.__table__.c
        self.tags: dict[int, dict[str, tuple[str, ...]]] = {}
        with feed.database.session() as session:
            pushed = session.query(t.customer_id, t.system, TagState.tags).filter(
                t.store == feed.store, t.pushed_at.is_not(None)
            )
            for customer_id, system, tags in pushed:
                self.tags.setdefault(customer_id, {})[system] = tuple(tags or ())

    def rows(self, filters: ResponseFilters) -> list[FeedRow]:
        ct = CommentTheme.__table__.c
        query = (
            select(
                _r.id, _r.responded_at, _r.kind, _r.source, _r.score, _r.comment,
                _r.customer_id, _r.email, _r.order_id, _r.followup_state,
                _r.followup_ticket_id, language(), _c.first_name, _c.last_name,
                _c.redacted_at, _o.name, ct.theme_id, ct.assigned_at,
            )
            .select_from(joined())
            # the filters' SQL (every filter but the segment) was not changed by the rewrite
            .where(*self.feed._conditions(filters))
            .order_by(_r.responded_at.desc(), _r.id.desc())
        )  # fmt: skip
        with self.feed.database.engine.connect() as connection:
            found = connection.execute(query).all()
        rows = [self._row(row) for row in found]
        if filters.segment is None:
            return rows
        return [row for row in rows if filters.segment in row.segments]

    def _row(self, row: Any) -> FeedRow:
        (answer_id, responded_at, kind, source, score, comment, customer_id, email, order_id,
         followup_state, followup_ticket_id, locale, first_name, last_name, redacted_at,
         order_name, theme_id, theme_assigned_at) = row  # fmt: skip
        name = None
        if redacted_at is None:
            name = " ".join(part for part in (first_name, last_name) if part) or None
        return FeedRow(
            answer_id, _utc(responded_at), kind, source, score, comment,
            locale[:2].lower() if locale else None, customer_id, name, email, order_id,
            order_name, self.segments[answer_id],
            self.tags.get(customer_id, {}) if customer_id else {}, followup_state,
            followup_ticket_id, self.feed.themes.label(theme_id, theme_assigned_at),
        )  # fmt: skip

    def _facts(self) -> dict[int, ResponseFacts]:
        found: dict[int, ResponseFacts] = {}
        window = self.feed.settings.support_contacted.window_days
        with self.feed.database.engine.connect() as connection:
            for kind in SurveyKind:
                answers = (
                    select(
                        _r.id, _r.customer_id, _r.email, _r.order_id, _r.score, _r.responded_at,
                        null().label("month"), true().label("chosen"),
                        false().label("month_latest"),
                    )
                    .where(_r.store == self.feed.store, _r.kind == kind.value)
                    .subquery("answers")
                )  # fmt: skip
                query = with_facts(self.feed.store, kind, answers, OPTIONAL_FACTS)
                result = connection.execute(query)
                reader = FactsReader(kind, NOW, window, list(result.keys()))
                for row in result:
                    facts = reader.facts(row)
                    found[facts.response_id] = facts
        return found


# The earlier formatter, as it was.
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def earlier_csv(
    rows: Iterable[FeedRow], *, delimiter: str = ",", masked: bool = False
) -> Iterator[str]:
    buffer = io.StringIO()
    writer = csv.writer(buffer, delimiter=delimiter, lineterminator="\r\n")
    writer.writerow(
        ("id", "responded_at", "kind", "score", "category", "comment", "language",
         "customer_id", "customer_name", "email", "order", "segments", "shopify_tags",
         "zendesk_tags", "followup_ticket_id", "theme")
    )  # fmt: skip
    for row in rows:
        tags = row.tags
        writer.writerow(
            [
                row.id, row.responded_at.isoformat(timespec="seconds"), _text(row.kind),
                row.score, row.category, _text(row.comment), _text(row.language),
                row.customer_id, None if masked else _text(row.customer_name),
                _text(mask_email(row.email) if masked else row.email), _text(row.order_name),
                " ".join(row.segments),
                " ".join(tags.get("shopify", ())) if tags else "",
                " ".join(tags.get("zendesk", ())) if tags else "",
                row.followup_ticket_id, _text(row.theme),
            ]
        )  # fmt: skip
    yield "\ufeff" + buffer.getvalue()


def earlier_jsonl(rows: Iterable[FeedRow], *, masked: bool = False) -> Iterator[str]:
    for row in rows:
        values = {
            "id": row.id,
            "responded_at": row.responded_at.isoformat(timespec="seconds"),
            "kind": row.kind,
            "score": row.score,
            "category": row.category,
            "comment": row.comment,
            "language": row.language,
            "customer_id": row.customer_id,
            "customer_name": None if masked else row.customer_name,
            "email": mask_email(row.email) if masked else row.email,
            "order": row.order_name,
            "segments": list(row.segments),
            "shopify_tags": list(row.tags.get("shopify", ())),
            "zendesk_tags": list(row.tags.get("zendesk", ())),
            "followup_ticket_id": row.followup_ticket_id,
            "theme": row.theme,
        }
        yield json.dumps(values, ensure_ascii=False) + "\n"


def _text(value: str | None) -> str | None:
    if value and value.startswith(_FORMULA_START):
        return "'" + value
    return value
