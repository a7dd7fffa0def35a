"""The whole loop on the sandbox, shared by the ``nps run``, crash, demo and multi-store tests.

A :class:`Loop` is one store as a user would set it up: the sandbox simulators (Shopify, Zendesk,
SMTP sink) over one generated world, a ``config.yaml`` written from ``sandbox.config(...)``, a
migrated SQLite store, and the survey pages served on loopback so the links in the emails work.
The ``nps`` command then runs in-process (typer's CliRunner) or as a real process (the console
script next to the interpreter), exactly as cron would start it.

What the tests look at is what a store owner would: emails in the sink, tags on the Shopify
customers and Zendesk users of the world, follow-up tickets, and the simulators' write calls.
"""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import time
import zlib
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any, cast

import yaml
from click.testing import Result
from sqlalchemy import select
from sqlite_template import migrated_sqlite
from typer.testing import CliRunner

from jobs.bootstrap import web_app
from jobs.cli.app import app
from nps_engine.config import Settings, parse_settings
from nps_engine.invite_tokens import Purpose, TokenSigner
from nps_engine.store import models
from nps_engine.store.database import Database
from nps_engine.web.background import BackgroundServer, free_port
from sandbox.responder import Responder, ResponderStats
from sandbox.runner import Sandbox, SandboxOptions
from sandbox.shopify import ShopifySimulator
from sandbox.smtp import ReceivedMessage, SmtpSink
from sandbox.traffic import TrafficSnapshot
from sandbox.world import World

NPS = str(Path(sys.executable).with_name("nps"))  # the console script, as cron runs it
# A Shopify Plus cost bucket (points, restored per second): the connector paces itself on the
# bucket, and a standard plan's would make a first sync of 150 customers wait ~10 s.
PLUS_BUCKET = (20_000.0, 1_000.0)
WRITE_METHODS = ("PUT ", "POST ", "DELETE ")
_LINK = re.compile(r"/s/([A-Za-z0-9_.-]+)/(10|[0-9])\b")
_TAG_MUTATION = re.compile(r"\btags(?:Add|Remove)\s*\(")


def loop_options(customers: int, seed: int, now: datetime, **more: Any) -> SandboxOptions:
    return SandboxOptions(customers=customers, seed=seed, now=now, shopify_bucket=PLUS_BUCKET,
                          **more)  # fmt: skip


@dataclass
class Loop:
    sandbox: Sandbox
    workdir: Path
    config_path: Path
    settings: Settings
    database: Database

    @property
    def world(self) -> World:
        return self.sandbox.world

    @property
    def sink(self) -> SmtpSink:
        return self.sandbox.smtp

    def nps(self, *args: str) -> Result:
        """``nps --config <this store's file> ARGS`` in-process; the result keeps stdout."""
        return CliRunner().invoke(app, ["--config", str(self.config_path), *args])

    def start_nps(self, *args: str) -> subprocess.Popen[str]:
        """``nps --config <file> ARGS`` as a separate process (output captured)."""
        return start_nps(self.config_path, *args)


def loop_document(sandbox: Sandbox, workdir: Path, public_url: str) -> dict[str, Any]:
    """``sandbox.config(...)`` with what a loopback run needs on top."""
    document = sandbox.config(database_url=f"sqlite:///{workdir / 'nps.db'}", public_url=public_url)
    # Every simulated customer answers from 127.0.0.1: the per-IP limit would refuse most.
    document["web"]["posts_per_minute_per_ip"] = 100_000
    document["schedule"] = {"report_path": str(workdir / "reports" / "nps.html")}
    return document


def write_config(document: dict[str, Any], path: Path) -> Settings:
    """Write the YAML file the CLI reads; return its (first) store's validated settings."""
    path.write_text(yaml.safe_dump(document, sort_keys=False), encoding="utf-8")
    return parse_settings(document, {})[0]


@contextmanager
def running_loop(
    options: SandboxOptions,
    workdir: Path,
    *,
    adjust: Callable[[dict[str, Any]], None] | None = None,
) -> Iterator[Loop]:
    """The sandbox, a config file, a migrated store and the survey pages, all on loopback."""
    workdir.mkdir(parents=True, exist_ok=True)
    with Sandbox(options) as sandbox:
        port = free_port()
        document = loop_document(sandbox, workdir, f"http://127.0.0.1:{port}")
        if adjust is not None:
            adjust(document)
        config_path = workdir / "config.yaml"
        settings = write_config(document, config_path)
        if settings.database.url == f"sqlite:///{workdir / 'nps.db'}":
            database = migrated_sqlite(workdir / "nps.db")
        else:  # ``adjust`` pointed the store at another database (a test's PostgreSQL)
            database = Database(settings.database.url)
            database.upgrade()
        try:
            with BackgroundServer(web_app(settings, database), port=port):
                yield Loop(sandbox, workdir, config_path, settings, database)
        finally:
            database.dispose()


