"""How long does ``nps`` take to start, against the imports it cannot avoid?

Each command runs as a fresh process, ``--runs`` times, interleaved with its references so the
machine's load hits them alike; the figure is the CPU time (user + system) of the child, median
of the runs, and its wall time. References in the same run:

- ``python -c pass``: the interpreter alone;
- ``python -c "import typer, rich"``: the CLI framework every command needs;
- "database work": importing SQLAlchemy (Core), opening the same store and one ``SELECT``, which
  any command reading the store needs, whatever else it does (no ORM, no Alembic: SQLAlchemy
  2.1's Core import is most of it), with the garbage collector handled as ``nps`` handles it
  (off while importing, what was imported frozen: jobs/cli/start_up.py), so that what ``nps``
  saves on SQLAlchemy's import is not counted as saved elsewhere;
- "import sqlalchemy": the import alone, handled alike: "database work" less this is the work on
  the database itself (engine, connection, query);
- "status's queries": what ``nps status`` itself does with the store, in its own code: the engine
  of ``nps_engine.store.database`` (with its SQLite pragmas), ``open_database``'s schema check and
  every query of ``read_status``, after importing those two modules (handled alike);
  "status's query modules" is the import alone. The difference is the work on the database
  only, as ``nps status`` does it (one schema check and a dozen queries, not one ``SELECT``):
  what the stricter reading below leaves out;
- "typer command": a one-command Typer app with two options, run: Typer 0.29 converts option
  values through pydantic TypeAdapters, so any command that runs imports pydantic (and through
  its plugin loader importlib.metadata), whatever the command does;
- "click command": the same command in plain Click (installed with Celery): what Typer's
  coercion costs is the difference. ``nps status`` loads pydantic for its config anyway.
- "status's libraries": the same Typer command after importing, with the collector handled as
  ``nps`` handles it, the libraries ``nps status`` cannot start without (rich's console and table,
  pydantic's models, PyYAML, SQLAlchemy), doing nothing with them: the floor of the stricter
  reading below while the command runs on these libraries.

Bytecode: the children write and read their ``.pyc`` files under a temporary
``PYTHONPYCACHEPREFIX`` (each case runs once before the timed runs), as an installed package has
them; with ``PYTHONDONTWRITEBYTECODE`` set and no ``__pycache__``, each run would compile the
project's modules from source, which no user pays.

Commands: ``nps --help``, ``nps status --help``, ``nps report --help`` and ``nps run --help`` (the
global options, then one command module), ``nps status`` and ``nps report --format json``
against a migrated, empty SQLite store (the report's start-up, not its counting). Then
``nps status`` without the database work (its CPU minus the reference's, plus the bare
interpreter's), and without the work on the database only (its engine, schema check and queries:
"status's queries" less "status's query modules"; SQLAlchemy's import counted as start-up, the
stricter reading), and that less its libraries' floor: what nps-loop's own code adds. Target:
``nps --help`` and ``nps status`` (without the database work) under 0.3 s CPU.

    python bench/cli_start.py --runs 15
    python bench/cli_start.py --runs 7 --baseline ../main   # also each nps case on another checkout
"""

from __future__ import annotations

import argparse
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

PYTHON = sys.executable

TYPER_COMMAND = """
import enum

import typer


class Format(enum.StrEnum):
    TABLE = "table"
    JSON = "json"


def status(
    output_format: Format = typer.Option(Format.TABLE, "--format"),
    store: list[str] | None = typer.Option(None, "--store"),
) -> None:
    typer.echo(output_format.value)


typer.run(status)
"""

# The imports first, with the collector off and then frozen as jobs/cli/start_up.py does.
LIBRARIES_COMMAND = (
    """
import gc

gc.disable()
import rich.console
import rich.table
import sqlalchemy
import typer
import yaml
from pydantic import BaseModel

gc.freeze()
gc.enable()
"""
    + TYPER_COMMAND
)

CLICK_COMMAND = """
import click


@click.command()
@click.option("--format", "output_format", type=click.Choice(["table", "json"]), default="table")
@click.option("--store", multiple=True)
def status(output_format: str, store: tuple[str, ...]) -> None:
    click.echo(output_format)


status()
"""


