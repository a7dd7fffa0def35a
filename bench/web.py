"""Survey pages under load: ``wrk`` against ``nps serve`` and against a bare Starlette app.

    python bench/web.py [--seconds 10] [--connections 8] [--invites 40000]
    python bench/web.py --postgres postgresql+psycopg://postgres@127.0.0.1:5432/test

Seeds a store (a fresh SQLite file, or a database of its own created beside the one named by
``--postgres`` / ``NPS_BENCH_POSTGRES`` and dropped afterwards) with ``--invites`` sent invites,
starts ``nps serve --no-scheduler`` (one uvicorn worker, its real config, limits and middleware)
and a bare Starlette app under the same uvicorn settings, then runs ``wrk`` (Debian's ``wrk``,
``--connections`` keep-alive connections, 2 threads) four times after a one-second warm-up of
each server, interleaved:

- GET ``/s/<token>/9``: nps renders the question page; bare Starlette returns a fixed page of the
  same size;
- POST ``/s/<token>``: the page script's answer (``score`` + ``nonce``, ``Accept:
  application/json``), one distinct invite per request (a Lua script deals the tokens out);
  nps records it, bare Starlette parses the form and answers the same JSON.

Prints requests/s, p50/p99 latency, the servers' CPU per request and the ratios, then answers
acknowledged (200 with ``"saved":true``) against answers stored: none may be lost; a few more may
be stored than acknowledged, the POSTs in flight when ``wrk`` stopped (at most one per connection).
The per-IP POST limit is raised for the run: every request comes from 127.0.0.1.
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
from sqlalchemy import func, insert, select

from nps_engine.invite_tokens import Purpose, TokenSigner
from nps_engine.store.database import Database
from nps_engine.store.models import Invite, Response

SECRET = "bench-secret-key-0123456789"
STORE = "bench"
THREADS = 2

# One Lua state per wrk thread: each takes every THREADS-th line of the token file, so no two
# connections ever answer the same invite. done() runs in the main state and sums the threads.
LUA = r"""
local threads, count = {}, 0
function setup(thread)
  thread:set("index", count)
  count = count + 1
  table.insert(threads, thread)
end
function init(args)
  local step = tonumber(args[2])
  mode = args[3]
  lines, position, acked, refused, wrapped = {}, 0, 0, 0, 0
  local n = 0
  for line in io.lines(args[1]) do
    if n % step == index then table.insert(lines, line) end
    n = n + 1
  end
end
function request()
  position = position + 1
  if position > #lines then position, wrapped = 1, 1 end
  local token, nonce = lines[position]:match("(%S+) (%S+)")
  if mode == "get" then
    return wrk.format("GET", "/s/" .. token .. "/9")
  end
  return wrk.format("POST", "/s/" .. token, {
    ["Content-Type"] = "application/x-www-form-urlencoded",
    ["Accept"] = "application/json",
  }, "score=9&nonce=" .. nonce)
end
function response(status, headers, body)
  if status == 200 and (mode == "get" or body:find('"saved":true', 1, true)) then
    acked = acked + 1
  else
    refused = refused + 1
  end
end
function done(summary, latency, requests)
  local acked, refused, wrapped = 0, 0, 0
  for _, thread in ipairs(threads) do
    acked = acked + thread:get("acked")
    refused = refused + thread:get("refused")
    wrapped = wrapped + thread:get("wrapped")
  end
  local e = summary.errors
  io.write(string.format(
    "RESULT requests=%d seconds=%.3f p50=%.3f p99=%.3f acked=%d refused=%d wrapped=%d "
    .. "errors=%d\n",
    summary.requests, summary.duration / 1e6, latency:percentile(50) / 1000,
    latency:percentile(99) / 1000, acked, refused, wrapped,
    e.connect + e.read + e.write + e.timeout))
