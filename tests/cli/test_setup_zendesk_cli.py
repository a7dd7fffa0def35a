"""``nps setup zendesk`` against the Zendesk simulator: creates the missing NPS user fields once."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from typer.testing import CliRunner

from jobs.cli.app import app
from sandbox.generator import generate
from sandbox.world import World
from sandbox.zendesk.account import ZendeskOptions
from sandbox.zendesk.simulator import ZendeskSimulator, credentials


@pytest.fixture
def world() -> World:
    return generate(customers=5, seed=3, now=datetime(2026, 11, 1, tzinfo=UTC))


@pytest.fixture
def simulator(world: World) -> Iterator[ZendeskSimulator]:
    with ZendeskSimulator(world, ZendeskOptions(user_fields={"nps_score": "integer"})) as sim:
        yield sim


def config(tmp_path: Path, simulator: ZendeskSimulator) -> Path:
    given = credentials(simulator)
    path = tmp_path / "config.yaml"
    path.write_text(
        "store: {id: my-store}\n"
        "zendesk:\n"
        f"  subdomain: {given['subdomain']}\n"
        f"  email: {given['email']}\n"
        "  api_token: ${ZENDESK_API_TOKEN}\n"
        f"  base_url: {given['base_url']}\n"
    )
    return path


def test_setup_creates_the_missing_fields_and_a_rerun_changes_nothing(
    tmp_path: Path, simulator: ZendeskSimulator, world: World
) -> None:
    path = config(tmp_path, simulator)
    env = {"ZENDESK_API_TOKEN": credentials(simulator)["api_token"]}
    first = CliRunner().invoke(app, ["--config", str(path), "setup", "zendesk"], env=env)
    assert first.exit_code == 0, first.output
    assert "user field nps_score: exists" in first.stdout
    assert "user field nps_category: created" in first.stdout
    assert set(world.zendesk_user_field_defs) >= {"nps_score", "nps_category", "nps_responded_at"}
    again = CliRunner().invoke(app, ["--config", str(path), "setup", "zendesk"], env=env)
    assert again.exit_code == 0
    assert "created" not in again.stdout


def test_setup_with_a_wrong_token_exits_1_without_printing_it(
    tmp_path: Path, simulator: ZendeskSimulator
) -> None:
    path = config(tmp_path, simulator)
    env = {"ZENDESK_API_TOKEN": "wrong-token-secret-123"}
    result = CliRunner().invoke(app, ["--config", str(path), "setup", "zendesk"], env=env)
    assert result.exit_code == 1
    assert "zendesk.email/api_token" in result.output
    assert "wrong-token-secret-123" not in result.output
