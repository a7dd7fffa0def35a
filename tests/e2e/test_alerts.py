"""Alerts through a real SMTP server (aiosmtpd) and a loopback HTTP receiver: each answer alerted
once per destination, even when ``nps alerts send`` is killed in the middle and run again."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
import yaml
from click.testing import Result
from loop_support import kill_when, start_nps
from sqlite_template import migrated_sqlite
from typer.testing import CliRunner

from connectors.alerts import EmailChannel, WebhookChannel
from jobs.alerts import send_alerts
from jobs.cli.app import app
from jobs.runtime.scheduler import store_scheduler
from nps_engine.config.settings import Settings
from nps_engine.store.database import Database
from nps_engine.store.models import Alert, Customer, Order, Response
from sandbox.smtp import SmtpSink


class Receiver:
    """A webhook endpoint on 127.0.0.1 that records each POST body; it can hold one request
    open (to kill the sender mid-send) or answer 503 to the next ones."""

    def __init__(self) -> None:
        self.bodies: list[dict[str, Any]] = []
        self.hold_on: int | None = None  # the n-th POST (1-based) is held until released
        self.release = threading.Event()
        self.failures = 0
        self.lock = threading.Lock()
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
                with receiver.lock:
                    if receiver.failures:
                        receiver.failures -= 1
                        status = 503
                    else:
                        receiver.bodies.append(body | {"key": self.headers["Idempotency-Key"]})
                        status = 200
                    held = receiver.hold_on == len(receiver.bodies) and status == 200
                if held:
                    receiver.release.wait(30)
                self.send_response(status)
                self.end_headers()

            def log_message(self, *args: object) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/hook"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self) -> None:
        self.release.set()
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    hook = Receiver()
    yield hook
    hook.close()


@pytest.fixture
def sink() -> Iterator[SmtpSink]:
    with SmtpSink() as smtp:
        yield smtp


def config(tmp_path: Path, sink: SmtpSink, receiver: Receiver, **alerts: Any) -> Path:
    document = {
        "store": {"id": "shop", "name": "Maison Verte", "timezone": "Europe/Paris"},
        "database": {"url": f"sqlite:///{tmp_path / 'nps.db'}"},
        "email": {
            "smtp_host": sink.host,
            "smtp_port": sink.port,
            "security": "none",
            "from": "Maison Verte <hello@maisonverte.example>",
            "timeout_seconds": 5,
        },
        "web": {"public_url": "https://nps.maisonverte.example", "secret_key": "x" * 20},
        "alerts": {
            "email_to": ["boss@maisonverte.example", "care@maisonverte.example"],
            "webhook_url": receiver.url,
            **alerts,
        },
    }
    path = tmp_path / "config.yaml"
    path.write_text(yaml.safe_dump(document), encoding="utf-8")
    return path


def settings_of(path: Path) -> Settings:
    from nps_engine.config import load_settings

    return load_settings(path)[0]


def seed(database: Database, now: datetime, scores: list[int]) -> list[int]:
    ids = []
    with database.session() as session:
        for n, score in enumerate(scores, start=1):
            at = now - timedelta(minutes=30 + n)
            session.add(
                Customer(
                    store="shop",
                    id=n,
                    email=f"buyer{n}@example.com",
                    first_name="Ann",
                    last_name=f"B{n}",
                )
            )
            session.add(
                Order(
                    store="shop",
                    id=100 + n,
                    name=f"#{100 + n}",
                    customer_id=n,
                    created_at=at,
                    updated_at=at,
                )
            )
            answer = Response(
                store="shop",
                source="survey",
                kind="transactional",
                customer_id=n,
                email=f"buyer{n}@example.com",
                order_id=100 + n,
                score=score,
                comment=f"Answer {n}: <!channel> & <b>broken</b>",
                responded_at=at,
                updated_at=at,
            )
            session.add(answer)
            session.flush()
            ids.append(answer.id)
    return ids


def nps(path: Path, *args: str) -> Result:
    """``nps --config PATH ARGS`` in this process: only the run that is killed needs a process of
    its own (each costs a second or more of CPU to start, most of this file's time)."""
    return CliRunner().invoke(app, ["--config", str(path), *args])


def migrated(path: Path) -> Database:
    return migrated_sqlite(path.parent / "nps.db")


def test_killed_mid_send_and_run_again_alerts_each_answer_exactly_once(
    tmp_path: Path, sink: SmtpSink, receiver: Receiver
) -> None:
    path = config(tmp_path, sink, receiver)
    database = migrated(path)
    detractors = seed(database, datetime.now(UTC), [0, 3, 6, 2, 5, 9])[:5]  # the 9 alerts nobody
    receiver.hold_on = 3  # the third webhook POST arrives, then the sender is killed
    process = start_nps(path, "alerts", "send")
    assert kill_when(process, lambda: len(receiver.bodies) >= 3), "the run ended before the kill"
    receiver.hold_on = None
    receiver.release.set()

    again = nps(path, "alerts", "send")
    assert again.exit_code == 0, again.output
    assert nps(path, "alerts", "send").exit_code == 0  # a third run finds nothing new

    posted = [body["text"] for body in receiver.bodies]
    assert len(posted) == len(detractors)
    for number in range(1, 6):
        assert sum(f"Answer {number}:" in text for text in posted) == 1
    for address in ("boss@maisonverte.example", "care@maisonverte.example"):
        subjects = [m.message["Subject"] for m in sink.to(address)]
        assert len(subjects) == len(detractors), subjects
        assert all("detractor" in subject for subject in subjects)
    with database.session() as session:
        states = sorted(a.state for a in session.query(Alert))
    assert states == ["sending"] + ["sent"] * 14  # the killed one is never sent twice
    status = nps(path, "status", "--format", "json").stdout
    assert json.loads(status)["alerts"]["sending"] == 1
    database.dispose()


def test_slack_message_escapes_the_comment_and_links_the_answer(
    tmp_path: Path, sink: SmtpSink, receiver: Receiver
) -> None:
    path = config(tmp_path, sink, receiver, email_to=[])
    database = migrated(path)
    [answer_id] = seed(database, datetime.now(UTC), [1])
    assert nps(path, "alerts", "send").exit_code == 0
    [body] = receiver.bodies
    assert "&lt;!channel&gt; &amp; &lt;b&gt;broken&lt;/b&gt;" in body["text"]
    assert "<!channel>" not in body["text"]
    assert f"<https://nps.maisonverte.example/admin/responses/{answer_id}|" in body["text"]
    assert "*Detractor: 1/10*" in body["text"]
    assert "#101" in body["text"]
    database.dispose()


def test_a_webhook_that_fails_is_retried_next_run_and_shown_in_status(
    tmp_path: Path, sink: SmtpSink, receiver: Receiver
) -> None:
    path = config(tmp_path, sink, receiver, email_to=[], webhook_format="json")
    database = migrated(path)
    settings = settings_of(path)
    now = datetime.now(UTC)
    [answer_id] = seed(database, now, [4])
    channel = WebhookChannel(receiver.url, slack=False, sleep=lambda _: None)
    receiver.failures = 100
    first = send_alerts(database, settings, [channel], now)
    assert (first.sent, first.waiting) == (0, 1)
    assert "HTTP 503" in first.errors[0]
    status = nps(path, "status", "--format", "json").stdout
    report = json.loads(status)
    assert report["alerts"]["due"] == 1
    assert "503" in report["alert_problems"][0]

    receiver.failures = 0
    second = send_alerts(database, settings, [channel], now + timedelta(minutes=1))
    assert second.sent == 1
    [body] = receiver.bodies
    assert body["response_id"] == answer_id
    assert body["category"] == "detractor"
    assert body["url"].endswith(f"/admin/responses/{answer_id}")
    database.dispose()


def test_a_fresh_answer_without_a_comment_waits_for_settle_minutes(
    tmp_path: Path, sink: SmtpSink, receiver: Receiver
) -> None:
    path = config(tmp_path, sink, receiver, email_to=[], settle_minutes=2)
    database = migrated(path)
    settings = settings_of(path)
    now = datetime.now(UTC)
    with database.session() as session:
        session.add(
            Response(
                store="shop",
                source="survey",
                kind="transactional",
                score=2,
                email="x@example.com",
                responded_at=now,
                updated_at=now,
            )
        )
    channel = WebhookChannel(receiver.url, sleep=lambda _: None)
    assert send_alerts(database, settings, [channel], now + timedelta(seconds=30)).sent == 0
    assert send_alerts(database, settings, [channel], now + timedelta(minutes=2)).sent == 1
    database.dispose()


def test_digest_mode_sends_yesterday_once_per_destination(
    tmp_path: Path, sink: SmtpSink, receiver: Receiver
) -> None:
    path = config(tmp_path, sink, receiver, mode="digest", categories=["detractor", "promoter"])
    database = migrated(path)
    settings = settings_of(path)
    nine_am = datetime(2026, 3, 11, 8, 0, tzinfo=UTC)  # 09:00 in Paris
    with database.session() as session:
        for n, score in enumerate([0, 10, 8], start=1):
            at = datetime(2026, 3, 10, 9 + n, tzinfo=UTC)
            session.add(
                Response(
                    store="shop",
                    source="survey",
                    kind="transactional",
                    score=score,
                    email=f"p{n}@example.com",
                    comment=f"said {n}",
                    responded_at=at,
                    updated_at=at,
                )
            )
    from jobs.bootstrap import mailer as mailer_of

    with mailer_of(settings) as mailer:
        channels = [
            EmailChannel(
                mailer,
                "boss@maisonverte.example",
                "hello@maisonverte.example",
                "maisonverte.example",
            ),
            WebhookChannel(receiver.url, sleep=lambda _: None),
        ]
        assert send_alerts(database, settings, channels, nine_am - timedelta(hours=2)).sent == 0
        assert send_alerts(database, settings, channels, nine_am).sent == 2
        assert send_alerts(database, settings, channels, nine_am + timedelta(hours=3)).sent == 0
    [mail] = sink.to("boss@maisonverte.example")
    assert "2026-03-10: 2 answers" in mail.message["Subject"]
    [body] = receiver.bodies
    assert "said 1" in body["text"]
    assert "said 2" in body["text"]
    assert "said 3" not in body["text"]
    database.dispose()


def test_the_scheduler_runs_alerts_every_minute_only_when_configured(
    tmp_path: Path, sink: SmtpSink, receiver: Receiver
) -> None:
    settings = settings_of(config(tmp_path, sink, receiver))
    database = migrated(tmp_path / "config.yaml")
    with_alerts = store_scheduler(settings, database, lambda: datetime.now(UTC))
    assert with_alerts.schedules[0].job == "alerts"
    assert with_alerts.schedules[0].every == timedelta(minutes=1)
    quiet = settings.model_copy(update={"alerts": type(settings.alerts)()})
    assert "alerts" not in store_scheduler(quiet, database, lambda: datetime.now(UTC)).jobs
    database.dispose()
