"""The garbage collector while ``nps`` starts.

Starting a command imports typer, rich, pydantic, the config models and, for most commands,
SQLAlchemy: some 50,000 to 100,000 objects that live until the process exits. While they are
being made, CPython's collector walks all of them again each time the heap has grown by a
quarter, and once more when the interpreter exits: a third of ``nps status``'s CPU
(bench/cli_start.py). So :func:`jobs.cli.app.main` turns the collector off while the process
starts, and :func:`done` turns it back on when a command's own code begins, after freezing
what start-up made (``gc.freeze``: the collector never walks those objects again, and they live
until exit anyway; the few hundred that start-up leaves as garbage stay in memory).

What a command makes while it works (database connections, rows, reports) is collected as
usual, at exit too. A process that ends without running a command (``--help``, a usage error)
freezes what it made so that the interpreter's last collection does not walk it either.

Only ``main`` turns the collector off: tests that invoke the app in their own process keep
theirs as it is.
"""

from __future__ import annotations

import gc
import importlib
from collections.abc import Iterable

_starting = False


def begin() -> None:
    """Start-up begins: the collector is off until :func:`done` (if it was on)."""
    global _starting
    if gc.isenabled():
        gc.disable()
        _starting = True


def done(imports: Iterable[str] = ()) -> None:
    """A command's code begins: first import the modules it names (so that they are frozen with
    the rest of start-up), then freeze what start-up made and turn the collector back on. The
    imports happen in any case (a name that no longer exists fails in the tests too); the rest
    only once, and only when :func:`begin` turned the collector off."""
    global _starting
    for name in imports:
        importlib.import_module(name)
    if not _starting:
        return
    _starting = False
    gc.freeze()
    gc.enable()


def at_exit() -> None:
    """The process ends before any command's code ran: nothing but start-up is in memory."""
    if _starting:
        gc.freeze()
