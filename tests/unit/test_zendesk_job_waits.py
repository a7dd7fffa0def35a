"""How long we wait between polls of a Zendesk background job."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from connectors.zendesk.job_status import outcome_of, poll_waits


@pytest.mark.parametrize(
    ("timeout", "waits"),
    [
        (0.0, [0.0]),
        (1.0, [0.0, 0.25, 0.5]),
        (20.0, [0.0, 0.25, 0.5, 1.0, 2.0, 4.0, 5.0, 5.0]),
    ],
)
def test_first_poll_is_immediate_then_backs_off_to_five_seconds(
    timeout: float, waits: list[float]
) -> None:
    assert poll_waits(timeout) == waits


@given(st.floats(min_value=0, max_value=3600))
def test_waits_never_add_up_past_the_timeout(timeout: float) -> None:
    waits = poll_waits(timeout)
    assert sum(waits) <= timeout
    assert max(waits) <= 5.0


def test_failed_items_are_listed_with_their_reason() -> None:
    job = {
        "id": "V3-abc",
        "status": "completed",
        "results": [
            {"id": 1, "action": "update", "status": "Updated", "success": True},
            {"id": 2, "status": "Failed", "error": "RecordNotFound", "success": False},
            {"id": 3, "status": "Updated"},
        ],
    }
    assert outcome_of(job).failures == {2: "RecordNotFound"}
