"""A file read by a forked child gives what reading it here gives, in the same order."""

from __future__ import annotations

import multiprocessing.util
import os
import signal
import threading
from datetime import UTC, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from nps_engine import read_ahead as module
from nps_engine.read_ahead import can_read_ahead, read_ahead
from nps_engine.response_import import ImportedResponse, ResponseCsv, RowError

pytestmark = pytest.mark.skipif(not can_read_ahead(), reason="needs fork")
NOW = datetime(2026, 1, 1, tzinfo=UTC)
PARIS = ZoneInfo("Europe/Paris")


def _file(
    tmp_path: Path, rows: list[str], header: str = "email,score,comment,responded_at,order"
) -> Path:
    path = tmp_path / "answers.csv"
    path.write_text(header + "\n" + "".join(row + "\n" for row in rows), encoding="utf-8")
    return path


def _both(path: Path) -> tuple[list[ImportedResponse | RowError], ...]:
    with open(path, encoding="utf-8-sig", newline="") as stream:
        here = list(ResponseCsv(stream, timezone=PARIS, now=NOW).rows())
    with open(path, encoding="utf-8-sig", newline="") as stream:
        there = list(read_ahead(ResponseCsv(stream, timezone=PARIS, now=NOW)))
    return here, there


def test_same_rows_errors_and_order_across_chunks(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(module, "CHUNK", 7)
    rows = []
    for index in range(60):
        score = "12" if index % 5 == 0 else str(index % 11)
        comment = '"two\nlines"' if index % 3 == 0 else "fine"
        when = "2025-03-14T09:30:00+01:00" if index % 2 else "14/03/2025 09:30"
        rows.append(f"c{index}@example.com,{score},{comment},{when},#{index}")
    rows[10] = "not-an-email,5,,2025-03-14T09:30:00Z,"
    rows[11] = ""  # a blank line is skipped
    rows[12] = "c12@example.com,5,,2025-03-14 09:30:00.250,"  # microseconds, store time zone
    here, there = _both(_file(tmp_path, rows))
    assert there == here
    assert [type(row) for row in there] == [type(row) for row in here]
    assert sum(isinstance(row, RowError) for row in there) == 12
    good = [row for row in there if isinstance(row, ImportedResponse)]
    assert all(row.responded_at.tzinfo is UTC for row in good)
    assert good[0].line == 4  # line numbers count the first row's comment of two lines


def test_properties_travel(tmp_path: Path) -> None:
    rows = ["a@example.com,9,2025-03-14T09:30:00Z,vip", "b@example.com,3,2025-03-14T09:30:00Z,"]
    here, there = _both(_file(tmp_path, rows, header="email,score,responded_at,Tags"))
    assert there == here
    assert [dict(row.properties) for row in there if isinstance(row, ImportedResponse)] == [
        {"Tags": "vip"},
        {},
    ]


def test_a_reading_error_comes_after_the_rows_before_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(module, "CHUNK", 300)
    path = _file(tmp_path, [f"c{i}@example.com,9,,2025-03-14T09:30:00Z," for i in range(2000)])
    path.write_bytes(path.read_bytes() + b"x@example.com,9,caf\xe9,2025-03-14T09:30:00Z,\n")
    here: list[ImportedResponse | RowError] = []
    with open(path, encoding="utf-8", newline="") as stream:
        reader = ResponseCsv(stream, timezone=PARIS, now=NOW, date_order="day-first")
        with pytest.raises(UnicodeDecodeError):
            here.extend(reader.rows())
    seen: list[ImportedResponse | RowError] = []
    with open(path, encoding="utf-8", newline="") as stream:
        # the order given: no detection pass, which would meet the bad byte first
        reader = ResponseCsv(stream, timezone=PARIS, now=NOW, date_order="day-first")
        rows = read_ahead(reader)
        with pytest.raises(UnicodeDecodeError):
            seen.extend(rows)
    assert seen == here
    assert len(seen) > 1000


def test_stopping_early_ends_the_child(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(module, "CHUNK", 2)
    path = _file(tmp_path, [f"c{i}@example.com,9,,2025-03-14T09:30:00Z," for i in range(500)])
    before = _children()  # other tests' servers and workers may still be running
    with open(path, encoding="utf-8", newline="") as stream:
        rows = read_ahead(ResponseCsv(stream, timezone=PARIS, now=NOW))
        assert isinstance(next(rows), ImportedResponse)
        rows.close()  # the generator's finally ends and reaps the child
        children = _children()
    assert children <= before


def test_a_child_that_dies_before_its_end_is_an_error_not_a_wait(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Killed (out of memory, say) without its last message: the import fails and says so."""
    monkeypatch.setattr(module, "_read", lambda reader, queue: os.kill(os.getpid(), signal.SIGKILL))
    path = _file(tmp_path, [f"c{i}@example.com,9,,2025-03-14T09:30:00Z," for i in range(50)])
    before = _children()
    with open(path, encoding="utf-8", newline="") as stream:
        rows = read_ahead(ResponseCsv(stream, timezone=PARIS, now=NOW))
        with pytest.raises(RuntimeError, match="reading the file stopped before its end"):
            list(rows)
    assert _children() <= before


def test_the_child_runs_no_after_fork_hook_of_other_libraries(tmp_path: Path) -> None:
    """multiprocessing's after-fork hooks (kombu's closes its Redis connections, and hung the
    child once) do not run in the child: one that would end it leaves the reading whole."""
    hook_target = threading.Event()  # held weakly by the registry: gone after this test
    multiprocessing.util.register_after_fork(hook_target, lambda _: os._exit(3))
    path = _file(tmp_path, [f"c{i}@example.com,9,,2025-03-14T09:30:00Z," for i in range(50)])
    here, there = _both(path)
    assert there == here
    assert len(there) == 50


def _children() -> set[int]:
    """This process's live children (read from /proc: the child is reaped, not a zombie)."""
    own = os.getpid()
    found = set()
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
            except OSError:
                continue
            if int(fields[1]) == own:
                found.add(int(entry.name))
    return found
