"""The dashboard as a store owner and a viewer use it, in a real headless Chromium against the app
under uvicorn: sign in (and being refused, then limited), the overview, filters, search, the
keyboard, one answer's page, the CSV export against the database, a phone's width, sign out.
Screenshots go to docs/screenshots/ (the README shows them)."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import select
from workspace_support import NOW, seed_answers, workspace_settings

from jobs.bootstrap import web_adapters
from jobs.report_job import report_period, store_report
from nps_engine.config.settings import Settings
from nps_engine.store.dashboard_users import add_user
from nps_engine.store.database import Database
from nps_engine.store.models import Response
from nps_engine.web.app import create_app
from nps_engine.web.background import BackgroundServer, free_port

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
OWNER, VIEWER, PASSWORD = "owner@maisonverte.example", "viewer@maisonverte.example", "s3cret pass!"

pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(not CHROMIUM.exists(), reason="needs /usr/bin/chromium"),
]
playwright_api = pytest.importorskip("playwright.sync_api")


class Site:
    def __init__(self, settings: Settings, database: Database, url: str) -> None:
        self.settings, self.database, self.url = settings, database, url

    def admin(self, path: str = "/") -> str:
        return f"{self.url}/admin{path}"


@pytest.fixture
def site(sqlite_database: Database, store_id: str) -> Iterator[Site]:
    port = free_port()
    settings = workspace_settings(
        store_id,
        web={"public_url": f"http://127.0.0.1:{port}"},
        dashboard={"failed_sign_ins_per_account": 3, "page_size": 20},
    )
    seed_answers(sqlite_database, store_id)
    add_user(sqlite_database, store_id, OWNER, "owner", NOW, password=PASSWORD)
    add_user(sqlite_database, store_id, VIEWER, "viewer", NOW, password=PASSWORD)
    app = create_app(
        settings,
        sqlite_database,
        clock=lambda: NOW,
        adapters=web_adapters(settings, sqlite_database),
    )
    with BackgroundServer(app, port=port) as server:
        yield Site(settings, sqlite_database, server.url)


@pytest.fixture(scope="module")
def browser() -> Iterator[object]:
    with playwright_api.sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=str(CHROMIUM), args=FLAGS)
        yield chromium
        chromium.close()


def shot(page: object, name: str) -> None:
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / name), full_page=True)  # type: ignore[attr-defined]


def sign_in(page: object, site: Site, email: str, password: str = PASSWORD) -> None:
    page.goto(site.admin("/sign-in"))  # type: ignore[attr-defined]
    page.fill("#email", email)  # type: ignore[attr-defined]
    page.fill("#password", password)  # type: ignore[attr-defined]
    page.click("button[type=submit]")  # type: ignore[attr-defined]


def orders_listed(page: object) -> list[str]:
    cells = page.locator("#feed td[data-label=Order]").all_inner_texts()  # type: ignore[attr-defined]
    return [cell.strip() for cell in cells]


def test_admin_without_a_session_is_refused(browser: object, site: Site) -> None:
    page = browser.new_page()  # type: ignore[attr-defined]
    page.goto(site.admin("/responses?category=detractor"))
    assert "/admin/sign-in" in page.url
    assert page.locator("h1").inner_text() == "Sign in"
    for path in ("/responses.json", "/responses.csv", "/responses/1", "/"):
        answer = page.request.get(
            site.admin(path), max_redirects=0, headers={"Accept": "application/json"}
        )
        assert answer.status == 401, path
    page.close()


def test_wrong_password_is_refused_and_then_limited(browser: object, site: Site) -> None:
    page = browser.new_page()  # type: ignore[attr-defined]
    for _ in range(3):
        sign_in(page, site, OWNER, "wrong password")
        assert page.locator(".error").inner_text() == "Wrong email or password."
    sign_in(page, site, OWNER)  # the right password, too late: the account is locked for now
    assert "Too many sign-in attempts" in page.locator(".error").inner_text()
    assert "/admin/sign-in" in page.url
    page.close()


def test_owner_filters_searches_opens_exports_and_signs_out(browser: object, site: Site) -> None:
    dialogs: list[str] = []
    context = browser.new_context(viewport={"width": 1280, "height": 900}, accept_downloads=True)  # type: ignore[attr-defined]
    page = context.new_page()
    page.on("dialog", lambda dialog: dialogs.append(dialog.message))
    sign_in(page, site, OWNER)
    page.wait_for_selector(".score b")
    expected = store_report(
        site.database, site.settings, report_period(site.settings, NOW), now=NOW
    )
    headline = f"{round(expected.overall.nps or 0):d}".replace("-", "−")
    assert page.locator(".score b").inner_text() == headline
    shot(page, "dashboard-overview.png")

    page.goto(site.admin("/responses"))
    page.select_option("select[name=segment]", "returned")
    page.select_option("select[name=category]", "detractor")
    page.click("form.filters button[type=submit]")
    assert orders_listed(page) == ["#106", "#115", "#121", "#130"]

    page.goto(site.admin("/responses"))
    page.keyboard.press("/")
    page.keyboard.type("crushed")
    page.keyboard.press("Enter")
    page.wait_for_url("**search=crushed**")
    assert orders_listed(page) == ["#104", "#109", "#114", "#119", "#124", "#129"]
    shot(page, "dashboard-responses.png")

    page.goto(site.admin("/responses"))
    page.keyboard.press("j")
    page.keyboard.press("Enter")
    page.wait_for_url("**/admin/responses/*")
    assert "Loved it the first time" in page.content()  # customer 1's earlier answer
    assert page.locator("a[href$='/agent/tickets/9001']").count() == 1
    assert "nps:detractor" in page.locator("main").inner_text()
    shot(page, "dashboard-response.png")

    page.goto(site.admin("/responses"))
    assert "<script>alert(1)</script>" in page.locator("main").inner_text()
    assert dialogs == []
    with page.expect_download() as download:
        page.click("text=CSV with ;")
    raw = Path(download.value.path()).read_bytes()
    assert raw.startswith(b"\xef\xbb\xbf")
    rows = list(csv.DictReader(io.StringIO(raw.decode("utf-8-sig")), delimiter=";"))
    with site.database.session() as session:
        stored = session.execute(
            select(Response.id, Response.score, Response.comment, Response.email)
            .where(Response.store == site.settings.store.id)
            .order_by(Response.responded_at.desc())
        ).all()
    assert [(int(r["id"]), int(r["score"]), r["comment"] or None, r["email"]) for r in rows] == [
        (i, s, c, e) for i, s, c, e in stored
    ]

    page.set_viewport_size({"width": 390, "height": 844})
    for path in ("/responses", "/", "/responses/1"):
        page.goto(site.admin(path))
        width = page.evaluate("document.documentElement.scrollWidth")
        assert width <= 390, f"{path} scrolls sideways on a phone ({width} px)"
    page.goto(site.admin("/responses"))
    shot(page, "dashboard-phone.png")

    page.click("text=Sign out")
    page.wait_for_url("**/admin/sign-in")
    page.goto(site.admin("/responses"))
    assert "/admin/sign-in" in page.url
    context.close()


def test_viewer_sees_masked_emails(browser: object, site: Site) -> None:
    context = browser.new_context(accept_downloads=True)  # type: ignore[attr-defined]
    page = context.new_page()
    sign_in(page, site, VIEWER)
    page.goto(site.admin("/responses"))
    text = page.locator("#feed").inner_text()
    assert "b***@example.com" in text
    assert "buyer1@example.com" not in text
    assert "Buyer1" not in text
    exported = page.request.get(site.admin("/responses.jsonl")).text()
    assert "b***@example.com" in exported
    assert "@example.com" not in exported.replace("b***@example.com", "")
    context.close()


def test_html_report_fits_a_phone_without_sideways_scrolling(
    browser: object, site: Site, tmp_path: Path
) -> None:
    from jobs.cli.report_output import render_html
    from jobs.report_job import with_said

    report = store_report(site.database, site.settings, report_period(site.settings, NOW), now=NOW)
    page_file = tmp_path / "report.html"
    page_file.write_text(render_html([with_said(report, site.settings, site.database, NOW)]))
    page = browser.new_page(viewport={"width": 390, "height": 844})  # type: ignore[attr-defined]
    page.goto(page_file.as_uri())
    assert page.evaluate("document.documentElement.scrollWidth") <= 390
    overflowing = page.evaluate(
        "[...document.querySelectorAll('.scroll')].filter(e => e.scrollWidth > e.clientWidth)"
        ".length"
    )
    assert overflowing == 0
    assert "What they said" in page.locator("#said").inner_text()
    shot(page, "report-phone.png")
    page.close()


@pytest.fixture
def two_stores(sqlite_database: Database, store_id: str) -> Iterator[Site]:
    """The site of ``store_id`` (with comment themes) whose picker also offers a second store
    where the owner is a viewer."""
    from workspace_support import seed_themes

    from nps_engine.web.context import WebContext

    port = free_port()
    url = f"http://127.0.0.1:{port}"
    settings = workspace_settings(store_id, web={"public_url": url})
    other = workspace_settings("atelier", web={"public_url": url}, store={"name": "Atelier"})
    seed_answers(sqlite_database, store_id)
    seed_themes(sqlite_database, store_id)
    seed_answers(sqlite_database, "atelier", customers=3)
    add_user(sqlite_database, store_id, OWNER, "owner", NOW, password=PASSWORD)
    add_user(sqlite_database, "atelier", OWNER, "viewer", NOW, password=PASSWORD)
    atelier = WebContext(other, sqlite_database, lambda: NOW, web_adapters(other, sqlite_database))
    app = create_app(
        settings, sqlite_database, clock=lambda: NOW,
        adapters=web_adapters(settings, sqlite_database), dashboard_stores=[atelier],
    )  # fmt: skip
    with BackgroundServer(app, port=port) as server:
        yield Site(settings, sqlite_database, server.url)


@pytest.mark.slow
def test_theme_filter_and_store_picker_on_a_phone(browser: object, two_stores: Site) -> None:
    site = two_stores
    context = browser.new_context(viewport={"width": 390, "height": 844})  # type: ignore[attr-defined]
    page = context.new_page()
    sign_in(page, site, OWNER)
    page.goto(site.admin("/responses"))
    page.select_option("select[name=theme]", label="Livraison")
    page.click("form.filters button[type=submit]")
    page.wait_for_url("**theme=1**")
    themes = page.locator("#feed td[data-label=Theme]").all_inner_texts()
    assert len(themes) == 6
    assert {theme.strip() for theme in themes} == {"Livraison"}
    assert page.evaluate("document.documentElement.scrollWidth") <= 390
    shot(page, "dashboard-themes-phone.png")
    page.locator("#feed a.open").first.click()
    page.wait_for_url("**/admin/responses/*")
    assert page.locator("dd.theme").inner_text() == "Livraison"

    page.goto(site.admin("/responses"))
    page.select_option("#store", "atelier")
    page.click("form.picker button[type=submit]")
    page.wait_for_url("**/admin/responses")
    assert page.locator(".brand").inner_text().startswith("Atelier")
    assert "(viewer)" in page.locator(".who").inner_text()
    assert len(orders_listed(page)) == 4  # atelier's 3 customers, one answered twice
    assert page.locator("select[name=theme]").count() == 0  # no themes computed there
    assert "b***@example.com" in page.locator("#feed").inner_text()
    assert page.evaluate("document.documentElement.scrollWidth") <= 390
    page.goto(site.admin("/"))
    assert page.evaluate("document.documentElement.scrollWidth") <= 390
    shot(page, "dashboard-picker-phone.png")
    context.close()
