""" "What they said": the latest comments of the report's period, overall and per segment. Pure.

Built by ``nps_engine.store.said_comments`` from the same segment facts as the report, and shown
by every renderer (table, JSON, HTML). Comments are customer-written text: renderers escape them
(the HTML template autoescapes; JSON is JSON; the terminal prints them without markup).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime


@dataclass(frozen=True, slots=True)
class Comment:
    response_id: int
    responded_at: datetime
    score: int
    text: str


@dataclass(frozen=True, slots=True)
class SaidGroup:
    name: str  # "everyone" or a segment name
    label: str
    comments: int  # answers with a comment in the period (in the part read; see Said.complete)
    latest: tuple[Comment, ...]


@dataclass(frozen=True, slots=True)
class Said:
    groups: tuple[SaidGroup, ...]
    # False when the period had more comments than were read: counts are then lower bounds.
    complete: bool = True


def said_json(said: Said) -> dict[str, object]:
    return {
        "complete": said.complete,
        "groups": [
            {
                "name": group.name,
                "label": group.label,
                "comments": group.comments,
                "latest": [
                    {
                        "response_id": c.response_id,
                        "responded_at": c.responded_at.isoformat(timespec="seconds"),
                        "score": c.score,
                        "comment": c.text,
                    }
                    for c in group.latest
                ],
            }
            for group in said.groups
        ],
    }
