"""Ingestion survives a dead worker, and stores expire: on the real stack, in process."""

from __future__ import annotations

import zlib
from collections.abc import Awaitable, Callable, Sequence
from functools import partial
from pathlib import Path
from typing import Any

import numpy as np
import orjson
import pytest
from sqlalchemy import text

from assistantd import clock
from assistantd.engine.ingestion import Ingestor
from assistantd.engine.parse_pool import ParsePool
from assistantd.errors import InvalidRequest
from assistantd.protocol.assistants import AssistantCreate
from assistantd.protocol.runs import ThreadAndRunCreate
from assistantd.protocol.vector_stores import (
    FileBatchCreate,
    SearchRequest,
    StoreFileCreate,
    VectorStoreCreate,
)
from assistantd.retrieval.chunking import chunk_pages
from assistantd.store.blobs import TempBlob
from assistantd.store.repos.vector_stores import store_files_repo as files
from assistantd.store.sql import Query
from tests.engine.stack import PROJECT, in_process, settled
from tests.upstream import ScriptedUpstream


async def _file(c, name: str, data: bytes) -> str:  # type: ignore[no-untyped-def]
    temp: TempBlob = c.blobs.temp()
    temp.write(data)
    temp.finish()
    doc = await c.files.create(PROJECT, temp, filename=name, purpose="assistants")
    return str(orjson.loads(doc)["id"])


async def test_a_file_held_by_a_dead_worker_ends_failed(
    tmp_path: Path, upstream: ScriptedUpstream
) -> None:
    async with in_process(
        tmp_path, upstream.base_url, rehearse=False, ingest_workers=0, vector_store_inline_wait_s=0
    ) as (c, db):
        store = orjson.loads(await c.vector_stores.create(PROJECT, VectorStoreCreate()))
        file_id = await _file(c, "a.txt", b"hello world")
        doc = await c.vector_store_files.attach(
            PROJECT, store["id"], StoreFileCreate(file_id=file_id)
        )
        assert orjson.loads(doc)["status"] == "in_progress"
        # A worker claims it, then dies: its heartbeat stops long ago.
        claimed = await db.write(partial(files.claim, worker="dead-worker", now=clock.now() - 600))
        assert claimed == (store["id"], file_id, PROJECT)
        assert await c.ingestor.fail_stale() == 1
        after = orjson.loads(await c.vector_store_files.get_file(PROJECT, store["id"], file_id))
        assert after["status"] == "failed"
        assert after["last_error"]["code"] == "server_error"
        counts = orjson.loads(await c.vector_stores.get(PROJECT, store["id"]))["file_counts"]
        assert (counts["in_progress"], counts["failed"]) == (0, 1)
        # A live worker's file is not touched.
        other = await _file(c, "b.txt", b"more")
        await c.vector_store_files.attach(PROJECT, store["id"], StoreFileCreate(file_id=other))
        await db.write(partial(files.claim, worker="live-worker", now=clock.now()))
        assert await c.ingestor.fail_stale() == 0


async def test_expired_store_loses_its_files_and_fails_runs(
    tmp_path: Path, upstream: ScriptedUpstream
) -> None:
    async with in_process(tmp_path, upstream.base_url, rehearse=False) as (c, db):
        file_id = await _file(c, "facts.txt", b"The sky is blue.")
        store = orjson.loads(
            await c.vector_stores.create(
                PROJECT,
                VectorStoreCreate.model_validate(
                    {
                        "file_ids": [file_id],
                        "expires_after": {"anchor": "last_active_at", "days": 1},
                    }
                ),
            )
        )
        assert store["expires_at"] == store["last_active_at"] + 86400
        assistant = orjson.loads(
            await c.assistants.create(
                PROJECT,
                AssistantCreate.model_validate(
                    {
                        "model": "scripted-x",
                        "tools": [{"type": "file_search"}],
                        "tool_resources": {"file_search": {"vector_store_ids": [store["id"]]}},
                    }
                ),
            )
        )
        # Two days pass: the store's expiry is now behind us.
        past = clock.now() - 2 * 86400
        old = {**store, "last_active_at": past, "expires_at": past + 86400}
        await db.write(
            lambda conn: conn.execute(
                Query(text("UPDATE vector_stores SET doc = :doc, expires_at = :at WHERE id = :id")),
                {"doc": orjson.dumps(old).decode(), "at": past + 86400, "id": store["id"]},
            )
        )
        assert await c.vector_stores.expire_due() == 1
        expired = orjson.loads(await c.vector_stores.get(PROJECT, store["id"]))
        assert expired["status"] == "expired"
        assert expired["file_counts"]["total"] == 0
        with pytest.raises(InvalidRequest, match="has expired"):
            await c.search.search_store(PROJECT, store["id"], SearchRequest(query="sky"))
        with pytest.raises(InvalidRequest, match="has expired"):
            await c.vector_store_files.attach(
                PROJECT, store["id"], StoreFileCreate(file_id=file_id)
            )
        _, run_doc = await c.runs.create_thread_and_run(
            PROJECT,
            ThreadAndRunCreate.model_validate(
                {
                    "assistant_id": assistant["id"],
                    "thread": {"messages": [{"role": "user", "content": "sky?"}]},
                }
            ),
        )
        run = orjson.loads(run_doc)
        ended = await settled(c, run["thread_id"], run["id"])
        assert ended["status"] == "failed"
        assert ended["last_error"]["message"] == f"Vector store '{store['id']}' has expired."
        assert upstream.requests == []  # the model was never asked


