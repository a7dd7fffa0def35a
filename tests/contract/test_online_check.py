"""``nps check --online`` against the simulators: every system answers, and a bad token is named."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml
from typer.testing import CliRunner

from jobs.cli.app import app
from sandbox.runner import Sandbox, SandboxOptions


@pytest.fixture(scope="module")
def sandbox() -> Sandbox:
    with Sandbox(SandboxOptions(customers=20, seed=3)) as running:
        yield running


def _config(tmp_path: Path, sandbox: Sandbox, **changes: dict[str, Any]) -> Path:
    document = sandbox.config(database_url=f"sqlite:///{tmp_path / 'nps.db'}")
    for section, values in changes.items():
        merged = document.get(section, {}) | values
        document[section] = {k: v for k, v in merged.items() if v is not None}
    path = tmp_path / "config.yaml"
    path.write_text(yaml.safe_dump(document))
    return path


def test_every_configured_system_is_reached(tmp_path: Path, sandbox: Sandbox) -> None:
    result = CliRunner().invoke(app, ["--config", str(_config(tmp_path, sandbox)), "check",
                                      "--online"])  # fmt: skip
    assert result.exit_code == 0, result.output
    assert "shopify: ok" in result.output
    assert "access: Dev Dashboard app (client credentials grant)" in result.output
    assert "write_customers" in result.output  # the granted scopes are listed
    assert "zendesk: ok" in result.output
    assert "smtp: ok" in result.output


def test_the_legacy_admin_token_is_named_as_such(tmp_path: Path, sandbox: Sandbox) -> None:
    ends = sandbox.endpoints()
    legacy = {"access_token": ends.shopify_access_token, "client_id": None, "client_secret": None}
    config = _config(tmp_path, sandbox, shopify=legacy)
    result = CliRunner().invoke(app, ["--config", str(config), "check", "--online"])
    assert result.exit_code == 0, result.output
    assert "access: legacy admin app token (shopify.access_token)" in result.output


def test_a_missing_scope_is_named_when_rewards_need_it(tmp_path: Path, sandbox: Sandbox) -> None:
    assert sandbox.shopify is not None
    granted = sandbox.shopify.grants.scopes
    sandbox.shopify.grants.scopes = tuple(s for s in granted if s != "write_discounts")
    try:
        plain = _config(tmp_path, sandbox)
        without_rewards = CliRunner().invoke(app, ["--config", str(plain), "check", "--online"])
        rewards = {"promoter_discount": {"enabled": True, "percentage": 10}}
        config = _config(tmp_path, sandbox, rewards=rewards)
        result = CliRunner().invoke(app, ["--config", str(config), "check", "--online"])
    finally:
        sandbox.shopify.grants.scopes = granted
    assert without_rewards.exit_code == 0, without_rewards.output
    assert result.exit_code == 1
    assert "shopify: FAILED" in result.output
    assert "MISSING: write_discounts" in result.output


def test_a_refused_grant_says_what_to_check_in_the_dev_dashboard(
    tmp_path: Path, sandbox: Sandbox
) -> None:
    config = _config(tmp_path, sandbox, shopify={"client_secret": "shpss_not_the_secret_42"})
    result = CliRunner().invoke(app, ["--config", str(config), "check", "--online"])
    assert result.exit_code == 1
    assert "refused the client credentials grant" in result.output
    assert "Dev Dashboard" in result.output
    assert "shpss_not_the_secret_42" not in result.output


def test_a_refused_shopify_token_fails_the_check_without_printing_it(
    tmp_path: Path, sandbox: Sandbox
) -> None:
    config = _config(
        tmp_path,
        sandbox,
        shopify={"access_token": "shpat_wrong_token_123", "client_id": None, "client_secret": None},
    )
    result = CliRunner().invoke(app, ["--config", str(config), "check", "--online"])
    assert result.exit_code == 1
    assert "shopify: FAILED" in result.output
    assert "shpat_wrong_token_123" not in result.output
    assert "zendesk: ok" in result.output  # the other systems are still checked


def test_a_sync_with_a_refused_grant_stops_saying_what_to_check(
    tmp_path: Path, sandbox: Sandbox
) -> None:
    config = _config(tmp_path, sandbox, shopify={"client_secret": "shpss_not_the_secret_43"})
    runner = CliRunner()
    assert runner.invoke(app, ["--config", str(config), "db", "upgrade"]).exit_code == 0
    result = runner.invoke(app, ["--config", str(config), "sync", "--source", "shopify"])
    assert result.exit_code == 1
    assert "refused the client credentials grant" in result.output
    assert "installed on" in result.output
    assert "shpss_not_the_secret_43" not in result.output
