"""``nps check --online``: reach Shopify, Zendesk and the SMTP server with the configured
credentials, and say plainly what works and what to fix."""

from __future__ import annotations

from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor

from connectors.errors import ConnectorError
from connectors.shopify.access import check_access
from connectors.shopify.scopes import needed_scopes
from connectors.zendesk.user_fields import USER_FIELDS
from jobs import bootstrap
from jobs.cli.console import stdout
from nps_engine.config import Settings


def check_online(settings: Settings) -> bool:
    """Print one line per configured system; True when every one answered as it should.

    The systems are checked at once, each in its own thread, and printed in the usual order: an
    owner waits at the terminal, and one vendor that does not answer should not make them wait
    for the others too. Each client tries twice, not five times: a check reports what it sees
    now, and a refused connection is not worth 8 s of backing off per system."""
    checks: list[tuple[str, Callable[[], str]]] = []
    if settings.shopify is not None:
        checks.append(("shopify", lambda: _shopify(settings)))
    if settings.zendesk is not None:
        checks.append(("zendesk", lambda: _zendesk(settings)))
    if settings.email is not None:
        checks.append(("smtp", lambda: _smtp(settings)))
    ok = True
    with ThreadPoolExecutor(max_workers=max(1, len(checks))) as pool:
        answers = [(system, pool.submit(check)) for system, check in checks]
    for system, answer in answers:
        try:
            detail = answer.result()
        except (ConnectorError, OSError) as error:
            ok = False
            stdout.print(f"{settings.store.id}: {system}: FAILED: {error}", markup=False)
        else:
            stdout.print(f"{settings.store.id}: {system}: ok, {detail}", markup=False)
    return ok


class MissingScopes(ConnectorError):
    """The app reaches the shop but was not granted every scope nps-loop uses."""


def _shopify(settings: Settings) -> str:
    needed = needed_scopes(rewards=settings.rewards.promoter_discount.enabled)
    report = check_access(bootstrap.shopify_client(settings, quick=True), needed)
    if report.missing:
        raise MissingScopes(
            report.describe() + " (add them to the app's scopes in the Dev Dashboard, release a "
            "new version and approve it on the store; for a legacy admin app, in the store "
            "admin under Settings > Apps > Develop apps)",
            system="shopify",
        )
    return report.describe()


def _zendesk(settings: Settings) -> str:
    client = bootstrap.zendesk_client(settings, quick=True)
    keys = set(client.call("list user fields", lambda z: [f.key for f in z.user_fields()]))
    missing = [key for key in USER_FIELDS if key not in keys]
    if missing:
        return f"user fields missing: {', '.join(missing)} (run `nps setup zendesk`)"
    return "NPS user fields present"


def _smtp(settings: Settings) -> str:
    assert settings.email is not None
    with bootstrap.mailer(settings) as mailer:
        mailer.verify()
    return f"{settings.email.smtp_host}:{settings.email.smtp_port} accepted the connection"
