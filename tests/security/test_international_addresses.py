"""Item 9: non-ASCII recipients. IDNA domains always; SMTPUTF8 when the server offers it;
otherwise that invite fails with a reason, nothing is left 'sending', the batch goes on."""

from __future__ import annotations

import socket
from collections.abc import Iterator
from typing import Any

import pytest
from aiosmtpd.controller import Controller
from sqlalchemy import select
from survey_support import NOW, seed_customer, survey_settings

from jobs.bootstrap import mailer
from jobs.send_surveys import send_surveys
from nps_engine.store.database import Database
from nps_engine.store.models import Invite
from sandbox.smtp import SmtpSink

UNICODE_LOCAL = "jöhn@exämple.com"
UNICODE_DOMAIN = "john@exämple.com"
PLAIN = "ann@example.com"


class Recorder:
    def __init__(self) -> None:
        self.rcpt: list[str] = []

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        self.rcpt.extend(envelope.rcpt_tos)
        return "250 Queued"


@pytest.fixture
def ascii_only_server() -> Iterator[tuple[int, Recorder]]:
    """An SMTP server that does not offer SMTPUTF8 (most relays still do not)."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    recorder = Recorder()
    controller = Controller(recorder, hostname="127.0.0.1", port=port, enable_SMTPUTF8=False)
    controller.start()
    try:
        yield port, recorder
    finally:
        controller.stop()


def seed(database: Database, store: str) -> None:
    for number, email in enumerate((UNICODE_LOCAL, UNICODE_DOMAIN, PLAIN), start=1):
        seed_customer(database, store, number, email)


def invites(database: Database, store: str) -> dict[str, tuple[str, str | None]]:
    with database.session() as session:
        rows = session.scalars(select(Invite).where(Invite.store == store)).all()
        return {row.email: (row.state, row.error) for row in rows}


def test_without_smtputf8_only_the_unicode_local_part_fails_and_the_rest_is_sent(
    sqlite_database: Database, store_id: str, ascii_only_server: tuple[int, Recorder]
) -> None:
    port, recorder = ascii_only_server
    seed(sqlite_database, store_id)
    settings = survey_settings(store_id, port)
    with mailer(settings) as smtp:
        summary = send_surveys(sqlite_database, settings, smtp, NOW)
    assert (summary.counts["sent"], summary.counts["failed"]) == (2, 1)
    states = invites(sqlite_database, store_id)
    state, error = states[UNICODE_LOCAL]
    assert state == "failed"
    assert error is not None
    assert "SMTPUTF8" in error
    assert states[UNICODE_DOMAIN][0] == "sent"
    assert "john@xn--exmple-cua.com" in recorder.rcpt  # the IDNA form of the domain


def test_with_smtputf8_the_unicode_address_is_delivered(
    sqlite_database: Database, store_id: str
) -> None:
    seed(sqlite_database, store_id)
    with SmtpSink() as sink:
        settings = survey_settings(store_id, sink.port)
        with mailer(settings) as smtp:
            summary = send_surveys(sqlite_database, settings, smtp, NOW)
        recipients = {r for m in sink.messages for r in m.rcpt_tos}
    assert summary.counts["sent"] == 3
    assert "jöhn@xn--exmple-cua.com" in recipients