def cpu_and_wall(argv: list[str], env: dict[str, str], cwd: str) -> tuple[float, float]:
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    started = time.perf_counter()
    # Run from the temporary folder: ``python -c`` puts its working directory first on sys.path,
    # which would shadow the --baseline checkout.
    subprocess.run(
        argv, env=env, cwd=cwd, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    wall = time.perf_counter() - started
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return cpu, wall


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=15)
    parser.add_argument(
        "--baseline",
        type=Path,
        help="another checkout (e.g. main): its nps cases run in the same loop, for a before/after",
    )
    args = parser.parse_args()
    nps = [PYTHON, "-c", "from jobs.cli.app import main; main()"]
    with tempfile.TemporaryDirectory() as folder:
        config = Path(folder) / "config.yaml"
        config.write_text(
            "store: {id: bench, timezone: Europe/Paris, language: fr}\n"
            f"database: {{url: 'sqlite:///{Path(folder) / 'nps.db'}'}}\n",
            encoding="utf-8",
        )
        env = {**os.environ, "NPS_CONFIG": str(config)}
        env.pop("PYTHONDONTWRITEBYTECODE", None)
        env["PYTHONPYCACHEPREFIX"] = str(Path(folder) / "pycache")
        typer_command = Path(folder) / "typer_command.py"
        typer_command.write_text(TYPER_COMMAND, encoding="utf-8")
        click_command = Path(folder) / "click_command.py"
        click_command.write_text(CLICK_COMMAND, encoding="utf-8")
        libraries_command = Path(folder) / "libraries_command.py"
        libraries_command.write_text(LIBRARIES_COMMAND, encoding="utf-8")
        subprocess.run([*nps, "db", "upgrade"], env=env, check=True, capture_output=True)
        import_sqlalchemy = "import gc\ngc.disable()\nimport sqlalchemy\ngc.freeze()\ngc.enable()\n"
        database_work = import_sqlalchemy + (
            f"engine = sqlalchemy.create_engine('sqlite:///{Path(folder) / 'nps.db'}')\n"
            "with engine.connect() as connection:\n"
            "    connection.exec_driver_sql('SELECT count(*) FROM responses').scalar()\n"
        )
        query_modules = (
            "import gc\ngc.disable()\n"
            "from nps_engine.store.database import Database\n"
            "from nps_engine.store.status import read_status\n"
            "gc.freeze()\ngc.enable()\n"
        )
        # As `nps status` on this config: no Shopify nor Zendesk section, so no tag systems.
        status_queries = query_modules + (
            f"database = Database('sqlite:///{Path(folder) / 'nps.db'}')\n"
            "assert database.is_current()\n"
            "with database.engine.connect() as connection:\n"
            "    read_status(connection, 'bench', tag_systems=())\n"
            "database.dispose()\n"
        )
        cases = {
            "python -c pass": [PYTHON, "-c", "pass"],
            "import typer, rich": [PYTHON, "-c", "import typer, rich"],
            "import sqlalchemy": [PYTHON, "-c", import_sqlalchemy],
            "database work": [PYTHON, "-c", database_work],
            "status's query modules": [PYTHON, "-c", query_modules],
            "status's queries": [PYTHON, "-c", status_queries],
            "typer command": [PYTHON, str(typer_command), "--format", "json"],
            "click command": [PYTHON, str(click_command), "--format", "json"],
            "status's libraries": [PYTHON, str(libraries_command), "--format", "json"],
            "nps --help": [*nps, "--help"],
            "nps status --help": [*nps, "status", "--help"],
            "nps report --help": [*nps, "report", "--help"],
            "nps run --help": [*nps, "run", "--help"],
            "nps status": [*nps, "status"],
            "nps report (empty)": [*nps, "report", "--format", "json"],
        }
        envs = dict.fromkeys(cases, env)
        if args.baseline is not None:
            before = {**env, "PYTHONPATH": str(args.baseline.resolve())}
            for name in [name for name in cases if name.startswith("nps")]:
                cases[f"{name} (baseline)"] = cases[name]
                envs[f"{name} (baseline)"] = before
        for name, argv in cases.items():  # writes the .pyc files the timed runs read
            cpu_and_wall(argv, envs[name], folder)
        samples: dict[str, list[tuple[float, float]]] = {name: [] for name in cases}
        for _ in range(args.runs):
            for name, argv in cases.items():
                samples[name].append(cpu_and_wall(argv, envs[name], folder))
    framework = statistics.median(cpu for cpu, _ in samples["import typer, rich"])
    print(f"{'command':<30} {'CPU s':>7} {'wall s':>7} {'vs typer+rich':>14}")
    medians: dict[str, float] = {}
    for name, runs in samples.items():
        cpu = medians[name] = statistics.median(c for c, _ in runs)
        wall = statistics.median(w for _, w in runs)
        print(f"{name:<30} {cpu:>7.3f} {wall:>7.3f} {cpu / framework:>13.1f}x")
    without = medians["nps status"] - medians["database work"] + medians["python -c pass"]
    print(
        f"{'nps status - database work':<30} {without:>7.3f} {'':>7} {without / framework:>13.1f}x"
    )
    queries = medians["status's queries"] - medians["status's query modules"]
    strict = medians["nps status"] - queries
    print(f"{'  status engine and queries':<30} {queries:>7.3f}")
    print(
        f"{'nps status - engine and query':<30} {strict:>7.3f} {'':>7} {strict / framework:>13.1f}x"
    )
    libraries = medians["status's libraries"]
    print(f"{'  less its libraries':<30} {strict - libraries:>7.3f}")
    floor = medians["typer command"]
    print(f"{'  against typer command':<30} {without / floor:>7.2f}x")
    print(f"load average: {Path('/proc/loadavg').read_text(encoding='ascii').strip()}")


if __name__ == "__main__":
    main()
