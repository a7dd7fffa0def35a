"""One answer as the feed, the export and the CLI show it (read by ``store.response_feed``)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime


@dataclass(frozen=True, slots=True)
class FeedRow:
    id: int
    responded_at: datetime
    kind: str
    source: str
    score: int
    comment: str | None
    language: str | None
    customer_id: int | None
    customer_name: str | None
    email: str | None
    order_id: int | None
    order_name: str | None
    segments: tuple[str, ...]
    tags: dict[str, tuple[str, ...]]  # system -> tags last pushed there
    followup_state: str | None
    followup_ticket_id: int | None
    theme: str | None = None  # the comment theme's label; None when never assigned

    @property
    def category(self) -> str:
        return "detractor" if self.score <= 6 else "passive" if self.score <= 8 else "promoter"
