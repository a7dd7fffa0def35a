"""``nps demo``: the whole loop on the simulators, in about a minute, then the report.

What happens, all on 127.0.0.1 with nothing outside touched:

1. A world is generated (customers, orders over 18 months, Zendesk users and tickets) and served
   by the Shopify and Zendesk simulators, with an SMTP sink catching the survey emails.
2. A fresh SQLite store in a temporary folder is migrated; the survey pages are served.
3. ``sync --full``: orders (bulk backfill), customers and tickets are pulled in.
4. A year is replayed week by week: each week the surveys due that week are sent, and the
   response simulator answers about a third of them through the real pages (GET the link, submit
   the form), with scores that returns, tickets and late deliveries pull down.
5. A day after each week's answers, ``tags push`` writes the tags to both simulated systems
   and opens follow-up tickets for that week's detractors.
6. The segmented report is printed, and saved as a self-contained HTML file.

Simulated time only moves the jobs' and pages' clocks; the simulators' rate limits run on the real
clock, with a Shopify Plus-sized bucket so the demo is not an exercise in waiting.
"""

from __future__ import annotations

import tempfile
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path

from rich.console import Console

from connectors.comment_embedder import LocalCommentEmbedder, ThemesNotInstalled
from jobs import bootstrap
from jobs.cli.counter_words import describe_counts
from jobs.cli.report_output import RENDERERS, themes_part
from jobs.report_job import report_period, store_report
from jobs.runtime.runner import JobOutcome, run_job
from jobs.steps import push_step, send_step, sync_step
from jobs.theme_listing import ThemeListing, theme_listing
from jobs.themes_job import update_themes
from nps_engine.config import Settings, parse_settings
from nps_engine.report import Report
from nps_engine.store.database import Database
from nps_engine.web.background import BackgroundServer, free_port
from sandbox.clock import ManualClock
from sandbox.responder import Responder, ResponderStats
from sandbox.runner import Sandbox, SandboxOptions
from sandbox.world import World
from sandbox.zendesk import ZendeskOptions

SHOPIFY_PLUS_BUCKET = (20000.0, 1000.0)  # points, points per second (Shopify Plus limits)
ZENDESK_ENTERPRISE_PLUS_RPM = 2500  # requests per minute (High Volume add-on)


@dataclass(frozen=True)
class DemoOptions:
    customers: int = 1000
    seed: int = 7
    weeks: int = 52
    answer_share: float = 0.35
    workdir: Path | None = None


@dataclass
class DemoResult:
    workdir: Path
    report: Report
    html_report: Path
    outcomes: list[JobOutcome] = field(default_factory=list)
    emails: int = 0
    answers: ResponderStats = field(default_factory=ResponderStats)
    shopify_tagged: int = 0
    zendesk_users_tagged: int = 0
    zendesk_tickets_tagged: int = 0
    followup_tickets: int = 0
    promoter_codes: int = 0
    themes_text: str = ""


@dataclass(frozen=True, slots=True)
class WeekDone:
    """Where the replay is: after ``week`` of ``weeks``, emails sent and answers so far."""

    week: int
    weeks: int
    emails: int
    answers: int


WeekProgress = Callable[[WeekDone], None]


def run_demo(
    options: DemoOptions, say: Callable[[str], None], progress: WeekProgress | None = None
) -> DemoResult:
    now = datetime.now(UTC).replace(microsecond=0)
    workdir = options.workdir or Path(tempfile.mkdtemp(prefix="nps-demo-"))
    workdir.mkdir(parents=True, exist_ok=True)
    sandbox_options = SandboxOptions(
        customers=options.customers,
        seed=options.seed,
        now=now,
        shopify_bucket=SHOPIFY_PLUS_BUCKET,
        # Bulk operations and Zendesk jobs done at the first poll: the simulators apply the work at
        # once, so the clients' waits between polls (2 s for a bulk query, 0.25 s then 0.5 s for
        # each of a hundred Zendesk jobs: 17 s of the demo's minute) would only be waiting.
        shopify_bulk_polls=1,
        zendesk=ZendeskOptions(
            requests_per_minute=ZENDESK_ENTERPRISE_PLUS_RPM, job_polls_to_complete=1
        ),
    )
    with Sandbox(sandbox_options) as sandbox:
        world = sandbox.world
        say(f"world: {len(world.customers)} customers, {len(world.orders)} orders, "
            f"{len(world.zendesk_users)} Zendesk users, {len(world.tickets)} tickets")  # fmt: skip
        port = free_port()
        settings = _settings(sandbox, workdir, port)
        database = Database(settings.database.url)
        database.upgrade()
        # The jobs' and the survey pages' notion of now, moved week by week.
        clock = ManualClock(now - timedelta(weeks=options.weeks))
        app = bootstrap.web_app(settings, database, clock=clock.now)
        try:
            with BackgroundServer(app, port=port):
                result = _loop(settings, database, sandbox, clock, now, options, say, progress)
        finally:
            database.dispose()
        result.workdir = workdir
        _count_tags(result, world)
        if sandbox.shopify is not None:
            result.promoter_codes = len(sandbox.shopify.discounts.codes)
    return result


