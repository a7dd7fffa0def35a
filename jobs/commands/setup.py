"""``nps setup zendesk``: create the NPS user fields on the Zendesk account (admins only)."""

from __future__ import annotations

import typer

from connectors.errors import ConnectorError
from connectors.zendesk import ZendeskClient, ensure_user_fields
from connectors.zendesk.setup import USER_FIELDS
from jobs.console import EXIT_FAILURE, fail_usage, state_of, stderr, stdout
from nps_engine.config.settings import ZendeskSettings


def register(app: typer.Typer) -> None:
    setup = typer.Typer(help="One-time setup of the connected systems.", no_args_is_help=True)
    setup.command("zendesk")(setup_zendesk)
    app.add_typer(setup, name="setup")


def setup_zendesk(ctx: typer.Context) -> None:
    """Create the nps_score, nps_category and nps_responded_at user fields (safe to re-run)."""
    failed = False
    for settings in state_of(ctx).stores():
        if settings.zendesk is None:
            fail_usage(f"store {settings.store.id}: zendesk: section is required for this command")
        try:
            report = ensure_user_fields(zendesk_client(settings.zendesk))
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


def zendesk_client(zendesk: ZendeskSettings) -> ZendeskClient:
    """Settings to plain arguments (``jobs/bootstrap.py`` does the same for scheduled jobs)."""
    return ZendeskClient(
        subdomain=zendesk.subdomain,
        email=zendesk.email,
        api_token=zendesk.api_token.get_secret_value() if zendesk.api_token else None,
        oauth_token=zendesk.oauth_token.get_secret_value() if zendesk.oauth_token else None,
        base_url=str(zendesk.base_url) if zendesk.base_url else None,
        timeout=zendesk.timeout_seconds,
        ratelimit_budget_seconds=zendesk.ratelimit_budget_seconds,
    )
