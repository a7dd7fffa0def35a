import json
import logging

import pytest

from jobs.runtime.logs import JsonFormatter, RedactingFilter, mask_emails


@pytest.mark.parametrize(
    ("text", "masked"),
    [
        ("sent to jane.doe@example.com", "sent to j***@example.com"),
        ("A@B.co and b+x@shop.fr", "A***@B.co and b***@shop.fr"),
        ("no address here", "no address here"),
    ],
)
def test_email_addresses_never_reach_a_log_line_whole(text: str, masked: str) -> None:
    assert mask_emails(text) == masked


def test_the_filter_masks_arguments_and_secrets() -> None:
    record = logging.LogRecord(
        "nps", logging.WARNING, __file__, 1, "token %s for %s", ("shpat_abc123", "x@y.com"), None
    )
    RedactingFilter(["shpat_abc123"]).filter(record)
    assert record.getMessage() == "token ********** for x***@y.com"


def test_json_lines_are_machine_readable() -> None:
    record = logging.LogRecord("nps.jobs", logging.ERROR, __file__, 1, "sync failed", None, None)
    entry = json.loads(JsonFormatter().format(record))
    assert entry["level"] == "error"
    assert entry["message"] == "sync failed"
    assert entry["logger"] == "nps.jobs"
