"""Who executes a run (engine/dispatch.py), on the in-process stack: a streamed run is
reserved for this process's worker only when events stay in this process, and starts in
the write that creates it when a slot is free."""

from __future__ import annotations

from pathlib import Path

import orjson
from sqlalchemy import text

from assistantd.engine.dispatch import Dispatcher
from assistantd.events.wakeups import LocalWakeups
from assistantd.protocol.assistants import AssistantCreate
from assistantd.protocol.runs import RunCreate
from assistantd.protocol.threads import ThreadCreate
from assistantd.providers.scripted import Scripted, ScriptedProvider
from assistantd.store.sql import Query
from tests.engine.stack import PROJECT, in_process, settled


async def test_reservations_follow_where_events_can_be_read(tmp_path: Path) -> None:
    async with in_process(tmp_path, provider=ScriptedProvider(), workers=0) as (c, _):
        local = Dispatcher(c.worker, LocalWakeups(), events_cross_processes=False)
        shared = Dispatcher(c.worker, LocalWakeups(), events_cross_processes=True)
        assert local.reserve(streamed=True) == c.worker.id
        assert local.reserve(streamed=False) is None
        assert shared.reserve(streamed=True) is None  # any worker: events cross processes
        assert not local.start_at_once("another-worker")


async def test_a_streamed_run_is_this_workers_from_its_first_write(tmp_path: Path) -> None:
    model = ScriptedProvider()
    model.script(Scripted(text="Hello."))
    async with in_process(tmp_path, provider=model) as (c, db):
        assistant = orjson.loads(
            await c.assistants.create(PROJECT, AssistantCreate(model="scripted-gpt"))
        )
        thread = orjson.loads(await c.threads.create(PROJECT, ThreadCreate()))
        req = RunCreate(assistant_id=assistant["id"])
        created = orjson.loads(await c.runs.create(PROJECT, thread["id"], req, streamed=True))
        owner = await db.read(
            lambda conn: conn.first(
                Query(text("SELECT worker FROM runs WHERE id = :id")), {"id": created["id"]}
            )
        )
        assert owner == (c.worker.id,)  # this process's worker's from the first write
        assert created["status"] == "queued"  # what the create answers, as OpenAI did
        run = await settled(c, thread["id"], created["id"])
        assert run["status"] == "completed"
        assert len(model.requests) == 1
