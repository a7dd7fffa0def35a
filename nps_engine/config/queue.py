"""``queue:``: distributed mode, where Celery workers on Redis or RabbitMQ run the stores' jobs.

Without this section everything runs in the process that was started (``nps run``, ``nps serve``).
With it, ``nps scheduler`` enqueues each store's jobs and ``nps worker`` processes run them; the
stores' database must then be PostgreSQL (checked when those commands start), because workers on
several machines share it and its advisory locks keep one run per store and job.
"""

from typing import Annotated, Literal, Self
from urllib.parse import urlsplit

from pydantic import BaseModel, ConfigDict, Field, SecretStr, field_validator, model_validator

BROKER_SCHEMES = ("redis", "rediss", "amqp", "amqps", "pyamqp")
REDIS_SCHEMES = ("redis", "rediss")


def url_scheme(url: SecretStr) -> str:
    return urlsplit(url.get_secret_value()).scheme.lower()


class QueueSettings(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid", defer_build=True)

    # redis://host:6379/0 or amqp://user:password@host:5672// (it may hold a password: a secret).
    broker_url: SecretStr
    # Where the shared Shopify/Zendesk rate budgets and the scheduler's bookkeeping live;
    # defaults to broker_url when that is Redis, required with RabbitMQ.
    redis_url: SecretStr | None = None
    # Jobs one `nps worker` runs at once, and how (prefork: a process each; threads; solo: one).
    worker_concurrency: Annotated[int, Field(ge=1, le=256)] = 4
    worker_pool: Literal["prefork", "threads", "solo"] = "prefork"
    # A task works on one store for at most this long, then puts the rest back at the end of the
    # queue, so a big store's backfill cannot starve the others.
    store_time_budget_seconds: Annotated[int, Field(ge=5, le=3600)] = 300
    # A job that failed on a transient fault is tried again this many times (the shared policy's
    # waits), then left to its next scheduled run.
    max_retries: Annotated[int, Field(ge=0, le=10)] = 3
    # A store whose credentials are refused is paused this long (doubling up to a day) and shown
    # in `nps stores` / `nps status`, instead of failing again at every interval.
    credentials_pause_minutes: Annotated[int, Field(ge=1, le=1440)] = 60

    @field_validator("broker_url")
    @classmethod
    def _known_broker(cls, value: SecretStr) -> SecretStr:
        if url_scheme(value) not in BROKER_SCHEMES:
            raise ValueError("must start with redis:// or amqp:// (Redis or RabbitMQ)")
        return value

    @field_validator("redis_url")
    @classmethod
    def _redis(cls, value: SecretStr | None) -> SecretStr | None:
        if value is not None and url_scheme(value) not in REDIS_SCHEMES:
            raise ValueError("must be a redis:// URL")
        return value

    @model_validator(mode="after")
    def _budgets_need_redis(self) -> Self:
        if self.redis_url is None and url_scheme(self.broker_url) not in REDIS_SCHEMES:
            raise ValueError(
                "redis_url is required with a RabbitMQ broker: the shared rate budgets live in "
                "Redis"
            )
        return self

    @property
    def budget_url(self) -> str:
        """The Redis URL of the shared budgets and scheduler state."""
        chosen = self.redis_url or self.broker_url
        return chosen.get_secret_value()

    @property
    def visibility_timeout_seconds(self) -> int:
        """How long Redis keeps a taken, unacknowledged task from other workers: after a worker
        is killed, its task runs again this long later (RabbitMQ gives it back at once).

        A sync or send slice stops at its first committed page or email after the budget; 30 s
        more covers that page, and the longest wait of the shared retry policy (a task waiting
        for its retry is held unacknowledged too). A task that runs longer (a slow vendor, a big
        first push) may be handed to a second worker meanwhile: that copy finds the per-store
        job lock taken and is dropped, chain and all, so a job never runs twice at once."""
        return self.store_time_budget_seconds + 30
