"""Worker: claims queued runs and executes them, several at once; keeps runs from hanging.

The queue is the runs table. A worker claims the oldest queued run in one
transaction (`FOR UPDATE SKIP LOCKED` on PostgreSQL; SQLite's single writer does the
same job), marks it in progress under its own id, and heartbeats while it runs. A
reaper in every worker fails runs whose worker went silent (a killed process) and
expires runs that waited for tool outputs past `expires_at`.

In the server the worker runs in-process and is woken as soon as a run is queued;
`assistantd worker` runs the same class alone, polling, against the same database.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import uuid
from functools import partial
from typing import Any

import orjson

from assistantd import clock
from assistantd.engine.executor import RunExecutor
from assistantd.events.bus import EventBus
from assistantd.services.documents import encode
from assistantd.services.run_events import publish_doc, step_event
from assistantd.services.run_states import close_open_work, transition
from assistantd.store.db import Database
from assistantd.store.repos.runs import RunRepository
from assistantd.store.sql import Conn

__all__ = ["Worker"]

log = logging.getLogger(__name__)


class Worker:
    def __init__(
        self,
        db: Database,
        executor: RunExecutor,
        bus: EventBus,
        *,
        concurrency: int = 4,
        poll_s: float = 0.5,
        stale_s: int = 30,
    ) -> None:
        self.db = db
        self.executor = executor
        self.bus = bus
        self.concurrency = concurrency
        self.poll_s = poll_s
        self.stale_s = stale_s
        self.id = f"{os.uname().nodename}-{os.getpid()}-{uuid.uuid4().hex[:8]}"
        self.runs = RunRepository()
        self._wake = asyncio.Event()
        self._tasks: list[asyncio.Task[None]] = []

    def wake(self) -> None:
        """A run was queued: let an idle slot look now instead of at its next poll."""
        self._wake.set()

    def take(self, run_id: str) -> None:
        """Run `run_id` in this process (it is reserved for this worker): by a slot if
        there are any, else in a task of its own."""
        if self.concurrency:
            self.wake()
            return

        async def once() -> None:
            if await self._claim_next(run_id) is not None:
                await self._execute(run_id)

        task = asyncio.create_task(once())
        self._tasks.append(task)
        task.add_done_callback(lambda t: self._tasks.remove(t) if t in self._tasks else None)

    def start(self) -> None:
        self._tasks = [asyncio.create_task(self._slot()) for _ in range(self.concurrency)]
        self._tasks.append(asyncio.create_task(self._reaper()))

    async def stop(self) -> None:
        for task in self._tasks:
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)

    def _claim(self, conn: Conn, run_id: str | None = None) -> dict[str, Any] | None:
        run_id = self.runs.claim_candidate(conn, self.id, run_id)
        if run_id is None:
            return None
        record = self.runs.load(conn, run_id)
        assert record is not None
        run: dict[str, Any] = orjson.loads(record.doc)
        transition(run, "in_progress")
        self.runs.save(conn, run_id, encode(run), run["status"], run["expires_at"], record.private)
        self.runs.set_worker(conn, run_id, self.id, clock.now())
        return run

    async def _claim_next(self, run_id: str | None = None) -> str | None:
        run = await self.db.write(partial(self._claim, run_id=run_id))
        if run is None:
            return None
        publish_doc(self.bus, run["id"], "thread.run.in_progress", run)
        claimed: str = run["id"]
        return claimed

    async def _execute(self, run_id: str) -> None:
        try:
            await self.executor.execute(run_id)
        except Exception:
            # Even recording the failure failed (its thread was deleted under it, the
            # database went away): the slot lives on, and the reaper ends the run.
            log.exception("run %s could not be finished", run_id)

    async def _slot(self) -> None:
        while True:
            # Cleared before looking, so a run queued while we look still wakes us.
            self._wake.clear()
            try:
                run_id = await self._claim_next()
            except Exception:
                log.exception("claiming a run failed")
                run_id = None
            if run_id is not None:
                await self._execute(run_id)
                continue
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), timeout=self.poll_s)

    async def _reaper(self) -> None:
        while True:
            try:
                await self.reap()
            except Exception:
                log.exception("reaping runs failed")
            await asyncio.sleep(min(5.0, self.stale_s / 3))

    async def reap(self) -> None:
        now = clock.now()
        await self.db.write(lambda conn: self.runs.heartbeat(conn, self.id, now))
        await self.db.write(
            lambda conn: self.runs.release_stale_reservations(conn, now - self.stale_s)
        )
        stale = await self.db.read(lambda conn: self.runs.stale(conn, now - self.stale_s))
        expired = await self.db.read(lambda conn: self.runs.expired(conn, now))
        for run_id, status in [*((r, "failed") for r in stale), *((r, "expired") for r in expired)]:
            ended = await self.db.write(partial(self._end, run_id=run_id, status=status))
            if ended is not None:
                run, steps = ended
                for step in steps:
                    publish_doc(self.bus, run_id, step_event(step), step)
                publish_doc(self.bus, run_id, f"thread.run.{run['status']}", run)

    def _end(
        self, conn: Conn, run_id: str, status: str
    ) -> tuple[dict[str, Any], list[dict[str, Any]]] | None:
        record = self.runs.load(conn, run_id)
        if record is None:
            return None
        run: dict[str, Any] = orjson.loads(record.doc)
        if status == "expired" and run["status"] != "requires_action":
            return None  # only runs waiting for tool outputs expire; queued runs wait their turn
        if status == "failed" and run["status"] not in ("in_progress", "cancelling"):
            return None
        if status == "failed":
            run["last_error"] = {
                "code": "server_error",
                "message": "The worker running this run stopped before it finished.",
            }
            if run["status"] == "cancelling":
                status = "cancelled"
        transition(run, status)
        steps = close_open_work(self.runs, conn, run)
        self.runs.save(conn, run_id, encode(run), run["status"], run["expires_at"], record.private)
        return run, steps
