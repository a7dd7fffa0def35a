"""The dashboard's store picker when the config has several stores: a signed-in person switches
to another store they have an account in, every page and export follows, with their role there;
a store they have no account in is neither offered nor reachable by forging the cookie."""

from __future__ import annotations

import csv
import io
import re
import warnings
from collections.abc import Iterator

import pytest
from workspace_support import NOW, seed_answers, workspace_settings

from jobs.bootstrap import web_adapters
from nps_engine.store.dashboard_users import add_user
from nps_engine.store.database import Database
from nps_engine.web.app import create_app
from nps_engine.web.context import WebContext

with warnings.catch_warnings():
    warnings.simplefilter("ignore")
    from starlette.testclient import TestClient

PASSWORD = "a long password"
URL = "https://nps.example.com"
HOME, OTHER = "maison", "atelier"


@pytest.fixture
def client(sqlite_database: Database) -> Iterator[TestClient]:
    seed_answers(sqlite_database, HOME, customers=5)
    seed_answers(sqlite_database, OTHER, customers=3)
    add_user(sqlite_database, HOME, "owner@example.com", "owner", NOW, password=PASSWORD)
    add_user(sqlite_database, OTHER, "owner@example.com", "viewer", NOW, password=PASSWORD)
    add_user(sqlite_database, HOME, "solo@example.com", "owner", NOW, password=PASSWORD)
    settings = workspace_settings(HOME, web={"public_url": URL})
    other = workspace_settings(OTHER, web={"public_url": URL}, store={"name": "Atelier"})
    other_store = WebContext(
        other, sqlite_database, lambda: NOW, web_adapters(other, sqlite_database)
    )
    app = create_app(
        settings, sqlite_database, clock=lambda: NOW,
        adapters=web_adapters(settings, sqlite_database), dashboard_stores=[other_store],
    )  # fmt: skip
    with TestClient(app, base_url=URL) as test_client:
        yield test_client


def csrf_of(page: str) -> str:
    found = re.search(r'name="csrf" value="([^"]+)"', page)
    assert found is not None
    return found.group(1)


def sign_in(client: TestClient, email: str) -> None:
    token = csrf_of(client.get("/admin/sign-in").text)
    client.post("/admin/sign-in", data={"email": email, "password": PASSWORD, "csrf": token})


def exported_emails(client: TestClient) -> list[str]:
    rows = csv.DictReader(io.StringIO(client.get("/admin/responses.csv").text.lstrip("\ufeff")))
    return [row["email"] for row in rows]


def test_switching_store_moves_every_page_and_export_with_the_role_there(
    client: TestClient,
) -> None:
    sign_in(client, "owner@example.com")
    home = client.get("/admin/responses").text
    assert 'name="store"' in home
    assert "Atelier (atelier)" in home
    assert len(exported_emails(client)) == 6  # 5 customers, one answered twice
    switched = client.post(
        "/admin/store",
        data={"store": OTHER, "next": "/admin/responses", "csrf": csrf_of(home)},
        follow_redirects=False,
    )
    assert switched.status_code == 303
    assert switched.headers["location"] == "/admin/responses"
    page = client.get("/admin/responses").text
    assert "Atelier · NPS" in page
    assert "(viewer)" in page  # the role of this person's account in that store
    emails = exported_emails(client)
    assert len(emails) == 4
    assert all(email.startswith("b***@") for email in emails)  # a viewer's export is masked
    assert client.get("/admin/responses.json?segment=returned").status_code == 200
    assert "Atelier · NPS" in client.get("/admin/").text  # the overview too


def test_a_store_without_an_account_is_not_offered_nor_reachable(client: TestClient) -> None:
    sign_in(client, "solo@example.com")
    page = client.get("/admin/responses").text
    assert 'name="store"' not in page
    refused = client.post(
        "/admin/store", data={"store": OTHER, "csrf": csrf_of(page)}, follow_redirects=False
    )
    assert refused.status_code == 404
    client.cookies.set("nps_admin_store", OTHER, path="/admin")
    assert len(exported_emails(client)) == 6  # still the store signed in to
    assert "Maison Verte · NPS" in client.get("/admin/responses").text


def test_switching_needs_the_form_token(client: TestClient) -> None:
    sign_in(client, "owner@example.com")
    forged = client.post("/admin/store", data={"store": OTHER}, follow_redirects=False)
    assert forged.status_code == 403
