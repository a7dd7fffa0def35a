"""The one place where settings become adapters (cosmicpython's bootstrap).

Connectors take plain values and know nothing of the YAML file; this module maps each store's
settings onto them. Tests and the demo build their own adapters (fakes, or real ones pointed at
the sandbox) and call the same job functions.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Sequence
from datetime import datetime
from functools import lru_cache
from typing import TYPE_CHECKING, Any

from pydantic import SecretStr

from connectors import budgets
from connectors.alerts import EmailChannel, WebhookChannel
from connectors.email import SmtpMailer
from connectors.http import make_session
from connectors.retry import MAX_ATTEMPTS
from connectors.shopify.access import ShopifyAccessProbe
from connectors.shopify.bulk_tags import ShopifyBulkTagWriter
from connectors.shopify.client import ShopifyClient, token_source
from connectors.shopify.discounts import ShopifyDiscountDesk
from connectors.shopify.paging import PageSizer
from connectors.shopify.source import ShopifyOrderSource
from connectors.shopify.webhooks import ShopifyWebhookReader
from connectors.zendesk import (
    ZendeskClient,
    ZendeskFollowupDesk,
    ZendeskTagWriter,
    ZendeskTicketSource,
    ZendeskTicketTagger,
)
from nps_engine.config import Settings
from nps_engine.config.settings import ShopifySettings, ZendeskSettings
from nps_engine.ports import AlertChannel, CommentEmbedder, TicketTagger
from nps_engine.records import SurveyKind
from nps_engine.report import Period, Report
from nps_engine.store.database import Database
from nps_engine.store.query_costs import StoredQueryCosts
from nps_engine.store.support import SupportDirectory
from nps_engine.web.context import WebAdapters, utc_now

if TYPE_CHECKING:
    import redis
    from starlette.applications import Starlette


def _shopify(settings: Settings) -> ShopifySettings:
    if settings.shopify is None:
        raise ValueError("shopify: section is not configured")
    return settings.shopify


def _zendesk(settings: Settings) -> ZendeskSettings:
    if settings.zendesk is None:
        raise ValueError("zendesk: section is not configured")
    return settings.zendesk


@lru_cache(maxsize=8)
def _budget_redis(url: str) -> redis.Redis:
    """One connection pool per process and URL (redis-py re-opens it in a forked worker)."""
    return budgets.connect(url)


def shopify_client(settings: Settings, *, quick: bool = False) -> ShopifyClient:
    """A client with its own token source: a Dev Dashboard app's tokens are asked for on first
    use and renewed before they expire. ``quick``: for a page a customer is waiting on (short
    timeout, two attempts)."""
    shopify = _shopify(settings)
    base_url = str(shopify.api_base_url).rstrip("/") if shopify.api_base_url else None
    timeout = min(shopify.timeout_seconds, 5.0) if quick else shopify.timeout_seconds
    session = make_session(timeout)
    access = token_source(
        shopify.shop_domain,
        access_token=_secret(shopify.access_token),
        client_id=shopify.client_id,
        client_secret=_secret(shopify.client_secret),
        api_base_url=base_url,
        session=session,
    )
    client = ShopifyClient(
        shopify.shop_domain,
        access,
        api_version=shopify.api_version,
        api_base_url=base_url,
        session=session,
        retry_options={"max_attempts": 2} if quick else None,
    )
    if settings.queue is not None and not quick:
        # Distributed mode: every worker of this shop pays into one bucket (connectors.budgets);
        # a page a customer waits on keeps its own, rather than queue behind a backfill.
        redis_client = _budget_redis(settings.queue.budget_url)
        client.bucket = budgets.SharedCostBucket(redis_client, client.endpoint)
    return client


def zendesk_budget(settings: Settings) -> budgets.SharedRequestBudget | None:
    """The account's request budget shared by every worker (distributed mode), or None."""
    if settings.queue is None:
        return None
    zendesk = _zendesk(settings)
    address = str(zendesk.base_url) if zendesk.base_url else f"{zendesk.subdomain}.zendesk.com"
    return budgets.SharedRequestBudget(_budget_redis(settings.queue.budget_url), address)


def _secret(value: SecretStr | None) -> str | None:
    return value.get_secret_value() if value is not None else None


def order_source(settings: Settings, database: Database | None = None) -> ShopifyOrderSource:
    """The sync's source; with ``database``, page sizes learned from Shopify's real costs are
    kept between runs."""
    memory = StoredQueryCosts(database, settings.store.id) if database is not None else None
    return ShopifyOrderSource(shopify_client(settings), sizer=PageSizer(memory))


def shopify_tag_writer(settings: Settings) -> ShopifyBulkTagWriter:
    return ShopifyBulkTagWriter(
        shopify_client(settings), threshold=_shopify(settings).bulk_tags_threshold
    )


def discount_desk(settings: Settings) -> ShopifyDiscountDesk:
    return ShopifyDiscountDesk(shopify_client(settings))


def _zendesk_account(settings: Settings) -> dict[str, Any]:
    """Where and as whom every Zendesk client of this store connects."""
    zendesk = _zendesk(settings)
    return {
        "subdomain": zendesk.subdomain,
        "email": zendesk.email,
        "api_token": zendesk.api_token.get_secret_value() if zendesk.api_token else None,
        "oauth_token": zendesk.oauth_token.get_secret_value() if zendesk.oauth_token else None,
        "base_url": str(zendesk.base_url).rstrip("/") if zendesk.base_url else None,
    }


