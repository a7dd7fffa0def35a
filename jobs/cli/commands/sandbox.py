"""``nps sandbox``: run the Shopify, Zendesk and SMTP simulators on loopback until Ctrl-C."""

from __future__ import annotations

import threading
from datetime import timedelta
from typing import TYPE_CHECKING

import typer

from jobs.cli.console import fail_usage, stdout

if TYPE_CHECKING:
    from sandbox.runner import Sandbox


def register(app: typer.Typer) -> None:
    app.command("sandbox")(sandbox)


def sandbox(
    customers: int = typer.Option(200, "--customers", min=0, help="Customers in the world."),
    seed: int = typer.Option(1, "--seed", help="Same seed, same world."),
    shopify_port: int = typer.Option(0, "--shopify-port", min=0, help="0 picks a free port."),
    zendesk_port: int = typer.Option(0, "--zendesk-port", min=0, help="0 picks a free port."),
    smtp_port: int = typer.Option(0, "--smtp-port", min=0, help="0 picks a free port."),
    zendesk_webhook_url: str | None = typer.Option(
        None,
        "--zendesk-webhook-url",
        help="Send signed ticket.created webhooks here, e.g. http://127.0.0.1:8000/webhooks/zendesk.",
    ),
    error_rate: float = typer.Option(
        0.0, "--error-rate", min=0.0, max=1.0, help="Share of calls answered 5xx (HTML 502/504...)."
    ),
    reset_rate: float = typer.Option(
        0.0, "--reset-rate", min=0.0, max=1.0, help="Share of calls whose connection is reset."
    ),
    slow_rate: float = typer.Option(
        0.0, "--slow-rate", min=0.0, max=1.0, help="Share of calls answered slowly."
    ),
    slow_seconds: float = typer.Option(
        2.0, "--slow-seconds", min=0.0, help="Delay of a slow call."
    ),
    shopify_token_minutes: float = typer.Option(
        24 * 60,
        "--shopify-token-minutes",
        min=0.05,
        help="Life of a Shopify client credentials token (Shopify: 24 h).",
    ),
    seconds: float | None = typer.Option(None, "--seconds", hidden=True),
) -> None:
    """Run the simulators on 127.0.0.1, print their URLs and a config to use them."""
    from sandbox.runner import Sandbox, SandboxOptions  # the sandbox only loads when asked
    from sandbox.traffic import FaultPlan
    from sandbox.zendesk import ZendeskOptions

    faults = None
    if error_rate or reset_rate or slow_rate:
        faults = FaultPlan(
            error_rate=error_rate,
            reset_rate=reset_rate,
            slow_rate=slow_rate,
            slow_seconds=slow_seconds,
            seed=seed,
        )
    options = SandboxOptions(
        customers=customers,
        seed=seed,
        shopify_port=shopify_port,
        zendesk_port=zendesk_port,
        smtp_port=smtp_port,
        zendesk=ZendeskOptions(webhook_url=zendesk_webhook_url),
        faults=faults,
        shopify_token_lifetime=timedelta(minutes=shopify_token_minutes),
    )
    try:
        running = Sandbox(options).start()
    except OSError as error:
        fail_usage(f"cannot start the sandbox: {error} (is a port already in use?)")
    try:
        _describe(running)
        _wait(seconds)
    except KeyboardInterrupt:
        pass
    finally:
        running.stop()
        stdout.print("sandbox stopped")


def _describe(running: Sandbox) -> None:
    ends = running.endpoints()
    world = running.world
    stdout.print(
        f"sandbox world: {len(world.customers)} customers, {len(world.orders)} orders, "
        f"{len(world.zendesk_users)} Zendesk users, {len(world.tickets)} tickets "
        f"(seed {world.seed})"
    )
    stdout.print(f"  Shopify  {ends.shopify_url or 'not running'}")
    stdout.print(f"  Zendesk  {ends.zendesk_url}")
    stdout.print(f"  SMTP     {ends.smtp_host}:{ends.smtp_port}")
    if running.options.faults is not None:
        plan = running.options.faults
        stdout.print(
            f"  faults: {plan.error_rate:.0%} 5xx, {plan.reset_rate:.0%} resets, "
            f"{plan.slow_rate:.0%} slow ({plan.slow_seconds:g} s)"
        )
    for problem in running.problems:
        stdout.print(f"  note: {problem}")
    stdout.print("\n# config.yaml for these simulators (Ctrl-C stops them):")
    stdout.print(running.config_yaml(), markup=False)


def _wait(seconds: float | None) -> None:
    stop = threading.Event()
    if seconds is not None:
        stop.wait(seconds)
        return
    while not stop.wait(1.0):  # wake up regularly so Ctrl-C is handled promptly
        pass
