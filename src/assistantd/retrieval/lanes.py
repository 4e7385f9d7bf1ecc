"""Fair turns at the embedding model: searches before ingestion, projects in rotation.

The embedded model runs one inference at a time per process (onnxruntime already uses
every core it is given), so who goes next decides everyone's latency. A turn is one
small batch of windows, not one request, and the next turn goes to:

1. the `query` lane (a search's or a run's file_search query) before the `bulk` lane
   (ingestion): a search never waits behind more than the one batch running;
2. within a lane, the next project in rotation, each project's own requests in order:
   one project's flood of searches delays another project's one search by at most one
   batch per project waiting, whatever the flood's size.

A bystander's search therefore answers within (projects waiting + 1) batch times,
about 50 ms each at the default batch. Bounds per request live where requests are
validated (a search has at most 10 queries of 4,096 characters); per project, at most
`max_waiting` requests wait at once (`LaneFull` past that, a 429 for a search), so one
project's flood cannot queue without bound.
"""

from __future__ import annotations

import asyncio
from collections import OrderedDict, deque
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Literal

__all__ = ["LANES", "FairTurns", "Lane", "LaneFull"]

Lane = Literal["query", "bulk"]
LANES: tuple[Lane, ...] = ("query", "bulk")


class LaneFull(Exception):
    """The project already has `max_waiting` requests waiting for a turn."""


class FairTurns:
    """`slots` turns at once, handed out by lane, then by project in rotation."""

    def __init__(self, slots: int = 1, *, max_waiting: int = 64) -> None:
        self.max_waiting = max_waiting
        self._free = slots
        # lane -> project -> its waiters, projects in the order they take turns
        self._waiting: dict[Lane, OrderedDict[str, deque[asyncio.Future[None]]]] = {
            lane: OrderedDict() for lane in LANES
        }

    def waiting(self) -> int:
        return sum(len(q) for lanes in self._waiting.values() for q in lanes.values())

    @asynccontextmanager
    async def turn(self, project: str, lane: Lane) -> AsyncIterator[None]:
        if self._free > 0 and not self.waiting():
            self._free -= 1
        else:
            mine = sum(len(lanes.get(project, ())) for lanes in self._waiting.values())
            if mine >= self.max_waiting:
                raise LaneFull(f"{mine} requests of this project are waiting already")
            waiter: asyncio.Future[None] = asyncio.get_running_loop().create_future()
            self._waiting[lane].setdefault(project, deque()).append(waiter)
            try:
                await waiter
            except BaseException:
                if waiter.done() and not waiter.cancelled():
                    self._hand_on()  # it was given the turn as it was cancelled: pass it on
                else:
                    self._forget(lane, project, waiter)
                raise
        try:
            yield
        finally:
            self._hand_on()

    def _forget(self, lane: Lane, project: str, waiter: asyncio.Future[None]) -> None:
        queue = self._waiting[lane].get(project)
        if queue is not None and waiter in queue:
            queue.remove(waiter)
            if not queue:
                del self._waiting[lane][project]

    def _hand_on(self) -> None:
        """A turn ended: give it to the next waiter, or free the slot."""
        for lane in LANES:
            projects = self._waiting[lane]
            while projects:
                project, queue = next(iter(projects.items()))
                waiter = queue.popleft()
                # The project goes to the back of the rotation (or leaves it, if done).
                del projects[project]
                if queue:
                    projects[project] = queue
                if not waiter.done():
                    waiter.set_result(None)
                    return
        self._free += 1
