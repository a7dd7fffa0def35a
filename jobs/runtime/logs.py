"""Log output: rich in a terminal, one plain line per event otherwise, JSON with ``--json-logs``.

Whatever the format, a filter masks email addresses (``j***@example.com``), known secret values,
SQL bound parameters and PostgreSQL's ``DETAIL`` lines (they quote the row's values) before a
line is written, in the message and in any traceback: a support ticket with a pasted log must not
leak customers or tokens. The same handler serves our packages and uvicorn's loggers, so with
``--json-logs`` every line is JSON.
"""

from __future__ import annotations

import json
import logging
import re
import sys
import traceback
from collections.abc import Iterable
from datetime import UTC, datetime

from rich.logging import RichHandler

_EMAIL = re.compile(r"([A-Za-z0-9._%+-])[A-Za-z0-9._%+-]*@([A-Za-z0-9.-]+\.[A-Za-z]{2,})")


# SQLAlchemy's "[parameters: (...)]" (engines hide them too) and PostgreSQL's "DETAIL:  Key
# (email)=(ann@example.com) already exists." quote the values of the row being written.
_PARAMETERS = re.compile(r"\[parameters: .*?\](?=\s*(\(Background|$))", re.DOTALL | re.MULTILINE)
_DETAIL = re.compile(r"^(\s*)DETAIL:.*$", re.MULTILINE)
# Loggers whose lines go through our handler: our packages, and uvicorn's when serving.
LOGGERS = ("nps", "nps_engine", "connectors", "jobs", "sandbox", "uvicorn")


def mask_emails(text: str) -> str:
    return _EMAIL.sub(lambda m: f"{m.group(1)}***@{m.group(2)}", text)


def mask_text(text: str, secrets: Iterable[str] = ()) -> str:
    """``text`` with emails, secrets, SQL parameters and row values masked."""
    text = _PARAMETERS.sub("[parameters hidden]", text)
    text = _DETAIL.sub(r"\1DETAIL: (hidden: it quotes row values)", text)
    text = mask_emails(text)
    for secret in secrets:
        if len(secret) >= 4:
            text = text.replace(secret, "**********")
    return text


class RedactingFilter(logging.Filter):
    """Rewrites each record's message and traceback with personal data and secrets masked."""

    def __init__(self, secrets: Iterable[str] = ()) -> None:
        super().__init__()
        self.secrets = [s for s in secrets if len(s) >= 4]

    def filter(self, record: logging.LogRecord) -> bool:
        record.msg, record.args = mask_text(record.getMessage(), self.secrets), None
        if record.exc_info and record.exc_info[1] is not None:
            # Formatters use exc_text when it is set: they print the masked traceback.
            record.exc_text = mask_text("".join(traceback.format_exception(*record.exc_info)),
                                        self.secrets).rstrip("\n")  # fmt: skip
        elif record.exc_text:
            record.exc_text = mask_text(record.exc_text, self.secrets)
        if record.stack_info:
            record.stack_info = mask_text(record.stack_info, self.secrets)
        return True


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        entry = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(),
            "level": record.levelname.lower(),
            "logger": record.name,
            "message": record.getMessage(),
        }
        if record.exc_text:
            entry["error"] = record.exc_text  # masked by RedactingFilter
        elif record.exc_info:
            entry["error"] = mask_text(self.formatException(record.exc_info))
        return json.dumps(entry, ensure_ascii=False)


def configure(verbosity: int = 0, *, json_logs: bool = False, secrets: Iterable[str] = ()) -> None:
    """Set up the ``nps`` loggers once per process. -1 quiet, 0 normal, 1 verbose, 2 debug."""
    level = {-1: logging.ERROR, 0: logging.WARNING, 1: logging.INFO}.get(verbosity, logging.DEBUG)
    handler: logging.Handler
    if json_logs:
        handler = logging.StreamHandler(sys.stderr)
        handler.setFormatter(JsonFormatter())
    elif sys.stderr.isatty():
        handler = RichHandler(show_path=False, markup=False, rich_tracebacks=False)
    else:
        handler = logging.StreamHandler(sys.stderr)
        handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    handler.addFilter(RedactingFilter(secrets))
    for name in LOGGERS:
        logger = logging.getLogger(name)
        logger.handlers[:] = [handler]
        logger.setLevel(level)
        logger.propagate = False
    # uvicorn's own logging setup gives these children handlers and levels of their own: undo
    # that, so their lines reach our handler (masked, and JSON with --json-logs).
    for name in ("uvicorn.error", "uvicorn.access", "uvicorn.asgi"):
        child = logging.getLogger(name)
        child.handlers[:] = []
        child.setLevel(logging.NOTSET)
        child.propagate = True
    for noisy in ("zenpy", "urllib3", "alembic"):
        logging.getLogger(noisy).setLevel(max(level, logging.WARNING))
