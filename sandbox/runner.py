"""Run the whole sandbox in-process: Shopify, Zendesk and SMTP simulators over one generated world.

    with Sandbox(SandboxOptions(customers=200, seed=7)) as sandbox:
        sandbox.world                    # the shared generated world (sandbox.world.World)
        sandbox.zendesk.base_url         # ZendeskSimulator; .options.email / .options.api_token
        sandbox.smtp.host, sandbox.smtp.port, sandbox.smtp.messages
        sandbox.shopify                  # the Shopify simulator (None if it could not start)
        sandbox.endpoints()              # SandboxEndpoints: URLs and credentials
        sandbox.config_yaml()            # a config.yaml pointing nps-loop at the simulators
        sandbox.traffic()                # {"shopify": TrafficSnapshot, "zendesk": ..., "smtp": ...}

Each simulator serves on 127.0.0.1 (a free port unless one is given) on its own threads and has
its own :class:`sandbox.traffic.Traffic`, so counters and faults stay per system; one
``FaultPlan`` may be applied to all of them (seeds offset so their faults do not coincide).
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from types import TracebackType
from typing import TYPE_CHECKING, Any

import yaml

from sandbox.clock import ManualClock
from sandbox.generator import generate
from sandbox.smtp import SmtpSink
from sandbox.traffic import FaultPlan, Traffic, TrafficSnapshot
from sandbox.world import World
from sandbox.zendesk import ZendeskOptions, ZendeskSimulator

if TYPE_CHECKING:
    from sandbox.shopify import ShopifySimulator

SANDBOX_STORE_ID = "sandbox"
SHOPIFY_API_VERSION = "2026-01"


class ShopifyUnavailable(RuntimeError):
    """The Shopify simulator could not be loaded; Zendesk and SMTP still run."""


def start_shopify(
    world: World,
    port: int,
    traffic: Traffic,
    clock: ManualClock | None = None,
    bucket: tuple[float, float] = (2000.0, 100.0),
    token_lifetime: timedelta = timedelta(hours=24),
    bulk_polls: int = 2,
) -> ShopifySimulator:
    try:
        from sandbox.shopify import ShopifySimulator
        from sandbox.shopify.cost import LeakyBucket
    except ImportError as missing:
        raise ShopifyUnavailable(f"the Shopify simulator is not available: {missing}") from None
    now = clock.now if clock is not None else None
    simulator = ShopifySimulator(
        world,
        port=port,
        traffic=traffic,
        clock=now,
        bucket=LeakyBucket(*bucket),
        token_lifetime=token_lifetime,
        bulk_polls_to_complete=bulk_polls,
    )
    simulator.start()
    return simulator


@dataclass(frozen=True)
class SandboxOptions:
    customers: int = 200
    seed: int = 1
    now: datetime | None = None  # the world's "now"; the wall clock when None
    shopify_port: int = 0
    zendesk_port: int = 0
    smtp_port: int = 0
    zendesk: ZendeskOptions = field(default_factory=ZendeskOptions)
    faults: FaultPlan | None = None
    shopify: bool = True  # False runs Zendesk and SMTP only
    # Where the SMTP sink also writes each message as an .eml file (None: memory only).
    mail_dir: Path | None = None
    # The Shopify cost bucket (points, points restored per second); a standard plan's by default.
    shopify_bucket: tuple[float, float] = (2000.0, 100.0)
    # How long a client credentials token lives (Shopify: about 24 hours); short in tests that
    # must see a token expire in the middle of a sync.
    shopify_token_lifetime: timedelta = timedelta(hours=24)
    # The poll at which a bulk operation shows COMPLETED (the first poll sees RUNNING by default,
    # as on Shopify); 1 spares a client its wait between polls (the demo).
    shopify_bulk_polls: int = 2


@dataclass(frozen=True)
class SandboxEndpoints:
    shopify_url: str | None
    shopify_shop: str
    shopify_access_token: str | None  # the legacy permanent token (admin-created app)
    shopify_client_id: str | None  # the Dev Dashboard app's credentials (client credentials grant)
    shopify_client_secret: str | None
    shopify_webhook_secret: str | None
    zendesk_url: str
    zendesk_subdomain: str
    zendesk_email: str
    zendesk_api_token: str
    zendesk_webhook_secret: str
    smtp_host: str
    smtp_port: int


class Sandbox:
    def __init__(
        self,
        options: SandboxOptions | None = None,
        *,
        world: World | None = None,
        clock: ManualClock | None = None,
    ) -> None:
        """``clock``: simulated time for every simulator (rate limits, timestamps), for tests
        that wait out a Retry-After without sleeping; the wall clock when None."""
        self.options = options or SandboxOptions()
        self.clock = clock
        now = self.options.now or (clock.now() if clock else datetime.now(UTC))
        self.world = world or generate(self.options.customers, self.options.seed, now)
        timing: dict[str, Any] = {}
        if clock is not None:
            timing = {"clock": clock.now, "monotonic": clock.monotonic}
        self.zendesk = ZendeskSimulator(
            self.world,
            self.options.zendesk,
            traffic=self._traffic(1),
            port=self.options.zendesk_port,
            **timing,
        )
        self.smtp = SmtpSink(
            self.options.smtp_port, traffic=self._traffic(2), mail_dir=self.options.mail_dir
        )
        self.shopify: ShopifySimulator | None = None
        self.problems: list[str] = []  # what could not start (the rest still runs)

    def _traffic(self, offset: int) -> Traffic:
        plan = self.options.faults
        return Traffic(None if plan is None else replace(plan, seed=plan.seed + offset))

    def start(self) -> Sandbox:
        try:
            self.zendesk.start()
            self.smtp.start()
            if self.options.shopify:
                self._start_shopify()
        except BaseException:
            self.stop()
            raise
        return self

    def _start_shopify(self) -> None:
        try:
            self.shopify = start_shopify(
                self.world,
                self.options.shopify_port,
                self._traffic(0),
                self.clock,
                self.options.shopify_bucket,
                self.options.shopify_token_lifetime,
                self.options.shopify_bulk_polls,
            )
        except ShopifyUnavailable as missing:
            self.problems.append(str(missing))

    def stop(self) -> None:
        """Stop every simulator; safe to call more than once, or without start()."""
        if self.shopify is not None:
            self.shopify.stop()
            self.shopify = None
        self.smtp.stop()
        self.zendesk.stop()

    def __enter__(self) -> Sandbox:
        return self.start()

    def __exit__(
        self,
        kind: type[BaseException] | None,
        value: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    def endpoints(self) -> SandboxEndpoints:
        zendesk = self.zendesk.options
        shopify = self.shopify
        return SandboxEndpoints(
            shopify_url=shopify.base_url if shopify else None,
            shopify_shop=self.world.shop_domain,
            shopify_access_token=shopify.access_token if shopify else None,
            shopify_client_id=shopify.grants.client_id if shopify else None,
            shopify_client_secret=shopify.grants.client_secret if shopify else None,
            shopify_webhook_secret=shopify.webhook_secret if shopify else None,
            zendesk_url=self.zendesk.base_url,
            zendesk_subdomain=zendesk.subdomain,
            zendesk_email=zendesk.email,
            zendesk_api_token=zendesk.api_token,
            zendesk_webhook_secret=zendesk.webhook_secret,
            smtp_host=self.smtp.host,
            smtp_port=self.smtp.port,
        )

    def traffic(self) -> dict[str, TrafficSnapshot]:
        snapshots = {
            "zendesk": self.zendesk.traffic.snapshot(),
            "smtp": self.smtp.traffic.snapshot(),
        }
        if self.shopify is not None:
            snapshots["shopify"] = self.shopify.traffic.snapshot()
        return snapshots

    def config(
        self,
        *,
        database_url: str = "sqlite:///nps-sandbox.db",
        public_url: str = "http://127.0.0.1:8000",
    ) -> dict[str, Any]:
        """The configuration document pointing nps-loop at these simulators, connected as a Dev
        Dashboard app (client credentials grant), as a new store owner would be."""
        ends = self.endpoints()
        document: dict[str, Any] = {
            "store": {"id": SANDBOX_STORE_ID, "name": "NPS Sandbox Shop", "language": "en"},
            "database": {"url": database_url},
        }
        if ends.shopify_url is not None:
            document["shopify"] = {
                "shop": ends.shopify_shop,
                "client_id": ends.shopify_client_id,
                "client_secret": ends.shopify_client_secret,
                "api_version": SHOPIFY_API_VERSION,
                "api_base_url": ends.shopify_url,
                "webhook_secret": ends.shopify_webhook_secret,
            }
        document |= {
            "zendesk": {
                "subdomain": ends.zendesk_subdomain,
                "email": ends.zendesk_email,
                "api_token": ends.zendesk_api_token,
                "base_url": ends.zendesk_url,
                "webhook_secret": ends.zendesk_webhook_secret,
            },
            "email": {
                "smtp_host": ends.smtp_host,
                "smtp_port": ends.smtp_port,
                "security": "none",
                "from": "NPS Sandbox Shop <hello@nps-sandbox.example>",
            },
            "web": {"public_url": public_url, "secret_key": secrets.token_urlsafe(24)},
        }
        return document

    def config_yaml(self, **overrides: str) -> str:
        """:meth:`config` as YAML (same keyword overrides)."""
        return yaml.safe_dump(self.config(**overrides), sort_keys=False)
