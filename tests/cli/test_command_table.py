"""``nps`` lists its commands from a table and imports a command's module only when it runs:
the table must name every command, with its module and its own help line."""

from __future__ import annotations

import importlib
import json
import pkgutil
import subprocess
import sys
from pathlib import Path

import pytest
from sqlite_template import migrated_sqlite
from typer.testing import CliRunner

import jobs.cli.commands
from jobs.cli.app import COMMANDS, app, commands_of

MODULES = sorted(m.name for m in pkgutil.iter_modules(jobs.cli.commands.__path__))


def registered() -> dict[str, tuple[str, str]]:
    """Every command a module under jobs/cli/commands registers: name -> (module, help line)."""
    found: dict[str, tuple[str, str]] = {}
    for module in MODULES:
        for name, command in commands_of(f"jobs.cli.commands.{module}").items():
            found[name] = (module, (command.help or "").split("\n\n")[0].strip())
    return found


def test_the_table_names_every_command_with_its_module_and_help_line() -> None:
    assert registered() == COMMANDS


def test_help_lists_every_command_without_importing_any() -> None:
    probe = (
        "import sys\n"
        "from jobs.cli.app import main\n"
        "sys.argv = ['nps', '--help']\n"
        "try:\n"
        "    main()\n"
        "except SystemExit:\n"
        "    pass\n"
        "heavy = [m for m in sys.modules if m.startswith(('jobs.cli.commands.', 'sqlalchemy',"
        " 'nps_engine.config', 'nps_engine.store', 'starlette'))]\n"
        "print('LOADED', heavy)\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, check=True, timeout=60
    )
    assert "LOADED []" in result.stdout, result.stdout
    for name in COMMANDS:
        assert f"\n  {name} " in result.stdout


@pytest.mark.parametrize("name", ["status", "report", "tags"])
def test_a_command_runs_from_its_own_module(name: str) -> None:
    result = CliRunner().invoke(app, [name, "--help"])
    assert result.exit_code == 0, result.output
    module = importlib.import_module(f"jobs.cli.commands.{COMMANDS[name][0]}")
    assert module.__name__ in sys.modules


def test_an_unknown_command_is_a_usage_error() -> None:
    result = CliRunner().invoke(app, ["reprot"])
    assert result.exit_code == 2
    assert "No such command 'reprot'" in result.output


def loaded_after(
    tmp_path: Path, command: list[str], prefixes: tuple[str, ...]
) -> tuple[str, list[str]]:
    """Run ``nps --config C <command>`` in a fresh interpreter on a migrated, empty SQLite store:
    what it printed, and the modules loaded by then whose names start with one of ``prefixes``."""
    config = tmp_path / "config.yaml"
    config.write_text(
        f"store: {{id: quick}}\ndatabase: {{url: 'sqlite:///{tmp_path}/nps.db'}}\n",
        encoding="utf-8",
    )
    migrated_sqlite(tmp_path / "nps.db").dispose()  # no process for that: the probe is the one
    probe = (
        "import json, sys\n"
        "from jobs.cli.app import main\n"
        f"sys.argv = ['nps', '--config', {str(config)!r}, *{command!r}]\n"
        "try:\n"
        "    main()\n"
        "except SystemExit:\n"
        "    pass\n"
        f"wanted = {prefixes!r}\n"
        "print('LOADED', json.dumps(sorted(m for m in sys.modules if m.startswith(wanted))))\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, check=True, timeout=60
    )
    printed, _, loaded = result.stdout.rpartition("LOADED ")
    return printed, json.loads(loaded)


def test_status_counts_without_loading_the_orm(tmp_path: Path) -> None:
    """``nps status`` is the quick look of the 3 a.m. engineer: it reads through SQLAlchemy Core,
    never builds the ORM's mappers nor loads the import or web machinery, nor the dataclasses of
    the records and port values, which it only names words of (bench/cli_start.py)."""
    heavy = ("sqlalchemy.orm", "nps_engine.store.models", "nps_engine.response_import",
             "starlette", "nps_engine.records", "nps_engine.port_values")  # fmt: skip
    printed, loaded = loaded_after(tmp_path, ["status", "--format", "json"], heavy)
    assert '"responses": 0' in printed, printed
    assert loaded == []


def test_report_reads_what_they_said_without_the_themes_machinery(tmp_path: Path) -> None:
    """``nps report`` reads the comments and their theme names while the database counts: it
    loads neither numpy (the themes' vectors, 0.45 s of CPU) nor multiprocessing (exports in
    parts), which would take a core from the report's queries on a 2-core machine."""
    heavy = ("numpy", "multiprocessing", "nps_engine.store.said_comments")
    printed, loaded = loaded_after(tmp_path, ["report", "--format", "json"], heavy)
    assert '"said"' in printed, printed
    assert loaded == ["nps_engine.store.said_comments"]  # read, and nothing heavy with it


def test_a_run_whose_store_has_no_comment_never_loads_the_themes_machinery(
    tmp_path: Path,
) -> None:
    """``nps run`` (cron, every few minutes) runs the themes job when it is due; a store without
    a comment ends it at once, and no run loads numpy (0.45 s of CPU) before it is needed, nor
    redis-py (0.15 s) without a ``queue:`` section."""
    printed, loaded = loaded_after(tmp_path, ["run"], ("numpy", "redis"))
    assert "themes skipped: no comments yet" in printed, printed
    assert loaded == []


@pytest.mark.parametrize("name", ["report", "run", "status"])
def test_a_command_help_loads_neither_the_store_nor_the_config(name: str) -> None:
    probe = (
        "import sys\n"
        "from jobs.cli.app import main\n"
        f"sys.argv = ['nps', {name!r}, '--help']\n"
        "try:\n"
        "    main()\n"
        "except SystemExit:\n"
        "    pass\n"
        "heavy = [m for m in sys.modules if m.startswith(('sqlalchemy', 'nps_engine.config',"
        " 'nps_engine.store', 'jobs.runtime.runner', 'starlette'))]\n"
        "print('LOADED', heavy)\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, check=True, timeout=60
    )
    assert "LOADED []" in result.stdout, result.stdout
    assert f"Usage: nps {name} [OPTIONS]" in result.stdout
