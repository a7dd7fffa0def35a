"""A promoter's thank-you code as it appears in a real headless Chromium: answered with script,
the page records the score at once (the code is made then), and the thank-you page shows it."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import uvicorn
from survey_support import SECRET, make_invite, survey_settings

from jobs.rewards import reward_response
from nps_engine.invite_tokens import Purpose, TokenSigner
from nps_engine.ports import PromoterCode
from nps_engine.store.database import Database
from nps_engine.web.app import create_app
from nps_engine.web.context import WebAdapters

CHROMIUM = Path("/usr/bin/chromium")
SCREENSHOTS = Path(__file__).resolve().parents[2] / "docs" / "screenshots"
FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--no-first-run"]

pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(not CHROMIUM.exists(), reason="needs /usr/bin/chromium"),
]

playwright_api = pytest.importorskip("playwright.sync_api")


class Desk:
    """Shopify's discount codes, in memory (the simulator's own are tested in e2e)."""

    def __init__(self) -> None:
        self.codes: dict[str, PromoterCode] = {}

    def find_code(self, code: str) -> str | None:
        return code if code in self.codes else None

    def create_code(self, reward: PromoterCode) -> str:
        self.codes[reward.code] = reward
        return reward.code


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@pytest.fixture
def served(sqlite_database: Database, store_id: str) -> Iterator[tuple[str, Desk]]:
    port = _free_port()
    settings = survey_settings(
        store_id,
        web={"public_url": f"http://127.0.0.1:{port}"},
        rewards={"promoter_discount": {"enabled": True, "fixed_amount": "5.00",
                                       "minimum_order": "40.00"}},
    )  # fmt: skip
    desk = Desk()

    def reward(response_id: int, now: datetime) -> None:
        reward_response(sqlite_database, settings, desk, response_id, now)

    app = create_app(settings, sqlite_database, adapters=WebAdapters(promoter_reward=reward))
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started and time.monotonic() < deadline:
        time.sleep(0.02)
    invite = make_invite(sqlite_database, store_id)
    token = TokenSigner(SECRET, timedelta(days=60)).issue(Purpose.SURVEY, invite, datetime.now(UTC))
    yield f"http://127.0.0.1:{port}/s/{token}/10", desk
    server.should_exit = True
    thread.join(5)


def test_the_promoter_sees_a_working_code_on_the_thank_you_page(
    served: tuple[str, Desk],
) -> None:
    link, desk = served
    with playwright_api.sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=FLAGS)
        page = browser.new_page(viewport={"width": 900, "height": 900})
        page.goto(link)
        page.wait_for_selector("form.survey[data-recorded='10']")
        assert len(desk.codes) == 1  # made when the score was recorded
        page.fill("#comment", "Lovely shop.")
        page.click("button.submit")
        page.wait_for_selector("section.thanks.promoter")
        (code,) = desk.codes
        assert page.locator(".reward-code").inner_text() == code
        text = page.locator(".reward").inner_text()
        assert "5.00 off your next order" in text
        assert "For an order of 40.00 or more." in text
        assert len(desk.codes) == 1  # the comment did not make a second code
        SCREENSHOTS.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(SCREENSHOTS / "page-thanks-reward.png"), full_page=True)
        browser.close()
