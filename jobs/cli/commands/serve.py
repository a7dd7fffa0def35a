"""``nps serve [--host] [--port]``: the survey pages, unsubscribe, health and vendor webhooks.

Runs the ASGI app of ``nps_engine.web.app`` under uvicorn. Put it behind a TLS-terminating reverse
proxy (nginx, Caddy) at ``web.public_url``; uvicorn then trusts ``X-Forwarded-For`` only from
``--forwarded-allow-ips`` (default 127.0.0.1), so the per-IP POST limit sees real client addresses.

Background work (the built-in scheduler of the jobs issue) plugs in at :func:`background`: it is
entered before the server starts and left after it stops, so a scheduler thread shuts down with it.
"""

from __future__ import annotations

import gc
import logging
from collections.abc import Iterator
from contextlib import contextmanager

import typer

from jobs.cli.console import fail_usage, open_database, secrets_of, state_of, stdout
from jobs.runtime import logs
from jobs.runtime.runner import utc_now
from nps_engine.config import Settings
from nps_engine.store.database import Database

SHUTDOWN_GRACE_SECONDS = 60  # let a running job finish; every job is safe to interrupt anyway


def register(app: typer.Typer) -> None:
    app.command("serve")(serve_command)


def serve_command(
    ctx: typer.Context,
    host: str | None = typer.Option(None, "--host", help="Address to listen on (web.host)."),
    port: int | None = typer.Option(None, "--port", min=1, max=65535, help="Port (web.port)."),
    store: str | None = typer.Option(
        None, "--store", help="Store id, when the config has several."
    ),
    forwarded_allow_ips: str = typer.Option(
        "127.0.0.1", "--forwarded-allow-ips", help="Proxies whose X-Forwarded-For is trusted."
    ),
    scheduler: bool = typer.Option(
        True, "--scheduler/--no-scheduler", help="Also run sync, send, push and report on schedule."
    ),
) -> None:
    """Serve the survey pages and webhooks, and run the scheduled jobs (see `schedule:`)."""
    import uvicorn  # the web stack loads only when serving

    from jobs.bootstrap import web_app
    from nps_engine.web.server import server_config

    state = state_of(ctx)
    settings = _one_store(state.stores(), store)
    if state.verbosity == 0:  # a server's log is its output: say what each scheduled job did
        logs.configure(1, json_logs=state.json_logs, secrets=secrets_of(settings))
    if settings.web is None:
        fail_usage("web: is required to serve survey pages (public_url, secret_key)")
    database = open_database(settings)
    listen_host, listen_port = host or settings.web.host, port or settings.web.port
    listening = (
        f"{settings.store.id}: survey pages on http://{listen_host}:{listen_port} "
        f"(public address {settings.web.public_url})"
    )
    if state.json_logs:  # every line a JSON object, for the log collector
        logging.getLogger("nps.serve").info("%s", listening)
    else:
        stdout.print(listening, markup=False)
    public = str(settings.web.public_url).rstrip("/")
    stdout.print(f"dashboard: {public}/admin (users: `nps users add EMAIL`)", markup=False)
    others = _other_stores(state.stores(), settings, database)
    if others:
        names = ", ".join(store.store.id for store, _ in others)
        stdout.print(f"dashboard store picker also offers: {names}", markup=False)
    try:
        with background(settings, database, enabled=scheduler):
            config = server_config(
                web_app(settings, database, other_stores=others),
                settings.limits,
                host=listen_host,
                port=listen_port,
                proxy_headers=True,
                forwarded_allow_ips=forwarded_allow_ips,
            )
            # What is loaded by now (modules, templates, config, compiled statements) lives as
            # long as the server: frozen out of the garbage collector's generations so that a
            # full collection does not walk it again and again. Those walks paused every request
            # for up to ~100 ms (bench/web.py, answer POST p99 119 -> 32 ms on SQLite).
            gc.collect()
            gc.freeze()
            uvicorn.Server(config).run()
    finally:
        for _, other in others:
            if other is not database:
                other.dispose()
        database.dispose()


def _other_stores(
    stores: list[Settings], served: Settings, database: Database
) -> list[tuple[Settings, Database]]:
    """The config's other stores for the dashboard's store picker, each with its database (the
    served store's connection pool when they share one)."""
    pools = {str(served.database.url): database}
    others = []
    for store in stores:
        if store.store.id == served.store.id:
            continue
        url = str(store.database.url)
        if url not in pools:
            pools[url] = open_database(store)
        others.append((store, pools[url]))
    return others


@contextmanager
def background(settings: Settings, database: Database, *, enabled: bool = True) -> Iterator[None]:
    """The built-in scheduler beside the web server: sync, send, push and the daily report at the
    ``schedule:`` intervals, one job at a time. Stopped (after its current job) with the server."""
    if not enabled:
        yield
        return
    from jobs.runtime.scheduler import store_scheduler

    scheduler = store_scheduler(settings, database, utc_now)
    thread = scheduler.start_thread()
    try:
        yield
    finally:
        scheduler.stop.set()
        thread.join(timeout=SHUTDOWN_GRACE_SECONDS)


def _one_store(stores: list[Settings], wanted: str | None) -> Settings:
    if wanted is not None:
        for settings in stores:
            if settings.store.id == wanted:
                return settings
        fail_usage(f"--store {wanted}: no such store in the config")
    if len(stores) > 1:
        fail_usage("the config has several stores: choose one with --store")
    return stores[0]
