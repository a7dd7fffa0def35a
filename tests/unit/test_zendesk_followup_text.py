"""What the agent reads on a detractor follow-up ticket."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from jobs.followups import followup_note, followup_subject
from nps_engine.store.followup_facts import FollowupFacts


def facts(**changes: object) -> FollowupFacts:
    values: dict[str, object] = {
        "response_id": 7, "score": 3, "comment": "  Box was crushed ", "email": "j@example.com",
        "responded_at": datetime(2026, 10, 30, 14, 2, tzinfo=UTC), "customer_id": 1,
        "customer_name": "Jane Doe", "order_name": "#1042", "returned": True,
        "support_tickets": 2, "window_days": 90,
    }  # fmt: skip
    values.update(changes)
    return FollowupFacts(**values)  # type: ignore[arg-type]


def test_note_gives_score_comment_order_return_and_support_history() -> None:
    note = followup_note(facts())
    assert "Score: 3/10 (detractor)" in note
    assert "Comment (the customer's words):\n> Box was crushed" in note
    assert "Order: #1042" in note
    assert "Returned or refunded: yes" in note
    assert "Contacted support: yes, 2 ticket(s) in the 90 days before" in note
    assert "Answered: 2026-10-30 14:02 UTC" in note


def test_note_says_plainly_when_something_is_unknown() -> None:
    note = followup_note(facts(comment=None, order_name=None, returned=False, support_tickets=0))
    assert "Comment: (none)" in note
    assert "Order: (not linked to an order)" in note
    assert "Contacted support: no ticket in the 90 days before" in note


@pytest.mark.parametrize(
    ("template", "expected"),
    [
        ("NPS follow-up: {name} scored {score}", "NPS follow-up: Jane Doe scored 3"),
        ("{name} ({order})", "Jane Doe (#1042)"),
        ("Detractor {unknown}", "Detractor {unknown}"),
    ],
)
def test_subject_fills_the_documented_placeholders(template: str, expected: str) -> None:
    assert followup_subject(template, "Jane Doe", facts()) == expected
