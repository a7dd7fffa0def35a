"""What ``nps status`` adds in distributed mode: workers alive, queue depth per job, and each
store's lag (how long since its last successful sync, and whether it is paused)."""

from __future__ import annotations

import contextlib
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from kombu.exceptions import ChannelError

from jobs.distributed.queue_app import QUEUES, StoreApp
from jobs.distributed.queue_state import Pause, QueueState

PING_SECONDS = 1.0


@dataclass(frozen=True)
class QueueView:
    workers: list[str]
    depth: dict[str, int]  # job -> messages waiting

    def as_json(self) -> dict[str, Any]:
        return {"workers": self.workers, "workers_alive": len(self.workers), "queued": self.depth}


def queue_view(app: StoreApp) -> QueueView:
    """Ask the workers (a broadcast ping, one second) and the broker (one passive declare per
    queue: the count of messages waiting, nothing consumed)."""
    replies = app.control.ping(timeout=PING_SECONDS) or []
    workers = sorted(name for reply in replies for name in reply)
    depth: dict[str, int] = {}
    with app.connection_for_read() as connection:
        for job, queue in QUEUES.items():
            channel = connection.channel()
            try:
                _name, waiting, _consumers = channel.queue_declare(queue=queue, passive=True)
                depth[job] = int(waiting)
            except ChannelError:
                depth[job] = 0  # never declared: nothing was ever queued there
            finally:
                # A channel the broker already closed (404 on a passive declare) may refuse this.
                with contextlib.suppress(Exception):
                    channel.close()
    return QueueView(workers, depth)


def store_lag(
    state: QueueState, store: str, last_sync: datetime | None, now: datetime
) -> dict[str, Any]:
    """``lag_seconds``: since the last successful sync started (None: never synced)."""
    pause: Pause | None = state.paused(store)
    return {
        "lag_seconds": None if last_sync is None else round((now - last_sync).total_seconds()),
        "paused": None
        if pause is None
        else {"reason": pause.reason, "until": pause.until.isoformat()},
    }
