"""What an alert says, for each channel. Pure: answers in, message texts out.

Comments are customer-written, so each channel gets them escaped its own way: Slack's three
control characters (``&``, ``<``, ``>``; https://api.slack.com/reference/surfaces/formatting
#escaping), which also stops a comment from pinging ``<!channel>``; HTML escaping for the email's
HTML part; JSON for the generic webhook.
"""

from __future__ import annotations

import html
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime


@dataclass(frozen=True, slots=True)
class AlertedAnswer:
    response_id: int
    score: int
    comment: str | None
    responded_at: datetime
    email: str | None
    customer_name: str | None
    order_name: str | None


@dataclass(frozen=True, slots=True)
class AlertMessage:
    key: str  # unique per alert: the webhook's Idempotency-Key and the email's Message-ID
    subject: str
    text: str
    html: str
    slack_text: str
    payload: Mapping[str, object] = field(default_factory=dict)


def category_of(score: int) -> str:
    return "detractor" if score <= 6 else "passive" if score <= 8 else "promoter"


def slack_escape(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def _who(answer: AlertedAnswer) -> str:
    parts = [p for p in (answer.customer_name, answer.email) if p]
    return " · ".join(parts) or "an unknown customer"


def answer_alert(key: str, store_name: str, answer: AlertedAnswer, url: str) -> AlertMessage:
    category = category_of(answer.score)
    comment = (answer.comment or "").strip()
    order = answer.order_name or "no order"
    headline = f"{category.capitalize()}: {answer.score}/10 from {_who(answer)} ({order})"
    text = f"{headline}\n\n{comment or '(no comment)'}\n\nOpen the answer: {url}\n"
    quoted = (
        "\n".join(f"> {line}" for line in slack_escape(comment).splitlines()) or "_(no comment)_"
    )
    slack = (
        f"*{slack_escape(category.capitalize())}: {answer.score}/10* from "
        f"{slack_escape(_who(answer))} ({slack_escape(order)})\n{quoted}\n"
        f"<{url}|Open the answer>"
    )
    page = (
        f"<p><strong>{html.escape(headline)}</strong></p>"
        f"<blockquote>{html.escape(comment or '(no comment)')}</blockquote>"
        f'<p><a href="{html.escape(url)}">Open the answer</a></p>'
    )
    payload = {
        "event": "nps.response",
        "response_id": answer.response_id,
        "score": answer.score,
        "category": category,
        "comment": answer.comment,
        "responded_at": answer.responded_at.isoformat(timespec="seconds"),
        "customer": {"name": answer.customer_name, "email": answer.email},
        "order": answer.order_name,
        "url": url,
    }
    subject = f"[{store_name}] NPS {category}: {answer.score}/10 from {_who(answer)}"
    return AlertMessage(key, subject, text, page, slack, payload)


def digest_alert(
    key: str, store_name: str, day: str, answers: Sequence[tuple[AlertedAnswer, str]]
) -> AlertMessage:
    """One message for a day's answers (each with its page's URL), oldest first."""
    lines, slack, items = [], [], []
    for answer, url in answers:
        comment = " ".join((answer.comment or "").split()) or "(no comment)"
        lines.append(f"- {answer.score}/10 {_who(answer)}: {comment}\n  {url}")
        slack.append(
            f"• *{answer.score}/10* {slack_escape(_who(answer))}: "
            f"{slack_escape(comment)} <{url}|open>"
        )
        items.append(
            f"<li><strong>{answer.score}/10</strong> {html.escape(_who(answer))}: "
            f'{html.escape(comment)} <a href="{html.escape(url)}">open</a></li>'
        )
    title = f"NPS digest for {day}: {len(answers)} answer{'s' if len(answers) != 1 else ''}"
    payload = {
        "event": "nps.digest",
        "day": day,
        "responses": [
            {"response_id": a.response_id, "score": a.score, "comment": a.comment, "url": url}
            for a, url in answers
        ],
    }
    return AlertMessage(
        key,
        f"[{store_name}] {title}",
        title + "\n\n" + "\n".join(lines) + "\n",
        f"<p><strong>{html.escape(title)}</strong></p><ul>{''.join(items)}</ul>",
        f"*{slack_escape(title)}*\n" + "\n".join(slack),
        payload,
    )
