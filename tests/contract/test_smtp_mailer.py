"""The SMTP adapter against a real aiosmtpd server on loopback that answers as scripted.

Pins how each SMTP reply becomes an outcome: accepted; 4xx retried with the shared retry policy;
5xx at RCPT -> bounced; 5xx at DATA -> failed (not a bounce); a connection lost after the body
-> unknown outcome, never retried; unreachable server and bad login -> typed errors.
"""

from __future__ import annotations

import asyncio
import shutil
import socket
import ssl
import subprocess
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP, AuthResult

from connectors.email import (
    SmtpAuthenticationFailed,
    SmtpDeferred,
    SmtpMailer,
    SmtpUnavailable,
)
from connectors.email.smtp import UNKNOWN_OUTCOME
from nps_engine.ports import SurveyEmail

NOW = datetime(2026, 3, 10, 10, 0, tzinfo=UTC)


class Script:
    """Replies the server gives, consumed in order per SMTP step; default is success."""

    def __init__(self) -> None:
        self.mail: list[str] = []
        self.rcpt: list[str] = []
        self.data: list[str] = []
        self.drop_after_body = 0
        self.received: list[bytes] = []
        self.logins: list[tuple[bytes, bytes]] = []
        self.connections = 0


class Handler:
    def __init__(self, script: Script) -> None:
        self.script = script

    async def handle_MAIL(
        self, server: Any, session: Any, envelope: Any, address: str, options: list[str]
    ) -> str:
        if self.script.mail:
            return self.script.mail.pop(0)
        envelope.mail_from = address
        return "250 OK"

    async def handle_RCPT(
        self, server: Any, session: Any, envelope: Any, address: str, options: list[str]
    ) -> str:
        if self.script.rcpt:
            return self.script.rcpt.pop(0)
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        if self.script.drop_after_body:
            self.script.drop_after_body -= 1
            self.script.received.append(envelope.original_content)
            server.transport.close()  # the message arrived, the reply never leaves
            await asyncio.sleep(0)
            return "250 never sent"
        if self.script.data:
            return self.script.data.pop(0)
        self.script.received.append(envelope.original_content)
        return "250 Queued"


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@pytest.fixture
def server() -> Iterator[tuple[Script, int]]:
    script = Script()

    def authenticate(
        server: Any, session: Any, envelope: Any, mechanism: str, data: Any
    ) -> AuthResult:
        script.logins.append((data.login, data.password))
        # handled=False: aiosmtpd then answers 535 itself (its default stays silent).
        return AuthResult(success=data.password == b"right", handled=False)

    class CountingSMTP(SMTP):
        def connection_made(self, transport: Any) -> None:
            script.connections += 1
            super().connection_made(transport)

    class ScriptedController(Controller):
        def factory(self) -> SMTP:
            return CountingSMTP(self.handler, **self.SMTP_kwargs)

    port = _free_port()
    controller = ScriptedController(
        Handler(script),
        hostname="127.0.0.1",
        port=port,
        authenticator=authenticate,
        auth_require_tls=False,
    )
    controller.start()
    script.connections = 0  # the controller connects once itself to check it is up
    yield script, port
    controller.stop()


def smtp_values(port: int, **values: Any) -> dict[str, Any]:
    """The plain values ``jobs.bootstrap.mailer`` hands the adapter."""
    return {
        "host": "127.0.0.1",
        "port": port,
        "security": "none",
        "sender": "Shop <shop@example.com>",
        "timeout": 5,
    } | values


def survey_email(invite_id: int = 1, to: str = "ann@example.com") -> SurveyEmail:
    return SurveyEmail(
        invite_id=invite_id,
        to=to,
        subject="How likely?",
        text="Line one\n.starts with a dot\n",
        html="<p>Hello</p>",
        headers={"From": "Shop <shop@example.com>"},
        message_id=f"<nps.s.{invite_id}@example.com>",
    )


def mailer(port: int, waits: list[float], **values: Any) -> SmtpMailer:
    return SmtpMailer(**smtp_values(port, **values), sleep=waits.append, clock=lambda: NOW)


def test_accepted_message_reuses_one_connection_for_the_batch(server: tuple[Script, int]) -> None:
    script, port = server
    waits: list[float] = []
    with mailer(port, waits) as smtp:
        results = [smtp.send(survey_email(i, f"c{i}@example.com")) for i in range(3)]
    assert [r.ok for r in results] == [True, True, True]
    assert script.connections == 1
    assert len(script.received) == 3
    assert b"\r\n.starts with a dot" in script.received[0]  # dot-stuffing undone by the server
    assert waits == []


def test_login_is_used_when_configured(server: tuple[Script, int]) -> None:
    script, port = server
    with mailer(port, [], username="shop", password="right") as smtp:
        assert smtp.send(survey_email()).ok
    assert script.logins == [(b"shop", b"right")]


def test_wrong_password_fails_fast_with_a_typed_error(server: tuple[Script, int]) -> None:
    _script, port = server
    waits: list[float] = []
    with (
        mailer(port, waits, username="shop", password="wrong") as smtp,
        pytest.raises(SmtpAuthenticationFailed) as raised,
    ):
        smtp.send(survey_email())
    assert "wrong" not in str(raised.value)
    assert waits == []


