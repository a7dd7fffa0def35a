"""An SMTP sink on 127.0.0.1 (aiosmtpd) that keeps every message for tests and the demo.

    with SmtpSink() as sink:                  # port 0: a free one; sink.port once started
        ...send mail to sink.host:sink.port...
        [message] = sink.wait_for(1)          # ReceivedMessage: mail_from, rcpt_tos, message, raw
        message.message["Subject"], message.message.get_body(("html",))
        sink.reject("bounce@example.com")     # RCPT answered 550 5.1.1 (a hard bounce)
        sink.fail_next(2)                     # the next 2 RCPTs answered 451 4.3.0 (transient)
        sink.clear()

Bounces the way real servers give them: at RCPT time, so ``smtplib.sendmail`` raises
``SMTPRecipientsRefused`` (every recipient refused) with the code per address. Faults from the
shared :class:`sandbox.traffic.Traffic` apply per message (route ``SMTP DATA``): a RESPOND fault
answers DATA with its code (HTTP gateway statuses become ``451``), a DELAY slows the answer.
Any AUTH succeeds (without TLS): the sink checks nothing, it only records. With ``mail_dir``,
each message is also written there as ``0001-to-ann@example.com.eml``, which any mail program
opens (``nps sandbox`` prints the folder, so a walk-through can click the survey links).
"""

from __future__ import annotations

import asyncio
import email
import email.policy
import re
import socket
import threading
import time
from collections.abc import Awaitable
from dataclasses import dataclass
from datetime import UTC, datetime
from email.message import EmailMessage
from functools import cached_property
from pathlib import Path
from types import TracebackType
from typing import Any

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP, AuthResult, Session

from sandbox.traffic import FaultKind, Traffic

DATA_ROUTE = "SMTP DATA"
RCPT_ROUTE = "SMTP RCPT"  # only refusals are logged
_HTTP_GATEWAY_STATUSES = {500, 502, 503, 504}


@dataclass(frozen=True)
class ReceivedMessage:
    mail_from: str
    rcpt_tos: tuple[str, ...]
    raw: bytes
    received_at: datetime

    @cached_property
    def message(self) -> EmailMessage:
        """The message parsed, on first use: parsing costs milliseconds of CPU, and the demo's
        simulated customers read only the third of the emails they answer."""
        parsed = email.message_from_bytes(self.raw, policy=email.policy.default)
        assert isinstance(parsed, EmailMessage)
        return parsed


class _Handler:
    def __init__(self, sink: SmtpSink) -> None:
        self.sink = sink

    async def handle_RCPT(  # noqa: N802 (aiosmtpd's hook name)
        self, server: Any, session: Any, envelope: Any, address: str, rcpt_options: list[str]
    ) -> str:
        refusal = self.sink._refusal(address)
        if refusal is not None:
            self.sink.traffic.record(RCPT_ROUTE, int(refusal[:3]))
            return refusal
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:  # noqa: N802
        fault = self.sink.traffic.begin(DATA_ROUTE)
        raw = bytes(envelope.original_content or envelope.content or b"")
        if fault is not None and fault.kind is FaultKind.DELAY:
            await asyncio.sleep(fault.delay_seconds)
        if fault is not None and fault.kind is FaultKind.RESPOND:
            code = 451 if fault.status in _HTTP_GATEWAY_STATUSES else fault.status
            self.sink.traffic.record(DATA_ROUTE, code, bytes_in=len(raw))
            return f"{code} {code // 100}.3.0 Delivery failed (injected fault)"
        self.sink._store(envelope.mail_from, list(envelope.rcpt_tos), raw)
        self.sink.traffic.record(DATA_ROUTE, 250, bytes_in=len(raw))
        return "250 Message accepted for delivery"


def _accept_any_login(*args: Any) -> AuthResult:
    return AuthResult(success=True)


class _Session(Session):
    """aiosmtpd 1.4 warns on every successful AUTH through its own deprecated ``login_data``."""

    @property
    def login_data(self) -> Any:
        return self._login_data

    @login_data.setter
    def login_data(self, value: Any) -> None:
        self._login_data = value


