"""``nps report`` through the real CLI on a migrated SQLite file seeded through the models."""

from __future__ import annotations

import csv
import io
import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from typer.testing import CliRunner, Result

from jobs.cli.app import app
from nps_engine.store.database import Database
from nps_engine.store.models import Customer, Order, Response, Ticket

PERIOD = ("--since", "2026-01-01", "--until", "2026-03-31")


def nps(config: Path, *args: str) -> Result:
    return CliRunner().invoke(app, ["--config", str(config), *args], env={})


def write_config(tmp_path: Path, body: str = "store: {id: shop, timezone: Europe/Paris}\n") -> Path:
    path = tmp_path / "config.yaml"
    path.write_text(body + f"database: {{url: 'sqlite:///{tmp_path / 'nps.db'}'}}\n")
    return path


@pytest.fixture
def config(tmp_path: Path) -> Path:
    path = write_config(tmp_path)
    assert nps(path, "db", "upgrade").exit_code == 0
    return path


def seed(tmp_path: Path, store: str = "shop") -> None:
    """40 customers: 10 contacted support and scored 2, 30 did not and scored 10 (one of them
    answered twice, first a 0 in January)."""
    database = Database(f"sqlite:///{tmp_path / 'nps.db'}")
    answered = datetime(2026, 2, 10, 12, tzinfo=UTC)
    with database.session() as session:
        for i in range(1, 41):
            unhappy = i <= 10
            session.add(Customer(store=store, id=i, email=f"c{i}@example.com"))
            session.add(
                Order(
                    store=store,
                    id=1000 + i,
                    name=f"#{1000 + i}",
                    customer_id=i,
                    created_at=answered - timedelta(days=20),
                    updated_at=answered - timedelta(days=20),
                )
            )
            if unhappy:
                session.add(
                    Ticket(
                        store=store,
                        id=i,
                        customer_id=i,
                        status="solved",
                        created_at=answered - timedelta(days=5),
                        updated_at=answered - timedelta(days=5),
                    )
                )
            session.add(
                Response(
                    store=store,
                    source="survey",
                    kind="transactional",
                    customer_id=i,
                    email=f"c{i}@example.com",
                    order_id=1000 + i,
                    score=2 if unhappy else 10,
                    responded_at=answered,
                    updated_at=answered,
                )
            )
        session.add(
            Response(
                store=store,
                source="import",
                kind="transactional",
                customer_id=40,
                email="c40@example.com",
                score=0,
                responded_at=datetime(2026, 1, 5, tzinfo=UTC),
                updated_at=datetime(2026, 1, 5, tzinfo=UTC),
            )
        )
    database.dispose()


def test_json_report_follows_the_contract(config: Path, tmp_path: Path) -> None:
    seed(tmp_path)
    result = nps(config, "report", "--format", "json", *PERIOD)
    assert result.exit_code == 0, result.output
    report = json.loads(result.stdout)
    assert report["basis"] == "customers"
    assert report["period"]["from"] == "2026-01-01"
    assert report["period"]["to"] == "2026-03-31"
    assert report["overall"] == {
        "n": 40, "promoters": 30, "passives": 0, "detractors": 10, "nps": 50.0,
        "ci95": report["overall"]["ci95"], "small_sample": False,
    }  # fmt: skip
    low, high = report["overall"]["ci95"]
    assert low < 50 < high
    support = next(s for s in report["segments"] if s["name"] == "support_contacted")
    assert (support["n"], support["nps"], support["rest"]["n"], support["rest"]["nps"]) == (
        10, -100.0, 30, 100.0)  # fmt: skip
    assert support["difference"] == -200.0
    assert support["p_value"] < 0.001
    assert support["small_sample"] is True
    assert [(m["month"], m["n"]) for m in report["trend"]] == [
        ("2026-01", 1), ("2026-02", 40), ("2026-03", 0)]  # fmt: skip


