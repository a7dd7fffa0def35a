"""The wire form of a survey email: the RFC 5322 message an SMTP server receives.

What the email says (texts, links, look) is composed by ``nps_engine.survey_email``; this module
only turns that :class:`~nps_engine.ports.SurveyEmail` into MIME.

:func:`as_mime` builds the message with the standard library's ``email`` package; :func:`wire_bytes`
gives the same bytes several times faster. The ``email`` package parses every header it is given
into a tree and refolds the tree when it writes (about 3 ms of CPU per survey email, half of a
weekly send); a survey email is always the same shape, so its bytes are written directly, and
only the headers that need folding or encoding go through the package (memoized: the From and
the subject repeat from one email to the next). A test checks both give the same bytes.
"""

from __future__ import annotations

import binascii
import random
import re
import sys
from datetime import datetime
from email import quoprimime
from email.message import EmailMessage
from email.policy import SMTP, SMTPUTF8
from email.utils import format_datetime
from functools import lru_cache

from nps_engine.ports import SurveyEmail

MAX_LINE: int = SMTP.max_line_length or 78  # 78 under the SMTP policy
# The headers as_mime sets itself: given again in ``email.headers``, the package refuses the
# message (at most one of each); wire_bytes leaves those rare messages to it.
_OWN_HEADERS = frozenset({"mime-version", "content-type", "to", "subject", "date", "message-id"})
# Headers the package writes back exactly as given when they are short printable ASCII.
_VERBATIM = frozenset(
    {"subject", "date", "message-id", "content-language", "list-unsubscribe-post"}
)
_PRINTABLE_WORDS = re.compile(r"[\x21-\x7e]+(?: [\x21-\x7e]+)*")
_DOT_ATOM_ADDRESS = re.compile(
    r"[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+(?:\.[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+)*"
    r"@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)*"
)


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


def wire_bytes(
    email: SurveyEmail, now: datetime, *, utf8: bool = False, boundary: str | None = None
) -> bytes:
    """``as_mime(email, now, utf8=utf8).as_bytes()``, byte for byte (but for the random MIME
    boundary, which ``boundary`` fixes for tests)."""
    if utf8 or not _plain_shape(email):
        message = as_mime(email, now, utf8=utf8)
        if boundary is not None:
            message.set_boundary(boundary)
        return message.as_bytes()
    text_part = _text_part(email.text, "plain", mime_version=False)
    html_part = _text_part(email.html, "html", mime_version=True)
    boundary = boundary or _boundary(text_part + html_part)
    headers = [
        "MIME-Version: 1.0\r\n",
        # The boundary is 36 characters: the parameter never fits on the first line.
        f'Content-Type: multipart/alternative;\r\n boundary="{boundary}"\r\n',
        *(_header(name, value) for name, value in email.headers.items()),
        _header("To", email.to),
        _header("Subject", email.subject),
        _header("Date", format_datetime(now)),
        _header("Message-ID", email.message_id),
    ]
    return (
        "".join(headers).encode("ascii")
        + f"\r\n--{boundary}\r\n".encode("ascii")
        + text_part
        + f"\r\n--{boundary}\r\n".encode("ascii")
        + html_part
        + f"\r\n--{boundary}--\r\n".encode("ascii")
    )


def _plain_shape(email: SurveyEmail) -> bool:
    """No header the package would refuse or write differently, no bare CR in the bodies."""
    if "\r" in email.text or "\r" in email.html:
        return False
    values = [email.to, email.subject, email.message_id, *email.headers.values()]
    if any("\r" in value or "\n" in value for value in values):
        return False
    return not any(name.lower() in _OWN_HEADERS for name in email.headers)


def _header(name: str, value: str) -> str:
    if len(name) + 2 + len(value) <= MAX_LINE and "=?" not in value:
        lowered = name.lower()
        if lowered in _VERBATIM and _PRINTABLE_WORDS.fullmatch(value):
            return f"{name}: {value}\r\n"
        if lowered == "to" and _DOT_ATOM_ADDRESS.fullmatch(value):
            return f"{name}: {value}\r\n"
    return _folded(name, value)


@lru_cache(maxsize=512)
def _folded(name: str, value: str) -> str:
    """The header as the ``email`` package writes it (parsed, then folded and encoded)."""
    return SMTP.fold_binary(name, SMTP.header_factory(name, value)).decode("ascii")


def _text_part(text: str, subtype: str, *, mime_version: bool) -> bytes:
    """One text part as ``set_content``/``add_alternative`` make it and the generator writes
    it (``add_alternative`` gives the part it adds a MIME-Version header; the first part,
    moved down from the top of the message, has none)."""
    cte, body = _encode_text(text)
    head = f'Content-Type: text/{subtype}; charset="utf-8"\r\nContent-Transfer-Encoding: {cte}\r\n'
    if mime_version:
        head += "MIME-Version: 1.0\r\n"
    lines = body.split("\n")
    if lines[-1] == "":
        lines.pop()
        encoded = "\r\n".join(lines) + "\r\n"
    else:
        encoded = "\r\n".join(lines)
    return (head + "\r\n").encode("ascii") + encoded.encode("ascii", "surrogateescape")


def _encode_text(text: str) -> tuple[str, str]:
    """``email.contentmanager``'s choice of transfer encoding for UTF-8 text under the SMTP
    policy (8bit allowed), and the encoded body with ``\\n`` line ends."""
    lines = text.encode("utf-8").splitlines()
    body = b"\n".join(lines) + b"\n"
    if max((len(line) for line in lines), default=0) <= MAX_LINE:
        try:
            return "7bit", body.decode("ascii")
        except UnicodeDecodeError:
            return "8bit", body.decode("ascii", "surrogateescape")
    sniff = b"\r\n".join(lines[:10]) + b"\r\n"
    sniff_qp = quoprimime.body_encode(sniff.decode("latin-1"), MAX_LINE)
    if len(sniff_qp) > len(binascii.b2a_base64(sniff)):
        return "base64", _base64_lines(b"\r\n".join(lines) + b"\r\n")
    if len(lines) <= 10:
        return "quoted-printable", sniff_qp
    return "quoted-printable", quoprimime.body_encode(body.decode("latin-1"), MAX_LINE)


def _base64_lines(data: bytes) -> str:
    chunk = MAX_LINE // 4 * 3  # whole groups of 4 characters per line, as the package counts
    return "".join(
        binascii.b2a_base64(data[i : i + chunk]).decode("ascii") for i in range(0, len(data), chunk)
    )


def _boundary(parts: bytes) -> str:
    """A boundary as the generator makes one: random, and found in no line of the parts."""
    token = random.randrange(sys.maxsize)  # noqa: S311 - a separator, not a secret
    boundary = "=" * 15 + f"{token:0{len(repr(sys.maxsize - 1))}d}" + "=="
    text = parts.decode("ascii", "surrogateescape")
    candidate, counter = boundary, 0
    while re.search("^--" + re.escape(candidate) + "(--)?$", text, re.MULTILINE):
        candidate, counter = f"{boundary}.{counter}", counter + 1
    return candidate
