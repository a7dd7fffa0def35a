"""The distributed commands' checks, before any broker is reached, and ``--store`` / ``nps stores``
on a plain SQLite store (no queue needed)."""

from __future__ import annotations

import json
import os
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import redis
from sqlite_template import migrated_sqlite
from typer.testing import CliRunner

from jobs.cli import console
from jobs.cli.app import app
from jobs.distributed.slices import SliceEnded, StoreSlice
from nps_engine.store.database import Database
from nps_engine.store.models import JobRun

QUEUE = "queue: {broker_url: 'redis://127.0.0.1:6379/0'}\n"


def nps(config: Path, *args: str) -> object:
    return CliRunner().invoke(app, ["--config", str(config), *args])


@pytest.fixture
def two_stores(tmp_path: Path) -> Path:
    path = tmp_path / "config.yaml"
    path.write_text(
        f"database: {{url: 'sqlite:///{tmp_path / 'nps.db'}'}}\n"
        "stores: [{store: {id: north, name: North}}, {store: {id: south, timezone: Asia/Tokyo}}]\n"
    )
    migrated_sqlite(tmp_path / "nps.db").dispose()
    return path


@pytest.mark.parametrize("command", [["worker"], ["scheduler", "--once"], ["run", "--enqueue"]])
def test_distributed_mode_on_sqlite_is_refused_naming_the_key(
    tmp_path: Path, command: list[str]
) -> None:
    path = tmp_path / "config.yaml"
    path.write_text(f"store: {{id: shop}}\n{QUEUE}")
    result = nps(path, *command)
    assert result.exit_code == 2, result.output  # type: ignore[attr-defined]
    assert "database.url: distributed mode (queue:) needs PostgreSQL, not sqlite" in (
        result.output  # type: ignore[attr-defined]
    )


def test_distributed_commands_without_a_queue_section_say_what_to_add(two_stores: Path) -> None:
    result = nps(two_stores, "worker")
    assert result.exit_code == 2  # type: ignore[attr-defined]
    assert "queue: is not configured" in result.output  # type: ignore[attr-defined]


@pytest.mark.parametrize(
    ("queue", "message"),
    [
        ("{broker_url: 'http://broker:80'}", "queue.broker_url: must start with redis://"),
        ("{broker_url: 'amqp://guest:guest@127.0.0.1:5672//'}", "redis_url is required"),
        ("{broker_url: 'redis://x', worker_pool: gevent}", "queue.worker_pool: must be one of"),
        ("{broker_url: 'redis://x', brokerurl: y}", "queue.brokerurl: unknown key"),
        ("{broker_url: 'redis://x', store_time_budget_seconds: 1}", "must be >= 5"),
    ],
)
def test_bad_queue_settings_are_configuration_errors(
    tmp_path: Path, queue: str, message: str
) -> None:
    path = tmp_path / "config.yaml"
    path.write_text(f"store: {{id: shop}}\nqueue: {queue}\n")
    result = nps(path, "check")
    assert result.exit_code == 2  # type: ignore[attr-defined]
    assert message in result.output  # type: ignore[attr-defined]
    assert "guest:guest" not in result.output  # type: ignore[attr-defined]


def test_store_option_picks_stores_and_refuses_unknown_ids(two_stores: Path) -> None:
    chosen = nps(two_stores, "status", "--format", "json", "--store", "south")
    assert chosen.exit_code == 0, chosen.output  # type: ignore[attr-defined]
    assert json.loads(chosen.stdout)["store"] == "south"  # type: ignore[attr-defined]
    both = nps(two_stores, "status", "--format", "json", "--store", "south", "--store", "north")
    stores = [entry["store"] for entry in json.loads(both.stdout)["stores"]]  # type: ignore[attr-defined]
    assert stores == ["south", "north"]
    for command in (["sync"], ["surveys", "send"], ["tags", "push"], ["run"], ["report"]):
        wrong = nps(two_stores, *command, "--store", "west")
        assert wrong.exit_code == 2, (command, wrong.output)  # type: ignore[attr-defined]
        assert "--store: no store with id 'west'" in wrong.output  # type: ignore[attr-defined]


def test_nps_stores_lists_each_store_with_its_last_runs(
    two_stores: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    database = Database(f"sqlite:///{tmp_path / 'nps.db'}")
    started = datetime(2026, 11, 2, 9, 15, tzinfo=UTC)
    with database.session() as session:
        for job, status in (("sync", "succeeded"), ("tags push", "failed")):
            session.add(JobRun(store="north", job=job, status=status, started_at=started,
                               finished_at=started + timedelta(seconds=30), counters={},
                               errors=[]))  # fmt: skip
    database.dispose()
    listed = nps(two_stores, "stores", "--format", "json")
    assert listed.exit_code == 0, listed.output  # type: ignore[attr-defined]
    stores = {s["store"]: s for s in json.loads(listed.stdout)["stores"]}  # type: ignore[attr-defined]
    assert stores["north"]["last_runs"]["sync"]["status"] == "succeeded"
    assert stores["north"]["last_runs"]["tags push"]["status"] == "failed"
    assert stores["south"]["last_runs"] == {}
    assert stores["south"]["timezone"] == "Asia/Tokyo"
    # Rich reads COLUMNS once, when the console is made (at the first import of jobs.cli.console,
    # by whichever test came first): set the width of this run of the table here instead.
    monkeypatch.setattr(console.stdout, "_width", 200)
    table = CliRunner().invoke(app, ["--config", str(two_stores), "stores"])
    assert "north" in table.stdout  # type: ignore[attr-defined]
    assert "sync: succeeded 2026-11-02 09:15 UTC" in table.stdout  # type: ignore[attr-defined]
    assert "never run" in table.stdout  # type: ignore[attr-defined]


def test_a_store_slice_ends_at_the_first_progress_after_its_budget() -> None:
    now = [0.0]
    store_slice = StoreSlice(10, clock=lambda: now[0])
    store_slice.progress("shopify orders", 250)
    now[0] = 10.0
    with pytest.raises(SliceEnded):
        store_slice.progress("shopify orders", 500)
    assert store_slice.ended


@pytest.mark.skipif(
    not os.environ.get("NPS_TEST_REDIS_URL"), reason="NPS_TEST_REDIS_URL is not set"
)
def test_run_enqueue_with_the_broker_down_fails_and_leaves_nothing_marked(tmp_path: Path) -> None:
    redis_url = os.environ["NPS_TEST_REDIS_URL"]
    store = f"down-{uuid.uuid4().hex[:8]}"
    path = tmp_path / "config.yaml"
    path.write_text(
        f"store: {{id: {store}}}\n"
        "database: {url: 'postgresql://postgres@127.0.0.1:5432/unused'}\n"
        f"queue: {{broker_url: 'amqp://guest:guest@127.0.0.1:1//', redis_url: '{redis_url}'}}\n"
    )
    result = nps(path, "run", "--enqueue")
    assert result.exit_code == 1, result.output  # type: ignore[attr-defined]
    assert "cannot reach the queue" in result.output  # type: ignore[attr-defined]
    client = redis.Redis.from_url(redis_url)
    try:
        assert not list(client.scan_iter(f"nps:queue:queued:{store}:*"))
    finally:
        client.close()
