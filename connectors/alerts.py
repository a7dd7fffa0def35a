"""The alert channels: a POST to a Slack incoming webhook (or any URL), and an email.

Both go through the shared pieces: ``connectors.http`` for the session and ``connectors.retry``
for transient faults (a refused connection, 429 with ``Retry-After``, 5xx). What is never
retried is a request whose outcome is unknown: a read timeout or a connection lost after the body
was sent means the receiver may have it, and a second alert is worse than a missing one.
"""

from __future__ import annotations

import hashlib
import time
from collections.abc import Callable

import requests

from connectors.email import SmtpMailer
from connectors.email.smtp import UNKNOWN_OUTCOME
from connectors.errors import PermanentError, RateLimited, RequestRejected, TransientError
from connectors.http import make_session
from connectors.retry import call_with_retries
from nps_engine.alert_messages import AlertMessage
from nps_engine.ports import SurveyEmail


class AlertOutcomeUnknown(PermanentError):
    """The message may or may not have arrived; it is not sent again."""


class WebhookChannel:
    """POST the alert as JSON: Slack's ``{"text": ...}`` or the answer itself (``json``)."""

    name = "webhook"

    def __init__(
        self,
        url: str,
        *,
        slack: bool = True,
        timeout: float = 10.0,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.url, self.slack, self.sleep = url, slack, sleep
        self.session = make_session(timeout)

    def deliver(self, message: AlertMessage) -> None:
        body = {"text": message.slack_text} if self.slack else dict(message.payload)
        headers = {"Idempotency-Key": message.key}
        call_with_retries(lambda: self._post(body, headers), sleep=self.sleep, max_total_wait=60.0)

    def _post(self, body: object, headers: dict[str, str]) -> None:
        try:
            response = self.session.post(self.url, json=body, headers=headers)
        except (requests.ConnectTimeout, requests.exceptions.InvalidURL) as error:
            raise TransientError(
                f"cannot reach the webhook: {type(error).__name__}", system="alert webhook"
            ) from None
        except requests.Timeout:
            raise AlertOutcomeUnknown(
                "no answer in time after the alert was sent; not re-sent", system="alert webhook"
            ) from None
        except requests.ConnectionError as error:
            if _before_sending(error):
                raise TransientError("cannot reach the webhook", system="alert webhook") from None
            raise AlertOutcomeUnknown(
                "connection lost while the alert was sent; not re-sent", system="alert webhook"
            ) from None
        _judge(response)


def _before_sending(error: requests.ConnectionError) -> bool:
    """A refused or unresolvable connection never carried the body."""
    text = str(error).lower()
    return any(
        sign in text
        for sign in ("connection refused", "failed to establish", "name or service", "nodename")
    )


def _judge(response: requests.Response) -> None:
    status = response.status_code
    if status < 300:
        return
    if status == 429:
        wait = response.headers.get("Retry-After", "5")
        raise RateLimited(
            "the webhook asks us to slow down",
            system="alert webhook",
            status=status,
            retry_after=float(wait) if wait.isdigit() else 5.0,
        )
    if status >= 500:
        raise TransientError("the webhook failed", system="alert webhook", status=status)
    raise RequestRejected("the webhook refused the alert", system="alert webhook", status=status)


class EmailChannel:
    """The alert as an email to one address (through the store's SMTP server). Each address is
    its own channel, so a failure for one never re-sends to another."""

    def __init__(self, mailer: SmtpMailer, recipient: str, sender: str, domain: str) -> None:
        self.mailer, self.recipient, self.sender, self.domain = mailer, recipient, sender, domain
        self.name = email_channel_name(recipient)

    def deliver(self, message: AlertMessage) -> None:
        email = SurveyEmail(
            invite_id=0,
            to=self.recipient,
            subject=message.subject,
            text=message.text,
            html=message.html,
            headers={"From": self.sender},
            message_id=f"<nps-alert-{message.key}-{self.name}@{self.domain}>",
        )
        result = self.mailer.send(email)
        if result.ok:
            return
        if result.error == UNKNOWN_OUTCOME:
            raise AlertOutcomeUnknown(UNKNOWN_OUTCOME, system="alert email")
        raise RequestRejected(result.error or "refused", system="alert email")


def email_channel_name(recipient: str) -> str:
    """``email-`` and 8 hex digits of the address: stored on each alert row, never the address."""
    return "email-" + hashlib.sha256(recipient.strip().lower().encode()).hexdigest()[:8]
