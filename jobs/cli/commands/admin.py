"""``nps check`` and ``nps db upgrade``: is the configuration usable, and is the database ready."""

from __future__ import annotations

import typer
from rich.table import Table

from jobs.cli.console import database_url_for_humans, open_database, state_of, stdout
from nps_engine.config import Settings


def register(app: typer.Typer) -> None:
    app.command("check")(check)
    db = typer.Typer(help="Create or migrate the database.", no_args_is_help=True)
    db.command("upgrade")(db_upgrade)
    app.add_typer(db, name="db")


def check(
    ctx: typer.Context,
    online: bool = typer.Option(False, "--online", help="Also reach Shopify, Zendesk and SMTP."),
) -> None:
    """Validate the configuration and print a short summary of it."""
    stores = state_of(ctx).stores()
    for settings in stores:
        stdout.print(_summary(settings))
    if online:
        from jobs.cli.online_check import check_online  # imports the connectors only when asked

        if not all(check_online(settings) for settings in stores):
            raise typer.Exit(1)
    stdout.print(f"configuration OK ({len(stores)} store{'s' if len(stores) > 1 else ''})")


def db_upgrade(ctx: typer.Context) -> None:
    """Create the tables, or migrate them to this version (safe to run again)."""
    for settings in state_of(ctx).stores():
        database = open_database(settings, migrated=False)
        try:
            database.upgrade()
        finally:
            database.dispose()
        stdout.print(f"database ready: {database_url_for_humans(settings.database.url)}")


def _summary(settings: Settings) -> Table:
    table = Table(title=f"store {settings.store.id}", show_header=False, box=None)
    table.add_row("name", settings.store.name)
    table.add_row("time zone", settings.store.timezone)
    table.add_row("database", database_url_for_humans(settings.database.url))
    table.add_row("shopify", _shopify_line(settings))
    table.add_row("zendesk", settings.zendesk.subdomain if settings.zendesk else "not configured")
    table.add_row(
        "email",
        f"{settings.email.smtp_host}:{settings.email.smtp_port}"
        if settings.email
        else "not configured",
    )
    table.add_row(
        "survey pages", str(settings.web.public_url) if settings.web else "not configured"
    )
    survey = settings.survey
    table.add_row(
        "survey",
        f"{survey.delay_days} days after delivery "
        f"(fallback {survey.fallback_days} after fulfilment), "
        f"at most one per {survey.throttle_days} days per customer",
    )
    segments = [
        name
        for name in ("support_contacted", "returned", "churn_risk")
        if getattr(settings.segments, name).enabled
    ]
    segments += [segment.name for segment in settings.segments.custom]
    table.add_row("segments", ", ".join(segments) or "none")
    return table


def _shopify_line(settings: Settings) -> str:
    shopify = settings.shopify
    if shopify is None:
        return "not configured"
    access = "Dev Dashboard app" if shopify.client_id else "legacy admin app token"
    rewards = ", promoter rewards on" if settings.rewards.promoter_discount.enabled else ""
    return f"{shopify.shop_domain} ({access}{rewards})"
