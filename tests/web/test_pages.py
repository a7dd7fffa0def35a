"""The survey and unsubscribe pages over HTTP: what a customer, a mail scanner and an attacker see.

GET never records; the POST records and a second POST updates the same answer; bad links get a
friendly page, a 4xx and nothing stored; one-click unsubscribe per RFC 8058; security headers on
every page; a per-IP limit on POSTs.
"""

from __future__ import annotations

import re
import warnings
from collections.abc import Iterator
from datetime import datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import func, select
from survey_support import NOW, SECRET, make_invite, survey_settings

from nps_engine.invite_tokens import Purpose, TokenSigner
from nps_engine.store.database import Database
from nps_engine.store.models import Response, Suppression
from nps_engine.web.app import create_app
from sandbox.clock import ManualClock

with warnings.catch_warnings():
    # Starlette 1.x nudges towards the httpx2 fork at import time; httpx works the same here.
    warnings.simplefilter("ignore", DeprecationWarning)
    warnings.filterwarnings("ignore", message="Using `httpx` with `starlette.testclient`")
    from starlette.testclient import TestClient

pytestmark = pytest.mark.filterwarnings("ignore:Using `httpx` with `starlette.testclient`")

SIGNER = TokenSigner(SECRET, timedelta(days=60))
PUBLIC = "https://nps.maisonverte.example"


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock(NOW)


@pytest.fixture
def client(database: Database, store_id: str, clock: ManualClock) -> Iterator[TestClient]:
    settings = survey_settings(store_id, survey={"referral_text": "Give friends 10% with ANN10"})
    with TestClient(
        create_app(settings, database, clock=clock.now), base_url=PUBLIC
    ) as test_client:
        yield test_client


def token(invite_id: int, purpose: Purpose = Purpose.SURVEY, at: datetime = NOW) -> str:
    return SIGNER.issue(purpose, invite_id, at)


def responses(database: Database, store: str) -> list[Response]:
    with database.session() as session:
        return list(session.scalars(select(Response).where(Response.store == store)))


def nonce_of(page: str) -> str:
    match = re.search(r'name="nonce" value="([^"]+)"', page)
    assert match is not None
    return match.group(1)


def test_score_link_shows_the_question_with_that_score_selected_and_records_nothing(
    client: TestClient, database: Database, store_id: str
) -> None:
    invite = make_invite(database, store_id)
    page = client.get(f"/s/{token(invite)}/9")
    assert page.status_code == 200
    assert (
        "How likely is it that you would recommend Maison Verte to a friend or colleague?"
        in page.text
    )
    assert re.search(r'value="9" aria-label="9 out of 10" checked', page.text)
    assert page.text.count('type="radio"') == 11
    assert '<textarea id="comment" name="comment"' in page.text
    assert responses(database, store_id) == []


def test_post_records_the_score_and_a_second_post_updates_the_same_answer(
    client: TestClient, database: Database, store_id: str, clock: ManualClock
) -> None:
    invite = make_invite(database, store_id)
    link = token(invite)
    nonce = nonce_of(client.get(f"/s/{link}/3").text)
    script = client.post(
        f"/s/{link}", data={"score": "3", "nonce": nonce}, headers={"accept": "application/json"}
    )
    assert script.json() == {"saved": True, "score": 3, "category": "detractor"}
    clock.move_to(NOW + timedelta(minutes=2))
    form = client.post(
        f"/s/{link}", data={"score": "6", "comment": "Late <b>again</b>", "nonce": nonce}
    )
    assert form.status_code == 200
    assert "Someone from our team will get back to you." in form.text
    [answer] = responses(database, store_id)
    assert (answer.score, answer.comment) == (6, "Late <b>again</b>")
    assert (answer.responded_at, answer.updated_at) == (NOW, NOW + timedelta(minutes=2))
    # The comment is shown back escaped when the link is opened again.
    again = client.get(f"/s/{link}/6").text
    assert "Late &lt;b&gt;again&lt;/b&gt;" in again
    assert "<b>again</b>" not in again