def zendesk_client(settings: Settings, *, quick: bool = False) -> ZendeskClient:
    """``quick``: for someone waiting at the terminal (``nps check --online``): two attempts."""
    zendesk = _zendesk(settings)
    return ZendeskClient(
        **_zendesk_account(settings),
        timeout=zendesk.timeout_seconds,
        ratelimit_budget_seconds=zendesk.ratelimit_budget_seconds,
        budget=zendesk_budget(settings),
        max_attempts=2 if quick else MAX_ATTEMPTS,
    )


def zendesk_webhook_client(settings: Settings) -> ZendeskClient:
    """A client that gives up quickly: Zendesk waits about 10 seconds for a webhook's answer, and
    a 503 makes it deliver again later."""
    return ZendeskClient(
        **_zendesk_account(settings),
        timeout=min(_zendesk(settings).timeout_seconds, 5.0),
        ratelimit_budget_seconds=0,
        max_attempts=2,
    )


def ticket_source(settings: Settings) -> ZendeskTicketSource:
    return ZendeskTicketSource(zendesk_client(settings))


def zendesk_tag_writer(settings: Settings, database: Database, now: datetime) -> ZendeskTagWriter:
    return ZendeskTagWriter(
        zendesk_client(settings),
        SupportDirectory(database, settings.store.id, now),
        tag_open_tickets=_zendesk(settings).tag_open_tickets,
    )


def followup_desk(settings: Settings) -> ZendeskFollowupDesk:
    return ZendeskFollowupDesk(zendesk_client(settings))


def mailer(settings: Settings) -> SmtpMailer:
    if settings.email is None:
        raise ValueError("email: section is not configured")
    email = settings.email
    return SmtpMailer(
        email.smtp_host,
        email.smtp_port,
        sender=email.from_,
        security=email.security,
        username=email.username,
        password=email.password.get_secret_value() if email.password is not None else None,
        timeout=email.timeout_seconds,
    )


def alert_channels(settings: Settings, mailer: SmtpMailer | None = None) -> list[AlertChannel]:
    """The configured ``alerts:`` destinations; email ones share ``mailer`` (one SMTP session)
    and need the ``email:`` section (without it only the webhook is used)."""
    alerts = settings.alerts
    channels: list[AlertChannel] = []
    if alerts.email_to and settings.email is not None and mailer is not None:
        sender = settings.email.from_
        domain = sender.rpartition("@")[2].rstrip(">") or "nps-loop"
        channels += [EmailChannel(mailer, to, sender, domain) for to in alerts.email_to]
    if alerts.webhook_url is not None:
        channels.append(
            WebhookChannel(
                str(alerts.webhook_url),
                slack=alerts.webhook_format == "slack",
                timeout=alerts.timeout_seconds,
            )
        )
    return channels


def web_adapters(settings: Settings, database: Database | None = None) -> WebAdapters:
    """What ``nps serve``'s webhook receivers, thank-you page and dashboard need, for the
    systems this store has."""
    tagger: Callable[[], TicketTagger] | None = None
    if settings.zendesk is not None:

        def tagger() -> TicketTagger:
            return ZendeskTicketTagger(zendesk_webhook_client(settings))

    return WebAdapters(
        shopify_webhooks=ShopifyWebhookReader() if settings.shopify is not None else None,
        shop_access=ShopifyAccessProbe(shopify_client(settings, quick=True))
        if settings.shopify is not None
        else None,
        ticket_tagger=tagger,
        report=dashboard_report(settings, database) if database is not None else None,
        promoter_reward=_promoter_reward(settings, database),
    )


def dashboard_report(
    settings: Settings, database: Database
) -> Callable[[Period, SurveyKind, datetime], Report]:
    """The overview's report: the very pipeline of ``nps report`` (counted, then what they said)."""
    from jobs.report_job import store_report

    def report(period: Period, kind: SurveyKind, now: datetime) -> Report:
        return store_report(database, settings, period, now=now, kind=kind, said=True)

    return report


def comment_embedder(settings: Settings) -> CommentEmbedder:
    """The themes' embedding model; raises ``ThemesNotInstalled`` without the themes extra."""
    from connectors.comment_embedder import LocalCommentEmbedder

    return LocalCommentEmbedder(settings.store.language, model=settings.themes.model)


def _promoter_reward(
    settings: Settings, database: Database | None
) -> Callable[[int, datetime], None] | None:
    """Creates a promoter's code while the thank-you page is being answered (the push job
    catches up on any it could not), through a client that gives up quickly."""
    if database is None or settings.shopify is None:
        return None
    if not settings.rewards.promoter_discount.enabled:
        return None
    from jobs.rewards import reward_response

    # One client (one token, renewed as needed) for every answer; a client is not shared
    # between threads, and codes are rare, so answers take turns.
    desks: list[ShopifyDiscountDesk] = []
    lock = threading.Lock()

    def reward(response_id: int, now: datetime) -> None:
        with lock:
            if not desks:
                desks.append(ShopifyDiscountDesk(shopify_client(settings, quick=True)))
            reward_response(database, settings, desks[0], response_id, now)

    return reward


def web_app(
    settings: Settings,
    database: Database,
    clock: Callable[[], datetime] = utc_now,
    other_stores: Sequence[tuple[Settings, Database]] = (),
) -> Starlette:
    """The survey pages and webhook receivers of one store, wired to its real adapters; the
    dashboard's store picker also offers ``other_stores`` (the config's other stores)."""
    from nps_engine.web.app import create_app  # Starlette loads only for the commands that serve
    from nps_engine.web.context import WebContext

    others = [
        WebContext(store, store_database, clock, web_adapters(store, store_database))
        for store, store_database in other_stores
    ]
    return create_app(
        settings,
        database,
        clock=clock,
        adapters=web_adapters(settings, database),
        dashboard_stores=others,
    )
