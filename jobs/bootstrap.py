"""The one place where settings become adapters (cosmicpython's bootstrap).

Connectors take plain values and know nothing of the YAML file; this module maps each store's
settings onto them. Tests and the demo build their own adapters (fakes, or real ones pointed at
the sandbox) and call the same job functions.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from functools import lru_cache
from typing import TYPE_CHECKING

import redis

from connectors import budgets
from connectors.email import SmtpMailer
from connectors.shopify.client import ShopifyClient
from connectors.shopify.source import ShopifyOrderSource
from connectors.shopify.tags import ShopifyTagWriter
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
from nps_engine.ports import TicketTagger
from nps_engine.store.database import Database
from nps_engine.store.support import SupportDirectory
from nps_engine.web.context import WebAdapters, utc_now

if TYPE_CHECKING:
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


def shopify_client(settings: Settings) -> ShopifyClient:
    shopify = _shopify(settings)
    client = ShopifyClient(
        shopify.shop_domain,
        shopify.access_token.get_secret_value(),
        api_version=shopify.api_version,
        api_base_url=str(shopify.api_base_url).rstrip("/") if shopify.api_base_url else None,
        timeout=shopify.timeout_seconds,
    )
    if settings.queue is not None:
        # Distributed mode: every worker of this shop pays into one bucket (connectors.budgets).
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


def order_source(settings: Settings) -> ShopifyOrderSource:
    return ShopifyOrderSource(shopify_client(settings))


def shopify_tag_writer(settings: Settings) -> ShopifyTagWriter:
    return ShopifyTagWriter(shopify_client(settings))


def zendesk_client(settings: Settings) -> ZendeskClient:
    zendesk = _zendesk(settings)
    return ZendeskClient(
        subdomain=zendesk.subdomain,
        email=zendesk.email,
        api_token=zendesk.api_token.get_secret_value() if zendesk.api_token else None,
        oauth_token=zendesk.oauth_token.get_secret_value() if zendesk.oauth_token else None,
        base_url=str(zendesk.base_url).rstrip("/") if zendesk.base_url else None,
        timeout=zendesk.timeout_seconds,
        ratelimit_budget_seconds=zendesk.ratelimit_budget_seconds,
        budget=zendesk_budget(settings),
    )


def zendesk_webhook_client(settings: Settings) -> ZendeskClient:
    """A client that gives up quickly: Zendesk waits about 10 seconds for a webhook's answer, and
    a 503 makes it deliver again later."""
    zendesk = _zendesk(settings)
    return ZendeskClient(
        subdomain=zendesk.subdomain,
        email=zendesk.email,
        api_token=zendesk.api_token.get_secret_value() if zendesk.api_token else None,
        oauth_token=zendesk.oauth_token.get_secret_value() if zendesk.oauth_token else None,
        base_url=str(zendesk.base_url).rstrip("/") if zendesk.base_url else None,
        timeout=min(zendesk.timeout_seconds, 5.0),
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
    return SmtpMailer(settings.email)


def web_adapters(settings: Settings) -> WebAdapters:
    """What ``nps serve``'s webhook receivers need, for the systems this store has."""
    tagger: Callable[[], TicketTagger] | None = None
    if settings.zendesk is not None:

        def tagger() -> TicketTagger:
            return ZendeskTicketTagger(zendesk_webhook_client(settings))

    return WebAdapters(
        shopify_webhooks=ShopifyWebhookReader() if settings.shopify is not None else None,
        ticket_tagger=tagger,
    )


def web_app(
    settings: Settings, database: Database, clock: Callable[[], datetime] = utc_now
) -> Starlette:
    """The survey pages and webhook receivers of one store, wired to its real adapters."""
    from nps_engine.web.app import create_app  # Starlette loads only for the commands that serve

    return create_app(settings, database, clock=clock, adapters=web_adapters(settings))
