"""Fixtures for the sandbox tests: a fake clock, running simulators, a zenpy client on them."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from unittest import mock

import pytest
import requests
from zenpy import Zenpy

from sandbox.clock import ManualClock
from sandbox.generator import generate
from sandbox.smtp import SmtpSink
from sandbox.world import World
from sandbox.zendesk import ZendeskOptions, ZendeskSimulator

SANDBOX_NOW = datetime(2026, 11, 1, 12, tzinfo=UTC)
SAMPLES = Path(__file__).resolve().parents[3] / "shared" / "reference" / "zendesk" / "samples"


@pytest.fixture
def zendesk_sample() -> Callable[[str], dict[str, Any]]:
    """A recorded real Zendesk answer by file name (skips when ../shared is absent)."""

    def load(name: str) -> dict[str, Any]:
        path = SAMPLES / name
        if not path.exists():
            pytest.skip(f"../shared/reference/zendesk/samples/{name} is not present")
        return json.loads(path.read_text())  # type: ignore[no-any-return]

    return load


@pytest.fixture
def fake_clock() -> ManualClock:
    return ManualClock(SANDBOX_NOW)


@pytest.fixture
def zendesk_world() -> World:
    return generate(60, seed=11, now=SANDBOX_NOW - timedelta(minutes=5))


@pytest.fixture
def zendesk_options() -> ZendeskOptions:
    """Override in a test module to run the simulator with other options."""
    return ZendeskOptions()


@pytest.fixture
def zendesk(
    zendesk_world: World, zendesk_options: ZendeskOptions, fake_clock: ManualClock
) -> Iterator[ZendeskSimulator]:
    simulator = ZendeskSimulator(
        zendesk_world, zendesk_options, clock=fake_clock.now, monotonic=fake_clock.monotonic
    )
    with simulator:
        yield simulator
    assert not simulator.server.errors, simulator.server.errors[0]  # no simulator bug hidden


@pytest.fixture
def zenpy_client(
    zendesk: ZendeskSimulator, fake_clock: ManualClock, monkeypatch: pytest.MonkeyPatch
) -> Iterator[Zenpy]:
    """zenpy 2.0.57 as a user constructs it, pointed at the simulator (zendesk-notes 1.3).

    zenpy sleeps one second at a time on 429; the sleep moves the fake clock instead.
    """
    monkeypatch.setenv("ZENPY_FORCE_SCHEME", "http")
    monkeypatch.setenv("ZENPY_FORCE_NETLOC", f"127.0.0.1:{zendesk.port}")
    client = Zenpy(
        subdomain=zendesk.options.subdomain,
        email=zendesk.options.email,
        token=zendesk.options.api_token,
        session=requests.Session(),
        disable_cache=True,
    )
    with mock.patch("zenpy.lib.api.sleep", side_effect=fake_clock.advance):
        yield client


@pytest.fixture
def smtp_sink() -> Iterator[SmtpSink]:
    with SmtpSink() as sink:
        yield sink
