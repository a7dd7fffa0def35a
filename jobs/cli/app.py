"""The ``nps`` command. Each group of commands lives in ``jobs/cli/commands/`` and registers here.

Exit codes (DESIGN.md section 5): 0 success; 2 configuration or usage error, with the YAML key path
in the message; 1 any other failure, after finishing what could be finished.
"""

from __future__ import annotations

import sys
from pathlib import Path

import typer

from jobs.cli.commands import (
    admin,
    data,
    demo,
    distributed,
    loop,
    reporting,
    sandbox,
    serve,
    setup,
    surveys,
)
from jobs.cli.console import CliState
from jobs.runtime import logs

app = typer.Typer(
    name="nps",
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
) -> None:
    verbosity = -1 if quiet else verbose
    logs.configure(verbosity, json_logs=json_logs)
    ctx.obj = CliState(config_path=config, verbosity=verbosity, json_logs=json_logs)


for module in (admin, data, loop, reporting, setup, sandbox, surveys, serve, demo, distributed):
    module.register(app)


def main() -> None:
    try:
        app()
    except KeyboardInterrupt:
        sys.exit(130)
