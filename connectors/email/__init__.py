"""Survey email: composing it (``compose``) and handing it to an SMTP server (``smtp``)."""

from connectors.email.compose import Letter, SurveyEmailComposer, as_mime
from connectors.email.errors import (
    SmtpAuthenticationFailed,
    SmtpDeferred,
    SmtpSenderRefused,
    SmtpUnavailable,
)
from connectors.email.smtp import SmtpMailer

__all__ = [
    "Letter",
    "SmtpAuthenticationFailed",
    "SmtpDeferred",
    "SmtpMailer",
    "SmtpSenderRefused",
    "SmtpUnavailable",
    "SurveyEmailComposer",
    "as_mime",
]
