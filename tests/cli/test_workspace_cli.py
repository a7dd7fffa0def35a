"""``nps responses list``, ``nps users add`` and the report's "what they said", through the CLI."""

from __future__ import annotations

import csv
import io
import json
import re
from pathlib import Path

import pytest
from typer.testing import CliRunner, Result
from workspace_support import seed_answers

from jobs.cli.app import app
from nps_engine.store.dashboard_users import check_password, use_sign_in_link
from nps_engine.store.database import Database

PERIOD = ("--since", "2026-01-01", "--until", "2026-03-31")


def nps(config: Path, *args: str, input: str | None = None) -> Result:
    return CliRunner().invoke(app, ["--config", str(config), *args], env={}, input=input)


@pytest.fixture
def config(tmp_path: Path) -> Path:
    path = tmp_path / "config.yaml"
    path.write_text(
        "store: {id: shop, timezone: Europe/Paris}\n"
        f"database: {{url: 'sqlite:///{tmp_path / 'nps.db'}'}}\n"
        "web: {public_url: 'https://nps.example.com', secret_key: 0123456789abcdefgh}\n"
    )
    assert nps(path, "db", "upgrade").exit_code == 0
    database = Database(f"sqlite:///{tmp_path / 'nps.db'}")
    seed_answers(database, "shop")
    database.dispose()
    return path


def database_of(config: Path) -> Database:
    return Database(f"sqlite:///{config.parent / 'nps.db'}")


def test_responses_list_as_csv_with_filters(config: Path, tmp_path: Path) -> None:
    target = tmp_path / "out" / "detractors.csv"
    result = nps(
        config,
        "responses",
        "list",
        "--category",
        "detractor",
        "--segment",
        "returned",
        "--format",
        "csv",
        "--semicolon",
        "--output",
        str(target),
    )
    assert result.exit_code == 0, result.output
    raw = target.read_bytes()
    assert raw.startswith(b"\xef\xbb\xbf")
    rows = list(csv.DictReader(io.StringIO(raw.decode("utf-8-sig")), delimiter=";"))
    assert [row["order"] for row in rows] == ["#106", "#115", "#121", "#130"]
    assert "4 answers" in result.output


def test_responses_list_streams_jsonl_and_a_readable_table(config: Path) -> None:
    result = nps(
        config, "responses", "list", "--with-comment", "--search", "broken", "--format", "jsonl"
    )
    assert result.exit_code == 0, result.output
    lines = [json.loads(line) for line in result.stdout.splitlines()]
    assert len(lines) == 6
    assert all("broken" in line["comment"] for line in lines)
    table = nps(config, "responses", "list", "--since", "2026-03-01").stdout
    assert all(len(line) <= 80 for line in table.splitlines())
    assert "2026-03-09 10:00   4 detractor  buyer1@example.com  #101" in table
    assert "    Délai beaucoup trop long" in table


def test_responses_list_refuses_unknown_segments_and_bad_dates(config: Path) -> None:
    bad = nps(config, "responses", "list", "--segment", "vip")
    assert bad.exit_code == 2
    assert "--segment vip: no such segment" in bad.output
    assert nps(config, "responses", "list", "--since", "March").exit_code == 2


def test_users_add_with_a_password_or_a_one_time_link(config: Path) -> None:
    short = nps(config, "users", "add", "ann@example.com", input="short\nshort\n")
    assert short.exit_code == 2
    made = nps(
        config,
        "users",
        "add",
        "Ann@Example.com",
        "--role",
        "viewer",
        input="a long password\na long password\n",
    )
    assert made.exit_code == 0, made.output
    database = database_of(config)
    assert check_password(database, "shop", "ann@example.com", "a long password") is not None
    assert check_password(database, "shop", "ann@example.com", "a wrong password") is None
    linked = nps(config, "users", "add", "boss@example.com", "--link")
    assert linked.exit_code == 0
    token = re.search(r"https://nps\.example\.com/admin/link/(\S+)", linked.stdout)
    assert token is not None
    from datetime import UTC, datetime

    assert use_sign_in_link(database, "shop", token.group(1), datetime.now(UTC)) is not None
    assert use_sign_in_link(database, "shop", token.group(1), datetime.now(UTC)) is None
    assert nps(config, "users", "add", "x@example.com", "--role", "admin").exit_code == 2
    database.dispose()


def test_report_shows_what_they_said_in_json_table_and_html(config: Path, tmp_path: Path) -> None:
    document = json.loads(nps(config, "report", "--format", "json", *PERIOD).stdout)
    said = {group["name"]: group for group in document["said"]["groups"]}
    assert said["everyone"]["comments"] == 25
    assert said["everyone"]["latest"][0]["comment"] == "Délai beaucoup trop long"
    assert said["returned"]["comments"] == 8
    assert len(said["returned"]["latest"]) == 3

    table = nps(config, "report", *PERIOD).stdout  # piped: 80 columns
    assert "What they said" in table
    assert "Customers who contacted support" in table  # the stacked layout: no "Cu…"
    assert "…" not in table.split("What they said")[0]
    assert [line for line in table.splitlines() if len(line) > 80] == []

    page = tmp_path / "report.html"
    assert nps(config, "report", "--format", "html", "--output", str(page), *PERIOD).exit_code == 0
    html = page.read_text()
    assert "What they said" in html
    assert "Ok but the box was &lt;b&gt;crushed&lt;/b&gt; &amp; wet" in html
    assert "<b>crushed" not in html


def test_responses_list_filters_by_theme_label_and_names_the_themes_when_unknown(
    config: Path,
) -> None:
    from workspace_support import seed_themes

    database = database_of(config)
    seed_themes(database, "shop")
    database.dispose()
    listed = nps(config, "responses", "list", "--theme", "livraison", "--format", "jsonl")
    assert listed.exit_code == 0, listed.output
    answers = [json.loads(line) for line in listed.stdout.splitlines()]
    assert len(answers) == 6  # customers 1, 6, ... 26 wrote the comment of theme 1
    assert {answer["theme"] for answer in answers} == {"Livraison"}
    unknown = nps(config, "responses", "list", "--theme", "shipping")
    assert unknown.exit_code != 0
    assert "Livraison, Packaging, Other" in unknown.output
