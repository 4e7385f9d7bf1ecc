"""Handing a run to a worker: the one place that decides who executes a run and how
it hears of it (docs/runs.md, "Who executes a run").

A run is queued in the database; any worker of any process may claim it. A streamed
run is the exception when events do not cross processes (no Redis): only this
process's worker publishes where the stream listens, so the run is reserved for it,
and when a slot is free it starts in the same write that creates it (one write and one
hand-over fewer before the first token). The run service asks this seam; it knows
nothing of workers, wake-ups or Redis.
"""

from __future__ import annotations

from assistantd.engine.worker import Worker
from assistantd.events.wakeups import RUNS, Wakeups

__all__ = ["Dispatcher"]


class Dispatcher:
    def __init__(self, worker: Worker, wakeups: Wakeups, *, events_cross_processes: bool) -> None:
        self.worker = worker
        self.wakeups = wakeups
        self.events_cross_processes = events_cross_processes

    def reserve(self, streamed: bool) -> str | None:
        """The worker that must execute a run created now, or None for any worker."""
        if streamed and not self.events_cross_processes:
            return self.worker.id
        return None

    def start_at_once(self, reserved_for: str) -> bool:
        """Whether a run reserved for this worker may start in the write creating it."""
        return reserved_for == self.worker.id and self.worker.may_claim()

    def started(self, run_id: str) -> None:
        """A run `start_at_once` allowed was created in progress: execute it."""
        self.worker.start_claimed(run_id)

    async def queued(self, run_id: str, reserved_for: str | None) -> None:
        """A run is queued (created, or its tool outputs are in): a worker takes it."""
        if reserved_for == self.worker.id:
            self.worker.take(run_id)
        else:
            await self.wakeups.notify(RUNS)
