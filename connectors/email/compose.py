"""The wire form of a survey email: the RFC 5322 message an SMTP server receives.

What the email says (texts, links, look) is composed by ``nps_engine.survey_email``; this module
only turns that :class:`~nps_engine.ports.SurveyEmail` into MIME.
"""

from __future__ import annotations

from datetime import datetime
from email.message import EmailMessage
from email.policy import SMTP, SMTPUTF8
from email.utils import format_datetime

from nps_engine.ports import SurveyEmail


def as_mime(email: SurveyEmail, now: datetime, *, utf8: bool = False) -> EmailMessage:
    """The RFC 5322 message: multipart/alternative, plain text first, then HTML. ``utf8``:
    headers in raw UTF-8 (RFC 6532), for a recipient whose address needs SMTPUTF8."""
    message = EmailMessage(policy=SMTPUTF8 if utf8 else SMTP)
    # Content first: set_content() clears every Content-* header, Content-Language included.
    message.set_content(email.text)
    message.add_alternative(email.html, subtype="html")
    for name, value in email.headers.items():
        message[name] = value
    message["To"] = email.to
    message["Subject"] = email.subject
    message["Date"] = format_datetime(now)
    message["Message-ID"] = email.message_id
    return message
