"""The thank-you page shows a promoter's discount code, read from the store once made."""

from __future__ import annotations

import re
import warnings
from collections.abc import Iterator
from datetime import datetime, timedelta

import pytest
from sqlalchemy import select
from survey_support import NOW, SECRET, make_invite, survey_settings

from connectors.shopify.errors import ShopifyTransientError
from jobs.rewards import reward_response
from nps_engine.invite_tokens import Purpose, TokenSigner
from nps_engine.ports import PromoterCode
from nps_engine.store.database import Database
from nps_engine.store.models import PromoterReward, Response
from nps_engine.web.app import create_app
from nps_engine.web.context import WebAdapters

with warnings.catch_warnings():
    warnings.simplefilter("ignore", DeprecationWarning)
    warnings.filterwarnings("ignore", message="Using `httpx` with `starlette.testclient`")
    from starlette.testclient import TestClient

pytestmark = pytest.mark.filterwarnings("ignore:Using `httpx` with `starlette.testclient`")

SIGNER = TokenSigner(SECRET, timedelta(days=60))
PUBLIC = "https://nps.maisonverte.example"
REWARDS = {"promoter_discount": {"enabled": True, "percentage": 10, "validity_days": 30}}


class FakeDesk:
    def __init__(self, failing: bool = False) -> None:
        self.created: list[PromoterCode] = []
        self.failing = failing

    def find_code(self, code: str) -> str | None:
        return next((f"gid://shopify/DiscountCodeNode/{i}" for i, c in enumerate(self.created)
                     if c.code == code), None)  # fmt: skip

    def create_code(self, reward: PromoterCode) -> str:
        if self.failing:
            raise ShopifyTransientError("timed out", system="shopify")
        self.created.append(reward)
        return f"gid://shopify/DiscountCodeNode/{len(self.created)}"


@pytest.fixture
def desk() -> FakeDesk:
    return FakeDesk()


def _client(database: Database, store_id: str, desk: FakeDesk) -> TestClient:
    settings = survey_settings(store_id, rewards=REWARDS)

    def reward(response_id: int, now: datetime) -> None:
        reward_response(database, settings, desk, response_id, now)

    adapters = WebAdapters(promoter_reward=reward)
    app = create_app(settings, database, clock=lambda: NOW, adapters=adapters)
    return TestClient(app, base_url=PUBLIC)


@pytest.fixture
def client(database: Database, store_id: str, desk: FakeDesk) -> Iterator[TestClient]:
    with _client(database, store_id, desk) as test_client:
        yield test_client


def _answer(client: TestClient, invite: int, score: int) -> str:
    link = SIGNER.issue(Purpose.SURVEY, invite, NOW)
    page = client.get(f"/s/{link}/{score}").text
    nonce = re.search(r'name="nonce" value="([^"]+)"', page)
    assert nonce is not None
    return client.post(f"/s/{link}", data={"score": str(score), "nonce": nonce.group(1)}).text


def test_a_promoter_sees_their_code_on_the_thank_you_page(
    client: TestClient, database: Database, store_id: str, desk: FakeDesk
) -> None:
    page = _answer(client, make_invite(database, store_id), 10)
    [made] = desk.created
    assert made.code in page
    assert "10% off your next order, once, until 2026-04-09" in page
    assert (made.ends_at - made.starts_at).days == 30
    # Answering again (adding a comment) shows the same code, and makes no second one.
    again = _answer(client, make_invite(database, store_id, email="bo@example.com"), 9)
    assert len(desk.created) == 2
    assert desk.created[1].code != made.code
    assert desk.created[1].code in again


def test_a_passive_gets_no_code(
    client: TestClient, database: Database, store_id: str, desk: FakeDesk
) -> None:
    page = _answer(client, make_invite(database, store_id), 8)
    assert desk.created == []
    assert "THANKS-" not in page


def test_shopify_not_answering_still_thanks_and_leaves_the_code_to_the_job(
    database: Database, store_id: str
) -> None:
    desk = FakeDesk(failing=True)
    with _client(database, store_id, desk) as client:
        page = _answer(client, make_invite(database, store_id), 10)
    assert "Thank you!" in page
    assert "THANKS-" not in page
    with database.session() as session:
        answer = select(Response.score).where(Response.store == store_id)
        assert session.scalar(answer) == 10  # the answer is kept
        claimed = session.scalar(
            select(PromoterReward.state).where(PromoterReward.store == store_id)
        )
    assert claimed == "creating"  # reconciled by the push job
