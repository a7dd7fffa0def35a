"""Bounded fuzzing in CI (280 inputs in all): every input gets its result or its clear
error, never an escaped exception or a 500. ``python bench/fuzz.py`` runs the same targets
longer."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from hypothesis import HealthCheck, given, settings

from sandbox import fuzzing

BRIEF = settings(
    max_examples=60,
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)


@BRIEF
@given(fuzzing.csv_files())
def test_csv_importer(text: str) -> None:
    assert fuzzing.import_csv(text) == "ok"


@BRIEF
@given(fuzzing.config_texts())
def test_config_loader(text: str) -> None:
    assert fuzzing.load_config(text) == "ok"


@BRIEF
@given(fuzzing.rules)
def test_segment_rules(rule: Any) -> None:
    assert fuzzing.segment_rule(rule) == "ok"


@BRIEF
@given(fuzzing.st.sampled_from(fuzzing.TOPICS), fuzzing.payloads)
def test_webhook_payload_parser(topic: str, payload: Any) -> None:
    assert fuzzing.webhook_payload(topic, payload) == "ok"


def test_webhook_receiver_over_http(tmp_path: Path) -> None:
    harness = fuzzing.ReceiverHarness(tmp_path)

    @settings(BRIEF, max_examples=40)
    @given(fuzzing.deliveries())
    def deliver(delivery: tuple[str, bytes, dict[str, str]]) -> None:
        assert harness.deliver(delivery) == "ok"

    try:
        deliver()
    finally:
        harness.close()
