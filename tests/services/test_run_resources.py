"""What a run's tools read (services/run_resources.py): the thread's store is waited
for while it ingests, woken by the ingestion that finishes it, never past the limit."""

from __future__ import annotations

import asyncio
from pathlib import Path

import orjson

from assistantd.protocol.threads import ThreadCreate
from assistantd.protocol.vector_stores import StoreFileCreate, VectorStoreCreate
from assistantd.providers.scripted import ScriptedProvider
from assistantd.services.run_resources import StoreLookup
from assistantd.store.blobs import TempBlob
from tests.engine.stack import PROJECT, in_process


async def test_the_wait_for_the_threads_store_ends_when_its_file_does(tmp_path: Path) -> None:
    # No ingestion worker runs: the file stays in progress until the test says so.
    async with in_process(
        tmp_path, provider=ScriptedProvider(), ingest_workers=0, vector_store_inline_wait_s=0
    ) as (c, _):
        store = orjson.loads(await c.vector_stores.create(PROJECT, VectorStoreCreate()))
        temp: TempBlob = c.blobs.temp()
        temp.write(b"hello")
        temp.finish()
        file_id = orjson.loads(
            await c.files.create(PROJECT, temp, filename="a.txt", purpose="assistants")
        )["id"]
        await c.vector_store_files.attach(PROJECT, store["id"], StoreFileCreate(file_id=file_id))
        resources = {"file_search": {"vector_store_ids": [store["id"]]}}
        thread = orjson.loads(
            await c.threads.create(
                PROJECT, ThreadCreate.model_validate({"tool_resources": resources})
            )
        )
        run = {"thread_id": thread["id"], "assistant_id": "asst_x"}
        # With a short limit the wait gives up on a store that stays in progress.
        short = StoreLookup(c.db, c.vector_stores, ready_wait_s=0.3)
        await asyncio.wait_for(short.wait_for_thread_store(PROJECT, run), 10)  # type: ignore[arg-type]
        # With a long one it ends when the store's file does: the ingestion's event
        # wakes it, not the end of its minute.
        long = StoreLookup(c.db, c.vector_stores, ready_wait_s=60, look_again_s=60)
        waiting = asyncio.create_task(long.wait_for_thread_store(PROJECT, run))  # type: ignore[arg-type]
        await asyncio.sleep(0.1)
        assert not waiting.done()
        # The file leaves the store (as ingestion would end it), then the event comes.
        await c.vector_store_files.detach(PROJECT, store["id"], file_id)
        c.vector_stores.finished(store["id"], file_id)
        await asyncio.wait_for(waiting, 10)