def test_score_only_post_keeps_an_earlier_comment(
    client: TestClient, database: Database, store_id: str
) -> None:
    invite = make_invite(database, store_id)
    link = token(invite)
    nonce = nonce_of(client.get(f"/s/{link}/8").text)
    client.post(f"/s/{link}", data={"score": "8", "comment": "Nice box", "nonce": nonce})
    client.post(
        f"/s/{link}", data={"score": "9", "nonce": nonce}, headers={"accept": "application/json"}
    )
    [answer] = responses(database, store_id)
    assert (answer.score, answer.comment) == (9, "Nice box")


def test_promoter_thank_you_page_offers_the_review_link_and_referral_text(
    client: TestClient, database: Database, store_id: str
) -> None:
    invite = make_invite(database, store_id)
    link = token(invite)
    page = client.post(
        f"/s/{link}", data={"score": "10", "nonce": nonce_of(client.get(f"/s/{link}/10").text)}
    )
    assert 'href="https://reviews.example/maison-verte"' in page.text
    assert "Give friends 10% with ANN10" in page.text
    assert "get back to you" not in page.text


def test_passive_thank_you_page_has_no_review_link(
    client: TestClient, database: Database, store_id: str
) -> None:
    invite = make_invite(database, store_id)
    link = token(invite)
    page = client.post(
        f"/s/{link}", data={"score": "7", "nonce": nonce_of(client.get(f"/s/{link}/7").text)}
    )
    assert "reviews.example" not in page.text
    assert "Thanks for your honest feedback" in page.text


def test_pages_speak_the_customer_language(
    client: TestClient, database: Database, store_id: str
) -> None:
    invite = make_invite(database, store_id, locale="fr-FR")
    link = token(invite)
    page = client.get(f"/s/{link}/4")
    assert '<html lang="fr">' in page.text
    assert (
        "Quelle est la probabilité que vous recommandiez Maison Verte à un ami ou un collègue ?"
        in page.text
    )
    thanks = client.post(f"/s/{link}", data={"score": "4", "nonce": nonce_of(page.text)})
    assert "Un membre de notre équipe reviendra vers vous." in thanks.text


@pytest.mark.parametrize(
    ("make_link", "status", "words"),
    [
        (lambda i: token(i, at=NOW - timedelta(days=61)), 410, "This link has expired"),
        (
            lambda i: TokenSigner("another-secret-000000", timedelta(days=60)).issue(
                Purpose.SURVEY, i, NOW
            ),
            400,
            "This link does not work",
        ),
        (lambda i: token(i)[:-3] + "AAA", 400, "This link does not work"),
        (lambda i: token(i, Purpose.UNSUBSCRIBE), 400, "This link does not work"),
        (lambda i: token(i + 1000), 404, "This link does not work"),
        (lambda i: "not-a-token", 400, "This link does not work"),
    ],
    ids=["expired", "other-key", "altered", "unsubscribe-token", "unknown-invite", "garbage"],
)
def test_bad_links_get_a_friendly_page_a_4xx_and_record_nothing(
    client: TestClient,
    database: Database,
    store_id: str,
    make_link: object,
    status: int,
    words: str,
) -> None:
    invite = make_invite(database, store_id)
    link = make_link(invite)  # type: ignore[operator]
    # A nonce as our page would give for the invite the link names (the unknown one included).
    good_nonce = SIGNER.issue(Purpose.FORM, invite + 1000 if status == 404 else invite, NOW)
    shown = client.get(f"/s/{link}/9")
    posted = client.post(f"/s/{link}", data={"score": "9", "nonce": good_nonce})
    assert (shown.status_code, posted.status_code) == (status, status)
    assert words in shown.text
    assert words in posted.text
    assert responses(database, store_id) == []


