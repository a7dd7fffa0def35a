"""Every command meets an unusable database the same way: one line naming it, exit code 1."""

from pathlib import Path

import pytest
from typer.testing import CliRunner

from jobs.cli.app import app

UNREACHABLE = "postgresql://nps:s3cret-pw@127.0.0.1:1/nps"  # nothing listens on port 1


def _config(tmp_path: Path, url: str) -> Path:
    path = tmp_path / "config.yaml"
    path.write_text(
        f"store: {{id: shop}}\ndatabase: {{url: '{url}'}}\n"
        "email: {from: a@b.co}\n"
        "web: {public_url: 'https://nps.example.com', secret_key: '0123456789abcdef'}\n"
    )
    return path


COMMANDS = [
    ["db", "upgrade"],
    ["sync"],
    ["run"],
    ["tags", "push"],
    ["status"],
    ["report"],
    ["surveys", "send"],
]


@pytest.mark.parametrize("command", COMMANDS)
def test_an_unreachable_database_is_one_line_and_exit_1(tmp_path: Path, command: list[str]) -> None:
    result = CliRunner().invoke(app, ["--config", str(_config(tmp_path, UNREACHABLE)), *command])
    assert result.exit_code == 1, result.output
    assert "store shop: cannot open the database postgresql://nps:***@127.0.0.1:1/nps" in (
        result.stderr
    )
    assert "Traceback" not in result.output
    assert "s3cret-pw" not in result.output


@pytest.mark.parametrize("command", COMMANDS[1:])
def test_a_database_without_tables_says_to_upgrade_and_exits_1(
    tmp_path: Path, command: list[str]
) -> None:
    config = _config(tmp_path, f"sqlite:///{tmp_path / 'empty.db'}")
    result = CliRunner().invoke(app, ["--config", str(config), *command])
    assert result.exit_code == 1, result.output
    assert "run `nps db upgrade` first" in result.stderr
