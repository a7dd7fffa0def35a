"""Every configuration key, its default and its bounds.

Models are frozen and refuse unknown keys, so a typo (``delay_day``) is an error naming the key
instead of a silently ignored setting. Secrets are ``SecretStr``: they print as ``**********``.
``config.example.yaml`` documents each key; a test keeps the two in step.
"""

import re
from datetime import time
from typing import TYPE_CHECKING, Annotated, Any, Literal, Self
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import (
    AnyHttpUrl,
    BaseModel,
    ConfigDict,
    Field,
    SecretStr,
    field_validator,
    model_validator,
)

from nps_engine.config.alerts import AlertSettings
from nps_engine.config.dashboard import DashboardSettings
from nps_engine.config.queue import QueueSettings
from nps_engine.config.rewards import RewardSettings
from nps_engine.config.server_limits import ServerLimits
from nps_engine.config.themes import ThemesSettings

if TYPE_CHECKING:
    from nps_engine.segment_rules import Rule


class Section(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid", defer_build=True)


class StoreSettings(Section):
    id: Annotated[str, Field(pattern=r"^[a-z0-9][a-z0-9_-]{0,62}$")]
    name: str = "Our store"
    timezone: str = "UTC"
    language: Literal["en", "fr"] | str = "en"
    logo_url: AnyHttpUrl | None = None
    brand_color: Annotated[str, Field(pattern=r"^#[0-9a-fA-F]{6}$")] = "#2f6f4f"

    @field_validator("timezone")
    @classmethod
    def _known_timezone(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError(
                f"unknown time zone '{value}' (use an IANA name such as 'Europe/Paris')"
            ) from None
        return value

    @field_validator("language")
    @classmethod
    def _language_code(cls, value: str) -> str:
        if not re.fullmatch(r"[a-z]{2}", value):
            raise ValueError("must be a two-letter language code such as 'en' or 'fr'")
        return value

    @property
    def tz(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)


class DatabaseSettings(Section):
    url: str = "sqlite:///nps.db"


class ShopifySettings(Section):
    shop: Annotated[str, Field(pattern=r"^[a-z0-9][a-z0-9-]*(\.myshopify\.com)?$")]
    # A Dev Dashboard app (the only kind a store can create since 2026-01-01): its client id and
    # secret buy expiring tokens through the client credentials grant.
    client_id: str | None = None
    client_secret: SecretStr | None = None
    # Or the permanent token of an app created in the store admin before 2026.
    access_token: SecretStr | None = None
    api_version: Annotated[str, Field(pattern=r"^(\d{4}-(01|04|07|10)|unstable)$")] = "2026-01"
    # Where to send API calls instead of https://{shop}.myshopify.com (the sandbox, a proxy).
    api_base_url: AnyHttpUrl | None = None
    # The app's client secret: Shopify signs webhooks with it.
    webhook_secret: SecretStr | None = None
    backfill_days: Annotated[int, Field(ge=1, le=3650)] = 365
    timeout_seconds: Annotated[float, Field(gt=0, le=300)] = 30.0
    # Where customers/data_request webhooks write the customer's data for the owner to send on.
    data_request_dir: str = "data_requests"
    # From this many changed customers, tags go out as bulk mutations (Shopify's pace) instead
    # of aliased mutations paid from the cost bucket (10 points each).
    bulk_tags_threshold: Annotated[int, Field(ge=1)] = 2000

    @model_validator(mode="after")
    def _one_way_to_connect(self) -> Self:
        app = self.client_id is not None or self.client_secret is not None
        if app and self.access_token is not None:
            raise ValueError(
                "set either 'client_id' and 'client_secret' (a Dev Dashboard app) or "
                "'access_token' (an app created in the store admin), not both"
            )
        if app and (not self.client_id or self.client_secret is None):
            missing = "client_secret" if self.client_id else "client_id"
            raise ValueError(
                f"'{missing}' is missing: a Dev Dashboard app needs both "
                "'client_id' and 'client_secret'"
            )
        if not app and self.access_token is None:
            raise ValueError(
                "set 'client_id' and 'client_secret' (a Dev Dashboard app) or 'access_token' "
                "(an app created in the store admin)"
            )
        return self

    @property
    def shop_domain(self) -> str:
        return self.shop if self.shop.endswith(".myshopify.com") else f"{self.shop}.myshopify.com"

    @property
    def signing_secret(self) -> str | None:
        """What signs the app's webhooks: ``webhook_secret``, or else a Dev Dashboard app's
        client secret (Shopify signs with it)."""
        secret = self.webhook_secret or self.client_secret
        return secret.get_secret_value() if secret is not None else None


class FollowUpSettings(Section):
    enabled: bool = True
    subject: str = "NPS follow-up: {name} scored {score}"
    group_id: int | None = None
    assignee_id: int | None = None
    tags: tuple[str, ...] = ("nps_followup",)
    # The score is recorded on the click, the comment a minute or two later: a ticket opened at
    # once would miss it, so an answer waits this long untouched before its ticket is opened.
    settle_minutes: Annotated[int, Field(ge=0, le=1440)] = 10
    # Older detractor answers get no ticket (a late run must not flood agents with stale ones).
    max_age_days: Annotated[int, Field(ge=1)] = 14


class ZendeskSettings(Section):
    subdomain: Annotated[str, Field(pattern=r"^[a-z0-9][a-z0-9-]*$")]
    email: str | None = None
    api_token: SecretStr | None = None
    oauth_token: SecretStr | None = None
    # Where to send API calls instead of https://{subdomain}.zendesk.com (the sandbox, a proxy).
    base_url: AnyHttpUrl | None = None
    webhook_secret: SecretStr | None = None
    timeout_seconds: Annotated[float, Field(gt=0, le=300)] = 30.0
    # Seconds zenpy may spend waiting on 429 Retry-After before giving the run back to us.
    ratelimit_budget_seconds: Annotated[int, Field(ge=0, le=3600)] = 120
    tag_open_tickets: bool = True
    followup: FollowUpSettings = Field(default_factory=FollowUpSettings.model_construct)

    @model_validator(mode="after")
    def _one_way_to_authenticate(self) -> Self:
        if self.oauth_token is None and (self.api_token is None or not self.email):
            raise ValueError("set either 'email' and 'api_token', or 'oauth_token'")
        return self


class EmailSettings(Section):
    smtp_host: str = "localhost"
    smtp_port: Annotated[int, Field(ge=1, le=65535)] = 587
    security: Literal["starttls", "ssl", "none"] = "starttls"
    username: str | None = None
    password: SecretStr | None = None
    from_: Annotated[str, Field(alias="from", pattern=r"^[^@\s]+@[^@\s]+$|^.+<[^@\s]+@[^@\s]+>$")]
    reply_to: str | None = None
    # Address for the mailto: half of List-Unsubscribe; defaults to the From address.
    unsubscribe_mailto: str | None = None
    timeout_seconds: Annotated[float, Field(gt=0, le=300)] = 30.0

    model_config = ConfigDict(frozen=True, extra="forbid", populate_by_name=True, defer_build=True)


class WebSettings(Section):
    public_url: AnyHttpUrl
    secret_key: SecretStr
    host: str = "127.0.0.1"
    port: Annotated[int, Field(ge=1, le=65535)] = 8000
    token_max_age_days: Annotated[int, Field(ge=1, le=365)] = 60
    posts_per_minute_per_ip: Annotated[int, Field(ge=1, le=1_000_000)] = 30

    @field_validator("secret_key")
    @classmethod
    def _long_enough(cls, value: SecretStr) -> SecretStr:
        if len(value.get_secret_value()) < 16:
            raise ValueError("must be at least 16 characters (it signs survey links)")
        return value


class QuietHours(Section):
    start: time
    end: time


class RelationshipSurvey(Section):
    enabled: bool = False
    every_days: Annotated[int, Field(ge=30, le=36500)] = 180


class Reminder(Section):
    enabled: bool = False
    after_days: Annotated[int, Field(ge=1, le=3650)] = 4


class SurveyText(Section):
    subject: str | None = None
    question: str | None = None
    intro: str | None = None
    thanks: str | None = None


class SurveySettings(Section):
    # Day counts become timedeltas: bounded so a typo cannot overflow them later.
    delay_days: Annotated[int, Field(ge=0, le=3650)] = 7
    fallback_days: Annotated[int, Field(ge=0, le=3650)] = 10
    max_age_days: Annotated[int, Field(ge=1, le=36500)] = 30
    throttle_days: Annotated[int, Field(ge=0, le=36500)] = 90
    max_per_run: Annotated[int, Field(ge=1, le=10_000_000)] = 500
    require_marketing_consent: bool = False
    quiet_hours: QuietHours | None = None
    review_url: AnyHttpUrl | None = None
    referral_text: str | None = None
    templates_dir: str | None = None
    # Per language overrides of the shipped texts, e.g. {fr: {subject: "..."}}.
    texts: dict[str, SurveyText] = {}
    relationship: RelationshipSurvey = Field(default_factory=RelationshipSurvey.model_construct)
    reminder: Reminder = Field(default_factory=Reminder.model_construct)

    @model_validator(mode="after")
    def _windows_make_sense(self) -> Self:
        if self.max_age_days <= self.delay_days:
            raise ValueError(
                "max_age_days must be greater than delay_days, or no order is ever due"
            )
        return self


class TagFormat(Section):
    """How an NPS state becomes tags in one system. ``{prefix}``, ``{category}``, ``{score}``."""

    prefix: Annotated[str, Field(pattern=r"^[a-z0-9][a-z0-9_-]*$")] = "nps"
    category: str
    score: str | None
    churn_risk: str | None


class TagSettings(Section):
    enabled: bool = True
    shopify: TagFormat = Field(
        default_factory=lambda: TagFormat.model_construct(
            category="{prefix}:{category}",
            score="{prefix}-score:{score}",
            churn_risk="{prefix}:churn-risk",
        )
    )
    zendesk: TagFormat = Field(
        default_factory=lambda: TagFormat.model_construct(
            category="{prefix}_{category}",
            score="{prefix}_score_{score}",
            churn_risk="{prefix}_churn_risk",
        )
    )

    @field_validator("zendesk")
    @classmethod
    def _zendesk_safe(cls, value: TagFormat) -> TagFormat:
        for template in (value.category, value.score, value.churn_risk):
            if template is None:
                continue
            sample = template.format(prefix=value.prefix, category="promoter", score=10)
            if not re.fullmatch(r"[a-z0-9_-]+", sample):
                raise ValueError(
                    f"'{template}' makes Zendesk tag '{sample}'; Zendesk tags are "
                    "only safe with letters, digits, '_' and '-'"
                )
        return value


class WindowSegment(Section):
    enabled: bool = True
    window_days: Annotated[int, Field(ge=1, le=36500)] = 90


class ToggleSegment(Section):
    enabled: bool = True


class ChurnRiskSegment(Section):
    enabled: bool = True
    max_score: Annotated[int, Field(ge=0, le=10)] = 6
    drop_points: Annotated[int, Field(ge=1, le=10)] = 3
    passive_with_return_or_support: bool = True
    no_repeat_days: Annotated[int, Field(ge=1, le=36500)] = 180


class CustomSegment(Section):
    name: Annotated[str, Field(pattern=r"^[a-z0-9][a-z0-9_]*$")]
    label: str | None = None
    rule: dict[str, Any]

    @field_validator("rule")
    @classmethod
    def _valid_rule(cls, value: dict[str, Any]) -> dict[str, Any]:
        # Imported here: only a config with custom segments pays for the rule parser.
        from nps_engine.segment_rules import RuleError, parse_rule

        try:
            parse_rule(value)
        except RuleError as exc:
            raise ValueError(str(exc)) from None
        return value

    @property
    def parsed(self) -> "Rule":
        from nps_engine.segment_rules import parse_rule

        return parse_rule(self.rule)


BUILT_IN_SEGMENTS = ("support_contacted", "returned", "churn_risk")


class SegmentSettings(Section):
    support_contacted: WindowSegment = Field(default_factory=WindowSegment.model_construct)
    returned: ToggleSegment = Field(default_factory=ToggleSegment.model_construct)
    churn_risk: ChurnRiskSegment = Field(default_factory=ChurnRiskSegment.model_construct)
    custom: tuple[CustomSegment, ...] = ()

    @field_validator("custom")
    @classmethod
    def _unique_names(cls, value: tuple[CustomSegment, ...]) -> tuple[CustomSegment, ...]:
        seen: set[str] = set(BUILT_IN_SEGMENTS)
        for segment in value:
            if segment.name in seen:
                raise ValueError(f"segment name '{segment.name}' is used twice")
            seen.add(segment.name)
        return value


class ReportSettings(Section):
    basis: Literal["customers", "responses"] = "customers"
    months: Annotated[int, Field(ge=1, le=60)] = 12
    # no p-value and no "points below" sentence unless both sides have this many answers
    min_compare_n: Annotated[int, Field(ge=1)] = 10
    # rolling window shown beside monthly trends when most months have under 30 answers
    window_months: Annotated[int, Field(ge=2, le=12)] = 3


class ScheduleSettings(Section):
    sync_minutes: Annotated[int, Field(ge=1, le=525_600)] = 15
    send_minutes: Annotated[int, Field(ge=1, le=525_600)] = 60
    # Surveys go out only in these store-local hours, so they land while people read email.
    send_between: tuple[time, time] = (time(9), time(18))
    push_minutes: Annotated[int, Field(ge=1, le=525_600)] = 5
    report_hours: Annotated[int, Field(ge=1, le=8760)] = 24
    report_path: str = "reports/nps.html"
    # Comment themes: new comments are embedded and put in a theme (seconds for a day's
    # comments), so the dashboard and the report say "why" a few hours after an answer at most.
    themes_hours: Annotated[int, Field(ge=1, le=8760)] = 6


class Settings(Section):
    store: StoreSettings
    database: DatabaseSettings = Field(default_factory=DatabaseSettings.model_construct)
    shopify: ShopifySettings | None = None
    zendesk: ZendeskSettings | None = None
    email: EmailSettings | None = None
    web: WebSettings | None = None
    survey: SurveySettings = Field(default_factory=SurveySettings.model_construct)
    tags: TagSettings = Field(default_factory=TagSettings.model_construct)
    segments: SegmentSettings = Field(default_factory=SegmentSettings.model_construct)
    report: ReportSettings = Field(default_factory=ReportSettings.model_construct)
    schedule: ScheduleSettings = Field(default_factory=ScheduleSettings.model_construct)
    alerts: AlertSettings = Field(default_factory=AlertSettings.model_construct)
    dashboard: DashboardSettings = Field(default_factory=DashboardSettings.model_construct)
    limits: ServerLimits = Field(default_factory=ServerLimits.model_construct)
    rewards: RewardSettings = Field(default_factory=RewardSettings.model_construct)
    themes: ThemesSettings = Field(default_factory=ThemesSettings.model_construct)
    queue: QueueSettings | None = None
