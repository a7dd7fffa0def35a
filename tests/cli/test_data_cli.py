"""``nps import responses`` and ``nps status`` through the real CLI, on a SQLite file."""

from __future__ import annotations

import importlib.util
import json
import re
from pathlib import Path

import pytest
from typer.testing import CliRunner, Result

from jobs.cli.app import app

ROOT = Path(__file__).resolve().parents[2]
EXAMPLES = ROOT / "examples"
GOOD_AND_BAD = (
    "email,score,comment,responded_at,order\n"
    "ann@example.com,9,Great,2025-03-01T10:00:00Z,#1001\n"
    "bob@example.com,11,,2025-03-02T10:00:00Z,\n"
    'carl@example.com,3,"Late,\nand broken",2025-03-03T10:00:00Z,\n'
    "dora.example.com,8,,2025-03-04T10:00:00Z,\n"
)


@pytest.fixture
def config(tmp_path: Path) -> Path:
    path = tmp_path / "config.yaml"
    path.write_text(f"store: {{id: shop}}\ndatabase: {{url: 'sqlite:///{tmp_path / 'nps.db'}'}}\n")
    return path


@pytest.fixture
def ready(config: Path) -> Path:
    assert nps(config, "db", "upgrade").exit_code == 0
    return config


def nps(config: Path, *args: str) -> Result:
    return CliRunner().invoke(app, ["--config", str(config), *args], env={})


def csv_file(tmp_path: Path, text: str, name: str = "answers.csv", encoding: str = "utf-8") -> Path:
    path = tmp_path / name
    path.write_bytes(text.encode(encoding))
    return path


def summary(stdout: str) -> dict[str, int]:
    """The ``label   number`` lines of an import summary."""
    return {label: int(n) for label, n in re.findall(r"^  (\S.*?)\s+(\d+)$", stdout, re.M)}


def status(config: Path) -> dict[str, object]:
    result = nps(config, "status", "--format", "json")
    assert result.exit_code == 0, result.output
    report = json.loads(result.stdout)
    assert isinstance(report, dict)
    return report


def test_import_keeps_good_rows_and_lists_bad_lines(ready: Path, tmp_path: Path) -> None:
    result = nps(ready, "import", "responses", str(csv_file(tmp_path, GOOD_AND_BAD)))
    assert result.exit_code == 0, result.output
    assert "4 rows read" in result.stdout
    assert summary(result.stdout) == {
        "imported": 2,
        "duplicates skipped (already imported)": 0,
        "matched to a customer": 0,
        "unmatched emails (no Shopify customer yet)": 2,
        "linked to an order": 0,
        "bad rows skipped": 2,
    }
    assert "line 3: score: must be an integer from 0 to 10, got '11'" in result.stdout
    assert "line 6: email: not a valid email address ('d***')" in result.stdout
    assert status(ready)["responses"] == 2


def test_reimport_reports_duplicates_and_adds_nothing(ready: Path, tmp_path: Path) -> None:
    path = csv_file(tmp_path, GOOD_AND_BAD)
    nps(ready, "import", "responses", str(path))
    result = nps(ready, "import", "responses", str(path))
    assert result.exit_code == 0
    counts = summary(result.stdout)
    assert counts["imported"] == 0
    assert counts["duplicates skipped (already imported)"] == 2
    assert status(ready)["responses"] == 2


def test_dry_run_writes_nothing(ready: Path, tmp_path: Path) -> None:
    result = nps(ready, "import", "responses", "--dry-run", str(csv_file(tmp_path, GOOD_AND_BAD)))
    assert result.exit_code == 0
    assert "would be imported" in result.stdout
    assert "dry run: nothing was written" in result.stdout
    assert status(ready)["responses"] == 0


def test_full_email_addresses_are_not_printed(ready: Path, tmp_path: Path) -> None:
    text = "email,score,responded_at\nsecret.person@@example.com,9,2025-01-01\n" + (
        "ok.person@example.com,9,2025-01-01\n"
    )
    result = nps(ready, "import", "responses", str(csv_file(tmp_path, text)))
    assert "secret.person" not in result.output
    assert "ok.person" not in result.output


def test_missing_file_is_a_usage_error(ready: Path, tmp_path: Path) -> None:
    result = nps(ready, "import", "responses", str(tmp_path / "nope.csv"))
    assert result.exit_code == 2
    assert "no such file" in result.stderr


