"""Promoter rewards: one single-use discount code per promoter answer, never two, even across
crashes; then, when asked for, a thank-you email carrying it.

The same pattern as detractor follow-ups (:mod:`jobs.followups`): the reward row is claimed in
state ``creating`` with its code (derived from the response, :func:`nps_engine.rewards.
reward_code`) and committed before Shopify is asked; a row left ``creating`` (crash, timeout, 5xx
after the mutation) is reconciled by looking the code up and only created when Shopify has no
such code. The thank-you page asks for its answer's code at once (through the adapter the
bootstrap gives the web app); the push job catches up on everything else.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from email.utils import parseaddr
from html import escape

from connectors.errors import AuthenticationError, PermanentError, TransientError
from nps_engine.config import Settings
from nps_engine.config.texts import load_catalog
from nps_engine.ports import DiscountDesk, SurveyEmail, SurveyMailer
from nps_engine.rewards import ends_at, minimum_text, offer_text, promoter_code, reward_code
from nps_engine.store import rewards as reward_store
from nps_engine.store.database import Database
from nps_engine.store.rewards import CREATED, FAILED
from nps_engine.survey_texts import TextCatalog

log = logging.getLogger(__name__)


@dataclass
class RewardSummary:
    created: int = 0
    recovered: int = 0  # found already created after an interrupted run
    failed: int = 0
    emailed: int = 0
    errors: list[str] = field(default_factory=list)
    stopped: str | None = None

    def counts(self) -> dict[str, int]:
        return {
            "rewards_created": self.created,
            "rewards_recovered": self.recovered,
            "rewards_failed": self.failed,
            "rewards_emailed": self.emailed,
        }


def issue_rewards(
    database: Database,
    settings: Settings,
    desk: DiscountDesk,
    now: datetime,
    mailer: SurveyMailer | None = None,
) -> RewardSummary:
    """Reconcile interrupted codes, create one for each due promoter answer, send the emails."""
    run = _RewardRun(database, settings, desk)
    discount = settings.rewards.promoter_discount
    if not discount.enabled:
        return run.summary
    try:
        for response_id, code in reward_store.stuck(database, run.store):
            run.reconcile(response_id, code)
        since = now - timedelta(days=discount.max_age_days)
        for facts in reward_store.due_promoters(database, run.store, since):
            run.claim_and_create(facts, now)
    except TransientError as error:
        # Rows left ``creating`` are reconciled by the next run; nothing is created twice.
        run.summary.stopped = str(error)
    if mailer is not None and discount.thank_you_email:
        run.send_letters(mailer, now)
    return run.summary


def reward_response(
    database: Database, settings: Settings, desk: DiscountDesk, response_id: int, now: datetime
) -> reward_store.ShownReward | None:
    """The code of one promoter answer, created now if it has none (the thank-you page)."""
    if not settings.rewards.promoter_discount.enabled:
        return None
    run = _RewardRun(database, settings, desk)
    made = reward_store.reward_for(database, run.store, response_id)
    if made is not None:  # the answer's earlier POST (score on load, then the comment)
        return made
    facts = reward_store.promoter_facts(database, run.store, response_id)
    if facts is not None:
        run.claim_and_create(facts, now)
    return reward_store.reward_for(database, run.store, response_id)


@dataclass
class _RewardRun:
    database: Database
    settings: Settings
    desk: DiscountDesk
    summary: RewardSummary = field(default_factory=RewardSummary)

    @property
    def store(self) -> str:
        return self.settings.store.id

    def code_for(self, response_id: int) -> str:
        web = self.settings.web
        key = web.secret_key.get_secret_value() if web is not None else self.store
        prefix = self.settings.rewards.promoter_discount.code_prefix
        return reward_code(key, self.store, response_id, prefix)

    def claim_and_create(self, facts: reward_store.RewardFacts, now: datetime) -> None:
        discount = self.settings.rewards.promoter_discount
        code = self.code_for(facts.response_id)
        shown = (
            offer_text(discount, facts.currency),
            minimum_text(discount, facts.currency),
            ends_at(discount, facts.responded_at),
        )
        if not reward_store.claim(self.database, self.store, facts, code, shown, now):
            return
        self.create(facts, code)

    def reconcile(self, response_id: int, code: str) -> None:
        """A row left ``creating``: adopt the code if Shopify has it, else create it now."""
        found = self.desk.find_code(code)
        if found is not None:
            reward_store.finish(self.database, self.store, response_id, CREATED, found)
            self.summary.recovered += 1
            return
        facts = reward_store.promoter_facts(self.database, self.store, response_id)
        if facts is None:  # the answer changed or went away since the claim
            self.fail(response_id, "no longer a promoter answer")
            return
        self.create(facts, code)

    def create(self, facts: reward_store.RewardFacts, code: str) -> None:
        discount = self.settings.rewards.promoter_discount
        reward = promoter_code(discount, code, facts.customer_id, facts.responded_at)
        try:
            discount_id = self.desk.create_code(reward)
        except AuthenticationError:
            # A missing write_discounts scope or a dead app: stop and say so; the claimed row
            # is reconciled once access is fixed.
            raise
        except PermanentError as error:
            self.fail(facts.response_id, str(error))
            return
        reward_store.finish(self.database, self.store, facts.response_id, CREATED, discount_id)
        self.summary.created += 1

    def fail(self, response_id: int, error: str) -> None:
        reward_store.finish(self.database, self.store, response_id, FAILED, None, error)
        self.summary.failed += 1
        self.summary.errors.append(f"response {response_id}: {error}")

    def send_letters(self, mailer: SurveyMailer, now: datetime) -> None:
        if self.settings.email is None:
            return
        catalog = load_catalog(self.settings)
        for letter in reward_store.letters_due(self.database, self.store):
            if not reward_store.mark_email(
                self.database, self.store, letter.response_id, "sending", now
            ):
                continue
            result = mailer.send(thank_you_email(self.settings, catalog, letter))
            state = "sent" if result.ok else "failed"
            reward_store.mark_email(self.database, self.store, letter.response_id, state, now)
            if result.ok:
                self.summary.emailed += 1
            else:
                # The address is not logged: the response id finds it.
                self.summary.errors.append(
                    f"thank-you email of response {letter.response_id}: {result.error}"
                )


def thank_you_email(
    settings: Settings, catalog: TextCatalog, letter: reward_store.RewardLetter
) -> SurveyEmail:
    """A short multipart thank-you with the code, in the customer's language."""
    assert settings.email is not None
    texts = catalog.for_locale(letter.locale)
    reward = letter.reward
    until = reward.ends_at.strftime("%Y-%m-%d")
    lines = [
        texts("greeting"),
        "",
        texts("reward_intro"),
        "",
        f"    {reward.code}",
        "",
        texts("reward_terms", value=reward.offer, until=until),
    ]
    if reward.minimum_order:
        lines.append(texts("reward_minimum", minimum=reward.minimum_order))
    lines += ["", texts("signature")]
    text = "\n".join(lines) + "\n"
    html = "".join(_paragraph(line, reward.code) for line in lines if line)
    domain = parseaddr(settings.email.from_)[1].rpartition("@")[2] or "nps-loop.invalid"
    headers = {"From": settings.email.from_, "Content-Language": texts.language}
    if settings.email.reply_to:
        headers["Reply-To"] = settings.email.reply_to
    return SurveyEmail(
        invite_id=letter.invite_id or 0,
        to=letter.email,
        subject=texts("reward_subject"),
        text=text,
        html=f'<!doctype html><html lang="{texts.language}"><body>{html}</body></html>',
        headers=headers,
        message_id=f"<nps.{settings.store.id}.reward.{letter.response_id}@{domain}>",
    )


def _paragraph(line: str, code: str) -> str:
    if line.strip() == code:
        style = "font-size:22px;font-weight:bold;letter-spacing:2px"
        return f'<p style="{style}">{escape(code)}</p>'
    return f"<p>{escape(line)}</p>"
