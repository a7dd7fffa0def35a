"""What protects ``/admin``: the session cookie's flags, CSRF on every form, the per-IP limit,
expiring sessions, one-time links, and survey pages that still need no sign-in."""

from __future__ import annotations

import re
import warnings
from collections.abc import Iterator
from datetime import timedelta

import pytest
from workspace_support import NOW, seed_answers, workspace_settings

from jobs.bootstrap import web_adapters
from nps_engine.store.dashboard_users import add_user
from nps_engine.store.database import Database
from nps_engine.web.app import create_app

with warnings.catch_warnings():
    # Starlette 1.x nudges towards the httpx2 fork at import time; httpx works the same here.
    warnings.simplefilter("ignore")
    from starlette.testclient import TestClient

PASSWORD = "a long password"


class Clock:
    def __init__(self) -> None:
        self.now = NOW

    def __call__(self):  # type: ignore[no-untyped-def]
        return self.now


@pytest.fixture
def clock() -> Clock:
    return Clock()


def client_for(database: Database, store_id: str, clock: Clock, url: str, **sections: object):  # type: ignore[no-untyped-def]
    settings = workspace_settings(store_id, web={"public_url": url}, **sections)  # type: ignore[arg-type]
    app = create_app(settings, database, clock=clock, adapters=web_adapters(settings, database))
    return TestClient(app, base_url=url)


@pytest.fixture
def client(database: Database, store_id: str, clock: Clock) -> Iterator[TestClient]:
    seed_answers(database, store_id, customers=5)
    add_user(database, store_id, "owner@example.com", "owner", NOW, password=PASSWORD)
    with client_for(database, store_id, clock, "https://nps.example.com") as test_client:
        yield test_client


def form_token(page: str) -> str:
    found = re.search(r'name="csrf" value="([^"]+)"', page)
    assert found is not None
    return found.group(1)


def sign_in(client: TestClient, password: str = PASSWORD) -> object:
    token = form_token(client.get("/admin/sign-in").text)
    return client.post(
        "/admin/sign-in",
        data={"email": "owner@example.com", "password": password, "csrf": token},
        follow_redirects=False,
    )


def test_session_cookie_is_httponly_secure_lax_and_expiring(client: TestClient) -> None:
    answer = sign_in(client)
    cookie = answer.headers["set-cookie"]  # type: ignore[attr-defined]
    assert cookie.startswith("nps_admin=")
    for flag in ("HttpOnly", "Secure", "SameSite=lax", "Max-Age=43200", "Path=/admin"):
        assert flag in cookie
    assert client.get("/admin/responses").status_code == 200


def test_sign_in_and_sign_out_forms_need_their_csrf_token(client: TestClient) -> None:
    client.get("/admin/sign-in")
    forged = client.post(
        "/admin/sign-in",
        data={"email": "owner@example.com", "password": PASSWORD, "csrf": "guess"},
        follow_redirects=False,
    )
    assert forged.status_code == 403
    assert sign_in(client).status_code == 303  # type: ignore[attr-defined]
    assert client.post("/admin/sign-out", data={"csrf": "guess"}).status_code == 403
    page = client.get("/admin/responses").text
    other_site = client.post(
        "/admin/sign-out",
        data={"csrf": form_token(page)},
        headers={"Origin": "https://evil.example"},
    )
    assert other_site.status_code == 403
    assert client.get("/admin/responses").status_code == 200  # still signed in
    out = client.post("/admin/sign-out", data={"csrf": form_token(page)}, follow_redirects=False)
    assert out.status_code == 303
    assert client.get("/admin/responses", follow_redirects=False).status_code == 303


def test_sessions_expire(client: TestClient, clock: Clock) -> None:
    sign_in(client)
    clock.now = NOW + timedelta(hours=12, seconds=1)
    answer = client.get("/admin/responses", follow_redirects=False)
    assert answer.status_code == 303
    assert "/admin/sign-in?next=%2Fadmin%2Fresponses" in answer.headers["location"]


def test_sign_ins_are_limited_per_ip_address(
    database: Database, store_id: str, clock: Clock
) -> None:
    add_user(database, store_id, "owner@example.com", "owner", NOW, password=PASSWORD)
    with client_for(
        database, store_id, clock, "http://127.0.0.1", dashboard={"sign_ins_per_ip": 2}
    ) as test_client:
        assert sign_in(test_client, "wrong one").status_code == 401  # type: ignore[attr-defined]
        assert sign_in(test_client).status_code == 303  # type: ignore[attr-defined]
        test_client.cookies.clear()  # another browser, same address
        assert sign_in(test_client).status_code == 429  # type: ignore[attr-defined]


def test_a_one_time_link_signs_in_once_and_a_get_alone_does_nothing(
    database: Database, store_id: str, clock: Clock
) -> None:
    token = add_user(
        database, store_id, "new@example.com", "viewer", NOW, link_valid=timedelta(hours=1)
    )
    with client_for(database, store_id, clock, "http://127.0.0.1") as test_client:
        page = test_client.get(f"/admin/link/{token}")
        assert page.status_code == 200
        assert test_client.get("/admin/responses", follow_redirects=False).status_code == 303
        data = {"csrf": form_token(page.text), "link": token}
        assert test_client.post("/admin/link", data=data, follow_redirects=False).status_code == 303
        assert test_client.get("/admin/responses").status_code == 200
        test_client.cookies.clear()
        again = test_client.get(f"/admin/link/{token}")
        data = {"csrf": form_token(again.text), "link": token}
        assert test_client.post("/admin/link", data=data).status_code == 401


def test_next_never_leaves_the_dashboard(client: TestClient) -> None:
    token = form_token(client.get("/admin/sign-in").text)
    answer = client.post(
        "/admin/sign-in",
        data={
            "email": "owner@example.com",
            "password": PASSWORD,
            "csrf": token,
            "next": "https://evil.example/admin/",
        },
        follow_redirects=False,
    )
    assert answer.headers["location"] == "/admin"


def test_admin_pages_carry_the_security_headers_and_no_inline_script(client: TestClient) -> None:
    sign_in(client)
    for path in ("/admin/", "/admin/responses", "/admin/responses/1", "/admin/sign-in"):
        page = client.get(path)
        assert "script-src 'self'" in page.headers["content-security-policy"], path
        assert page.headers["cache-control"] == "no-store"
        assert "<script>" not in page.text
        assert 'style="' not in page.text
    assert client.get("/health").status_code == 200  # unaffected by the dashboard