def start_nps(config_path: Path, *args: str) -> subprocess.Popen[str]:
    env = {**os.environ, "COLUMNS": "200"}  # one summary row per line, easier to read in logs
    return subprocess.Popen(
        [NPS, "--config", str(config_path), *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
    )


def finish(process: subprocess.Popen[str], timeout: float = 60) -> tuple[int, str, str]:
    """Wait for the process; its exit code, stdout and stderr."""
    out, err = process.communicate(timeout=timeout)
    return process.returncode, out, err


def kill_when(
    process: subprocess.Popen[str], reached: Callable[[], bool], timeout: float = 60
) -> bool:
    """SIGKILL the process as soon as ``reached()`` is true (polled every few milliseconds).

    False when the process ended before that point: the caller asserts the kill happened, or the
    test would silently test nothing."""
    deadline = time.monotonic() + timeout
    while process.poll() is None:
        if reached():
            os.kill(process.pid, signal.SIGKILL)
            finish(process)
            return True
        if time.monotonic() > deadline:
            process.kill()
            finish(process)
            raise TimeoutError(f"nps did not reach the kill point in {timeout:.0f} s")
        time.sleep(0.005)
    finish(process)
    return False


# -- what the customers do -----------------------------------------------------------------------


class _OneMessage:
    """Looks like the sink to the Responder, holding one message."""

    def __init__(self, message: ReceivedMessage) -> None:
        self.messages = [message]


def answer_each_email(
    world: World, messages: list[ReceivedMessage], *, share: float, seed: int
) -> ResponderStats:
    """The response simulator, with each recipient's choice (answer or not, score, comment)
    drawn from their own address: the same people answer the same way whatever the order the
    emails arrived in, so two runs of the loop can be compared answer for answer."""
    total = ResponderStats()
    for message in sorted(messages, key=lambda m: m.rcpt_tos[0]):
        own_seed = seed ^ zlib.crc32(message.rcpt_tos[0].lower().encode())
        sink = cast(SmtpSink, _OneMessage(message))
        stats = Responder(world, sink, share=share, seed=own_seed).answer_new_emails()
        total.emails_read += stats.emails_read
        total.answered += stats.answered
        total.with_comment += stats.with_comment
        total.failed += stats.failed
        total.scores += stats.scores
    return total


def age_answers(database: Database, store: str, minutes: int) -> None:
    """As if every answer had come in ``minutes`` earlier.

    Detractor follow-ups wait ``settle_minutes`` (10) after an answer for its comment; a process
    started by a test reads the wall clock, so the answers are aged instead of the clock moved."""
    with database.session() as session:
        for response in session.scalars(
            select(models.Response).where(models.Response.store == store)
        ):
            response.updated_at -= timedelta(minutes=minutes)


# -- what the store owner sees -------------------------------------------------------------------


def invite_of_email(message: ReceivedMessage, signer: TokenSigner, now: datetime) -> int:
    """The invite a survey email was sent for, read from the signed token of its links."""
    text = message.message.get_body(("plain",))
    assert text is not None, "a survey email without a plain-text part"
    tokens = {token for token, _score in _LINK.findall(text.get_content())}
    assert len(tokens) == 1, f"expected one token in the links, found {len(tokens)}"
    return signer.verify(tokens.pop(), Purpose.SURVEY, now)


def emails_per_order(loop: Loop, now: datetime) -> Counter[int]:
    """How many survey emails each order got (by the invite in the links)."""
    assert loop.settings.web is not None
    signer = TokenSigner(
        loop.settings.web.secret_key.get_secret_value(),
        timedelta(days=loop.settings.web.token_max_age_days),
    )
    invite_ids = [invite_of_email(m, signer, now) for m in loop.sink.messages]
    orders = order_of_invites(loop.database, loop.settings.store.id)
    return Counter(orders[i] for i in invite_ids)


def order_of_invites(database: Database, store: str) -> dict[int, int]:
    with database.session() as session:
        rows = session.execute(
            select(models.Invite.id, models.Invite.order_id).where(models.Invite.store == store)
        )
        return {row[0]: row[1] for row in rows}


def invites_by_state(database: Database, store: str) -> dict[str, set[int]]:
    """Order ids of the store's invites, by invite state."""
    states: dict[str, set[int]] = {}
    with database.session() as session:
        rows = session.execute(
            select(models.Invite.state, models.Invite.order_id).where(models.Invite.store == store)
        )
        for state, order_id in rows:
            states.setdefault(state, set()).add(order_id)
    return states


def shopify_nps_tags(world: World) -> dict[int, tuple[str, ...]]:
    """Shopify customer id -> the NPS tags they carry (``nps:...``, ``nps-score:...``)."""
    with world.lock:
        return {
            customer.id: tuple(sorted(t for t in customer.tags if t.lower().startswith("nps")))
            for customer in world.customers.values()
            if any(t.lower().startswith("nps") for t in customer.tags)
        }


def zendesk_nps_tags(world: World) -> dict[int, tuple[str, ...]]:
    """Zendesk user id -> the NPS tags on the user (``nps_promoter``, ``nps_score_9``...)."""
    with world.lock:
        return {
            user.id: tuple(sorted(t for t in user.tags if t.startswith("nps_")))
            for user in world.zendesk_users.values()
            if any(t.startswith("nps_") for t in user.tags)
        }


def followup_tickets(sandbox: Sandbox) -> dict[int, str]:
    """Ticket id -> external id, for every follow-up ticket the loop opened in Zendesk."""
    world, account = sandbox.world, sandbox.zendesk.account
    with world.lock:
        return {
            ticket.id: str(account.extras(ticket.id).get("external_id"))
            for ticket in world.tickets.values()
            if "nps_followup" in ticket.tags
        }


def zendesk_writes(snapshot: TrafficSnapshot) -> int:
    return sum(n for route, n in snapshot.calls_by_route.items() if route.startswith(WRITE_METHODS))


class ShopifyTagWrites:
    """Counts the ``tagsAdd``/``tagsRemove`` mutations the Shopify simulator is asked to run.

    Every GraphQL call shares one route, so the traffic counters cannot tell a tag write from a
    read; this wraps the simulator's request runner (test instrumentation, one instance only)."""

    def __init__(self, simulator: ShopifySimulator) -> None:
        self.count = 0
        inner = simulator._run  # private on purpose: see the class docstring

        def counting(body: dict[str, Any], *args: Any, **kwargs: Any) -> Any:
            self.count += len(_TAG_MUTATION.findall(str(body.get("query", ""))))
            return inner(body, *args, **kwargs)

        simulator._run = counting  # type: ignore[method-assign]
