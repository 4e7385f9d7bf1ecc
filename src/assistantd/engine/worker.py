"""Worker: claims queued runs and executes them, several at once; keeps runs from hanging.

The queue is the runs table. A worker claims the oldest queued run in one
transaction (`FOR UPDATE SKIP LOCKED` on PostgreSQL; SQLite's single writer does the
same job), marks it in progress under its own id, and heartbeats while it runs. A
reaper in every worker fails runs whose worker went silent (a killed process) and
expires runs that waited for tool outputs past `expires_at`.

In the server the worker runs in-process and is woken as soon as a run is queued;
`assistantd worker` runs the same class alone, polling, against the same database.

Stopping is graceful: `stop_claiming` (called at SIGTERM) stops taking runs at once,
`stop` then gives the runs in flight `grace_s` to finish and fails those still running
after it, with a `last_error` that says so. They are failed rather than queued again
because they may already have written part of an answer.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import time
import uuid
from functools import partial

import orjson

from assistantd import clock
from assistantd.engine.executor import RunExecutor
from assistantd.events.bus import EventBus
from assistantd.observability.logs import PROJECT, RUN_ID
from assistantd.protocol.objects import MessageDoc, RunDoc, RunStepDoc
from assistantd.services.documents import encode
from assistantd.services.run_events import ending_docs, publish_doc, publish_docs
from assistantd.services.run_states import (
    close_open_messages,
    close_open_work,
    start_run,
    transition,
)
from assistantd.store.db import Database
from assistantd.store.repos.runs import runs_repo
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
        grace_s: float = 30.0,
        streamed_limit: int = 64,
    ) -> None:
        self.db = db
        self.executor = executor
        self.bus = bus
        self.concurrency = concurrency
        self.poll_s = poll_s
        self.stale_s = stale_s
        self.grace_s = grace_s
        self.id = f"{os.uname().nodename}-{os.getpid()}-{uuid.uuid4().hex[:8]}"
        self.runs = runs_repo
        # One token per announced run: each wakes one idle slot, not all of them (a
        # herd of slots racing to claim one run cost CPU and lock waits for nothing).
        self._wake: asyncio.Queue[None] = asyncio.Queue(maxsize=max(1, concurrency))
        self._claiming = True
        self._deadline = 0.0  # when the grace period ends, once stopping
        self._loop: asyncio.AbstractEventLoop | None = None
        self._slots: list[asyncio.Task[None]] = []
        self._reaper_task: asyncio.Task[None] | None = None
        self._own: set[asyncio.Task[None]] = set()
        # Streamed runs taken without slots (ASSISTANTD_WORKERS=0) wait for one of these.
        self._streamed = asyncio.Semaphore(streamed_limit)
        self.streamed_limit = streamed_limit
        self.running: set[str] = set()

    def wake(self) -> None:
        """A run was queued: let an idle slot look now instead of at its next poll."""
        with contextlib.suppress(asyncio.QueueFull):  # every slot has a token already
            self._wake.put_nowait(None)

    def take(self, run_id: str) -> None:
        """Run `run_id` in this process (it is reserved for this worker): by a slot if
        there are any, else in a task of its own, at most `streamed_limit` at once."""
        if self.concurrency:
            self.wake()
            return
        self._run_in_own_task(run_id, claimed=False)

    def may_claim(self) -> bool:
        """Whether a streamed run may start at once: not when stopping, nor when every
        slot is busy (then it waits queued for one, as other runs do: 64 streamed runs
        executing at once beside 16 slots cost 1.8 times the CPU per run), nor, with no
        slots, past `streamed_limit`."""
        if not self._claiming or self._loop is None:
            return False
        return len(self.running) < (self.concurrency or self.streamed_limit)

    def start_claimed(self, run_id: str) -> None:
        """Execute a run claimed for this worker as it was created (a streamed run, when
        `may_claim` said a slot, or with no slots one of `streamed_limit`, was free)."""
        self.running.add(run_id)  # counted at once, so a burst cannot over-claim
        self._run_in_own_task(run_id, claimed=True)

    def _run_in_own_task(self, run_id: str, *, claimed: bool) -> None:
        """A run executed outside the slots, at most `streamed_limit` at once."""

        async def once() -> None:
            async with self._streamed:
                if claimed or (self._claiming and await self.claim_next(run_id) is not None):
                    await self.execute(run_id)

        task = asyncio.create_task(once())
        self._own.add(task)
        task.add_done_callback(self._own.discard)

    def start(self) -> None:
        self._loop = asyncio.get_running_loop()
        self._slots = [asyncio.create_task(self._slot()) for _ in range(self.concurrency)]
        self._reaper_task = asyncio.create_task(self._reaper())

    def stop_claiming(self) -> None:
        """Take no more runs. Safe to call from a signal handler or another thread."""
        if self._claiming:
            self._claiming = False
            self._deadline = time.monotonic() + self.grace_s
        if self._loop is not None and not self._loop.is_closed():
            for _ in range(self.concurrency):  # every slot, to see that it must stop
                self._loop.call_soon_threadsafe(self.wake)

    async def stop(self) -> None:
        """Stop claiming, let runs in flight finish within the grace period, fail the rest."""
        self.stop_claiming()
        busy = [*self._slots, *self._own]
        if busy:
            left = max(0.0, self._deadline - time.monotonic())
            _, late = await asyncio.wait(busy, timeout=left)
            if late:
                log.warning(
                    "%d runs still running after the %.0f s shutdown grace period; failing them",
                    len(self.running),
                    self.grace_s,
                )
            unfinished = set(self.running)
            for task in late:
                task.cancel()
            await asyncio.gather(*late, return_exceptions=True)
            for run_id in unfinished:
                await self._end_and_publish(run_id, "failed", reason=_SHUTDOWN)
        if self._reaper_task is not None:
            self._reaper_task.cancel()
            await asyncio.gather(self._reaper_task, return_exceptions=True)
        try:
            await self.db.write(lambda conn: self.runs.release_reservations(conn, self.id))
        except Exception:  # the reservations go stale and are released by other workers
            log.exception("releasing this worker's queued runs failed")

    def _claim(self, conn: Conn, run_id: str | None = None) -> RunDoc | None:
        doc = self.runs.claim_candidate(conn, self.id, run_id)
        return None if doc is None else start_run(self.runs, conn, doc, self.id)

    async def claim_next(self, run_id: str | None = None) -> str | None:
        """Claim the oldest queued run this worker may take (or `run_id`): its id, or None."""
        run = await self.db.write(partial(self._claim, run_id=run_id))
        if run is None:
            return None
        await publish_doc(self.bus, run["id"], "thread.run.in_progress", run)
        return run["id"]

    async def execute(self, run_id: str) -> None:
        """Execute a claimed run to its next stop; never raises (the reaper is the backstop)."""
        self.running.add(run_id)
        # On every log line about this run (and its tasks'), and on none after it.
        run_token, project_token = RUN_ID.set(run_id), PROJECT.set(None)
        try:
            await self.executor.execute(run_id)
        except Exception:
            # Even recording the failure failed (its thread was deleted under it, the
            # database went away): the slot lives on, and the reaper ends the run.
            log.exception("run %s could not be finished", run_id)
        finally:
            self.running.discard(run_id)
            RUN_ID.reset(run_token)
            PROJECT.reset(project_token)

    async def _slot(self) -> None:
        while self._claiming:
            try:
                run_id = await self.claim_next()
            except Exception:
                log.exception("claiming a run failed")
                run_id = None
            if run_id is not None:
                await self.execute(run_id)
                continue
            if self._claiming:
                # A token put while we looked is still there: no run is missed.
                with contextlib.suppress(TimeoutError):
                    async with asyncio.timeout(self.poll_s):
                        await self._wake.get()

    async def _reaper(self) -> None:
        while True:
            try:
                await self.reap()
            except Exception:
                log.exception("reaping runs failed")
            await asyncio.sleep(min(5.0, self.stale_s / 3))

    async def reap(self) -> None:
        now = clock.now()
        before = now - self.stale_s
        await self.db.write(lambda conn: self.runs.heartbeat(conn, self.id, now))
        await self.db.write(lambda conn: self.runs.release_stale_reservations(conn, before))
        stale = await self.db.read(lambda conn: self.runs.stale(conn, before))
        expired = await self.db.read(lambda conn: self.runs.expired(conn, now))
        for run_id, worker in stale:
            await self._end_and_publish(run_id, "failed", stale=(before, worker))
        for run_id in expired:
            await self._end_and_publish(run_id, "expired")

    async def _end_and_publish(
        self,
        run_id: str,
        status: str,
        *,
        stale: tuple[int, str | None] | None = None,
        reason: str | None = None,
    ) -> None:
        ended = await self.db.write(
            partial(self.end, run_id=run_id, status=status, stale=stale, reason=reason)
        )
        if ended is not None:
            run, steps, messages = ended
            await publish_docs(self.bus, run_id, ending_docs(run, steps, messages))

    def end(
        self,
        conn: Conn,
        run_id: str,
        status: str,
        *,
        stale: tuple[int, str | None] | None = None,
        reason: str | None = None,
    ) -> tuple[RunDoc, list[RunStepDoc], list[MessageDoc]] | None:
        """A unit: fail a dead worker's run, or expire one that waited too long.

        With `stale` (heartbeat cut-off, worker), the run is failed only if it is still
        that worker's and its heartbeat is still older than the cut-off, checked here on
        the locked row: a worker that was merely slow between the reaper's read and
        this write keeps its run.
        """
        record = self.runs.load(conn, run_id)
        if record is None:
            return None
        run: RunDoc = orjson.loads(record.doc)
        if status == "expired" and run["status"] != "requires_action":
            return None  # only runs waiting for tool outputs expire; queued runs wait their turn
        if status == "failed" and run["status"] not in ("in_progress", "cancelling"):
            return None
        if stale is not None:
            before, worker = stale
            owner, heartbeat_at = self.runs.liveness(conn, run_id)
            if owner != worker or heartbeat_at is None or heartbeat_at >= before:
                return None
        if status == "failed":
            run["last_error"] = {"code": "server_error", "message": reason or _DIED}
            if run["status"] == "cancelling":
                status = "cancelled"
        transition(run, status)
        steps = close_open_work(self.runs, conn, run)
        messages = close_open_messages(conn, run, record.project, steps)
        self.runs.save(conn, run_id, encode(run), run["status"], run["expires_at"], record.private)
        return run, steps, messages


_DIED = "The worker running this run stopped before it finished."
_SHUTDOWN = (
    "The server shut down before this run finished: it was still running when the "
    "shutdown grace period (ASSISTANTD_SHUTDOWN_GRACE_S) ended."
)
