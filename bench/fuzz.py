"""Fuzz the CSV importer, the config loader, segment rules and the Shopify webhook parsers for
longer than CI does, and print what was tried and what went wrong.

    python bench/fuzz.py                    # 2,000 inputs per target (a few minutes)
    python bench/fuzz.py --examples 300     # quicker

For each target: inputs tried, crashes (an exception other than the clear error the input
deserves, or a config ``nps check`` accepted that then breaks), 500s (the receiver over HTTP
answered a server error), and the first few failing inputs. Exit code 1 when anything failed.
The targets live in ``sandbox/fuzzing.py``; ``tests/security/test_fuzz.py`` runs them briefly.
"""

from __future__ import annotations

import argparse
import logging
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Callable
from pathlib import Path
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from sandbox import fuzzing


def run(name: str, strategy: st.SearchStrategy[Any], target: Callable[[Any], str],
        examples: int) -> Counter[str]:  # fmt: skip
    outcomes: Counter[str] = Counter()
    failing: list[str] = []

    @settings(max_examples=examples, deadline=None, database=None,
              suppress_health_check=list(HealthCheck))  # fmt: skip
    @given(strategy)
    def probe(value: Any) -> None:
        outcome = target(value)
        outcomes[outcome] += 1
        if outcome != "ok" and len(failing) < 3:
            failing.append(f"{outcome}: {repr(value)[:160]}")

    started = time.monotonic()
    probe()
    tried = sum(outcomes.values())
    crashes = sum(n for outcome, n in outcomes.items() if outcome.startswith("crash"))
    print(f"{name:<26} {tried:>7} {crashes:>8} {outcomes['500']:>6} "
          f"{time.monotonic() - started:>8.1f}s")  # fmt: skip
    for line in failing:
        print(f"    {line}")
    return outcomes


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--examples", type=int, default=2000, help="inputs per target")
    examples = parser.parse_args().examples
    logging.disable(logging.WARNING)  # refusals are logged by design; the table says enough
    print(f"{'target':<26} {'inputs':>7} {'crashes':>8} {'500s':>6} {'time':>9}")
    total: Counter[str] = Counter()
    total += run("csv importer", fuzzing.csv_files(), fuzzing.import_csv, examples)
    total += run("config loader", fuzzing.config_texts(), fuzzing.load_config, examples)
    total += run("segment rules", fuzzing.rules, fuzzing.segment_rule, examples)
    total += run("webhook payloads", st.tuples(st.sampled_from(fuzzing.TOPICS), fuzzing.payloads),
                 lambda pair: fuzzing.webhook_payload(*pair), examples)  # fmt: skip
    with tempfile.TemporaryDirectory() as folder:
        harness = fuzzing.ReceiverHarness(Path(folder))
        try:
            total += run("webhook receiver (HTTP)", fuzzing.deliveries(), harness.deliver, examples)
        finally:
            harness.close()
    tried = sum(total.values())
    crashes = sum(n for outcome, n in total.items() if outcome.startswith("crash"))
    print(f"{'total':<26} {tried:>7} {crashes:>8} {total['500']:>6}")
    return 1 if crashes or total["500"] else 0


if __name__ == "__main__":
    sys.exit(main())