def _settings(sandbox: Sandbox, workdir: Path, port: int) -> Settings:
    document = sandbox.config(
        database_url=f"sqlite:///{workdir / 'nps.db'}", public_url=f"http://127.0.0.1:{port}"
    )
    document["store"] |= {"id": "demo", "name": "Maison Demo", "timezone": "Europe/Paris"}
    document["web"]["posts_per_minute_per_ip"] = 100_000  # every simulated customer is 127.0.0.1
    document["survey"] = {"max_per_run": 10_000, "review_url": "https://example.com/reviews"}
    # Promoters are thanked with a 10% code, shown on the thank-you page.
    document["rewards"] = {"promoter_discount": {"enabled": True, "percentage": 10}}
    (settings,) = parse_settings(document, {})
    return settings


def _loop(
    settings: Settings,
    database: Database,
    sandbox: Sandbox,
    clock: ManualClock,
    now: datetime,
    options: DemoOptions,
    say: Callable[[str], None],
    progress: WeekProgress | None,
) -> DemoResult:
    store = settings.store.id
    say("reading the shop from the Shopify and Zendesk simulators...")
    outcomes = [run_job(database, store, "sync", sync_step(settings, database, now, full=True))]
    say(f"synced: {_counts(outcomes[-1])}")
    weeks = int((now - clock.now()) / timedelta(weeks=1)) + 1  # the replay's weeks, both ends
    responder = Responder(sandbox.world, sandbox.smtp, share=options.answer_share,
                          seed=options.seed)  # fmt: skip
    answers = ResponderStats()
    pushed: Counter[str] = Counter()
    while clock.now() <= now:
        week = clock.now()
        send = send_step(settings, database, week)
        outcomes.append(run_job(database, store, "surveys send", send, clock.now))
        _add(answers, responder.answer_new_emails())
        # A day later, as the 5-minute push of `nps serve` would have by then: tags for the
        # week's answers, and follow-up tickets for its detractors while they are fresh.
        clock.move_to(min(week + timedelta(days=1), now))
        push = push_step(settings, database, clock.now())
        outcomes.append(run_job(database, store, "tags push", push, clock.now))
        pushed.update(outcomes[-1].counters)
        clock.move_to(week + timedelta(weeks=1))
        if progress is not None:
            done = int((week - (now - timedelta(weeks=options.weeks))) / timedelta(weeks=1)) + 1
            progress(WeekDone(done, weeks, len(sandbox.smtp.messages), answers.answered))
    say(f"surveys: {len(sandbox.smtp.messages)} emails sent over {options.weeks} weeks, "
        f"{answers.answered} answered through the survey pages")  # fmt: skip
    clock.move_to(now)
    say("tags pushed: " + (describe_counts(pushed) or "nothing to write"))
    report = store_report(database, settings, report_period(settings, now), now=now, said=True)
    listings = _themes(settings, database, now, report, say)
    html = Path(settings.database.url.removeprefix("sqlite:///")).parent / "nps-report.html"
    page = themes_part.add_to_html(RENDERERS["html"]([report]), listings)
    html.write_text(page, encoding="utf-8")
    result = DemoResult(html.parent, report, html, outcomes, len(sandbox.smtp.messages), answers)
    result.themes_text = themes_part.table_text(listings)
    return result


def _themes(
    settings: Settings,
    database: Database,
    now: datetime,
    report: Report,
    say: Callable[[str], None],
) -> list[ThemeListing]:
    """Group the year's comments into themes (skipped, with a note, without the themes extra)."""
    try:
        embedder = LocalCommentEmbedder(settings.store.language, model=settings.themes.model)
    except ThemesNotInstalled as error:
        say(f"themes: skipped ({error})")
        return []
    run = update_themes(settings, database, embedder, now)
    say(f"themes: {run.themes} themes found in {run.comments} comments")
    return [theme_listing(settings, database, now, report.period, habits=report.habits)]


def _add(total: ResponderStats, more: ResponderStats) -> None:
    total.emails_read += more.emails_read
    total.answered += more.answered
    total.with_comment += more.with_comment
    total.failed += more.failed
    total.scores += more.scores


def _counts(outcome: JobOutcome) -> str:
    done = describe_counts(outcome.counters)
    problems = f" ({len(outcome.errors)} problems: {outcome.errors[0]})" if outcome.errors else ""
    return (done or "nothing to do") + problems


def _count_tags(result: DemoResult, world: World) -> None:
    with world.lock:
        result.shopify_tagged = sum(
            any(t.lower().startswith("nps:") for t in c.tags) for c in world.customers.values()
        )
        result.zendesk_users_tagged = sum(
            any(t.startswith("nps_") for t in u.tags) for u in world.zendesk_users.values()
        )
        result.zendesk_tickets_tagged = sum(
            any(t.startswith("nps_") and t != "nps_followup" for t in t_.tags)
            for t_ in world.tickets.values()
        )
        result.followup_tickets = sum("nps_followup" in t.tags for t in world.tickets.values())


def print_result(result: DemoResult, console: Console) -> None:
    from jobs.cli.report_output.rich_table import report_renderable

    console.print(report_renderable(result.report))
    if result.themes_text:
        console.print(result.themes_text, markup=False)
    console.print(
        f"written back: {result.shopify_tagged} Shopify customers tagged (nps:...), "
        f"{result.zendesk_users_tagged} Zendesk users and {result.zendesk_tickets_tagged} open "
        f"tickets tagged (nps_...), {result.followup_tickets} detractor follow-up tickets opened, "
        f"{result.promoter_codes} promoter thank-you codes created"
    )
    console.print(f"HTML report: {result.html_report}")
    console.print(f"demo store (SQLite): {result.workdir / 'nps.db'}")
