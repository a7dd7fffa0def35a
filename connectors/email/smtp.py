"""The SMTP adapter of :class:`~nps_engine.ports.SurveyMailer`.

One connection serves a whole batch (``with SmtpMailer(...) as mailer``); it is opened on the first
message and re-opened after a drop. Each message is handed over step by step (MAIL, RCPT, DATA)
so every reply is judged on its own (RFC 5321 section 4.2.1):

- 4xx replies and connections lost before the body is sent: transient, retried with the one retry
  policy (``connectors.retry``). When retries run out nothing was accepted: a recipient-level
  deferral raises :class:`SmtpDeferred` (this invite waits), anything else
  :class:`SmtpUnavailable` (the batch stops, every invite waits).
- 5xx to RCPT: the address is refused for good: ``SendResult(bounced=True)``, the job suppresses it.
- 5xx to DATA: this message is refused (content policy): ``SendResult(ok=False)``, not retried.
- A connection lost while the body was being sent or acknowledged: the server may have queued it.
  Reported as failed with an unknown outcome and never retried: a duplicate survey is worse than
  a missing one.
"""

from __future__ import annotations

import re
import smtplib
import ssl
import time
from collections.abc import Callable
from dataclasses import replace
from datetime import UTC, datetime
from email.utils import parseaddr
from functools import lru_cache
from types import TracebackType
from typing import Literal

from connectors.email.addresses import UndeliverableAddress, smtp_address
from connectors.email.compose import wire_bytes
from connectors.email.errors import (
    SYSTEM,
    SmtpAuthenticationFailed,
    SmtpDeferred,
    SmtpSenderRefused,
    SmtpTransient,
    SmtpUnavailable,
)
from connectors.retry import policy
from nps_engine.ports import SendResult, SurveyEmail

UNKNOWN_OUTCOME = "unknown outcome: connection lost while the message was sent; not re-sent"


class _Refused(Exception):
    """A permanent (5xx) answer about this one message; becomes a SendResult."""

    def __init__(self, step: str, code: int, reply: str) -> None:
        super().__init__(f"{step} refused: {code} {reply}")
        self.step = step


class _RecipientDeferred(SmtpTransient):
    pass


class _Lost(Exception):
    pass


class _NotOffered(Exception):
    """The message needs an SMTP extension this server does not offer."""


def _dot_stuffed(message: bytes) -> bytes:
    """RFC 5321 section 4.5.2: a line starting with "." gets another; end on CRLF."""
    stuffed = re.sub(rb"(?m)^\.", b"..", message.replace(b"\r\n", b"\n").replace(b"\n", b"\r\n"))
    return stuffed if stuffed.endswith(b"\r\n") else stuffed + b"\r\n"


Security = Literal["starttls", "ssl", "none"]


@lru_cache(maxsize=1)
def system_tls_context() -> ssl.SSLContext:
    """The system's CAs, loaded once per process: loading them costs about 0.1 s of CPU, which a
    worker would otherwise pay for every send job. A context is safe to share between threads."""
    return ssl.create_default_context()


