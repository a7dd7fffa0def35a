"""Two stores in one config (``stores:``) and one database: each synced from its own shop and
Zendesk account, under its own cursors and its own lock, and reported apart by ``nps status``."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from loop_support import PLUS_BUCKET, write_config
from sqlalchemy import select
from sqlite_template import migrated_sqlite
from typer.testing import CliRunner

from jobs.cli.app import app
from jobs.runtime.locks import JobLockGuard
from nps_engine.store import models
from nps_engine.store.database import Database
from sandbox.runner import Sandbox, SandboxOptions
from sandbox.world import World

STORES = {"north": 21, "south": 22}  # store id -> world seed
SECTIONS = ("shopify", "zendesk", "email")


@pytest.fixture
def shops() -> Iterator[dict[str, Sandbox]]:
    now = datetime.now(UTC).replace(microsecond=0)
    sandboxes = {
        store: Sandbox(SandboxOptions(customers=60, seed=seed, now=now, shopify_bucket=PLUS_BUCKET))
        for store, seed in STORES.items()
    }
    try:
        for sandbox in sandboxes.values():
            sandbox.start()
        yield sandboxes
    finally:
        for sandbox in sandboxes.values():
            sandbox.stop()


@pytest.fixture
def config(shops: dict[str, Sandbox], tmp_path: Path) -> Path:
    url = f"sqlite:///{tmp_path / 'nps.db'}"
    stores: list[dict[str, Any]] = []
    for store, sandbox in shops.items():
        document = sandbox.config(database_url=url)
        entry = {section: document[section] for section in SECTIONS}
        stores.append({"store": {**document["store"], "id": store}, **entry})
    shared = shops["north"].config(database_url=url)
    path = tmp_path / "config.yaml"
    write_config({"database": shared["database"], "web": shared["web"], "stores": stores}, path)
    migrated_sqlite(tmp_path / "nps.db").dispose()
    return path


def nps(config: Path, *args: str) -> Any:
    return CliRunner().invoke(app, ["--config", str(config), *args])


def in_backfill_window(world: World, days: int = 365) -> tuple[int, int]:
    """Customers and orders a first sync reads: updated in the backfill window, before the lag."""
    oldest, newest = world.now - timedelta(days=days), world.now - timedelta(seconds=60)
    customers = sum(oldest <= c.updated_at <= newest for c in world.customers.values())
    orders = sum(oldest <= o.updated_at <= newest for o in world.orders.values())
    return customers, orders


def test_sync_and_status_handle_each_store_under_its_own_cursors(
    shops: dict[str, Sandbox], config: Path
) -> None:
    synced = nps(config, "sync")
    assert synced.exit_code == 0, synced.output
    for store in STORES:
        assert store in synced.output
    status = nps(config, "status", "--format", "json")
    assert status.exit_code == 0, status.output
    by_store = {entry["store"]: entry for entry in json.loads(status.stdout)["stores"]}
    assert set(by_store) == set(STORES)
    for store, sandbox in shops.items():
        entry = by_store[store]
        assert (entry["customers"], entry["orders"]) == in_backfill_window(sandbox.world)
        assert entry["tickets"] > 0
        assert entry["last_runs"]["sync"]["status"] == "succeeded"
        assert set(entry["cursors"]) >= {"shopify.customers", "shopify.orders"}
        for cursor in entry["cursors"].values():
            assert cursor["lag_seconds"] >= 0
    url = f"sqlite:///{config.parent / 'nps.db'}"
    database = Database(url)
    try:
        with database.session() as session:
            rows = session.execute(select(models.Cursor.store, models.Cursor.name)).all()
    finally:
        database.dispose()
    names = {store: {name for s, name in rows if s == store} for store in STORES}
    assert names["north"] == names["south"]
    assert len(rows) == 2 * len(names["north"])


def test_a_store_whose_sync_is_running_elsewhere_does_not_hold_up_the_other(
    shops: dict[str, Sandbox], config: Path
) -> None:
    database = Database(f"sqlite:///{config.parent / 'nps.db'}")
    try:
        with JobLockGuard(database, "north", "sync", lambda: datetime.now(UTC)):
            synced = nps(config, "sync")
    finally:
        database.dispose()
    assert synced.exit_code == 1, synced.output
    assert "another 'sync' run is in progress for store 'north'" in synced.output
    status = json.loads(nps(config, "status", "--format", "json").stdout)
    by_store = {entry["store"]: entry for entry in status["stores"]}
    assert by_store["south"]["last_runs"]["sync"]["status"] == "succeeded"
    assert by_store["south"]["customers"] > 0
    assert "sync" not in by_store["north"]["last_runs"]
    assert by_store["north"]["customers"] == 0
