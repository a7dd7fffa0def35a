"""Answers arriving together: written in batches, none lost, each in the order it came.

The answer POSTs share one short queue and one transaction per batch (no process-wide lock):
what a customer notices is that every acknowledged answer is stored, that their later click wins
over an earlier one even inside one batch, and that a link to a missing invite in the same batch
as others fails alone.
"""

from __future__ import annotations

import asyncio
from datetime import timedelta

import httpx
import pytest
from sqlalchemy import select
from survey_support import NOW, SECRET, make_invite, survey_settings

from nps_engine.invite_tokens import Purpose, TokenSigner
from nps_engine.store.database import Database
from nps_engine.store.models import Response
from nps_engine.store.responses import Answer
from nps_engine.web.answer_queue import AnswerQueue
from nps_engine.web.app import create_app

PUBLIC = "https://nps.maisonverte.example"
SIGNER = TokenSigner(SECRET, timedelta(days=60))


def stored(database: Database, store: str) -> dict[int, tuple[int, str | None]]:
    with database.session() as session:
        rows = session.execute(
            select(Response.invite_id, Response.score, Response.comment).where(
                Response.store == store
            )
        ).all()
    return {invite: (score, comment) for invite, score, comment in rows}


def test_answers_posted_at_once_are_all_stored_and_acknowledged(
    database: Database, store_id: str
) -> None:
    invites = [make_invite(database, store_id, f"c{n}@example.com") for n in range(40)]
    # One client address for all: above the per-IP limit of 30 a minute.
    settings = survey_settings(store_id, web={"posts_per_minute_per_ip": 1000})
    app = create_app(settings, database, clock=lambda: NOW)

    async def answer_all() -> list[httpx.Response]:
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url=PUBLIC) as client:
            return await asyncio.gather(
                *(
                    client.post(
                        f"/s/{SIGNER.issue(Purpose.SURVEY, invite, NOW)}",
                        data={
                            "score": str(invite % 11),
                            "nonce": SIGNER.issue(Purpose.FORM, invite, NOW),
                        },
                        headers={"accept": "application/json"},
                    )
                    for invite in invites
                )
            )

    answers = asyncio.run(answer_all())
    assert [a.json()["saved"] for a in answers] == [True] * len(invites)
    assert stored(database, store_id) == {invite: (invite % 11, None) for invite in invites}


@pytest.mark.parametrize("unknown_invite", [False, True])
def test_a_later_answer_in_the_same_batch_wins_and_a_missing_invite_fails_alone(
    database: Database, store_id: str, unknown_invite: bool
) -> None:
    invite, other = make_invite(database, store_id), make_invite(database, store_id, "b@x.org")
    queue = AnswerQueue(database)
    batch = [
        Answer(store_id, invite, 3, None, NOW),  # the script's score-only POST
        Answer(store_id, invite, 4, "Slow delivery", NOW),  # the form, with a comment
        Answer(store_id, other if not unknown_invite else 999_999, 10, None, NOW),
        Answer(store_id, invite, 6, None, NOW),  # changed their mind: the comment stays
    ]

    async def record_together() -> list[object]:
        return await asyncio.gather(*(queue.record(answer) for answer in batch))

    results = asyncio.run(record_together())
    assert [r is None for r in results] == [False, False, unknown_invite, False]
    expected = {invite: (6, "Slow delivery")}
    if not unknown_invite:
        expected[other] = (10, None)
    assert stored(database, store_id) == expected


def test_many_clicks_to_a_few_invites_end_with_each_customers_last_click(
    database: Database, store_id: str
) -> None:
    """Clicks arriving while earlier ones are written: a later click always wins."""
    invites = [make_invite(database, store_id, f"k{n}@example.com") for n in range(5)]
    queue = AnswerQueue(database)
    clicks = [
        Answer(
            store_id,
            invites[n % 5],
            n % 11,
            f"comment {n}" if n % 3 == 0 else None,
            NOW + timedelta(seconds=n),
        )
        for n in range(60)
    ]

    async def click(n: int) -> object:
        await asyncio.sleep(n * 0.002)  # arriving one after another, while batches are written
        return await queue.record(clicks[n])

    async def click_all() -> list[object]:
        return await asyncio.gather(*(click(n) for n in range(len(clicks))))

    results = asyncio.run(click_all())
    assert all(result is not None for result in results)
    expected = {}
    for click in clicks:
        comment = (
            click.comment
            if click.comment is not None
            else expected.get(click.invite_id, (0, None))[1]
        )
        expected[click.invite_id] = (click.score, comment)
    assert stored(database, store_id) == expected