def test_responses_basis_counts_every_answer(config: Path, tmp_path: Path) -> None:
    seed(tmp_path)
    result = nps(config, "report", "--format", "json", "--basis", "responses", *PERIOD)
    report = json.loads(result.stdout)
    assert (report["basis"], report["overall"]["n"], report["overall"]["detractors"]) == (
        "responses", 41, 11)  # fmt: skip


def test_basis_default_comes_from_the_config(tmp_path: Path) -> None:
    config = write_config(tmp_path, "store: {id: shop}\nreport: {basis: responses}\n")
    assert nps(config, "db", "upgrade").exit_code == 0
    seed(tmp_path)
    report = json.loads(nps(config, "report", "--format", "json", *PERIOD).stdout)
    assert report["basis"] == "responses"


def test_relationship_answers_have_their_own_report(config: Path, tmp_path: Path) -> None:
    seed(tmp_path)
    result = nps(config, "report", "--format", "json", "--kind", "relationship", *PERIOD)
    report = json.loads(result.stdout)
    assert (report["kind"], report["overall"]["n"]) == ("relationship", 0)


def test_csv_has_a_header_and_one_row_per_figure(config: Path, tmp_path: Path) -> None:
    seed(tmp_path)
    result = nps(config, "report", "--format", "csv", *PERIOD)
    assert result.exit_code == 0, result.output
    rows = list(csv.DictReader(io.StringIO(result.stdout)))
    assert result.stdout.startswith("store,kind,basis,period_from,period_to,scope,name,label,n,")
    assert [(r["scope"], r["name"]) for r in rows][:2] == [
        ("overall", "overall"), ("segment", "support_contacted")]  # fmt: skip
    assert rows[0]["nps"] == "50.0"
    assert rows[1]["rest_nps"] == "100.0"
    assert [r["name"] for r in rows if r["scope"] == "month"] == ["2026-01", "2026-02", "2026-03"]
    support = rows[1]
    assert support["p_adjusted"] != ""
    assert support["comparable"] == "yes"
    months = [r for r in rows if r["scope"] == "segment_month" and r["name"] == "support_contacted"]
    assert [(r["month"], r["n"], r["rest_n"]) for r in months] == [
        ("2026-01", "0", "1"), ("2026-02", "10", "30"), ("2026-03", "0", "0")]  # fmt: skip
    [change] = [r for r in rows if r["scope"] == "change"]
    assert (change["name"], change["month"], change["comparable"]) == ("2026-02", "2026-01", "no")
    assert change["difference"] == "150.0"  # February 50 against January's lone 0 (-100)


def test_html_is_one_self_contained_page_with_the_figures(config: Path, tmp_path: Path) -> None:
    seed(tmp_path)
    output = tmp_path / "out" / "report.html"
    result = nps(config, "report", "--format", "html", "--output", str(output), *PERIOD)
    assert result.exit_code == 0, result.output
    page = output.read_text()
    assert "<svg" in page
    assert "Customers who contacted support: NPS -100 (-100 to " in page  # lopsided interval
    assert "small sample" in page
    assert "Net Promoter Score</small>50" in page
    assert "n = 40" in page
    # small multiples: one chart per segment, its line and the rest's
    assert page.count('<figure class="multiple">') == 3
    assert "Change over time" in page
    assert "February against January: too few answers to compare" in page
    assert "widened, only where" in page  # the interval rule, in the footer
    for external in ("<script", "http://", "https://", "<link"):
        assert external not in page


def test_table_output_shows_the_headline_and_segments(config: Path, tmp_path: Path) -> None:
    seed(tmp_path)
    result = nps(config, "report", *PERIOD)
    assert result.exit_code == 0, result.output
    assert "NPS 50" in result.stdout
    assert "Customers who contacted support" in result.stdout
    assert "2026-02" in result.stdout


