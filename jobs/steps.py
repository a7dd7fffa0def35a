"""The work each scheduled job does for one store, shared by the CLI, ``nps run``, the built-in
scheduler of ``nps serve`` and ``nps demo``.

Each step returns a function for :func:`jobs.runtime.runner.run_job`. A step that touches two
systems finishes the second even when the first fails (the run then ends ``partial``), because a
Zendesk outage is no reason to leave Shopify unsynced.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import datetime, timedelta
from pathlib import Path

from connectors.errors import AuthenticationError, ConnectorError
from jobs import bootstrap
from jobs.alerts import send_alerts
from jobs.cli.report_output import RENDERERS
from jobs.followups import open_followups
from jobs.push_tags import push_tags
from jobs.report_job import report_period, store_report
from jobs.rewards import issue_rewards
from jobs.runtime.progress import ProgressFn
from jobs.runtime.runner import JobContext
from jobs.send_surveys import send_surveys
from jobs.sync_shopify import sync_shopify
from jobs.sync_zendesk import sync_zendesk
from nps_engine.config import Settings
from nps_engine.ports import TagChange
from nps_engine.store.database import Database
from nps_engine.store.response_imports import link_answers_to_customers
from nps_engine.store.status import last_runs
from nps_engine.store.support import link_customers, retry_customers_found_in_zendesk
from nps_engine.store.theme_rows import has_comments

Work = Callable[[JobContext], None]


class _Parts:
    """The per-system parts of one job: each runs even if another failed; the job fails only
    when every part it attempted failed (otherwise it ends ``partial``)."""

    def __init__(self, context: JobContext) -> None:
        self.context = context
        self.failures: list[ConnectorError] = []
        self.attempted = 0

    def run(self, system: str, part: Callable[[JobContext], None]) -> None:
        self.attempted += 1
        try:
            part(self.context)
        except ConnectorError as error:
            self.failures.append(error)
            self.context.credentials_refused |= isinstance(error, AuthenticationError)
            message = str(error)  # adapters already name their system ("shopify: ...")
            self.context.error(message if message.startswith(system) else f"{system}: {message}")

    def finish(self) -> None:
        if self.attempted and len(self.failures) == self.attempted:
            raise AllPartsFailed(self.failures)


class AllPartsFailed(ConnectorError):
    already_recorded = True  # each part's error is in the job's errors; the runner adds nothing

    def __init__(self, failures: list[ConnectorError]) -> None:
        super().__init__("every system failed (see above)")
        self.failures = failures


def sync_step(
    settings: Settings,
    database: Database,
    now: datetime,
    *,
    source: str = "all",
    full: bool = False,
    progress: ProgressFn | None = None,
) -> Work:
    store = settings.store.id

    def shopify_part(context: JobContext) -> None:
        assert settings.shopify is not None
        summary = sync_shopify(
            database, store, bootstrap.order_source(settings, database), now, full=full,
            backfill_days=settings.shopify.backfill_days, progress=progress,
        )  # fmt: skip
        context.add_counts(summary.counts())

    def zendesk_part(context: JobContext) -> None:
        summary = sync_zendesk(
            database, store, bootstrap.ticket_source(settings), now, full=full, progress=progress
        )
        context.add_counts(summary.counts())
        if summary.stopped:
            context.error(f"zendesk: stopped early, will resume: {summary.stopped}")

    def work(context: JobContext) -> None:
        parts = _Parts(context)
        if source in ("all", "shopify") and settings.shopify is not None:
            parts.run("shopify", shopify_part)
        if source in ("all", "zendesk") and settings.zendesk is not None:
            parts.run("zendesk", zendesk_part)
        parts.finish()
        with database.session() as session:
            # Tickets and imported answers that arrived before their customer are linked now.
            context.count("linked_to_customers", link_customers(session, store))
            context.count("answers_linked", link_answers_to_customers(session, store))
            retry_customers_found_in_zendesk(session, store)

    return work


def send_step(
    settings: Settings,
    database: Database,
    now: datetime,
    *,
    limit: int | None = None,
    progress: ProgressFn | None = None,
) -> Work:
    def work(context: JobContext) -> None:
        with bootstrap.mailer(settings) as mailer:
            summary = send_surveys(database, settings, mailer, now, limit=limit, progress=progress)
        context.add_counts({name: n for name, n in summary.counts.items() if n})
        for error in summary.errors:
            context.error(error)

    return work


def push_step(
    settings: Settings,
    database: Database,
    now: datetime,
    *,
    dry_run: bool = False,
    on_plan: Callable[[str, Sequence[TagChange], Sequence[tuple[TagChange, str]]], None]
    | None = None,
) -> Work:
    """``on_plan(system, changes)`` sees what a dry run would write (`nps tags push --dry-run`)."""
    store = settings.store.id
    segments = settings.segments
    options = {
        "dry_run": dry_run,
        "churn_settings": segments.churn_risk,
        "support_window_days": segments.support_contacted.window_days,
    }

    def shopify_part(context: JobContext) -> None:
        summary = push_tags(
            database, store, "shopify", bootstrap.shopify_tag_writer(settings),
            settings.tags.shopify, now, **options,  # type: ignore[arg-type]
        )  # fmt: skip
        context.add_counts({f"shopify_{k}": v for k, v in summary.counts().items()})
        if on_plan is not None:
            on_plan("shopify", summary.changes, summary.unwritable)
        for error in summary.errors:
            context.error(f"shopify: {error}")

    def zendesk_part(context: JobContext) -> None:
        writer = bootstrap.zendesk_tag_writer(settings, database, now)
        summary = push_tags(
            database, store, "zendesk", writer, settings.tags.zendesk, now,
            with_fields=True, **options,  # type: ignore[arg-type]
        )  # fmt: skip
        context.add_counts({f"zendesk_{k}": v for k, v in summary.counts().items()})
        if on_plan is not None:
            on_plan("zendesk", summary.changes, summary.unwritable)
        for error in summary.errors:
            context.error(f"zendesk: {error}")

    def followup_part(context: JobContext) -> None:
        assert settings.zendesk is not None
        summary = open_followups(
            database, store, bootstrap.followup_desk(settings), now, settings.zendesk.followup,
            support_window_days=segments.support_contacted.window_days,
        )  # fmt: skip
        context.add_counts(summary.counts())
        for error in summary.errors:
            context.error(f"zendesk follow-up: {error}")
        if summary.stopped:
            context.error(f"zendesk follow-up: stopped early, will resume: {summary.stopped}")

    def rewards_part(context: JobContext) -> None:
        desk = bootstrap.discount_desk(settings)
        discount = settings.rewards.promoter_discount
        if discount.thank_you_email and settings.email is not None:
            with bootstrap.mailer(settings) as mailer:
                summary = issue_rewards(database, settings, desk, now, mailer)
        else:
            summary = issue_rewards(database, settings, desk, now)
        context.add_counts(summary.counts())
        for error in summary.errors:
            context.error(f"shopify reward: {error}")
        if summary.stopped:
            context.error(f"shopify reward: stopped early, will resume: {summary.stopped}")

    def work(context: JobContext) -> None:
        parts = _Parts(context)
        if settings.tags.enabled and settings.shopify is not None:
            parts.run("shopify", shopify_part)
        rewards = settings.rewards.promoter_discount.enabled
        if rewards and settings.shopify is not None and not dry_run:
            parts.run("shopify", rewards_part)
        if settings.tags.enabled and settings.zendesk is not None:
            parts.run("zendesk", zendesk_part)
        if settings.zendesk is not None and not dry_run:
            parts.run("zendesk", followup_part)
        parts.finish()

    return work


def alerts_step(settings: Settings, database: Database, now: datetime) -> Work:
    """Queue and send the alerts of fresh answers (``alerts:``); a no-op when none is set."""

    def work(context: JobContext) -> None:
        mailer = None
        if settings.alerts.email_to and settings.email is None:
            context.error("alerts.email_to: needs the email: section (the SMTP server to use)")
        elif settings.alerts.email_to:
            mailer = bootstrap.mailer(settings)
        try:
            channels = bootstrap.alert_channels(settings, mailer)
            summary = send_alerts(database, settings, channels, now)
        finally:
            if mailer is not None:
                mailer.close()
        context.add_counts({name: n for name, n in summary.counts().items() if n})
        for error in summary.errors:
            context.error(error)

    return work


def report_file_step(settings: Settings, database: Database, now: datetime) -> Work:
    """Write the HTML report of the default period to ``schedule.report_path`` (atomically, so a
    reader never sees half a file)."""

    def work(context: JobContext) -> None:
        report = store_report(database, settings, report_period(settings, now), now=now, said=True)
        target = Path(settings.schedule.report_path)
        target.parent.mkdir(parents=True, exist_ok=True)
        partial = target.with_suffix(target.suffix + ".tmp")
        partial.write_text(RENDERERS["html"]([report]), encoding="utf-8")
        partial.replace(target)
        context.count("answers", report.overall.n)

    return work


def themes_step(settings: Settings, database: Database, now: datetime) -> Work:
    """Put new comments in themes, recomputing them when due (``jobs.themes_job``). A store with
    themes turned off or without a comment, or a machine without the themes extra, ends the job
    at once (counted, not an error: the rest of the loop does not need themes)."""

    def work(context: JobContext) -> None:
        if not settings.themes.enabled:
            context.count("themes_disabled")
            return
        if not has_comments(database, settings.store.id):
            context.count("themes_no_comments")
            return
        # Imported only now: the themes bring numpy (0.45 s of CPU), which every `nps run` (cron,
        # every few minutes) would otherwise load whether there is anything to theme or not.
        from connectors.comment_embedder import ThemesNotInstalled
        from jobs.themes_job import update_themes

        try:
            embedder = bootstrap.comment_embedder(settings)
        except ThemesNotInstalled:
            context.count("themes_not_installed")
            return
        run = update_themes(settings, database, embedder, now)
        context.add_counts({"comments_embedded": run.embedded, "comments_themed": run.assigned,
                            "themes_recomputed": int(run.rebuilt)})  # fmt: skip

    return work


def themes_due(settings: Settings, database: Database, now: datetime) -> bool:
    """Whether ``nps run`` (cron, every few minutes) should run the themes job: its last run of
    this store started ``schedule.themes_hours`` ago or more, or never."""
    with database.session() as session:
        last = last_runs(session, settings.store.id).get("themes")
    return last is None or now - last.started_at >= timedelta(hours=settings.schedule.themes_hours)
