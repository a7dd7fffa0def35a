"""Composing the survey email: texts in the customer's language, the store's look, signed links.

The send job composes; the SMTP adapter (``connectors.email``) only carries the result.
Templates are Jinja2 files shipped in ``nps_engine/email_templates/``; a store overrides them by
putting files with the same names in ``survey.templates_dir/email/`` (HTML auto-escaped, text not).
The HTML is tables with inline styles: Outlook ignores most CSS, Gmail drops ``<style>`` in some
views, and phones need the eleven buttons to shrink with the screen (``table-layout: fixed``).
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from email.utils import parseaddr
from functools import lru_cache
from pathlib import Path

from jinja2 import ChoiceLoader, Environment, FileSystemLoader, StrictUndefined, select_autoescape

from nps_engine.config.settings import EmailSettings, Settings
from nps_engine.config.texts import load_catalog
from nps_engine.invite_tokens import Purpose, TokenSigner
from nps_engine.ports import SurveyEmail
from nps_engine.survey_texts import TextCatalog

SHIPPED_TEMPLATES = Path(__file__).parent / "email_templates"
# Red for detractor scores, grey for passives, green for promoters (the NPS convention).
DETRACTOR_RED, PASSIVE_GREY, PROMOTER_GREEN = "#d64545", "#8a8f98", "#2e9e5b"


@dataclass(frozen=True, slots=True)
class Letter:
    """What one survey email is about (built by the send job from an invite and its customer)."""

    invite_id: int
    email: str
    locale: str | None
    first_name: str | None = None
    order_name: str | None = None
    reminder: bool = False


@dataclass(frozen=True, slots=True)
class ScoreButton:
    score: int
    url: str
    colour: str
    label: str


@lru_cache(maxsize=64)
def template_environment(templates_dir: str | None, shipped: Path) -> Environment:
    """Jinja2 environment: the store's ``templates_dir/email`` first, then the shipped ones.

    One per folder and process: the environment keeps its compiled templates (and compiles a
    file again when it changes on disk), where a new one per send job compiled them every time,
    most of a worker's CPU for a small store's send."""
    loaders = [FileSystemLoader(Path(templates_dir) / "email")] if templates_dir else []
    loaders.append(FileSystemLoader(shipped))
    return Environment(
        loader=ChoiceLoader(loaders),
        autoescape=select_autoescape(enabled_extensions=("html", "html.j2")),
        undefined=StrictUndefined,
        keep_trailing_newline=True,
    )


def score_colour(score: int) -> str:
    return DETRACTOR_RED if score <= 6 else PASSIVE_GREY if score <= 8 else PROMOTER_GREEN


class SurveyEmailComposer:
    def __init__(self, settings: Settings, catalog: TextCatalog | None = None) -> None:
        if settings.web is None or settings.email is None:
            raise ValueError("survey emails need the 'email' and 'web' sections of the config")
        self.settings = settings
        self.email_settings: EmailSettings = settings.email
        self.catalog = catalog or load_catalog(settings)
        self.public_url = str(settings.web.public_url).rstrip("/")
        self.signer = TokenSigner(
            settings.web.secret_key.get_secret_value(),
            timedelta(days=settings.web.token_max_age_days),
        )
        self.templates = template_environment(settings.survey.templates_dir, SHIPPED_TEMPLATES)

    def compose(self, letter: Letter, now: datetime) -> SurveyEmail:
        texts = self.catalog.for_locale(letter.locale)
        survey_token = self.signer.issue(Purpose.SURVEY, letter.invite_id, now)
        unsubscribe_url = self.unsubscribe_url(letter.invite_id, now)
        buttons = [
            ScoreButton(
                score,
                f"{self.public_url}/s/{survey_token}/{score}",
                score_colour(score),
                texts("score_label", score=score),
            )
            for score in range(11)
        ]
        store = self.settings.store
        # Every text gets the customer's values, so {name} or {order} work in the subject or the
        # question as they do in the greeting (an override may put them anywhere).
        personal = {"name": letter.first_name or "", "order": letter.order_name or ""}
        subject = texts("reminder_subject" if letter.reminder else "subject", **personal)
        values = {
            "language": texts.language,
            "subject": subject,
            "store": store.name,
            "logo_url": str(store.logo_url) if store.logo_url else None,
            "brand_color": store.brand_color,
            "greeting": texts("greeting_named" if letter.first_name else "greeting", **personal),
            "intro": texts("intro" if letter.order_name else "intro_relationship", **personal),
            **{
                key: texts(key, **personal)
                for key in (
                    "question",
                    "scale_low",
                    "scale_high",
                    "signature",
                    "unsubscribe_text",
                    "unsubscribe_link",
                )
            },
            "unsubscribe_url": unsubscribe_url,
            "buttons": buttons,
        }
        return SurveyEmail(
            invite_id=letter.invite_id,
            to=letter.email,
            subject=subject,
            text=self.templates.get_template("survey_email.txt.j2").render(values),
            html=self.templates.get_template("survey_email.html.j2").render(values),
            headers=self._headers(unsubscribe_url, texts.language),
            message_id=self.message_id(letter.invite_id, reminder=letter.reminder),
        )

    def unsubscribe_url(self, invite_id: int, now: datetime) -> str:
        token = self.signer.issue(Purpose.UNSUBSCRIBE, invite_id, now)
        return f"{self.public_url}/u/{token}"

    def message_id(self, invite_id: int, *, reminder: bool = False) -> str:
        """Unique per email (RFC 5322 section 3.6.4): invite ids start again at 1 in a re-created
        database or another install, and providers drop a second mail with a Message-ID they have
        seen. A retried hand-over resends the same bytes, so it keeps its id."""
        domain = parseaddr(self.email_settings.from_)[1].rpartition("@")[2] or "nps-loop.invalid"
        suffix = ".reminder" if reminder else ""
        unique = secrets.token_hex(8)
        return f"<nps.{self.settings.store.id}.{invite_id}{suffix}.{unique}@{domain}>"

    def _headers(self, unsubscribe_url: str, language: str) -> dict[str, str]:
        mailto = self.email_settings.unsubscribe_mailto or parseaddr(self.email_settings.from_)[1]
        headers = {
            "From": self.email_settings.from_,
            # RFC 2369 + RFC 8058: mail clients show "Unsubscribe" and POST one click to the URL.
            "List-Unsubscribe": f"<{unsubscribe_url}>, <mailto:{mailto}?subject=unsubscribe>",
            "List-Unsubscribe-Post": "List-Unsubscribe=One-Click",
            "Content-Language": language,
        }
        if self.email_settings.reply_to:
            headers["Reply-To"] = self.email_settings.reply_to
        return headers