def test_empty_store_says_so_and_still_gives_valid_json(config: Path) -> None:
    table = nps(config, "report", *PERIOD)
    assert table.exit_code == 0
    assert "No answers in this period" in table.stdout
    result = nps(config, "report", "--format", "json", *PERIOD)
    assert result.exit_code == 0
    assert json.loads(result.stdout)["overall"]["n"] == 0
    assert "no answers in this period" in result.stderr


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("--since", "2026-13-01"), "--since: '2026-13-01' is not a date"),
        (("--until", "yesterday"), "--until: 'yesterday' is not a date"),
        (("--since", "2026-03-01", "--until", "2026-02-01"), "is before --since"),
    ],
)
def test_bad_dates_are_usage_errors(config: Path, args: tuple[str, ...], message: str) -> None:
    result = nps(config, "report", *args)
    assert result.exit_code == 2
    assert message in result.stderr


def test_unknown_format_is_a_usage_error(config: Path) -> None:
    assert nps(config, "report", "--format", "pdf").exit_code == 2


def test_database_without_tables_asks_for_db_upgrade(tmp_path: Path) -> None:
    result = nps(write_config(tmp_path), "report")
    assert result.exit_code == 2
    assert "nps db upgrade" in result.stderr


def two_stores(tmp_path: Path) -> Path:
    """A config of two stores in one database: ``shop`` with the seeded answers, ``other``
    without any."""
    database = f"sqlite:///{tmp_path / 'nps.db'}"
    config = tmp_path / "config.yaml"
    config.write_text(
        f"database: {{url: '{database}'}}\nstores:\n  - store: {{id: shop}}\n"
        "  - store: {id: other}\n"
    )
    assert nps(config, "db", "upgrade").exit_code == 0
    seed(tmp_path)
    return config


def test_several_stores_are_reported_each_under_its_id(tmp_path: Path) -> None:
    config = two_stores(tmp_path)
    result = nps(config, "report", "--format", "json", *PERIOD)
    assert result.exit_code == 0, result.output
    stores = json.loads(result.stdout)["stores"]
    assert [(s["store"], s["overall"]["n"]) for s in stores] == [("shop", 40), ("other", 0)]


def test_store_option_reports_the_stores_named_in_their_order(tmp_path: Path) -> None:
    config = two_stores(tmp_path)
    result = nps(config, "report", "--format", "json", "--store", "other", *PERIOD)
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["store"] == "other"
    result = nps(
        config, "report", "--format", "json", "--store", "other", "--store", "shop", *PERIOD
    )
    assert result.exit_code == 0, result.output
    stores = json.loads(result.stdout)["stores"]
    assert [(s["store"], s["overall"]["n"]) for s in stores] == [("other", 0), ("shop", 40)]


def test_unreadable_database_is_a_clear_failure(tmp_path: Path) -> None:
    config = write_config(tmp_path)
    (tmp_path / "nps.db").write_bytes(b"this is not a database" * 100)
    result = nps(config, "report")
    assert result.exit_code == 1
    assert "store shop: cannot open the database" in result.stderr
    assert "file is not a database" in result.stderr


def test_period_starting_after_today_is_a_usage_error(config: Path) -> None:
    result = nps(config, "report", "--since", "2999-01-01")
    assert result.exit_code == 2
    assert "store shop: the period ends" in result.stderr


def test_table_can_be_written_to_a_file_as_plain_text(config: Path, tmp_path: Path) -> None:
    seed(tmp_path)
    output = tmp_path / "report.txt"
    result = nps(config, "report", "--output", str(output), *PERIOD)
    assert result.exit_code == 0, result.output
    text = output.read_text()
    assert "NPS 50" in text
    assert "Customers who contacted support: NPS -100" in text
    assert "\x1b[" not in text  # no terminal colour codes in a file


