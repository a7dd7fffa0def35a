"""``nps`` starts with the garbage collector off and turns it back on when a command's code runs
(jobs/cli/start_up.py): the command's own objects are collected as usual, what start-up
imported is frozen, and tests that invoke the app in their own process keep their collector."""

from __future__ import annotations

import gc
import importlib
import importlib.util
import json
import pkgutil
import subprocess
import sys
from pathlib import Path

from sqlite_template import migrated_sqlite
from typer.testing import CliRunner

import jobs.cli.commands
from jobs.cli.app import app


def _probe(argv: list[str], before: str = "") -> dict[str, object]:
    """Run ``nps ARGV`` through ``main`` in a fresh interpreter, then report the collector."""
    probe = (
        "import gc, json, sys\n"
        f"{before}"
        "from jobs.cli.app import main\n"
        f"sys.argv = ['nps', *{argv!r}]\n"
        "try:\n"
        "    main()\n"
        "except SystemExit:\n"
        "    pass\n"
        "import sqlalchemy\n"
        "tracked = gc.get_objects()\n"
        "print('STATE', json.dumps({'enabled': gc.isenabled(), 'frozen': gc.get_freeze_count(),"
        " 'select tracked': any(o is sqlalchemy.select for o in tracked),"
        " 'during': globals().get('during')}))\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, check=True, timeout=60
    )
    line = next(line for line in result.stdout.splitlines() if line.startswith("STATE "))
    state: dict[str, object] = json.loads(line.removeprefix("STATE "))
    return state


def test_a_command_runs_with_the_collector_on_and_start_up_frozen(tmp_path: Path) -> None:
    config = tmp_path / "config.yaml"
    config.write_text(
        f"store: {{id: quick}}\ndatabase: {{url: 'sqlite:///{tmp_path}/nps.db'}}\n",
        encoding="utf-8",
    )
    migrated_sqlite(tmp_path / "nps.db").dispose()
    # Record the collector's state while the command reads the store.
    spy = (
        "import nps_engine.store.status as counts\n"
        "real = counts.read_status\n"
        "def read_status(*args, **kwargs):\n"
        "    global during\n"
        "    during = gc.isenabled()\n"
        "    return real(*args, **kwargs)\n"
        "counts.read_status = read_status\n"
    )
    argv = ["--config", str(config), "status", "--format", "json"]
    state = _probe(argv)
    assert state["enabled"] is True
    # SQLAlchemy is one of status's RUN_IMPORTS: imported before the freeze, never walked again.
    assert state["select tracked"] is False
    assert isinstance(state["frozen"], int)
    assert state["frozen"] > 10_000
    assert _probe(argv, before=spy)["during"] is True


def test_help_ends_with_what_start_up_made_frozen() -> None:
    state = _probe(["--help"], before="import sqlalchemy\n")
    assert state["enabled"] is False
    assert state["select tracked"] is False
    assert isinstance(state["frozen"], int)
    assert state["frozen"] > 10_000


def test_the_app_invoked_in_process_leaves_the_collector_alone() -> None:
    frozen = gc.get_freeze_count()
    result = CliRunner().invoke(app, ["check", "--help"])
    assert result.exit_code == 0, result.output
    assert gc.isenabled()
    assert gc.get_freeze_count() == frozen


def test_every_run_import_names_a_module() -> None:
    named = 0
    for module in pkgutil.iter_modules(jobs.cli.commands.__path__):
        commands = importlib.import_module(f"jobs.cli.commands.{module.name}")
        for name in getattr(commands, "RUN_IMPORTS", ()):
            assert importlib.util.find_spec(name) is not None, (module.name, name)
            named += 1
    assert named > 0