class SmtpMailer:
    """One SMTP server, given as plain values (``jobs.bootstrap.mailer`` maps ``email:`` to them).

    ``sender`` is the From address (a display name is allowed: ``Shop <hello@shop.example>``);
    the envelope sender is its address part. No login unless both username and password are set.
    """

    def __init__(
        self,
        host: str,
        port: int,
        *,
        sender: str,
        security: Security = "starttls",
        username: str | None = None,
        password: str | None = None,
        timeout: float = 30.0,
        sleep: Callable[[float], None] = time.sleep,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
        max_attempts: int = 4,
        tls_context: ssl.SSLContext | None = None,
    ) -> None:
        self.host = host
        self.port = port
        self.security: Security = security
        self.username = username
        self._password = password
        self.timeout = timeout
        # Certificates are verified against the system's CAs (loaded on the first TLS
        # connection: a plain-SMTP relay never needs them); tests pass their own authority.
        self.tls_context = tls_context
        self.sleep = sleep
        self.clock = clock
        self.max_attempts = max_attempts
        self.sender = parseaddr(sender)[1]
        self.connections_opened = 0
        self._connection: smtplib.SMTP | None = None

    def __enter__(self) -> SmtpMailer:
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.close()

    def send(self, email: SurveyEmail) -> SendResult:
        try:
            recipient = smtp_address(email.to)
        except UndeliverableAddress as error:
            return SendResult(ok=False, error=f"not sent: {error}")
        email = replace(email, to=recipient.address)
        message = wire_bytes(email, self.clock(), utf8=recipient.needs_smtputf8)
        retrying = policy(max_attempts=self.max_attempts, max_total_wait=60.0, sleep=self.sleep)
        try:
            retrying(self._hand_over, email.to, message, recipient.needs_smtputf8)
        except _NotOffered as missing:
            return SendResult(ok=False, error=str(missing))
        except _Refused as refusal:
            return SendResult(ok=False, bounced=refusal.step == "RCPT TO", error=str(refusal))
        except _Lost:
            return SendResult(ok=False, error=UNKNOWN_OUTCOME)
        except _RecipientDeferred as error:
            raise SmtpDeferred(str(error).removeprefix(f"{SYSTEM}: "), system=SYSTEM) from error
        except SmtpTransient as error:
            self.close()
            raise SmtpUnavailable(str(error).removeprefix(f"{SYSTEM}: "), system=SYSTEM) from error
        return SendResult(ok=True)

    def verify(self) -> None:
        """Connect, greet, start TLS and log in as a send would (``nps check --online``)."""
        self._connected().noop()

    def close(self) -> None:
        if self._connection is not None:
            try:
                self._connection.quit()
            except (smtplib.SMTPException, OSError):
                self._connection.close()
            self._connection = None

    def _hand_over(self, recipient: str, message: bytes, utf8: bool = False) -> None:
        connection = self._connected()
        options: list[str] = []
        if utf8:
            if not connection.has_extn("smtputf8"):
                raise _NotOffered(
                    "not sent: the address has non-ASCII characters before the @ and the "
                    "mail server does not offer SMTPUTF8"
                )
            options = (
                ["SMTPUTF8", "BODY=8BITMIME"] if connection.has_extn("8bitmime") else ["SMTPUTF8"]
            )
        try:
            self._judge("MAIL FROM", *connection.mail(self.sender, options))
            self._judge("RCPT TO", *connection.rcpt(recipient))
            code, reply = connection.docmd("DATA")
            self._judge("DATA", code, reply)
        except (smtplib.SMTPServerDisconnected, OSError) as error:
            self._drop()
            raise SmtpTransient(f"connection lost: {error}", system=SYSTEM) from error
        try:
            # After the body starts, a lost connection may hide an accepted message.
            connection.send(_dot_stuffed(message) + b".\r\n")
            code, reply = connection.getreply()
        except (smtplib.SMTPServerDisconnected, OSError) as error:
            self._drop()
            raise _Lost from error
        self._judge("DATA", code, reply)

    def _judge(self, step: str, code: int, reply: bytes) -> None:
        if 200 <= code < 400:
            return
        text = reply.decode(errors="replace")
        self._reset(code)
        if 400 <= code < 500:
            error = _RecipientDeferred if step == "RCPT TO" else SmtpTransient
            raise error(f"{step} refused for now: {code} {text}", system=SYSTEM)
        if step == "MAIL FROM":
            raise SmtpSenderRefused(f"sender {self.sender} refused: {code} {text}", system=SYSTEM)
        raise _Refused(step, code, text)

    def _reset(self, code: int) -> None:
        """Clear the transaction so the next message starts clean; 421 means closing."""
        if code == 421 or self._connection is None:
            self._drop()
            return
        try:
            self._connection.rset()
        except (smtplib.SMTPException, OSError):
            self._drop()

    def _connected(self) -> smtplib.SMTP:
        if self._connection is None:
            try:
                self._connection = self._open()
            except smtplib.SMTPAuthenticationError as error:
                raise SmtpAuthenticationFailed(
                    f"login refused for user {self.username!r}: {error.smtp_code}",
                    system=SYSTEM,
                ) from None
            except smtplib.SMTPNotSupportedError:
                # Servers offer AUTH only after STARTTLS, usually: a config problem, not a fault.
                raise SmtpAuthenticationFailed(
                    f"the server does not offer AUTH with security '{self.security}' "
                    "(try email.security: starttls)",
                    system=SYSTEM,
                ) from None
            except (smtplib.SMTPException, OSError) as error:
                where = f"{self.host}:{self.port}"
                raise SmtpTransient(f"cannot connect to {where}: {error}", system=SYSTEM) from error
            self.connections_opened += 1
        return self._connection

    def _open(self) -> smtplib.SMTP:
        host, port, timeout = self.host, self.port, self.timeout
        if self.security == "ssl":
            context = self.tls_context or system_tls_context()
            connection: smtplib.SMTP = smtplib.SMTP_SSL(
                host, port, timeout=timeout, context=context
            )
        else:
            connection = smtplib.SMTP(host, port, timeout=timeout)
        try:
            connection.ehlo()
            if self.security == "starttls":
                connection.starttls(context=self.tls_context or system_tls_context())
                connection.ehlo()
            if self.username and self._password is not None:
                connection.login(self.username, self._password)
        except BaseException:
            connection.close()
            raise
        return connection

    def _drop(self) -> None:
        if self._connection is not None:
            self._connection.close()
            self._connection = None