def test_missing_columns_import_nothing_and_exit_1(ready: Path, tmp_path: Path) -> None:
    path = csv_file(tmp_path, "mail,rating\na@example.com,9\n")
    result = nps(ready, "import", "responses", str(path))
    assert result.exit_code == 1
    assert "missing columns: email, score, responded_at" in result.stderr
    assert "nothing was imported" in result.stderr


def test_file_that_is_not_utf8_exits_1(ready: Path, tmp_path: Path) -> None:
    text = "email,score,comment,responded_at\na@example.com,9,très bien,2025-01-01\n"
    result = nps(ready, "import", "responses", str(csv_file(tmp_path, text, encoding="latin-1")))
    assert result.exit_code == 1
    assert "is not UTF-8 text" in result.stderr


def test_excel_workbook_is_recognised(ready: Path, tmp_path: Path) -> None:
    path = tmp_path / "answers.xlsx"
    path.write_bytes(b"PK\x03\x04\x14\x00\x06\x00\x08\x00\x00\x00!\x00\xb5U\xff\xfe")
    result = nps(ready, "import", "responses", str(path))
    assert result.exit_code == 1
    assert "is an Excel workbook, not a CSV" in result.stderr


def test_file_with_only_bad_rows_exits_1(ready: Path, tmp_path: Path) -> None:
    path = csv_file(tmp_path, "email,score,responded_at\na@example.com,12,2025-01-01\n")
    result = nps(ready, "import", "responses", str(path))
    assert result.exit_code == 1
    assert "line 2: score" in result.stdout


def test_relationship_kind_is_stored(ready: Path, tmp_path: Path) -> None:
    path = csv_file(tmp_path, "email,score,responded_at\na@example.com,9,2025-01-01\n")
    assert nps(ready, "import", "responses", "--kind", "relationship", str(path)).exit_code == 0
    from sqlalchemy import create_engine, text

    engine = create_engine(f"sqlite:///{tmp_path / 'nps.db'}")
    with engine.connect() as connection:
        kinds = connection.execute(text("select kind, source from responses")).all()
    engine.dispose()
    assert kinds == [("relationship", "import")]


def test_database_without_tables_says_to_upgrade(config: Path, tmp_path: Path) -> None:
    path = csv_file(tmp_path, GOOD_AND_BAD)
    for args in (("import", "responses", str(path)), ("status",)):
        result = nps(config, *args)
        assert result.exit_code == 2
        assert "run `nps db upgrade` first" in result.stderr


def test_unreachable_database_is_a_clear_failure(tmp_path: Path) -> None:
    config = tmp_path / "config.yaml"
    config.write_text(
        f"store: {{id: s}}\ndatabase: {{url: 'sqlite:///{tmp_path}/no/such/dir.db'}}\n"
    )
    result = nps(config, "status")
    assert result.exit_code == 1
    assert "cannot open the database" in result.stderr


def test_several_stores_need_store_option(tmp_path: Path) -> None:
    config = tmp_path / "config.yaml"
    config.write_text(
        f"database: {{url: 'sqlite:///{tmp_path / 'nps.db'}'}}\n"
        "stores: [{store: {id: fr}}, {store: {id: uk}}]\n"
    )
    nps(config, "db", "upgrade")
    path = csv_file(tmp_path, GOOD_AND_BAD)
    result = nps(config, "import", "responses", str(path))
    assert result.exit_code == 2
    assert "choose one with --store" in result.stderr
    assert nps(config, "import", "responses", "--store", "uk", str(path)).exit_code == 0
    assert nps(config, "import", "responses", "--store", "de", str(path)).exit_code == 2
    reports = json.loads(nps(config, "status", "--format", "json").stdout)["stores"]
    assert [(r["store"], r["responses"]) for r in reports] == [("fr", 0), ("uk", 2)]


def test_status_json_has_the_contract_keys(ready: Path) -> None:
    report = status(ready)
    assert {
        "customers",
        "orders",
        "orders_delivered",
        "orders_returned",
        "tickets",
        "invites",
        "responses",
        "tag_pushes_pending",
        "last_runs",
    } <= set(report)
    assert report["invites"] == {
        "pending": 0,
        "sending": 0,
        "sent": 0,
        "failed": 0,
        "suppressed": 0,
    }
    assert isinstance(report["tag_pushes_pending"], int)


