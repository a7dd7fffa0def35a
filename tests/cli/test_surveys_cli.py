"""``nps surveys send``: the eligibility line, then what was sent; nothing sent twice."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlite_template import migrated_sqlite
from survey_support import seed_customer
from typer.testing import CliRunner

from jobs.cli.app import app
from nps_engine.store.database import Database
from sandbox.smtp import SmtpSink


@pytest.fixture
def sink() -> Iterator[SmtpSink]:
    with SmtpSink() as running:
        yield running


def write_config(tmp_path: Path, port: int) -> tuple[Path, Database]:
    url = f"sqlite:///{tmp_path / 'nps.db'}"
    config = tmp_path / "config.yaml"
    config.write_text(
        "store: {id: shop, name: Maison Verte}\n"
        f'database: {{url: "{url}"}}\n'
        f"email: {{smtp_host: 127.0.0.1, smtp_port: {port}, security: none,"
        ' from: "shop@example.com"}\n'
        'web: {public_url: "https://nps.example.com", secret_key: "0123456789abcdef-key"}\n'
    )
    database = migrated_sqlite(tmp_path / "nps.db")
    return config, database


def test_dry_run_then_send_then_nothing_left(tmp_path: Path, sink: SmtpSink) -> None:
    config, database = write_config(tmp_path, sink.port)
    seed_customer(database, "shop", 1, "ann@example.com")
    seed_customer(database, "shop", 2, None)
    # The command runs on the real clock: deliveries eight days before now.
    _move_deliveries(database, datetime.now(UTC) - timedelta(days=8))
    runner = CliRunner()
    dry = runner.invoke(app, ["--config", str(config), "surveys", "send", "--dry-run"])
    assert dry.exit_code == 0, dry.output
    assert "shop: 1 due, skipped: 1 no email" in dry.stdout
    assert "would send #10 -> a***@example.com" in dry.stdout
    assert sink.messages == []
    sent = runner.invoke(app, ["--config", str(config), "surveys", "send"])
    assert sent.exit_code == 0, sent.output
    assert "shop: 1 sent" in sent.stdout
    assert "ann@example.com" not in sent.stdout
    again = runner.invoke(app, ["--config", str(config), "surveys", "send", "--limit", "5"])
    assert "0 due" in again.stdout
    assert len(sink.messages) == 1
    database.dispose()


def test_missing_email_section_is_a_usage_error(tmp_path: Path) -> None:
    config = tmp_path / "config.yaml"
    config.write_text("store: {id: shop}\n")
    result = CliRunner().invoke(app, ["--config", str(config), "surveys", "send"])
    assert result.exit_code == 2
    assert "email: is required" in result.output


def _move_deliveries(database: Database, delivered: datetime) -> None:
    from sqlalchemy import update

    from nps_engine.store.models import Order

    with database.session() as session:
        session.execute(update(Order).values(delivered_at=delivered))
