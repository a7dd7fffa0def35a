"""Shared by the feedback workspace tests: a store with answers, comments, segments and tags."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from nps_engine.config.settings import Settings
from nps_engine.store.database import Database
from nps_engine.store.models import (
    CommentTheme,
    Customer,
    Order,
    Response,
    TagState,
    Theme,
    Ticket,
)

NOW = datetime(2026, 3, 10, 10, 0, tzinfo=UTC)
SECRET = "test-secret-key-0123456789"
COMMENTS = {
    0: "Parcel arrived broken <script>alert(1)</script> & nobody answered",
    1: "Délai beaucoup trop long",
    2: None,
    3: "Great shoes, fast delivery",
    4: "Ok but the box was <b>crushed</b> & wet",
}


def workspace_settings(store_id: str, **sections: Any) -> Settings:
    document: dict[str, Any] = {
        "store": {"id": store_id, "name": "Maison Verte", "timezone": "Europe/Paris"},
        "database": {"url": "sqlite:///unused.db"},
        "web": {"public_url": "http://127.0.0.1", "secret_key": SECRET},
        "zendesk": {
            "subdomain": "maisonverte",
            "email": "a@maisonverte.example",
            "api_token": "token",
        },
    }
    for name, values in sections.items():
        document[name] = {**document.get(name, {}), **values}
    return Settings.model_validate(document)


def category_of(score: int) -> str:
    return "detractor" if score <= 6 else "passive" if score <= 8 else "promoter"


def seed_answers(database: Database, store: str, customers: int = 30) -> list[int]:
    """``customers`` customers with one answer each, a day apart, newest = customer 1.

    Scores cycle 0, 4, 7, 9, 10; comments cycle through :data:`COMMENTS`; every third customer
    returned their order (segment ``returned``); every fourth opened a ticket before answering
    (``support_contacted``); detractors have a follow-up ticket; customer 1 answered twice.
    """
    scores = (0, 4, 7, 9, 10)
    ids = []
    with database.session() as session:
        for i in range(1, customers + 1):
            answered = NOW - timedelta(days=i, hours=1)
            session.add(
                Customer(
                    store=store,
                    id=i,
                    email=f"buyer{i}@example.com",
                    first_name="Ann",
                    last_name=f"Buyer{i}",
                    locale="fr" if i % 2 else "en",
                )
            )
            session.add(
                Order(
                    store=store,
                    id=100 + i,
                    name=f"#{100 + i}",
                    customer_id=i,
                    created_at=answered - timedelta(days=12),
                    updated_at=answered - timedelta(days=12),
                    delivered_at=answered - timedelta(days=8),
                    returned=i % 3 == 0,
                )
            )
            if i % 4 == 0:
                session.add(
                    Ticket(
                        store=store,
                        id=500 + i,
                        customer_id=i,
                        status="solved",
                        subject="Where is my parcel?",
                        requester_email=f"buyer{i}@example.com",
                        created_at=answered - timedelta(days=3),
                        updated_at=answered - timedelta(days=3),
                    )
                )
            score = scores[i % 5]
            response = Response(
                store=store,
                source="survey",
                kind="transactional",
                customer_id=i,
                email=f"buyer{i}@example.com",
                order_id=100 + i,
                score=score,
                comment=COMMENTS[i % 5],
                responded_at=answered,
                updated_at=answered,
                followup_state="created" if score <= 6 else None,
                followup_ticket_id=9000 + i if score <= 6 else None,
            )
            session.add(response)
            session.add(
                TagState(
                    store=store,
                    system="shopify",
                    customer_id=i,
                    tags=[f"nps:{category_of(score)}"],
                    fields={},
                    pushed_at=answered + timedelta(minutes=5),
                )
            )
            session.flush()
            ids.append(response.id)
        earlier = NOW - timedelta(days=60)
        session.add(
            Response(
                store=store,
                source="survey",
                kind="transactional",
                customer_id=1,
                email="buyer1@example.com",
                score=9,
                comment="Loved it the first time",
                responded_at=earlier,
                updated_at=earlier,
            )
        )
    return ids


# Comment index in COMMENTS -> theme id; 3 is merged into 2, so answers of 0 and 4 both show
# "Packaging"; 1 shows the owner's rename "Livraison"; 3 fits no theme ("Other").
THEME_OF_COMMENT = {0: 3, 1: 1, 3: None, 4: 2}


def seed_themes(database: Database, store: str) -> None:
    """Themes as ``nps themes`` leaves them, with an owner's rename and merge, and every comment
    of :func:`seed_answers` assigned (see :data:`THEME_OF_COMMENT`)."""
    themes = [
        Theme(store=store, id=1, label="Delivery delay", renamed_to="Livraison"),
        Theme(store=store, id=2, label="Packaging"),
        Theme(store=store, id=3, label="Broken parcel", merged_into=2),
    ]
    by_text = {text: index for index, text in COMMENTS.items() if text}
    with database.session() as session:
        for theme in themes:
            theme.keywords, theme.pinned, theme.created_at, theme.updated_at = [], False, NOW, NOW
            session.add(theme)
        answers = session.query(Response.id, Response.comment).filter(Response.store == store)
        for answer_id, comment in answers.all():
            if comment not in by_text:
                continue
            session.add(
                CommentTheme(
                    store=store, response_id=answer_id, embedder="test", text_hash="x",
                    vector=b"", theme_id=THEME_OF_COMMENT[by_text[comment]], assigned_at=NOW,
                )
            )  # fmt: skip
