"""Load on the survey response app: score POSTs for distinct invites, over loopback.

    python bench/web.py [--invites 20000] [--concurrency 8] [--seconds 20]

Starts ``nps_engine.web.app`` under uvicorn in a child process (one worker, SQLite file store, as
``nps serve`` runs it), creates the invites, then POSTs one score per invite, as the page's
script does (form body ``score`` + ``nonce``, ``Accept: application/json``), from a small asyncio
HTTP/1.1 client with ``--concurrency`` keep-alive connections. Prints sustained responses/s,
p50/p99 latency, and answers stored vs answers acknowledged (must be equal: zero lost).
Targets (2 cores, SQLite): >= 300 responses/s, p99 < 100 ms, zero lost.
The per-IP POST limit is raised for the run: every request comes from 127.0.0.1.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
from sqlalchemy import func, insert, select

from nps_engine.config.settings import Settings
from nps_engine.invite_tokens import Purpose, TokenSigner
from nps_engine.store.database import Database
from nps_engine.store.models import Invite, Response

SECRET = "bench-secret-key-0123456789"
STORE = "bench"


def settings_for(database_url: str, port: int) -> Settings:
    return Settings.model_validate(
        {
            "store": {"id": STORE, "name": "Bench Store"},
            "database": {"url": database_url},
            "web": {
                "public_url": f"http://127.0.0.1:{port}",
                "secret_key": SECRET,
                "posts_per_minute_per_ip": 10**9,
            },
        }
    )


def serve(database_url: str, port: int) -> None:
    import uvicorn

    from jobs.bootstrap import web_app

    database = Database(database_url)
    app = web_app(settings_for(database_url, port), database)
    uvicorn.run(app, host="127.0.0.1", port=port, log_level="warning", access_log=False)


def seed(database: Database, count: int, now: datetime) -> list[int]:
    rows = [
        {
            "store": STORE,
            "kind": "transactional",
            "order_id": 1_000_000 + n,
            "customer_id": n,
            "email": f"customer{n}@example.com",
            "locale": "en",
            "state": "sent",
            "created_at": now,
            "sent_at": now,
        }
        for n in range(count)
    ]
    with database.session() as session:
        session.execute(insert(Invite), rows)
        return list(session.scalars(select(Invite.id).where(Invite.store == STORE)))


async def load(
    url: str, posts: list[tuple[str, str]], concurrency: int, seconds: float
) -> tuple[list[float], int, float]:
    """``concurrency`` keep-alive connections, each sending one POST after the other.

    The client writes and parses HTTP/1.1 by hand on asyncio streams: on a 2-core machine a full
    HTTP client would spend as much CPU per request as the app and halve what the app can show.
    """
    host, port = url.removeprefix("http://").split(":")
    latencies: list[float] = []
    acknowledged = 0
    queue = iter(posts)
    deadline = time.perf_counter() + seconds

    async def worker() -> None:
        nonlocal acknowledged
        reader, writer = await asyncio.open_connection(host, int(port))
        try:
            for token, nonce in queue:
                if time.perf_counter() > deadline:
                    return
                body = f"score=9&nonce={nonce}".encode()
                request = (
                    f"POST /s/{token} HTTP/1.1\r\nHost: {host}:{port}\r\n"
                    "Accept: application/json\r\n"
                    "Content-Type: application/x-www-form-urlencoded\r\n"
                    f"Content-Length: {len(body)}\r\n\r\n"
                ).encode() + body
                started = time.perf_counter()
                writer.write(request)
                status, answer = await _read_response(reader)
                latencies.append(time.perf_counter() - started)
                if status == 200 and b'"saved":true' in answer.replace(b" ", b""):
                    acknowledged += 1
        finally:
            writer.close()

    started = time.perf_counter()
    await asyncio.gather(*(worker() for _ in range(concurrency)))
    return latencies, acknowledged, time.perf_counter() - started


async def _read_response(reader: asyncio.StreamReader) -> tuple[int, bytes]:
    head = await reader.readuntil(b"\r\n\r\n")
    lines = head.split(b"\r\n")
    status = int(lines[0].split()[1])
    length = 0
    for line in lines[1:]:
        name, _, value = line.partition(b":")
        if name.strip().lower() == b"content-length":
            length = int(value)
    return status, await reader.readexactly(length)


def process_cpu_seconds(pid: int) -> float:
    """User + system CPU time of a process so far (Linux /proc), to cost one answer."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def wait_until_up(url: str) -> None:
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        try:
            if httpx.get(f"{url}/health", timeout=1).status_code == 200:
                return
        except httpx.HTTPError:
            time.sleep(0.1)
    raise SystemExit("the app did not start")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--invites", type=int, default=20000)
    parser.add_argument("--concurrency", type=int, default=8)
    parser.add_argument("--seconds", type=float, default=20.0)
    parser.add_argument(
        "--serve", nargs=2, metavar=("DATABASE_URL", "PORT"), help=argparse.SUPPRESS
    )
    args = parser.parse_args()
    if args.serve:
        serve(args.serve[0], int(args.serve[1]))
        return
    folder = Path(tempfile.mkdtemp(prefix="nps-bench-web-"))
    database_url = f"sqlite:///{folder / 'bench.db'}"
    database = Database(database_url)
    database.upgrade()
    now = datetime.now(UTC)
    invite_ids = seed(database, args.invites, now)
    signer = TokenSigner(SECRET, timedelta(days=60))
    posts = [
        (signer.issue(Purpose.SURVEY, i, now), signer.issue(Purpose.FORM, i, now))
        for i in invite_ids
    ]
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    server = subprocess.Popen([sys.executable, __file__, "--serve", database_url, str(port)])
    try:
        url = f"http://127.0.0.1:{port}"
        wait_until_up(url)
        cpu_before = process_cpu_seconds(server.pid)
        latencies, acknowledged, elapsed = asyncio.run(
            load(url, posts, args.concurrency, args.seconds)
        )
        cpu_during = process_cpu_seconds(server.pid) - cpu_before
    finally:
        server.terminate()
        server.wait(10)
    with database.session() as session:
        stored = session.scalar(
            select(func.count()).select_from(Response).where(Response.store == STORE)
        )
    cuts = statistics.quantiles(latencies, n=100)
    print(
        f"requests sent:        {len(latencies)} in {elapsed:.1f} s, {args.concurrency} in flight"
    )
    print(f"sustained throughput: {len(latencies) / elapsed:.0f} responses/s")
    print(f"latency p50 / p99:    {cuts[49] * 1000:.1f} ms / {cuts[98] * 1000:.1f} ms")
    lost = acknowledged - (stored or 0)
    print(f"answers acknowledged: {acknowledged}, stored: {stored}, lost: {lost}")
    per_answer = cpu_during / max(1, len(latencies))
    print(
        f"server CPU per answer: {per_answer * 1000:.2f} ms "
        f"(the app alone on one free core: ~{1 / per_answer:.0f} answers/s)"
    )
    print(f"machine load average: {' / '.join(f'{x:.1f}' for x in os.getloadavg())} (1/5/15 min)")


if __name__ == "__main__":
    main()