class _Interrupting:
    """An embedder (hashed toy vectors) that lets a test act while a file is embedded."""

    name = "toy"
    dimensions = 384

    def __init__(self, during_first: Callable[[], Awaitable[None]]) -> None:
        self.during_first = during_first
        self.calls = 0
        self.embedded = 0

    async def embed(
        self, texts: Sequence[str], *, project: str = "", lane: str = "query"
    ) -> np.ndarray[Any, Any]:
        self.calls += 1
        self.embedded += len(texts)
        if self.calls == 1:
            await self.during_first()
        rows = [np.random.default_rng(zlib.crc32(t.encode())).normal(size=384) for t in texts]
        vectors = np.array(rows, dtype=np.float32)
        return vectors / np.linalg.norm(vectors, axis=1, keepdims=True)


async def test_a_cancelled_batch_stops_ingestion_between_slices(
    tmp_path: Path, upstream: ScriptedUpstream
) -> None:
    async with in_process(
        tmp_path, upstream.base_url, rehearse=False, ingest_workers=0, vector_store_inline_wait_s=0
    ) as (c, db):
        store = orjson.loads(await c.vector_stores.create(PROJECT, VectorStoreCreate()))
        big = " ".join(f"word{i} lorem ipsum dolor sit amet." for i in range(20_000))
        file_id = await _file(c, "big.txt", big.encode())
        batch = orjson.loads(
            await c.vector_store_files.create_batch(
                PROJECT, store["id"], FileBatchCreate(file_ids=[file_id])
            )
        )

        async def cancel() -> None:
            await c.vector_store_files.cancel_batch(PROJECT, store["id"], batch["id"])

        embedder = _Interrupting(cancel)
        worker = Ingestor(
            db,
            c.blobs,
            c.vector_stores.chunks,
            embedder,
            c.vector_stores,
            ParsePool(),
            concurrency=0,
        )
        claimed = await db.write(partial(files.claim, worker=worker.id, now=clock.now()))
        assert claimed == (store["id"], file_id, PROJECT)
        await worker.ingest(store["id"], file_id, PROJECT)
        await worker.parser.close()
        # Only the first slice was embedded, of a file of hundreds of chunks.
        assert len(chunk_pages([big], 800, 400)) > 5 * 64
        assert (embedder.calls, embedder.embedded) == (1, 64)
        after = orjson.loads(await c.vector_store_files.get_file(PROJECT, store["id"], file_id))
        assert after["status"] == "cancelled"
        assert after["usage_bytes"] == 0
        hits = await c.search.search(PROJECT, [store["id"]], ["lorem"], limit=5)
        assert hits == []


async def test_claims_take_turns_between_projects(
    tmp_path: Path, upstream: ScriptedUpstream
) -> None:
    """A project with a thousand files queued, another with one: the next free slot takes
    the other project's file, not the big queue's next one."""
    async with in_process(
        tmp_path, upstream.base_url, rehearse=False, ingest_workers=0, vector_store_inline_wait_s=0
    ) as (c, db):

        async def queue(project: str, count: int) -> set[str]:
            store = orjson.loads(await c.vector_stores.create(project, VectorStoreCreate()))
            ids = []
            for n in range(count):
                temp: TempBlob = c.blobs.temp()
                temp.write(f"file {n}".encode())
                temp.finish()
                doc = await c.files.create(project, temp, filename=f"{n}.txt", purpose="assistants")
                ids.append(orjson.loads(doc)["id"])
            await c.vector_store_files.create_batch(
                project, store["id"], FileBatchCreate(file_ids=ids)
            )
            return set(ids)

        await queue("big", 40)
        small = await queue("small", 1)
        first = await db.write(partial(files.claim, worker="w1", now=clock.now()))
        second = await db.write(partial(files.claim, worker="w2", now=clock.now()))
        third = await db.write(partial(files.claim, worker="w3", now=clock.now()))
        assert first is not None
        assert second is not None
        assert third is not None
        # Of the first two claims, one is the small project's: never two of the big's
        # while the small one waits. With both projects busy, the big queue goes on.
        assert {first[2], second[2]} == {"big", "small"}
        assert {first[1], second[1]} & small
        assert third[2] == "big"