end
"""

BARE_PAGE_BYTES = 6000  # about the size of nps's survey page


def bare_app() -> object:
    """The reference: Starlette with the same two routes and no work behind them."""
    from urllib.parse import parse_qsl

    from starlette.applications import Starlette
    from starlette.requests import Request
    from starlette.responses import HTMLResponse, JSONResponse
    from starlette.routing import Route

    page = "<!doctype html><title>bare</title>" + "x" * BARE_PAGE_BYTES

    async def show(_request: Request) -> HTMLResponse:
        return HTMLResponse(page)

    async def record(request: Request) -> JSONResponse:
        form = dict(parse_qsl((await request.body()).decode()))
        return JSONResponse({"saved": True, "score": int(form["score"]), "category": "promoter"})

    return Starlette(
        routes=[
            Route("/s/{token}/{score}", show, methods=["GET"]),
            Route("/s/{token}", record, methods=["POST"]),
            Route("/health", show, methods=["GET"]),
        ]
    )


def serve_bare(port: int) -> None:
    import uvicorn

    # The same server settings as `nps serve` (httptools, no access log), without our limits.
    uvicorn.run(
        bare_app(),  # type: ignore[arg-type]
        host="127.0.0.1",
        port=port,
        http="httptools",
        log_level="warning",
        access_log=False,
        server_header=False,
    )


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


def stored_answers(database: Database) -> int:
    with database.session() as session:
        return int(
            session.scalar(
                select(func.count()).select_from(Response).where(Response.store == STORE)
            )
            or 0
        )


def config_text(database_url: str, port: int) -> str:
    return (
        f"store: {{id: {STORE}, name: Bench Store}}\n"
        f"database: {{url: '{database_url}'}}\n"
        f"web: {{public_url: 'http://127.0.0.1:{port}', secret_key: {SECRET}, "
        "posts_per_minute_per_ip: 1000000}\n"
    )


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


def wait_until_up(url: str, process: subprocess.Popen[bytes]) -> None:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise SystemExit(f"the server for {url} exited with {process.returncode}")
        try:
            if httpx.get(f"{url}/health", timeout=1).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.1)
    raise SystemExit(f"{url} did not start")


def cpu_seconds(pid: int) -> float:
    """User + system CPU time of a process so far (Linux /proc)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


@dataclass(frozen=True)
class Run:
    requests: int
    seconds: float
    p50_ms: float
    p99_ms: float
    acked: int
    refused: int
    wrapped: int
    errors: int
    cpu_ms: float  # the server's CPU per request

    @property
    def rate(self) -> float:
        return self.requests / self.seconds


def wrk(
    url: str, mode: str, script: Path, tokens: Path, connections: int, seconds: float, pid: int
) -> Run:
    before = cpu_seconds(pid)
    command = ["wrk", f"-t{THREADS}", f"-c{connections}", f"-d{seconds:g}s", "--timeout", "10s"]
    command += ["-s", str(script), url, "--", str(tokens), str(THREADS), mode]
    output = subprocess.run(command, capture_output=True, text=True, check=True).stdout
    cpu = cpu_seconds(pid) - before
    match = re.search(r"^RESULT (.*)$", output, re.MULTILINE)
    if match is None:
        raise SystemExit(f"wrk said:\n{output}")
    values = {k: float(v) for k, v in (pair.split("=") for pair in match.group(1).split())}
    requests = int(values["requests"])
    return Run(
        requests,
        values["seconds"],
        values["p50"],
        values["p99"],
        int(values["acked"]),
        int(values["refused"]),
        int(values["wrapped"]),
        int(values["errors"]),
        cpu * 1000 / max(1, requests),
    )


@contextmanager
def server(command: list[str], url: str) -> Iterator[int]:
    process = subprocess.Popen(command, stdout=subprocess.DEVNULL)
    try:
        wait_until_up(url, process)
        yield process.pid
    finally:
        process.terminate()
        process.wait(15)


