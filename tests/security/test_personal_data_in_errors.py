"""Items 2 and 16: no email, name, comment or secret in any log line, traceback, summary or stored
error, in both log formats; with ``--json-logs`` every line is JSON, uvicorn's included."""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator
from datetime import UTC, datetime

import pytest
from live_server import get, logging_restored, serving
from sqlalchemy import select
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from jobs.runtime import logs
from jobs.runtime.runner import JobContext, run_job
from nps_engine.config.server_limits import ServerLimits
from nps_engine.store import models
from nps_engine.store.database import Database

NOW = datetime(2026, 11, 1, 12, tzinfo=UTC)
SECRET = "shpat_0123456789abcdef"
EMAIL = "annabelle.secret@example.com"


@pytest.fixture(autouse=True)
def _restore_logging() -> Iterator[None]:
    with logging_restored():
        yield


def boom(_request: Request) -> Response:
    raise RuntimeError(f"could not answer {EMAIL} with token {SECRET}")


@pytest.mark.parametrize("json_logs", [False, True])
def test_uvicorn_500_tracebacks_are_masked(
    capsys: pytest.CaptureFixture[str], json_logs: bool
) -> None:
    logs.configure(1, json_logs=json_logs, secrets=[SECRET])
    app = Starlette(routes=[Route("/boom", boom)])
    with serving(app, ServerLimits()) as port:
        reply = get(port, "/boom")
    assert reply.startswith(b"HTTP/1.1 500")
    err = capsys.readouterr().err
    assert "Traceback" in err or "Traceback" in json.dumps(err)
    assert "RuntimeError" in err
    assert EMAIL not in err
    assert SECRET not in err
    assert "a***@example.com" in err


def test_with_json_logs_every_line_is_json_uvicorns_included(
    capsys: pytest.CaptureFixture[str],
) -> None:
    logs.configure(1, json_logs=True)
    app = Starlette(routes=[Route("/boom", boom)])
    with serving(app, ServerLimits()) as port:
        get(port, "/boom")
    lines = [line for line in capsys.readouterr().err.splitlines() if line.strip()]
    entries = [json.loads(line) for line in lines]  # fails on any plain-text line
    loggers = {entry["logger"] for entry in entries}
    assert "uvicorn.error" in loggers
    assert any("Started server process" in entry["message"] for entry in entries)


@pytest.mark.parametrize("json_logs", [False, True])
def test_a_crashed_job_keeps_personal_data_out_of_its_summary_row_and_log(
    database: Database, store_id: str, capsys: pytest.CaptureFixture[str], json_logs: bool
) -> None:
    logs.configure(0, json_logs=json_logs)

    def work(context: JobContext) -> None:
        context.error(f"customer 7 ({EMAIL}): refused")
        raise ValueError(f"cannot parse the answer of {EMAIL}")

    outcome = run_job(database, store_id, "sync", work, lambda: NOW)
    assert outcome.status == "failed"
    with database.session() as session:
        stored = session.scalars(
            select(models.JobRun.errors).where(models.JobRun.store == store_id)
        ).one()
    err = capsys.readouterr().err
    for text in (*outcome.errors, *stored, err):
        assert EMAIL not in text
    assert "a***@example.com" in " ".join(stored)
    assert "ValueError" in err  # the traceback is there, masked


def test_sql_errors_carry_no_row_values_in_the_log(
    database: Database, store_id: str, capsys: pytest.CaptureFixture[str]
) -> None:
    logs.configure(0)
    row = {"store": store_id, "id": 1, "email": EMAIL, "first_name": "Annabelle", "tags": []}
    log = logging.getLogger("nps_engine.test")
    try:
        with database.session() as session:
            session.execute(models.Customer.__table__.insert(), [row, row])
    except Exception:
        log.exception("insert failed")
    err = capsys.readouterr().err
    assert "insert failed" in err
    assert "Annabelle" not in err
    assert EMAIL not in err
