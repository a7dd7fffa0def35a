"""``jobs/bootstrap``: the one place where settings become adapters, mapped field by field."""

from __future__ import annotations

import pytest
from survey_support import survey_settings

from jobs import bootstrap


def test_the_email_section_becomes_the_smtp_adapters_plain_values() -> None:
    settings = survey_settings(
        "s1",
        email={
            "smtp_host": "smtp.maisonverte.example",
            "smtp_port": 465,
            "security": "ssl",
            "username": "mailer",
            "password": "app-password-123",
            "timeout_seconds": 12,
        },
    )
    mailer = bootstrap.mailer(settings)
    assert (mailer.host, mailer.port, mailer.security) == ("smtp.maisonverte.example", 465, "ssl")
    assert (mailer.username, mailer.timeout) == ("mailer", 12)
    assert mailer.sender == "hello@maisonverte.example"  # the envelope address of `from`
    assert mailer._password == "app-password-123"  # unwrapped from SecretStr only here


def test_a_store_without_email_says_which_section_is_missing() -> None:
    settings = survey_settings("s1").model_copy(update={"email": None})
    with pytest.raises(ValueError, match="email: section is not configured"):
        bootstrap.mailer(settings)
