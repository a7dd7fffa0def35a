"""``nps setup zendesk``: create the NPS user fields on the Zendesk account (admins only)."""

from __future__ import annotations

import typer

from jobs.cli.console import EXIT_FAILURE, fail_usage, state_of, stderr, stdout


def register(app: typer.Typer) -> None:
    setup = typer.Typer(help="One-time setup of the connected systems.", no_args_is_help=True)
    setup.command("zendesk")(setup_zendesk)
    app.add_typer(setup, name="setup")


def setup_zendesk(ctx: typer.Context) -> None:
    """Create the nps_score, nps_category and nps_responded_at user fields (safe to re-run)."""
    from connectors.errors import ConnectorError  # zenpy loads only when this command runs
    from connectors.zendesk import ensure_user_fields
    from connectors.zendesk.user_fields import USER_FIELDS
    from jobs import bootstrap

    failed = False
    for settings in state_of(ctx).stores():
        if settings.zendesk is None:
            fail_usage(f"store {settings.store.id}: zendesk: section is required for this command")
        try:
            report = ensure_user_fields(bootstrap.zendesk_client(settings))
        except ConnectorError as error:
            stderr.print(f"store {settings.store.id}: {error}", markup=False)
            failed = True
            continue
        for key in USER_FIELDS:
            state = (
                "created"
                if key in report.created
                else "exists"
                if key in report.existing
                else "missing"
            )
            stdout.print(f"store {settings.store.id}: user field {key}: {state}", markup=False)
        if report.refused:
            stderr.print(f"store {settings.store.id}: {report.refused}", markup=False)
            failed = True
    if failed:
        raise typer.Exit(EXIT_FAILURE)