class _SMTP(SMTP):
    def _create_session(self) -> Session:
        return _Session(self.loop)


class _Controller(Controller):
    """Serves on a socket we bound ourselves: port 0 then means a free port, without the race
    of probing for one and binding it later."""

    listener: socket.socket

    def factory(self) -> SMTP:
        return _SMTP(self.handler, **self.SMTP_kwargs)

    def _create_server(self) -> Awaitable[asyncio.AbstractServer]:
        return self.loop.create_server(self._factory_invoker, sock=self.listener)


class SmtpSink:
    def __init__(
        self, port: int = 0, *, traffic: Traffic | None = None, mail_dir: Path | None = None
    ) -> None:
        self.host = "127.0.0.1"
        self.port = port  # the real port once started
        self.mail_dir = mail_dir
        self.traffic = traffic or Traffic()
        self._messages: list[ReceivedMessage] = []
        self._rejected: dict[str, str] = {}
        self._transient_left = 0
        self._transient_reply = ""
        self._changed = threading.Condition()
        self._controller: _Controller | None = None

    def start(self) -> SmtpSink:
        # Built here, not in __init__: the controller owns an event loop from its construction.
        listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        listener.bind((self.host, self.port))
        self.port = int(listener.getsockname()[1])
        self._controller = _Controller(
            _Handler(self),
            hostname=self.host,
            port=self.port,
            enable_SMTPUTF8=True,
            authenticator=_accept_any_login,
            auth_require_tls=False,
        )
        self._controller.listener = listener
        self._controller.start()
        return self

    def stop(self) -> None:
        """Stop serving (does nothing when not started)."""
        if self._controller is not None:
            self._controller.stop()
            self._controller.loop.close()
            self._controller = None

    def __enter__(self) -> SmtpSink:
        return self.start()

    def __exit__(
        self,
        kind: type[BaseException] | None,
        value: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    @property
    def messages(self) -> list[ReceivedMessage]:
        with self._changed:
            return list(self._messages)

    def wait_for(self, count: int, timeout: float = 5.0) -> list[ReceivedMessage]:
        """All messages once at least ``count`` arrived; TimeoutError naming how many did."""
        deadline = time.monotonic() + timeout
        with self._changed:
            while len(self._messages) < count:
                left = deadline - time.monotonic()
                if left <= 0:
                    raise TimeoutError(
                        f"the SMTP sink got {len(self._messages)} message(s), expected {count}"
                    )
                self._changed.wait(left)
            return list(self._messages)

    def to(self, address: str) -> list[ReceivedMessage]:
        """Messages whose envelope recipients include ``address`` (case-insensitive)."""
        wanted = address.strip().lower()
        return [m for m in self.messages if wanted in (r.lower() for r in m.rcpt_tos)]

    def reject(self, address: str, reply: str = "550 5.1.1 Mailbox unavailable") -> None:
        """Refuse this recipient at RCPT from now on (a hard bounce)."""
        with self._changed:
            self._rejected[address.strip().lower()] = reply

    def fail_next(self, count: int = 1, reply: str = "451 4.3.0 Try again later") -> None:
        """Refuse the next ``count`` recipients with a transient error."""
        with self._changed:
            self._transient_left, self._transient_reply = count, reply

    def clear(self) -> None:
        with self._changed:
            self._messages.clear()

    def _refusal(self, address: str) -> str | None:
        with self._changed:
            if self._transient_left > 0:
                self._transient_left -= 1
                return self._transient_reply
            return self._rejected.get(address.strip().lower())

    def _store(self, mail_from: str, rcpt_tos: list[str], raw: bytes) -> None:
        received = ReceivedMessage(mail_from, tuple(rcpt_tos), raw, datetime.now(UTC))
        with self._changed:
            self._messages.append(received)
            if self.mail_dir is not None:
                self.mail_dir.mkdir(parents=True, exist_ok=True)
                recipient = re.sub(r"[^\w@.+-]", "_", rcpt_tos[0] if rcpt_tos else "nobody")
                name = f"{len(self._messages):04d}-to-{recipient}.eml"
                (self.mail_dir / name).write_bytes(raw)
            self._changed.notify_all()