@pytest.mark.parametrize("score", ["11", "-1", "7.5", "x"])
def test_out_of_range_score_in_a_link_is_refused(
    client: TestClient, database: Database, store_id: str, score: str
) -> None:
    invite = make_invite(database, store_id)
    assert client.get(f"/s/{token(invite)}/{score}").status_code == 404


@pytest.mark.parametrize("score", ["11", "", "ten", "True"])
def test_bad_posted_score_redisplays_the_form_and_records_nothing(
    client: TestClient, database: Database, store_id: str, score: str
) -> None:
    invite = make_invite(database, store_id)
    link = token(invite)
    nonce = nonce_of(client.get(f"/s/{link}/5").text)
    page = client.post(f"/s/{link}", data={"score": score, "comment": "kept", "nonce": nonce})
    assert page.status_code == 400
    assert ">kept</textarea>" in page.text
    assert responses(database, store_id) == []


@pytest.mark.parametrize(
    "nonce",
    [None, "", "garbage", "OTHER_INVITE", "SURVEY_TOKEN"],
    ids=["missing", "empty", "garbage", "for-another-invite", "a-survey-token"],
)
def test_post_without_a_nonce_from_our_page_is_refused(
    client: TestClient, database: Database, store_id: str, nonce: str | None
) -> None:
    invite = make_invite(database, store_id)
    other = make_invite(database, store_id, email="bob@example.com")
    values = {"OTHER_INVITE": SIGNER.issue(Purpose.FORM, other, NOW), "SURVEY_TOKEN": token(invite)}
    data = {"score": "9"} | ({"nonce": values.get(nonce, nonce)} if nonce is not None else {})
    assert client.post(f"/s/{token(invite)}", data=data).status_code == 403
    assert responses(database, store_id) == []


def test_post_from_another_site_is_refused(
    client: TestClient, database: Database, store_id: str
) -> None:
    invite = make_invite(database, store_id)
    link = token(invite)
    nonce = nonce_of(client.get(f"/s/{link}/9").text)
    hostile = client.post(
        f"/s/{link}",
        data={"score": "0", "nonce": nonce},
        headers={"origin": "https://evil.example"},
    )
    assert hostile.status_code == 403
    same = client.post(
        f"/s/{link}", data={"score": "9", "nonce": nonce}, headers={"origin": PUBLIC}
    )
    assert same.status_code == 200
    assert [r.score for r in responses(database, store_id)] == [9]


def test_unsubscribe_link_asks_first_and_a_get_changes_nothing(
    client: TestClient, database: Database, store_id: str
) -> None:
    invite = make_invite(database, store_id)
    page = client.get(f"/u/{token(invite, Purpose.UNSUBSCRIBE)}")
    assert page.status_code == 200
    assert "Stop survey emails from Maison Verte to this address?" in page.text
    with database.session() as session:
        assert session.get(Suppression, (store_id, "ann@example.com")) is None


def test_one_click_unsubscribe_post_suppresses_the_address(
    client: TestClient, database: Database, store_id: str, clock: ManualClock
) -> None:
    invite = make_invite(database, store_id, email="Ann@Example.com")
    # RFC 8058: the mail provider POSTs this body, without cookies, possibly years later.
    clock.move_to(NOW + timedelta(days=700))
    done = client.post(
        f"/u/{token(invite, Purpose.UNSUBSCRIBE)}",
        content=b"List-Unsubscribe=One-Click",
        headers={"content-type": "application/x-www-form-urlencoded"},
    )
    assert done.status_code == 200
    assert "You will not get survey emails from Maison Verte again." in done.text
    with database.session() as session:
        suppression = session.get(Suppression, (store_id, "ann@example.com"))
        assert suppression is not None
        assert suppression.reason == "unsubscribed"


