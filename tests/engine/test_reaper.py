"""The reaper fails a run only while it is still stale and still held by the same worker."""

from __future__ import annotations

from functools import partial
from pathlib import Path

from assistantd import clock
from assistantd.engine.worker import Worker
from tests.engine.stack import PROJECT, in_process
from tests.engine.test_units_twice import _setup, _start
from tests.upstream import ScriptedUpstream


async def test_reaper_rechecks_heartbeat_and_owner_when_failing(
    tmp_path: Path, upstream: ScriptedUpstream
) -> None:
    async with in_process(tmp_path, upstream.base_url, workers=0, rehearse=False) as (c, db):
        assistant_id, thread_id = await _setup(c)
        run_id = await _start(c, assistant_id, thread_id)
        # Another worker (never started) holds the run, heartbeating just now.
        holder = Worker(db, c.worker.executor, c.bus, concurrency=0)
        assert await holder.claim_next() == run_id
        now = clock.now()

        async def fail(cutoff: int, worker: str | None) -> bool:
            unit = partial(c.worker.end, run_id=run_id, status="failed", stale=(cutoff, worker))
            return await db.write(unit) is not None

        async def status() -> str:
            return (await c.runs.get(PROJECT, thread_id, run_id)).decode()

        # What the reaper read a moment ago no longer holds: the heartbeat is fresh...
        assert not await fail(now - 60, holder.id)
        # ...or the run is someone else's now.
        assert not await fail(now + 60, "another-worker")
        assert '"status":"in_progress"' in await status()
        # Still stale and still the same worker's: failed.
        assert await fail(now + 60, holder.id)
        assert '"status":"failed"' in await status()
