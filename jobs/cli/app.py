"""The ``nps`` command. Each group of commands lives in ``jobs/cli/commands/`` and registers there.

Exit codes (docs/architecture.md, section 5): 0 success; 2 configuration or usage error, with the
YAML key path in the message; 1 any other failure, after finishing what could be finished.

Commands load lazily: ``nps --help`` imports none of them, and ``nps status`` only the module
that holds ``status``. The table :data:`COMMANDS` names each command's module and the line
``nps --help`` prints for it (a test keeps both true). Importing every command module would
load SQLAlchemy's ORM, pydantic's models and the web stack: most of a second of CPU before
anything happens. While a command starts, the garbage collector is off (jobs/cli/start_up.py).
"""

from __future__ import annotations

import importlib
import sys
from collections.abc import Callable
from functools import cache, wraps
from pathlib import Path

import typer

# Typer 0.29 ships its own copy of click and its groups derive from it: subclass against that
# copy (``import click`` would be another package's classes).
from typer import _click as click
from typer._click.utils import make_default_short_help
from typer.core import TyperGroup

from jobs.cli import start_up
from jobs.cli.console import CliState
from jobs.runtime import logs

# name -> (module in jobs/cli/commands, the help line of `nps --help`), in the order shown.
COMMANDS: dict[str, tuple[str, str]] = {
    "check": ("admin", "Validate the configuration and print a short summary of it."),
    "status": (
        "status",
        "Counts of customers, orders, tickets, invites, answers and pending tag pushes.",
    ),
    "sync": (
        "loop",
        "Pull orders and customers from Shopify and tickets from Zendesk (incremental).",
    ),
    "run": (
        "loop",
        "Sync, send the surveys that are due, push tags, themes when due: the loop once (cron).",
    ),
    "report": (
        "reporting",
        "Segmented NPS with 95% intervals: overall, each segment against the rest, month by month.",
    ),
    "themes": (
        "themes",
        "Comment themes: what customers talk about, with the share and NPS of each theme.",
    ),
    "sandbox": (
        "sandbox",
        "Run the simulators on 127.0.0.1, print their URLs and a config to use them.",
    ),
    "serve": (
        "serve",
        "Serve the survey pages and webhooks, and run the scheduled jobs (see `schedule:`).",
    ),
    "demo": (
        "demo",
        "Run the whole NPS loop on loopback simulators (no account needed) and show the report.",
    ),
    "db": ("admin", "Create or migrate the database."),
    "import": ("data", "Bring data from other tools in."),
    "tags": ("loop", "Write NPS tags back to Shopify and Zendesk."),
    "setup": ("setup", "One-time setup of the connected systems."),
    "surveys": ("surveys", "Survey emails."),
    "users": ("workspace", "Who may sign in to the dashboard (/admin)."),
    "responses": ("workspace", "Read the answers customers gave."),
    "alerts": ("loop", "Alerts about fresh answers (alerts: in the config)."),
    "worker": (
        "distributed",
        "Run a Celery worker: it takes each store's jobs from the queue and runs them.",
    ),
    "scheduler": (
        "distributed",
        "Enqueue each store's jobs at the intervals of `schedule:`, for `nps worker` to run.",
    ),
    "stores": (
        "distributed",
        "The stores of the config, the last run of each of their jobs, and paused stores.",
    ),
}


class LazyCommands(TyperGroup):
    """The root group: lists :data:`COMMANDS` from the table, imports one when it is used."""

    def list_commands(self, ctx: click.Context) -> list[str]:
        return list(COMMANDS)

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        if cmd_name not in COMMANDS:
            return None
        return command_of(cmd_name)

    def format_commands(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        width = max(len(name) for name in COMMANDS)
        limit = formatter.width - 6 - width
        rows = [
            (name, make_default_short_help(help_line, limit))
            for name, (_module, help_line) in COMMANDS.items()
        ]
        with formatter.section("Commands"):
            formatter.write_dl(rows)


@cache
def command_of(name: str) -> click.Command:
    """The click command ``name``, built from the module that registers it."""
    module = importlib.import_module(f"jobs.cli.commands.{COMMANDS[name][0]}")
    return commands_of(module.__name__)[name]


@cache
def commands_of(module_name: str) -> dict[str, click.Command]:
    """Every command one module registers, as click commands.

    Each command's code (a group's callback too: ``nps themes`` works in one) ends the start-up
    (:mod:`jobs.cli.start_up`) before it runs, after importing the module's ``RUN_IMPORTS``:
    what the command imports as soon as it runs, frozen with the rest of start-up."""
    holder = typer.Typer(rich_markup_mode=None, pretty_exceptions_enable=False)
    module = importlib.import_module(module_name)
    module.register(holder)
    commands = dict(typer.main.get_group(holder).commands)
    run_imports: tuple[str, ...] = getattr(module, "RUN_IMPORTS", ())
    for command in commands.values():
        _end_start_up_first(command, run_imports)
    return commands


def _end_start_up_first(command: click.Command, run_imports: tuple[str, ...]) -> None:
    if command.callback is not None:
        command.callback = _after_start_up(command.callback, run_imports)
    if isinstance(command, TyperGroup):
        for sub in command.commands.values():
            _end_start_up_first(sub, run_imports)


def _after_start_up(
    callback: Callable[..., object], run_imports: tuple[str, ...]
) -> Callable[..., object]:
    @wraps(callback)
    def run(*args: object, **kwargs: object) -> object:
        start_up.done(run_imports)
        return callback(*args, **kwargs)

    return run


app = typer.Typer(
    name="nps",
    cls=LazyCommands,
    help="Close the NPS loop for a Shopify + Zendesk store.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
    # Plain help: the rich layout shows flags as "-v <int>" and "--quiet <bool>", which misleads.
    rich_markup_mode=None,
)


@app.callback()
def _global_options(
    ctx: typer.Context,
    config: Path = typer.Option(
        Path("config.yaml"),
        "--config",
        "-c",
        envvar="NPS_CONFIG",
        help="Path of the YAML configuration (or NPS_CONFIG).",
    ),
    verbose: int = typer.Option(0, "--verbose", "-v", count=True, help="More detail."),
    quiet: bool = typer.Option(False, "--quiet", "-q", help="Only errors."),
    json_logs: bool = typer.Option(False, "--json-logs", help="One JSON object per log line."),
    _version: bool = typer.Option(
        False,
        "--version",
        is_eager=True,
        callback=lambda value: _print_version() if value else None,
        help="Print the installed version and exit.",
    ),
) -> None:
    verbosity = -1 if quiet else verbose
    logs.configure(verbosity, json_logs=json_logs)
    ctx.obj = CliState(config_path=config, verbosity=verbosity, json_logs=json_logs)


def _print_version() -> None:
    # importlib.metadata costs more start-up than typer's own import: only --version needs it.
    from importlib.metadata import PackageNotFoundError
    from importlib.metadata import version as distribution_version

    try:
        installed = distribution_version("nps-loop")
    except PackageNotFoundError:  # running from a checkout that was never installed
        installed = "unknown (not installed)"
    typer.echo(f"nps-loop {installed}")
    raise typer.Exit(0)


def main() -> None:
    start_up.begin()
    try:
        app()
    except KeyboardInterrupt:
        sys.exit(130)
    finally:
        start_up.at_exit()
