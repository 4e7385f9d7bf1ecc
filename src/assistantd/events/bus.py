"""EventBus: run events fanned out to whoever subscribed to that run.

    async with bus.subscribe(run_id) as events:   # before the run can start
        ...                                       # commit the run, then
        async for name, data in events: ...       # receive every event after it

Every state change is published after the transaction that made it commits, so a
snapshot in an event equals what a GET returns; deltas (tokens) are published as they
are produced and never stored. InMemoryEventBus serves one process: a stream sees the
events of runs executed by this process's workers.
"""

from __future__ import annotations

import asyncio
from collections import defaultdict
from collections.abc import AsyncIterator
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from typing import Protocol

__all__ = ["Event", "EventBus", "InMemoryEventBus"]

Event = tuple[str, bytes]  # (OpenAI event name, JSON data)


class EventBus(Protocol):
    def publish(self, run_id: str, name: str, data: bytes) -> None:
        """Deliver one event to the run's current subscribers (none is fine)."""
        ...

    def subscribe(self, run_id: str) -> AbstractAsyncContextManager[asyncio.Queue[Event]]:
        """An async context manager yielding a queue of the run's events from now on."""
        ...


class InMemoryEventBus:
    def __init__(self) -> None:
        self._queues: dict[str, list[asyncio.Queue[Event]]] = defaultdict(list)

    def publish(self, run_id: str, name: str, data: bytes) -> None:
        for queue in self._queues.get(run_id, ()):
            queue.put_nowait((name, data))

    @asynccontextmanager
    async def subscribe(self, run_id: str) -> AsyncIterator[asyncio.Queue[Event]]:
        queue: asyncio.Queue[Event] = asyncio.Queue()
        self._queues[run_id].append(queue)
        try:
            yield queue
        finally:
            queues = self._queues.get(run_id, [])
            if queue in queues:
                queues.remove(queue)
            if not queues:
                self._queues.pop(run_id, None)
