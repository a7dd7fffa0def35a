"""``nps demo``: the whole loop on the simulators with a temporary SQLite store, then the report."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING

import typer
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn

from jobs.cli.console import EXIT_FAILURE, stdout

if TYPE_CHECKING:
    from jobs.cli.demo_year import WeekDone, WeekProgress

# Without a terminal (a log, CI), one line every this many weeks, and the last one.
LINE_EVERY_WEEKS = 4


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
    with _week_progress() as progress:
        result = run_demo(options, lambda line: stdout.print(line, markup=False), progress)
    print_result(result, stdout)
    if not all(outcome.status in ("succeeded", "partial") for outcome in result.outcomes):
        raise typer.Exit(EXIT_FAILURE)


@contextmanager
def _week_progress() -> Iterator[WeekProgress]:
    """A bar with the emails and answers so far on a terminal; a line every few weeks else."""
    if not stdout.is_terminal:

        def line(done: WeekDone) -> None:
            if done.week % LINE_EVERY_WEEKS == 0 or done.week == done.weeks:
                stdout.print(
                    f"week {done.week}/{done.weeks}: {done.emails} survey emails sent, "
                    f"{done.answers} answered",
                    markup=False,
                )

        yield line
        return
    columns = (TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn())
    with Progress(*columns, console=stdout, transient=True) as bars:
        task = bars.add_task("weeks replayed", total=None)

        def bar(done: WeekDone) -> None:
            description = f"weeks replayed ({done.emails} emails sent, {done.answers} answered)"
            bars.update(task, completed=done.week, total=done.weeks, description=description)

        yield bar
