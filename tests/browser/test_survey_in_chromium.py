"""The survey as a customer meets it, in a real headless Chromium against the app under uvicorn.

With script: opening a score link records the score at once (a POST from the page), the comment
and Send lead to the thank-you page. Without script (what a mail scanner does): the GET records
nothing, and the form alone still works. Screenshots of the email and the pages go to
docs/screenshots/ (the README shows them).
"""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import uvicorn
from sqlalchemy import select
from survey_support import SECRET, make_invite, survey_settings

from nps_engine.config.settings import Settings
from nps_engine.invite_tokens import Purpose, TokenSigner
from nps_engine.store.database import Database
from nps_engine.store.models import Response
from nps_engine.survey_email import Letter, SurveyEmailComposer
from nps_engine.web.app import create_app

CHROMIUM = Path("/usr/bin/chromium")
SCREENSHOTS = Path(__file__).resolve().parents[2] / "docs" / "screenshots"
FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--no-first-run",
]

pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(not CHROMIUM.exists(), reason="needs /usr/bin/chromium"),
]

playwright_api = pytest.importorskip("playwright.sync_api")


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


class Site:
    def __init__(self, settings: Settings, database: Database, port: int) -> None:
        self.settings, self.database, self.port = settings, database, port
        self.url = f"http://127.0.0.1:{port}"
        self.signer = TokenSigner(SECRET, timedelta(days=60))

    def score_link(self, invite_id: int, score: int) -> str:
        token = self.signer.issue(Purpose.SURVEY, invite_id, datetime.now(UTC))
        return f"{self.url}/s/{token}/{score}"

    def answers(self) -> list[Response]:
        with self.database.session() as session:
            store = self.settings.store.id
            return list(session.scalars(select(Response).where(Response.store == store)))


@pytest.fixture
def site(sqlite_database: Database, store_id: str) -> Iterator[Site]:
    port = _free_port()
    settings = survey_settings(
        store_id,
        web={"public_url": f"http://127.0.0.1:{port}"},
        survey={"referral_text": "Your friends get 10% off with code ANN10."},
    )
    server = uvicorn.Server(
        uvicorn.Config(
            create_app(settings, sqlite_database), host="127.0.0.1", port=port, log_level="warning"
        )
    )
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started and time.monotonic() < deadline:
        time.sleep(0.02)
    yield Site(settings, sqlite_database, port)
    server.should_exit = True
    thread.join(5)


@pytest.fixture(scope="module")
def browser() -> Iterator[object]:
    with playwright_api.sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=str(CHROMIUM), args=FLAGS)
        yield chromium
        chromium.close()


def shot(page: object, name: str) -> None:
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / name), full_page=True)  # type: ignore[attr-defined]


def test_score_is_recorded_by_the_page_script_then_comment_and_thank_you(
    browser: object, site: Site
) -> None:
    invite = make_invite(site.database, site.settings.store.id)
    page = browser.new_page(viewport={"width": 900, "height": 900})  # type: ignore[attr-defined]
    page.goto(site.score_link(invite, 9))
    page.wait_for_selector("form.survey[data-recorded='9']")
    assert (
        page.locator(".status").inner_text()
        == "Thanks, your score is saved. Add a comment if you like."
    )
    assert [(a.score, a.comment) for a in site.answers()] == [(9, None)]
    shot(page, "page-survey.png")
    page.fill("#comment", "Fast delivery, lovely packaging.")
    page.click("button.submit")
    page.wait_for_selector("section.thanks.promoter")
    assert page.locator("a.review").get_attribute("href") == "https://reviews.example/maison-verte"
    assert "ANN10" in page.locator(".referral").inner_text()
    assert [(a.score, a.comment) for a in site.answers()] == [
        (9, "Fast delivery, lovely packaging.")
    ]
    shot(page, "page-thanks-promoter.png")
    page.close()


def test_changing_the_score_on_the_page_updates_the_same_answer(
    browser: object, site: Site
) -> None:
    invite = make_invite(site.database, site.settings.store.id)
    page = browser.new_page()  # type: ignore[attr-defined]
    page.goto(site.score_link(invite, 6))
    page.wait_for_selector("form.survey[data-recorded='6']")
    page.click("label.score:has(input[value='8'])")
    page.wait_for_selector("form.survey[data-recorded='8']")
    assert [a.score for a in site.answers()] == [8]
    page.close()


def test_without_javascript_a_get_records_nothing_and_the_form_still_works(
    browser: object, site: Site
) -> None:
    invite = make_invite(site.database, site.settings.store.id, locale="fr-CA")
    context = browser.new_context(java_script_enabled=False, viewport={"width": 390, "height": 844})  # type: ignore[attr-defined]
    page = context.new_page()
    page.goto(site.score_link(invite, 3))
    page.wait_for_load_state("networkidle")
    assert page.locator("input[value='3']").is_checked()
    assert site.answers() == []  # the mail-scanner case
    shot(page, "page-survey-phone-fr.png")
    page.fill("#comment", "Colis arrivé abîmé.")
    page.click("button.submit")
    page.wait_for_selector("section.thanks.detractor")
    assert "Un membre de notre équipe reviendra vers vous." in page.content()
    assert [(a.score, a.comment) for a in site.answers()] == [(3, "Colis arrivé abîmé.")]
    shot(page, "page-thanks-detractor-phone-fr.png")
    context.close()


def test_expired_link_and_unsubscribe_pages(browser: object, site: Site) -> None:
    invite = make_invite(site.database, site.settings.store.id)
    page = browser.new_page(viewport={"width": 900, "height": 600})  # type: ignore[attr-defined]
    old = site.signer.issue(Purpose.SURVEY, invite, datetime.now(UTC) - timedelta(days=90))
    answer = page.goto(f"{site.url}/s/{old}/9")
    assert answer is not None
    assert answer.status == 410
    assert page.locator("h1").inner_text() == "This link has expired"
    shot(page, "page-expired.png")
    unsubscribe = site.signer.issue(Purpose.UNSUBSCRIBE, invite, datetime.now(UTC))
    page.goto(f"{site.url}/u/{unsubscribe}")
    shot(page, "page-unsubscribe.png")
    page.click("button.submit")
    page.wait_for_selector("section.message.unsubscribed")
    assert site.answers() == []
    page.close()


@pytest.mark.parametrize(
    ("locale", "width", "name"),
    [("en", 900, "email.png"), ("en", 375, "email-phone.png"), ("fr-CA", 900, "email-fr.png")],
)
def test_email_renders_in_wide_and_narrow_windows(
    browser: object, store_id: str, locale: str, width: int, name: str
) -> None:
    composer = SurveyEmailComposer(survey_settings(store_id))
    email = composer.compose(
        Letter(
            invite_id=1,
            email="ann@example.com",
            locale=locale,
            first_name="Ann",
            order_name="#1042",
        ),
        datetime.now(UTC),
    )
    page = browser.new_page(viewport={"width": width, "height": 700})  # type: ignore[attr-defined]
    page.set_content(email.html)
    buttons = page.locator("a[href*='/s/']")
    assert buttons.count() == 11
    # Eleven buttons fit side by side, without horizontal scrolling, even on a phone.
    assert page.evaluate("document.documentElement.scrollWidth") <= width
    tops = {round(buttons.nth(i).bounding_box()["y"]) for i in range(11)}
    assert len(tops) == 1
    shot(page, name)
    page.close()
