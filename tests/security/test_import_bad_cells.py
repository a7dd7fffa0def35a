"""Item 6: whatever a cell holds, it makes a bad row with its line number; the rest imports."""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import create_engine, func, select, text
from typer.testing import CliRunner, Result

from jobs.cli.app import app

ROOT_ROWS = (
    "email,score,comment,responded_at\n"
    "ann@example.com,9,Great,2025-03-01T10:00:00Z\n"
    "bob@example.com,7,,0001-01-01T00:00:00+01:00\n"
    "cat@example.com,{huge},,2025-03-02T10:00:00Z\n"
    "dan@example.com,3,Late,9999-12-31T23:59:59-01:00\n"
    "eve@example.com,10,,2025-03-03T10:00:00Z\n"
)


def nps(config: Path, *args: str) -> Result:
    return CliRunner().invoke(app, ["--config", str(config), *args], env={})


def test_overflowing_dates_and_huge_scores_are_bad_rows_and_the_rest_imports(
    tmp_path: Path,
) -> None:
    database = tmp_path / "nps.db"
    config = tmp_path / "config.yaml"
    config.write_text(f"store: {{id: shop}}\ndatabase: {{url: 'sqlite:///{database}'}}\n")
    assert nps(config, "db", "upgrade").exit_code == 0
    answers = tmp_path / "answers.csv"
    answers.write_text(ROOT_ROWS.format(huge="9" * 5000), encoding="utf-8")

    result = nps(config, "import", "responses", str(answers))

    assert result.exception is None or isinstance(result.exception, SystemExit)
    assert "Traceback" not in result.output
    for line in (3, 4, 5):
        assert f"line {line}:" in result.output
    assert "9" * 100 not in result.output  # the huge cell is not echoed back
    engine = create_engine(f"sqlite:///{database}")
    with engine.connect() as connection:
        emails = connection.scalars(text("SELECT email FROM responses ORDER BY email")).all()
        assert connection.scalar(select(func.count()).select_from(text("responses"))) == 2
    engine.dispose()
    assert emails == ["ann@example.com", "eve@example.com"]
