"""``alerts:``: who hears about an answer the moment it lands (or in a daily digest).

An alert goes to every address of ``email_to`` (through the ``email:`` SMTP server) and/or as a
POST to ``webhook_url`` (a Slack incoming webhook, or any URL taking JSON).
"""

from datetime import time
from typing import Annotated, Literal

from pydantic import AnyHttpUrl, BaseModel, ConfigDict, Field, field_validator

Category = Literal["detractor", "passive", "promoter"]


class AlertSettings(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid", defer_build=True)

    # Which answers raise an alert; add "promoter" to hear about the happy ones too.
    categories: tuple[Category, ...] = ("detractor",)
    email_to: tuple[str, ...] = ()
    webhook_url: AnyHttpUrl | None = None
    # "slack" posts Slack's {"text": ...}; "json" posts the answer as a JSON object.
    webhook_format: Literal["slack", "json"] = "slack"
    # "instant": one alert per answer; "digest": one message a day with the day's answers.
    mode: Literal["instant", "digest"] = "instant"
    digest_at: time = time(8)
    # An answer is alerted once it has been quiet this long (its comment usually follows the click).
    settle_minutes: Annotated[int, Field(ge=0, le=1440)] = 2
    # Older answers (and imported history) never alert: a first run must not flood the channel.
    max_age_days: Annotated[int, Field(ge=1, le=365)] = 2
    timeout_seconds: Annotated[float, Field(gt=0, le=120)] = 10.0

    @field_validator("email_to")
    @classmethod
    def _addresses(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        for address in value:
            if "@" not in address or any(ch.isspace() for ch in address):
                raise ValueError(f"'{address}' is not an email address")
        return value

    @property
    def enabled(self) -> bool:
        return bool(self.email_to or self.webhook_url)

    @property
    def channels(self) -> tuple[str, ...]:
        return tuple(
            name
            for name, wanted in (("email", self.email_to), ("webhook", self.webhook_url))
            if wanted
        )
