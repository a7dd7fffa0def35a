"""The counters jobs record (``job_runs.counters``), said in a store owner's words for the run
and demo summaries: "orders read from Shopify", not ``backfilled_orders``. Counters that only
matter to an engineer (pages read, changes planned) stay in ``job_runs`` and ``-v`` logs."""

from __future__ import annotations

from collections.abc import Mapping

WORDS: Mapping[str, str] = {
    # sync
    "orders": "orders read from Shopify",
    "backfilled_orders": "orders read from Shopify (first full read)",
    "customers": "customers read from Shopify",
    "tickets": "tickets read from Zendesk",
    "zendesk_users": "Zendesk users read",
    "linked_to_customers": "tickets and Zendesk users matched to a customer",
    "answers_linked": "answers matched to a customer",
    # surveys
    "sent": "survey emails sent",
    "failed": "emails refused by the mail server",
    "bounced": "emails bounced (address suppressed)",
    "waiting": "emails waiting for the next run",
    "reminders": "reminders sent",
    "relationship": "relationship surveys sent",
    "over_limit": "due but over this run's limit",
    "unknown_outcome": "interrupted sends marked failed",
    "withdrawn": "waiting surveys withdrawn",
    # tags and follow-ups
    "shopify_pushed": "Shopify customers tagged",
    "shopify_failed": "Shopify customers not tagged (error)",
    "shopify_skipped": "Shopify customers skipped (deleted)",
    "zendesk_pushed": "Zendesk users tagged",
    "zendesk_failed": "Zendesk users not tagged (error)",
    "zendesk_skipped": "customers without a Zendesk user (not tagged)",
    "followups_created": "detractor follow-up tickets opened",
    "followups_recovered": "follow-up tickets found after an interrupted run",
    "followups_updated": "follow-up tickets noted with a changed answer",
    "followups_failed": "follow-up tickets refused by Zendesk",
    # comment themes
    "comments_embedded": "comments read by the themes model",
    "comments_themed": "comments put in a theme",
    "themes_recomputed": "themes recomputed from all comments",
    "themes_no_comments": "themes skipped: no comments yet",
    "themes_not_installed": "themes skipped: pip install 'nps-loop[themes]'",
    "themes_disabled": "themes skipped: themes.enabled is false",
    # report
    "answers": "answers in the report",
}
# Technical counters, kept in job_runs but not in the summaries.
HIDDEN = frozenset({"pages", "zendesk_pages", "shopify_planned", "zendesk_planned"})


def describe_counts(counters: Mapping[str, int]) -> str:
    """``orders read from Shopify 2262, tickets read from Zendesk 313`` (zeros left out)."""
    parts = [
        f"{WORDS.get(name, name.replace('_', ' '))} {count}"
        for name, count in counters.items()
        if count and name not in HIDDEN
    ]
    return ", ".join(parts)
