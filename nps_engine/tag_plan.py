"""Which tags each customer should carry in each system, and what must change to get there.

The plan is a diff between the desired tags (from the customer's latest answer) and the tags we
pushed last time, so a second push with nothing new makes no write call. Only tags that match our
own formats are ever removed: other apps' tags are not ours to touch. Comparison is
case-insensitive, as Shopify's is.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Protocol

from nps_engine.ports import TagChange
from nps_engine.records import Category
from nps_engine.segments import ChurnRules, ResponseFacts, no_repeat_order


def is_churn_risk_for_tag(facts: ResponseFacts, rules: ChurnRules, now: datetime) -> bool:
    """Whether the customer gets the agents' churn-risk tag (``nps:churn-risk``).

    This rule reads the score on purpose: a detractor (score <= ``max_score``), a drop of
    ``drop_points`` since the previous answer, a passive who returned or contacted support, or no
    new order for ``no_repeat_days`` after the surveyed one. It tells an agent whom to call. It is
    NOT the report's churn-risk segment (:func:`nps_engine.segments.is_churn_risk`), which must not
    be defined by the score it is compared on.
    """
    if facts.score <= rules.max_score:
        return True
    drop = facts.score_drop
    if drop is not None and drop >= rules.drop_points:
        return True
    if (
        rules.passive_with_return_or_support
        and facts.category is Category.PASSIVE
        and (facts.returned or facts.support_contacted)
    ):
        return True
    return no_repeat_order(facts, timedelta(days=rules.no_repeat_days), now)


class TagTemplates(Protocol):
    """How an NPS state becomes tags in one system (``tags.shopify`` / ``tags.zendesk``).

    ``nps_engine.config.settings.TagFormat`` is one; the engine never imports the config.
    """

    @property
    def prefix(self) -> str: ...
    @property
    def category(self) -> str: ...
    @property
    def score(self) -> str | None: ...
    @property
    def churn_risk(self) -> str | None: ...


@dataclass(frozen=True, slots=True)
class NpsState:
    """A customer's current NPS standing: their latest answer and whether they are at risk."""

    customer_id: int
    email: str | None
    score: int
    category: Category
    responded_at: datetime
    churn_risk: bool


@dataclass(frozen=True, slots=True)
class PushedState:
    tags: tuple[str, ...]
    fields: Mapping[str, object]


def desired_tags(state: NpsState, tag_format: TagTemplates) -> tuple[str, ...]:
    values = {"prefix": tag_format.prefix, "category": state.category.value, "score": state.score}
    tags = [tag_format.category.format(**values)]
    if tag_format.score:
        tags.append(tag_format.score.format(**values))
    if tag_format.churn_risk and state.churn_risk:
        tags.append(tag_format.churn_risk.format(**values))
    return tuple(tag.lower() for tag in tags)


def is_ours(tag: str, tag_format: TagTemplates) -> bool:
    """True when ``tag`` is one this format could have produced (any category or score)."""
    return _ours_pattern(tag_format).fullmatch(tag.lower()) is not None


def _ours_pattern(tag_format: TagTemplates) -> re.Pattern[str]:
    alternatives = []
    for template in (tag_format.category, tag_format.score, tag_format.churn_risk):
        if template is None:
            continue
        pattern = re.escape(template.lower())
        pattern = pattern.replace(re.escape("{prefix}"), re.escape(tag_format.prefix))
        pattern = pattern.replace(re.escape("{category}"), "(detractor|passive|promoter)")
        pattern = pattern.replace(re.escape("{score}"), "(10|[0-9])")
        alternatives.append(pattern)
    return re.compile("|".join(alternatives))


def zendesk_fields(state: NpsState) -> dict[str, object]:
    return {
        "nps_score": state.score,
        "nps_category": state.category.value,
        "nps_responded_at": state.responded_at.date().isoformat(),
    }


def plan(
    states: Iterable[NpsState],
    pushed: Mapping[int, PushedState],
    tag_format: TagTemplates,
    *,
    with_fields: bool = False,
) -> list[TagChange]:
    """The changes to push: one per customer whose desired state differs from the pushed one."""
    changes = []
    for state in states:
        desired = desired_tags(state, tag_format)
        fields = zendesk_fields(state) if with_fields else {}
        before = pushed.get(state.customer_id, PushedState((), {}))
        had = {tag.lower() for tag in before.tags if is_ours(tag, tag_format)}
        add = tuple(tag for tag in desired if tag not in had)
        remove = tuple(sorted(had - set(desired)))
        if add or remove or dict(before.fields) != fields:
            changes.append(TagChange(state.customer_id, state.email, add, remove, desired, fields))
    return changes
