"""Every command meets an unusable database the same way: one line naming it, exit code 1 when
the server cannot be reached, 2 when the user must run `nps db upgrade` or install the driver."""

import subprocess
import sys
from importlib.metadata import version
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
def test_a_database_without_tables_says_to_upgrade_and_exits_2(
    tmp_path: Path, command: list[str]
) -> None:
    config = _config(tmp_path, f"sqlite:///{tmp_path / 'empty.db'}")
    result = CliRunner().invoke(app, ["--config", str(config), *command])
    assert result.exit_code == 2, result.output
    assert "run `nps db upgrade` first" in result.stderr


_WITHOUT_PSYCOPG = """
import sys
sys.modules["psycopg"] = None  # as on a machine where the postgres extra is not installed
sys.argv = ["nps", *sys.argv[1:]]
from jobs.cli.app import main
main()
"""


@pytest.mark.parametrize("command", [["check"], ["db", "upgrade"], ["status"]])
def test_postgresql_without_the_postgres_extra_says_what_to_install(
    tmp_path: Path, command: list[str]
) -> None:
    config = _config(tmp_path, UNREACHABLE)
    result = subprocess.run(
        [sys.executable, "-c", _WITHOUT_PSYCOPG, "--config", str(config), *command],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 2, result.stderr
    assert "Traceback" not in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1, result.stderr
    assert "database.url" in result.stderr
    assert "postgres extra: pip install '.[postgres]'" in result.stderr


def test_version_prints_the_installed_version() -> None:
    result = CliRunner().invoke(app, ["--version"])
    assert result.exit_code == 0, result.output
    assert result.stdout.strip() == f"nps-loop {version('nps-loop')}"
