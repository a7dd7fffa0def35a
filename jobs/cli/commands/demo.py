"""``nps demo``: the whole loop on the simulators with a temporary SQLite store, then the report."""

from __future__ import annotations

from pathlib import Path

import typer

from jobs.cli.console import EXIT_FAILURE, stdout


def register(app: typer.Typer) -> None:
    app.command("demo")(demo_command)


def demo_command(
    customers: int = typer.Option(1000, "--customers", min=20, max=100_000, help="World size."),
    seed: int = typer.Option(7, "--seed", help="Same seed, same world."),
    weeks: int = typer.Option(52, "--weeks", min=1, max=78, help="Weeks of surveys to replay."),
    workdir: Path | None = typer.Option(
        None, "--workdir", help="Keep the store and report here (default: a temporary folder)."
    ),
) -> None:
    """Run the whole NPS loop on loopback simulators (no account needed) and show the report."""
    from jobs.cli.demo_year import (  # the sandbox loads only for the demo
        DemoOptions,
        print_result,
        run_demo,
    )

    options = DemoOptions(customers=customers, seed=seed, weeks=weeks, workdir=workdir)
    result = run_demo(options, lambda line: stdout.print(line, markup=False))
    print_result(result, stdout)
    if not all(outcome.status in ("succeeded", "partial") for outcome in result.outcomes):
        raise typer.Exit(EXIT_FAILURE)