@contextmanager
def bench_database(postgres: str | None, folder: Path) -> Iterator[str]:
    """A SQLite file in ``folder``, or a PostgreSQL database of our own (dropped at the end)."""
    if not postgres:
        yield f"sqlite:///{folder / 'bench.db'}"
        return
    from sqlalchemy import create_engine, text

    name = f"nps_bench_web_{os.getpid()}"
    admin = create_engine(postgres, isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(text(f"CREATE DATABASE {name}"))
    try:
        yield postgres.rsplit("/", 1)[0] + "/" + name
    finally:
        with admin.connect() as connection:
            connection.execute(text(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
        admin.dispose()


def nps_command() -> list[str]:
    beside = Path(sys.executable).parent / "nps"
    found = str(beside) if beside.exists() else shutil.which("nps")
    if found is None:
        raise SystemExit("`nps` is not installed (pip install -e .)")
    return [found]


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--connections", type=int, default=8)
    parser.add_argument("--invites", type=int, default=40000)
    parser.add_argument("--postgres", default=os.environ.get("NPS_BENCH_POSTGRES"))
    parser.add_argument("--bare", type=int, metavar="PORT", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.bare:
        serve_bare(args.bare)
        return
    if shutil.which("wrk") is None:
        raise SystemExit("wrk is not installed: apt-get install -y wrk")
    folder = Path(tempfile.mkdtemp(prefix="nps-bench-web-"))
    with bench_database(args.postgres, folder) as database_url:
        measure(args, folder, database_url)
    shutil.rmtree(folder, ignore_errors=True)


def measure(args: argparse.Namespace, folder: Path, database_url: str) -> None:
    database = Database(database_url)
    database.upgrade()
    now = datetime.now(UTC)
    invite_ids = seed(database, args.invites, now)
    signer = TokenSigner(SECRET, timedelta(days=60))
    tokens = folder / "tokens.txt"
    tokens.write_text(
        "".join(
            f"{signer.issue(Purpose.SURVEY, i, now)} {signer.issue(Purpose.FORM, i, now)}\n"
            for i in invite_ids
        )
    )
    script = folder / "survey.lua"
    script.write_text(LUA)
    nps_port, bare_port = free_port(), free_port()
    config = folder / "config.yaml"
    config.write_text(config_text(database_url, nps_port))
    nps_url, bare_url = f"http://127.0.0.1:{nps_port}", f"http://127.0.0.1:{bare_port}"
    serve_nps = [*nps_command(), "--config", str(config), "serve", "--no-scheduler"]
    serve_nps += ["--port", str(nps_port)]
    serve_ref = [sys.executable, __file__, "--bare", str(bare_port)]
    load_before = os.getloadavg()
    runs: dict[tuple[str, str], Run] = {}
    with server(serve_nps, nps_url) as nps_pid, server(serve_ref, bare_url) as bare_pid:
        # Warm up (threads started, connections opened, first pages compiled), not measured.
        for url, pid in ((bare_url, bare_pid), (nps_url, nps_pid)):
            wrk(url, "get", script, tokens, args.connections, 1, pid)
        for mode in ("get", "post"):
            for name, url, pid in (("bare", bare_url, bare_pid), ("nps", nps_url, nps_pid)):
                runs[name, mode] = wrk(
                    url, mode, script, tokens, args.connections, args.seconds, pid
                )
        time.sleep(0.5)  # the POSTs in flight when wrk stopped
    stored = stored_answers(database)
    database.dispose()
    report(args, database, runs, stored, load_before)


def report(
    args: argparse.Namespace,
    database: Database,
    runs: dict[tuple[str, str], Run],
    stored: int,
    load_before: tuple[float, float, float],
) -> None:
    print(
        f"wrk, {args.connections} connections, {THREADS} threads, {args.seconds:g} s per run, "
        f"{database.dialect}, {os.cpu_count()} cores"
    )
    print(f"{'':14}{'req/s':>9}{'p50 ms':>9}{'p99 ms':>9}{'server CPU/req':>16}")
    for mode, label in (("get", "survey GET"), ("post", "answer POST")):
        for name in ("bare", "nps"):
            run = runs[name, mode]
            title = f"{label} {'bare' if name == 'bare' else 'nps'}"
            print(
                f"{title:<14}{run.rate:>9.0f}{run.p50_ms:>9.1f}{run.p99_ms:>9.1f}"
                f"{run.cpu_ms:>13.2f} ms"
            )
        bare, nps = runs["bare", mode], runs["nps", mode]
        print(
            f"  ratio: {bare.rate / nps.rate:.1f}x bare Starlette's req/s, "
            f"{nps.cpu_ms / bare.cpu_ms:.1f}x its CPU per request "
            f"(target: within 10x, p99 < 50 ms)"
        )
    for (name, mode), run in runs.items():
        if run.refused or run.errors:
            print(f"  {name} {mode}: {run.refused} non-200/refused, {run.errors} socket errors")
    post = runs["nps", "post"]
    print(
        f"answers acknowledged: {post.acked}, stored: {stored}, lost: {max(0, post.acked - stored)}"
        f" (in flight when wrk stopped: {max(0, stored - post.acked)})"
    )
    if post.wrapped:
        print("  warning: invites ran out, some POSTs re-answered; raise --invites")
    load_after = os.getloadavg()
    print(
        "load average (1/5/15 min): before "
        + " / ".join(f"{x:.1f}" for x in load_before)
        + ", after "
        + " / ".join(f"{x:.1f}" for x in load_after)
    )


if __name__ == "__main__":
    main()
