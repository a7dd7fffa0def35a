"""``nps check``: a usable configuration is summarised without its secrets; a bad one exits 2."""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from jobs.cli.app import app

ROOT = Path(__file__).resolve().parents[2]
SECRETS = {
    "SHOPIFY_CLIENT_ID": "0123456789client",
    "SHOPIFY_CLIENT_SECRET": "shopify-client-secret-42",
    "ZENDESK_API_TOKEN": "zendesk-token-secret-77",
    "ZENDESK_WEBHOOK_SECRET": "zendesk-webhook-secret-99",
    "SMTP_PASSWORD": "smtp-password-secret-55",
    "NPS_SECRET_KEY": "survey-signing-key-secret-0123",
}


@pytest.fixture
def full_config(tmp_path: Path) -> Path:
    """config.example.yaml with a PostgreSQL URL carrying a password."""
    text = (ROOT / "config.example.yaml").read_text()
    text = text.replace(
        "url: sqlite:///nps.db", "url: postgresql://nps:db-password-secret@db.internal:5432/nps"
    )
    path = tmp_path / "config.yaml"
    path.write_text(text)
    return path


def test_check_summarises_the_store_without_printing_secrets(full_config: Path) -> None:
    result = CliRunner().invoke(app, ["--config", str(full_config), "check"], env=SECRETS)
    assert result.exit_code == 0, result.output
    assert "store my-store" in result.stdout
    assert "my-store.myshopify.com (Dev Dashboard app)" in result.stdout
    assert "configuration OK (1 store)" in result.stdout
    for secret in [*SECRETS.values(), "db-password-secret"]:
        assert secret not in result.output
    assert "postgresql://nps:***@db.internal:5432/nps" in result.stdout


def test_check_counts_every_store(tmp_path: Path) -> None:
    path = tmp_path / "config.yaml"
    path.write_text("stores: [{store: {id: fr}}, {store: {id: uk}}]\n")
    result = CliRunner().invoke(app, ["--config", str(path), "check"], env={})
    assert result.exit_code == 0
    assert "store fr" in result.stdout
    assert "store uk" in result.stdout
    assert "configuration OK (2 stores)" in result.stdout


def test_config_path_comes_from_nps_config(tmp_path: Path) -> None:
    path = tmp_path / "elsewhere.yaml"
    path.write_text("store: {id: from-env}\n")
    result = CliRunner().invoke(app, ["check"], env={"NPS_CONFIG": str(path)})
    assert result.exit_code == 0
    assert "store from-env" in result.stdout


def test_missing_config_file_exits_2_and_says_how_to_start(tmp_path: Path) -> None:
    result = CliRunner().invoke(app, ["--config", str(tmp_path / "config.yaml"), "check"], env={})
    assert result.exit_code == 2
    assert "config file not found" in result.stderr
    assert "config.example.yaml" in result.stderr


def test_missing_env_variable_exits_2_naming_key_and_variable(full_config: Path) -> None:
    env = {k: v for k, v in SECRETS.items() if k != "SMTP_PASSWORD"}
    result = CliRunner().invoke(app, ["--config", str(full_config), "check"], env=env)
    assert result.exit_code == 2
    assert "email.password: environment variable SMTP_PASSWORD is not set" in result.stderr
    for secret in env.values():
        assert secret not in result.output


def test_every_problem_is_listed_with_its_key(tmp_path: Path) -> None:
    path = tmp_path / "config.yaml"
    path.write_text("store: {id: shop}\nsurvey:\n  delay_days: -1\n  max_per_runn: 5\n")
    result = CliRunner().invoke(app, ["--config", str(path), "check"], env={})
    assert result.exit_code == 2
    assert f"invalid configuration in {path}" in result.stderr
    assert "survey.delay_days: must be >= 0" in result.stderr
    assert "survey.max_per_runn: unknown key (did you mean 'max_per_run'?)" in result.stderr
