"""EventBus: a run's events, numbered, kept a while, and read by whoever follows the run.

    async with bus.subscribe(run_id, after=0) as events:   # before the run can start
        ...                                                # commit the run, then
        batch = await events.next(timeout_s=15)            # every event after seq 0

Every event of a run carries a sequence number, 1, 2, 3... with no gap. A subscriber
asks for the events after a number it saw (0 for all, None for "from now"), so events
published before it subscribed are replayed and nothing is lost or repeated: that is
what lets a stream resume on another process (`Last-Event-ID`).

Every state change is published after the transaction that made it commits, so a
snapshot in an event equals what a GET returns; deltas (tokens) are published as they
are produced and never stored in the database.

InMemoryEventBus serves one process (the default): a stream sees the runs this
process executes. RedisEventBus (events/redis_bus.py) serves many.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Sequence
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from dataclasses import dataclass, field
from typing import NamedTuple, Protocol

__all__ = [
    "FINAL_EVENTS",
    "Event",
    "EventBus",
    "EventsLost",
    "InMemoryEventBus",
    "Subscription",
]


class Event(NamedTuple):
    seq: int
    name: str  # OpenAI's event name
    data: bytes  # its JSON


# After one of these a run publishes nothing more: its events need only be kept for
# late readers (`requires_action` is not one: the run goes on after tool outputs).
FINAL_EVENTS = frozenset(
    {
        "thread.run.completed",
        "thread.run.incomplete",
        "thread.run.failed",
        "thread.run.cancelled",
        "thread.run.expired",
    }
)


class EventsLost(Exception):
    """The events a subscriber asked for are no longer kept (it fell too far behind)."""


class Subscription(Protocol):
    async def next(self, timeout_s: float) -> list[Event]:
        """The next events in order, waiting up to `timeout_s` (0: only what is there);
        [] if none came. Raises EventsLost if some were dropped before they were read."""
        ...


class EventBus(Protocol):
    async def publish(self, run_id: str, name: str, data: bytes) -> int:
        """Append one event to the run's log; its sequence number."""
        ...

    async def publish_many(self, run_id: str, events: Sequence[tuple[str, bytes]]) -> None:
        """Append several events in order, in one round trip where that matters."""
        ...

    def subscribe(
        self, run_id: str, after: int | None = None
    ) -> AbstractAsyncContextManager[Subscription]:
        """Follow the run from just after event `after` (None: from its latest event)."""
        ...

    async def close(self) -> None: ...


@dataclass(slots=True)
class _RunLog:
    events: list[Event] = field(default_factory=list)
    changed: asyncio.Event = field(default_factory=asyncio.Event)
    readers: int = 0
    last_at: float = 0.0
    final: bool = False
    size: int = 0  # bytes of event data held

    @property
    def seq(self) -> int:
        return self.events[-1].seq if self.events else 0


class _MemorySubscription:
    def __init__(self, log: _RunLog, after: int) -> None:
        self.log = log
        self.pos = after

    async def next(self, timeout_s: float) -> list[Event]:
        log = self.log
        if log.seq <= self.pos and timeout_s > 0:
            log.changed.clear()
            try:
                async with asyncio.timeout(timeout_s):  # a timer, not a task per wait
                    await log.changed.wait()
            except TimeoutError:
                return []
        # Sequence numbers are list positions + 1: a run's log is never trimmed while kept.
        batch = log.events[self.pos :]
        if batch:
            self.pos = batch[-1].seq
        return batch


class InMemoryEventBus:
    """One process's bus. A run's log is kept while it runs and `retain_s` after its
    final event (or after its last event, for a run that never ends: a killed worker's
    run is ended by another process's reaper, whose events this bus never sees).
    Finished runs' logs past `max_bytes` in all are forgotten oldest first, so a busy
    server does not hold five minutes of every answer's tokens."""

    def __init__(self, retain_s: float = 300.0, max_bytes: int = 64 * 1024 * 1024) -> None:
        self.retain_s = retain_s
        self.max_bytes = max_bytes
        self._logs: dict[str, _RunLog] = {}
        self._finished: dict[str, None] = {}  # run ids in the order they finished
        self._bytes = 0
        self._swept_at = time.monotonic()

    def _log(self, run_id: str) -> _RunLog:
        log = self._logs.get(run_id)
        if log is None:
            log = self._logs[run_id] = _RunLog(last_at=time.monotonic())
        return log

    def _append(self, run_id: str, log: _RunLog, name: str, data: bytes) -> int:
        seq = log.seq + 1
        log.events.append(Event(seq, name, data))
        log.size += len(data)
        self._bytes += len(data)
        log.final = name in FINAL_EVENTS
        if log.final:
            self._finished[run_id] = None
        log.last_at = time.monotonic()
        log.changed.set()
        return seq

    async def publish(self, run_id: str, name: str, data: bytes) -> int:
        seq = self._append(run_id, self._log(run_id), name, data)
        self._sweep()
        return seq

    async def publish_many(self, run_id: str, events: Sequence[tuple[str, bytes]]) -> None:
        log = self._log(run_id)
        for name, data in events:
            self._append(run_id, log, name, data)
        self._sweep()

    @asynccontextmanager
    async def subscribe(self, run_id: str, after: int | None = None) -> AsyncIterator[Subscription]:
        log = self._log(run_id)
        log.readers += 1
        try:
            yield _MemorySubscription(log, log.seq if after is None else min(after, log.seq))
        finally:
            log.readers -= 1

    def _forget(self, run_id: str) -> None:
        log = self._logs.pop(run_id)
        self._bytes -= log.size
        self._finished.pop(run_id, None)

    def _sweep(self) -> None:
        """Forget logs nobody reads whose run ended (or went quiet) `retain_s` ago, and
        the oldest finished ones while more than `max_bytes` are held."""
        if self._bytes > self.max_bytes:  # (checked first: the list is long when busy)
            for run_id in list(self._finished):
                if self._bytes <= self.max_bytes:
                    break
                if not self._logs[run_id].readers:
                    self._forget(run_id)
        now = time.monotonic()
        if now - self._swept_at < min(self.retain_s, 60.0):
            return
        self._swept_at = now
        for run_id, log in list(self._logs.items()):
            quiet = now - log.last_at
            if not log.readers and (quiet > self.retain_s if log.final else quiet > 3600):
                self._forget(run_id)

    async def close(self) -> None:
        self._logs.clear()
        self._finished.clear()
        self._bytes = 0
