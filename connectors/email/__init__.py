"""Survey email on the wire: its MIME form (``compose``) handed to an SMTP server (``smtp``).

What the email says is composed by ``nps_engine.survey_email``.
"""

from connectors.email.compose import as_mime
from connectors.email.errors import (
    SmtpAuthenticationFailed,
    SmtpDeferred,
    SmtpSenderRefused,
    SmtpUnavailable,
)
from connectors.email.smtp import SmtpMailer

__all__ = [
    "SmtpAuthenticationFailed",
    "SmtpDeferred",
    "SmtpMailer",
    "SmtpSenderRefused",
    "SmtpUnavailable",
    "as_mime",
]
