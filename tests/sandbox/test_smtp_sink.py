"""The SMTP sink receives what smtplib sends, bounces chosen recipients, and fails on demand."""

from __future__ import annotations

import smtplib
from email.message import EmailMessage

import pytest

from sandbox.smtp import DATA_ROUTE, SmtpSink
from sandbox.traffic import Fault


def survey(to: str = "Ana Durand <Ana.Durand@example.com>") -> EmailMessage:
    message = EmailMessage()
    message["From"] = "Boutique <shop@example.com>"
    message["To"] = to
    message["Subject"] = "Votre avis compte : recommanderiez-vous la boutique ?"
    message["List-Unsubscribe"] = "<https://shop.example/u/abc>"
    message.set_content("Notez-nous de 0 à 10 : https://shop.example/s/abc")
    message.add_alternative("<p>Notez-nous de <b>0 à 10</b></p>", subtype="html")
    return message


def send(sink: SmtpSink, message: EmailMessage, *, login: bool = False) -> None:
    with smtplib.SMTP(sink.host, sink.port, timeout=5) as client:
        if login:
            client.login("mailer", "secret")
        client.send_message(message)


def test_a_multipart_message_arrives_parsed_with_its_envelope(smtp_sink: SmtpSink) -> None:
    send(smtp_sink, survey())
    [received] = smtp_sink.wait_for(1)
    assert received.mail_from == "shop@example.com"
    assert received.rcpt_tos == ("Ana.Durand@example.com",)
    assert received.message["Subject"].startswith("Votre avis compte")
    assert received.message.is_multipart()
    html = received.message.get_body(("html",))
    text = received.message.get_body(("plain",))
    assert html is not None
    assert text is not None
    assert "<b>0 à 10</b>" in html.get_content()
    assert "0 à 10" in text.get_content()
    assert received.message["List-Unsubscribe"] == "<https://shop.example/u/abc>"


def test_messages_can_be_found_by_recipient_whatever_the_case(smtp_sink: SmtpSink) -> None:
    send(smtp_sink, survey())
    send(smtp_sink, survey("bob@example.com"))
    smtp_sink.wait_for(2)
    assert len(smtp_sink.to("ana.durand@EXAMPLE.com")) == 1


def test_login_is_accepted_without_tls(smtp_sink: SmtpSink) -> None:
    send(smtp_sink, survey(), login=True)
    assert len(smtp_sink.wait_for(1)) == 1


def test_a_rejected_recipient_bounces_with_550_and_nothing_is_stored(smtp_sink: SmtpSink) -> None:
    smtp_sink.reject("ana.durand@example.com")
    with pytest.raises(smtplib.SMTPRecipientsRefused) as refused:
        send(smtp_sink, survey())
    assert refused.value.recipients["Ana.Durand@example.com"][0] == 550
    assert smtp_sink.messages == []
    assert smtp_sink.traffic.snapshot().calls_by_status == {550: 1}


def test_transient_failures_last_as_many_recipients_as_asked(smtp_sink: SmtpSink) -> None:
    smtp_sink.fail_next(1)
    with pytest.raises(smtplib.SMTPRecipientsRefused) as refused:
        send(smtp_sink, survey())
    assert refused.value.recipients["Ana.Durand@example.com"][0] == 451
    send(smtp_sink, survey())
    assert len(smtp_sink.wait_for(1)) == 1


def test_a_scripted_fault_fails_the_data_phase_transiently(smtp_sink: SmtpSink) -> None:
    smtp_sink.traffic.script(DATA_ROUTE, 1, Fault.gateway_error(503))
    with pytest.raises(smtplib.SMTPDataError) as failed:
        send(smtp_sink, survey())
    assert failed.value.smtp_code == 451
    send(smtp_sink, survey())
    snapshot = smtp_sink.traffic.snapshot()
    assert snapshot.calls_to(DATA_ROUTE) == 2
    assert snapshot.calls_by_status == {451: 1, 250: 1}


def test_waiting_for_more_than_arrived_says_how_many_did(smtp_sink: SmtpSink) -> None:
    send(smtp_sink, survey())
    with pytest.raises(TimeoutError, match="got 1 message"):
        smtp_sink.wait_for(2, timeout=0.2)


def test_clear_forgets_received_messages(smtp_sink: SmtpSink) -> None:
    send(smtp_sink, survey())
    smtp_sink.wait_for(1)
    smtp_sink.clear()
    assert smtp_sink.messages == []
