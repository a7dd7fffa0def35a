"""What every route module of the web app is given: one store's settings, the database, a clock,
and the adapters it needs from the outside world.

Passed explicitly to each module's ``routes(context)`` so two stores (two apps) can live in one
process and tests can freeze time. The adapters come from ``jobs/bootstrap.py`` (or a test's
fakes): nothing under ``nps_engine`` builds a connector.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime

from nps_engine.config.settings import Settings, WebSettings
from nps_engine.ports import ShopAccessProbe, ShopifyWebhookReader, TicketTagger
from nps_engine.records import SurveyKind
from nps_engine.report import Period, Report
from nps_engine.store.database import Database


def utc_now() -> datetime:
    return datetime.now(UTC)


@dataclass(frozen=True)
class WebAdapters:
    """The outside world as the web app sees it; None where the store has no such system."""

    shopify_webhooks: ShopifyWebhookReader | None = None
    # Asked before shop/redact erases the store; None: shop/redact is never applied.
    shop_access: ShopAccessProbe | None = None
    # Built on first use: a webhook receiver that never fires never opens a Zendesk session.
    ticket_tagger: Callable[[], TicketTagger] | None = None
    # The dashboard's overview: ``nps report``'s own pipeline (jobs.report_job), given the
    # period, the survey kind and the moment; None shows the overview as unavailable.
    report: Callable[[Period, SurveyKind, datetime], Report] | None = None
    # Creates the thank-you code of a promoter answer (response id, now) when rewards are on;
    # the page then reads the code from the store.
    promoter_reward: Callable[[int, datetime], None] | None = None


@dataclass(frozen=True)
class WebContext:
    settings: Settings
    database: Database
    clock: Callable[[], datetime] = field(default=utc_now)
    adapters: WebAdapters = field(default_factory=WebAdapters)
    # The config's other stores, which the dashboard's store picker switches to (``nps serve``
    # with several stores); each with its own settings, database and adapters.
    dashboard_stores: tuple[WebContext, ...] = ()

    @property
    def store_id(self) -> str:
        return self.settings.store.id

    @property
    def web(self) -> WebSettings:
        if self.settings.web is None:
            raise ValueError(
                "web: section is required to serve survey pages (public_url, secret_key)"
            )
        return self.settings.web