def test_unsubscribe_with_a_survey_token_or_forged_token_is_refused(
    client: TestClient, database: Database, store_id: str
) -> None:
    invite = make_invite(database, store_id)
    assert client.post(f"/u/{token(invite)}").status_code == 400
    assert client.post("/u/forged.token").status_code == 400
    with database.session() as session:
        assert (
            session.scalar(
                select(func.count()).select_from(Suppression).where(Suppression.store == store_id)
            )
            == 0
        )


def test_every_page_carries_the_security_headers(
    client: TestClient, database: Database, store_id: str
) -> None:
    invite = make_invite(database, store_id)
    for page in (
        client.get(f"/s/{token(invite)}/5"),
        client.get("/s/bad/5"),
        client.get("/health"),
    ):
        headers = page.headers
        assert "script-src 'self'" in headers["content-security-policy"]
        assert "unsafe-inline" not in headers["content-security-policy"]
        assert "frame-ancestors 'none'" in headers["content-security-policy"]
        assert headers["x-frame-options"] == "DENY"
        assert headers["referrer-policy"] == "no-referrer"
        assert headers["x-content-type-options"] == "nosniff"


def test_pages_use_no_inline_script_or_style(
    client: TestClient, database: Database, store_id: str
) -> None:
    invite = make_invite(database, store_id)
    page = client.get(f"/s/{token(invite)}/5").text
    assert re.search(r"<script(?![^>]*\bsrc=)", page) is None
    assert " style=" not in page
    assert "<style" not in page
    assert client.get("/theme.css").text == ":root { --brand: #2f6f4f; }\n"
    assert client.get("/static/survey.js").status_code == 200


def test_posts_are_rate_limited_per_client(database: Database, store_id: str) -> None:
    settings = survey_settings(store_id, web={"posts_per_minute_per_ip": 3})
    invite = make_invite(database, store_id)
    with TestClient(create_app(settings, database, clock=lambda: NOW), base_url=PUBLIC) as limited:
        link = token(invite)
        nonce = nonce_of(limited.get(f"/s/{link}/9").text)
        codes = [
            limited.post(f"/s/{link}", data={"score": "9", "nonce": nonce}).status_code
            for _ in range(5)
        ]
        assert codes == [200, 200, 200, 429, 429]
        assert limited.post(f"/u/{token(invite, Purpose.UNSUBSCRIBE)}").status_code == 429
        # GETs are never limited: a customer can still read the page.
        assert limited.get(f"/s/{link}/9").status_code == 200


def test_health_reports_the_store(client: TestClient, store_id: str) -> None:
    assert client.get("/health").json() == {"status": "ok", "store": store_id}


def test_promoter_without_a_review_link_is_simply_thanked(
    database: Database, store_id: str
) -> None:
    settings = survey_settings(store_id, survey={"review_url": None})
    invite = make_invite(database, store_id)
    with TestClient(create_app(settings, database, clock=lambda: NOW), base_url=PUBLIC) as plain:
        link = token(invite)
        page = plain.post(
            f"/s/{link}", data={"score": "9", "nonce": nonce_of(plain.get(f"/s/{link}/9").text)}
        )
    assert "We are delighted you would recommend us. Thank you!" in page.text
    assert 'class="button review"' not in page.text


def test_store_templates_replace_the_shipped_pages(
    database: Database, store_id: str, tmp_path: Path
) -> None:
    (tmp_path / "pages").mkdir()
    (tmp_path / "pages" / "message.html.j2").write_text(
        "<p class=own>{{ heading }} / {{ store }}</p>", encoding="utf-8"
    )
    settings = survey_settings(
        store_id, store={"name": "<Shop & Co>"}, survey={"templates_dir": str(tmp_path)}
    )
    with TestClient(create_app(settings, database, clock=lambda: NOW), base_url=PUBLIC) as own:
        page = own.get("/s/forged/9")
    assert page.status_code == 400
    # The store's template is used, and stays auto-escaped.
    assert page.text == "<p class=own>This link does not work / &lt;Shop &amp; Co&gt;</p>"