@pytest.mark.parametrize("step", ["mail", "rcpt", "data"])
def test_temporary_refusal_is_retried_with_the_shared_backoff(
    server: tuple[Script, int], step: str
) -> None:
    script, port = server
    getattr(script, step).extend(["451 4.3.0 Try later", "451 4.3.0 Try later"])
    waits: list[float] = []
    with mailer(port, waits) as smtp:
        assert smtp.send(survey_email()).ok
    assert len(script.received) == 1
    assert [round(w, 1) for w in waits] == pytest.approx([0.5, 1.0], abs=0.3)


def test_recipient_refused_for_good_is_a_bounce(server: tuple[Script, int]) -> None:
    script, port = server
    script.rcpt.append("550 5.1.1 No such user")
    with mailer(port, []) as smtp:
        result = smtp.send(survey_email())
        assert (result.ok, result.bounced) == (False, True)
        assert "550" in (result.error or "")
        # The connection is still good for the next message.
        assert smtp.send(survey_email(2, "b@example.com")).ok
    assert script.connections == 1


def test_message_refused_at_data_is_failed_not_bounced(server: tuple[Script, int]) -> None:
    script, port = server
    script.data.append("554 5.7.1 Message rejected as spam")
    with mailer(port, []) as smtp:
        result = smtp.send(survey_email())
    assert (result.ok, result.bounced) == (False, False)


def test_connection_lost_after_the_body_is_unknown_outcome_and_not_retried(
    server: tuple[Script, int],
) -> None:
    script, port = server
    script.drop_after_body = 1
    waits: list[float] = []
    with mailer(port, waits) as smtp:
        result = smtp.send(survey_email())
        assert (result.ok, result.error) == (False, UNKNOWN_OUTCOME)
        assert len(script.received) == 1
        assert waits == []
        assert smtp.send(survey_email(2)).ok  # a fresh connection for the next one
    assert script.connections == 2


def test_recipient_deferred_beyond_the_retries_is_a_deferral(server: tuple[Script, int]) -> None:
    script, port = server
    script.rcpt.extend(["450 4.2.1 Mailbox busy"] * 10)
    with mailer(port, []) as smtp, pytest.raises(SmtpDeferred):
        smtp.send(survey_email())
    assert script.received == []


def test_server_closing_with_421_is_retried_on_a_new_connection(server: tuple[Script, int]) -> None:
    script, port = server
    script.mail.append("421 4.3.2 Shutting down")
    with mailer(port, []) as smtp:
        assert smtp.send(survey_email()).ok
    assert script.connections == 2


@pytest.fixture
def server_without_auth() -> Iterator[int]:
    port = _free_port()
    controller = Controller(Handler(Script()), hostname="127.0.0.1", port=port)
    controller.start()
    yield port
    controller.stop()


def test_server_without_auth_while_a_login_is_configured_fails_fast(
    server_without_auth: int,
) -> None:
    waits: list[float] = []
    with (
        mailer(server_without_auth, waits, username="shop", password="right") as smtp,
        pytest.raises(SmtpAuthenticationFailed, match="does not offer AUTH"),
    ):
        smtp.send(survey_email())
    assert waits == []


def test_unreachable_server_is_unavailable_after_bounded_retries() -> None:
    waits: list[float] = []
    with mailer(_free_port(), waits) as smtp, pytest.raises(SmtpUnavailable) as raised:
        smtp.send(survey_email())
    assert "cannot connect" in str(raised.value)
    assert len(waits) == 3  # four attempts in all


@pytest.fixture(scope="module")
def certificate(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """A self-signed certificate for 127.0.0.1, made with the openssl command."""
    if shutil.which("openssl") is None:
        pytest.skip("needs the openssl command")
    folder = tmp_path_factory.mktemp("tls")
    cert, key = folder / "cert.pem", folder / "key.pem"
    subprocess.run(
        ["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1",
         "-keyout", str(key), "-out", str(cert), "-subj", "/CN=127.0.0.1",
         "-addext", "subjectAltName=IP:127.0.0.1"],
        check=True, capture_output=True,
    )  # fmt: skip
    return cert, key


@pytest.mark.parametrize("security", ["starttls", "ssl"])
def test_encrypted_connection_with_login(certificate: tuple[Path, Path], security: str) -> None:
    cert, key = certificate
    server_tls = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    server_tls.load_cert_chain(cert, key)
    script = Script()
    port = _free_port()
    options: dict[str, Any] = (
        {"tls_context": server_tls, "require_starttls": True}
        if security == "starttls"
        # aiosmtpd does not count implicit TLS as TLS for its AUTH rule.
        else {"ssl_context": server_tls, "auth_require_tls": False}
    )
    controller = Controller(
        Handler(script),
        hostname="127.0.0.1",
        port=port,
        authenticator=lambda *args: AuthResult(
            success=args[-1].password == b"right", handled=False
        ),
        **options,
    )
    controller.start()
    try:
        client_tls = ssl.create_default_context(cafile=str(cert))
        smtp = SmtpMailer(
            **smtp_values(port, security=security, username="shop", password="right"),
            sleep=lambda _s: None,
            tls_context=client_tls,
        )
        with smtp:
            assert smtp.send(survey_email()).ok
        assert len(script.received) == 1
        # An unknown certificate is refused: nothing is sent in the clear or to an impostor.
        strict = SmtpMailer(**smtp_values(port, security=security), sleep=lambda _s: None)
        with strict, pytest.raises(SmtpUnavailable):
            strict.send(survey_email())
        assert len(script.received) == 1
    finally:
        controller.stop()