def test_status_table_is_readable(ready: Path, tmp_path: Path) -> None:
    nps(ready, "import", "responses", str(csv_file(tmp_path, GOOD_AND_BAD)))
    result = nps(ready, "status")
    assert result.exit_code == 0
    assert "store shop" in result.stdout
    assert any(line.split() == ["responses", "2"] for line in result.stdout.splitlines())


def test_shipped_delighted_example_imports_with_its_three_bad_rows(
    ready: Path,
) -> None:
    result = nps(ready, "import", "responses", str(EXAMPLES / "delighted-export.csv"))
    assert result.exit_code == 0, result.output
    assert "(Delighted export)" in result.stdout
    assert "line 65: Email: missing email address" in result.stdout
    assert "line 155: Score: must be an integer from 0 to 10, got '11'" in result.stdout
    assert "line 328: Created At: not a date, got 'N/A'" in result.stdout
    assert status(ready)["responses"] == 397


def test_shipped_example_config_loads(tmp_path: Path) -> None:
    result = nps(EXAMPLES / "config.yaml", "check")
    assert result.exit_code == 0, result.output
    assert "store example" in result.stdout


def test_delighted_example_is_reproduced_by_its_script(tmp_path: Path) -> None:
    spec = importlib.util.spec_from_file_location(
        "make_export", EXAMPLES / "make_delighted_export.py"
    )
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    module.OUTPUT = tmp_path / "export.csv"
    module.main()
    assert module.OUTPUT.read_bytes() == (EXAMPLES / "delighted-export.csv").read_bytes()


def test_a_european_excel_export_imports_and_says_how_dates_were_read(
    ready: Path, tmp_path: Path
) -> None:
    path = csv_file(
        tmp_path,
        "Response ID;Email;Score;Comment;Created At;Notes;Tags;Plan\n"
        "r1;ann@example.com;10,0;Super;03/04/2025 09:30;rappelée;vip;Pro\n"
        "r2;bob@example.com;7.0;;14/07/2025 09:30;;;Basic\n"
        "r3;carl@example.com;3;Lent;14.07.2025 10:00;;;\n",
    )
    result = nps(ready, "import", "responses", str(path))
    assert result.exit_code == 0, result.output
    assert summary(result.stdout)["imported"] == 3
    assert "dates read day-first (14/07/2025), detected from '14/07/2025 09:30'" in result.stdout
    assert "also kept with each answer (for custom segments): Notes, Tags, Plan" in result.stdout
    from sqlalchemy import create_engine, text

    engine = create_engine(f"sqlite:///{tmp_path / 'nps.db'}")
    with engine.connect() as connection:
        rows = connection.execute(
            text("select email, score, responded_at, properties from responses order by email")
        ).all()
    engine.dispose()
    ann = rows[0]
    assert (ann.score, str(ann.responded_at)[:16]) == (10, "2025-04-03 09:30")  # 3 April
    assert json.loads(ann.properties) == {"Notes": "rappelée", "Tags": "vip", "Plan": "Pro"}
    assert rows[2].properties is None


def test_date_format_option_reads_ambiguous_dates_month_first(ready: Path, tmp_path: Path) -> None:
    path = csv_file(tmp_path, "email,score,responded_at\nann@example.com,9,03/04/2025 09:30\n")
    refused = nps(ready, "import", "responses", "--dry-run", str(path))
    assert "--date-format day-first" in refused.stdout
    result = nps(ready, "import", "responses", "--date-format", "month-first", str(path))
    assert result.exit_code == 0, result.output
    assert "dates read month-first (07/14/2025), as asked (--date-format)" in result.stdout


def test_status_table_prints_problems_with_brackets_as_written() -> None:
    """An alert's problem is a remote server's text: rich must not read it as markup."""
    from rich.console import Console

    from jobs.cli.commands.status import _status_table
    from nps_engine.store.status import StoreStatus

    status = StoreStatus(
        "maison[shop]", 1, 2, 1, 0, 0, {}, 1, {},
        alerts={"failed": 1}, alert_problems=["webhook: 400 [/x] invalid_payload [bold]"],
    )  # fmt: skip
    console = Console(width=120, record=True)
    console.print(_status_table(status))
    printed = console.export_text()
    assert "webhook: 400 [/x] invalid_payload [bold]" in printed
    assert "store maison[shop]" in printed