def test_a_custom_segment_on_imported_delighted_properties(tmp_path: Path) -> None:
    """Delighted's property columns, kept at import, make segments: Pro plan vs the rest."""
    config = write_config(
        tmp_path,
        "store: {id: shop, timezone: Europe/Paris}\n"
        "segments:\n  custom:\n"
        "    - {name: pro_plan, rule: {property: {plan: pro}}}\n"
        "    - {name: called_back, rule: {property: {notes: RAPPEL, tags: {in: [VIP, gold]}}}}\n",
    )
    assert nps(config, "db", "upgrade").exit_code == 0
    rows = ["Response ID,Email,Score,Created At,Plan,Notes,Tags"]
    for n in range(12):
        plan, score = ("Pro", 10) if n < 4 else ("Basic", 3)
        notes, tags = ("rappel", "vip") if n == 0 else ("", "")
        rows.append(
            f"r{n},c{n}@example.com,{score},2026-03-{n + 1:02d} 10:00:00,{plan},{notes},{tags}"
        )
    path = tmp_path / "delighted.csv"
    path.write_text("\n".join(rows) + "\n")
    assert nps(config, "import", "responses", str(path)).exit_code == 0
    result = nps(
        config, "report", "--format", "json", "--since", "2026-03-01", "--until", "2026-03-31"
    )
    assert result.exit_code == 0, result.output
    segments = {s["name"]: s for s in json.loads(result.stdout)["segments"]}
    assert (segments["pro_plan"]["n"], segments["pro_plan"]["nps"]) == (4, 100)
    assert segments["pro_plan"]["rest"]["n"] == 8
    assert segments["called_back"]["n"] == 1


def test_a_property_rule_without_names_is_refused_naming_the_key(tmp_path: Path) -> None:
    config = write_config(
        tmp_path,
        "store: {id: shop}\nsegments:\n  custom:\n    - {name: bad, rule: {property: pro}}\n",
    )
    result = nps(config, "check")
    assert result.exit_code == 2
    assert "segments.custom" in result.stderr
    assert "property" in result.stderr


def test_json_report_carries_statistics_v2(config: Path, tmp_path: Path) -> None:
    seed(tmp_path)
    result = nps(config, "report", "--format", "json", *PERIOD)
    assert result.exit_code == 0, result.output
    report = json.loads(result.stdout)
    assert report["method"] == "adjusted-wald"
    assert "adjusted-Wald" in report["intervals"]
    support = next(s for s in report["segments"] if s["name"] == "support_contacted")
    assert support["comparable"] is True
    assert support["p_adjusted"] >= support["p_value"]
    february = next(point for point in support["trend"] if point["month"] == "2026-02")
    assert (february["n"], february["detractors"], february["rest"]["n"]) == (10, 10, 30)
    # the churn-risk segment never looks at the score: support contacts are its only signal here
    churn = next(s for s in report["segments"] if s["name"] == "churn_risk")
    assert (churn["n"], churn["nps"]) == (10, -100.0)
    # January (1 answer, the 0 later replaced) against February: too few to compare
    [change] = report["changes"]
    assert (change["month"], change["previous"], change["comparable"]) == (
        "2026-02", "2026-01", False)  # fmt: skip
    assert change["p_value"] is None
    assert report["trend_window"] == {"months": 3}  # most months have under 30 answers
    assert "bayes" not in report["overall"]


def test_bayes_method_adds_credible_intervals_to_the_json(config: Path, tmp_path: Path) -> None:
    seed(tmp_path)
    result = nps(config, "report", "--format", "json", "--method", "bayes", *PERIOD)
    assert result.exit_code == 0, result.output
    report = json.loads(result.stdout)
    bayes = report["overall"]["bayes"]
    # Dirichlet(31, 1, 11): posterior mean (31 - 11) / 43 = 46.5
    assert bayes["nps"] == 46.5
    assert bayes["ci95"][0] < 46.5 < bayes["ci95"][1]
    again = json.loads(
        nps(config, "report", "--format", "json", "--method", "bayes", *PERIOD).stdout
    )
    assert again["overall"]["bayes"] == bayes  # fixed seed


def test_unknown_method_is_a_usage_error(config: Path) -> None:
    result = nps(config, "report", "--method", "bootstrap")
    assert result.exit_code == 2


def test_table_shows_segment_months_changes_and_the_interval_rule(
    config: Path, tmp_path: Path
) -> None:
    seed(tmp_path)
    result = nps(config, "report", *PERIOD)
    assert result.exit_code == 0, result.output
    assert "Segments month by month" in result.stdout
    assert "Change over time" in result.stdout
    assert "February against January: too few answers to compare" in result.stdout
    assert "Holm" in result.stdout
