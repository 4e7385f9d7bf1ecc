"""The ingestion queue's queries (claim, heartbeat, stale) and the chunk index, on both
backends: what the engine relies on to never strand a file."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from functools import partial
from pathlib import Path

import numpy as np
import pytest
from sqlalchemy import text

from assistantd.store.chunks import Hit, NewChunk, open_chunk_index
from assistantd.store.db import Database, open_database
from assistantd.store.migrate import upgrade
from assistantd.store.repos.vector_stores import store_files_repo, stores_repo
from assistantd.store.sql import Conn, Query
from tests.servers import database

_SETTINGS_NOW = (
    "SELECT current_setting('enable_indexscan'), current_setting('enable_bitmapscan'),"
    " current_setting('enable_seqscan')"
)
files = store_files_repo
stores = stores_repo


@asynccontextmanager
async def _seeded(url: str) -> AsyncIterator[Database]:
    """The database at `url`, migrated, with store vs_1 and its two files (_seed)."""
    await upgrade(url)
    db = open_database(url)
    try:
        await db.write(_seed)
        yield db
    finally:
        await db.dispose()


def _seed(conn: Conn) -> None:
    stores.insert(
        conn,
        {
            "id": "vs_1",
            "project": "p",
            "created_at": 0,
            "expires_at": None,
            "generation": 0,
            "doc": "{}",
        },
    )
    for name in ("file-a", "file-b"):
        files.insert(
            conn,
            {
                "vector_store_id": "vs_1",
                "id": name,
                "project": "p",
                "status": "in_progress",
                "batch_id": None,
                "usage_bytes": 0,
                "filename": f"{name}.txt",
                "worker": None,
                "heartbeat_at": None,
                "parsed": None,
                "doc": "{}",
            },
        )


@pytest.mark.parametrize("engine_backend", ["sqlite", "postgres"])
def test_claim_heartbeat_and_stale(engine_backend: str, tmp_path: Path) -> None:
    async def check(url: str) -> None:
        async with _seeded(url) as db:
            first = await db.write(partial(files.claim, worker="w1", now=100))
            second = await db.write(partial(files.claim, worker="w2", now=100))
            assert {first, second} == {("vs_1", "file-a", "p"), ("vs_1", "file-b", "p")}
            assert await db.write(partial(files.claim, worker="w3", now=100)) is None
            await db.write(partial(files.heartbeat, worker="w1", now=200))
            stale = await db.read(partial(files.stale, before=150, limit=10))
            assert [s[1] for s in stale] == [second[1]]  # w2 went silent, w1 did not
            live = await db.read(partial(files.liveness, store_id="vs_1", file_id=first[1]))
            assert live == ("in_progress", "w1", 200)

    with database(engine_backend, tmp_path) as url:
        asyncio.run(check(url))


@pytest.mark.parametrize("engine_backend", ["sqlite", "postgres"])
def test_chunk_index_keyword_nearest_and_file_restriction(
    engine_backend: str, tmp_path: Path
) -> None:
    rng = np.random.default_rng(1)
    vectors = rng.normal(size=(6, 8)).astype(np.float32)
    vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
    texts = ["red apples", "green pears", "red cars", "blue sky", "apples and pears", "sky high"]

    async def check(url: str) -> None:
        async with _seeded(url) as db:
            index = open_chunk_index(db.dialect, 8, 1 << 20)

            def add(conn: Conn) -> None:
                index.add(
                    conn, "vs_1", "file-a", [NewChunk(i, texts[i], vectors[i]) for i in range(3)]
                )
                index.add(
                    conn, "vs_1", "file-b", [NewChunk(i, texts[i], vectors[i]) for i in range(3, 6)]
                )

            await db.write(add)
            hits = await db.read(lambda c: index.keyword(c, "vs_1", ["apples"], None, 10))
            found = await db.read(lambda c: index.fetch(c, [h.chunk_id for h in hits], vectors[0]))
            assert sorted(ch.text for ch in found) == ["apples and pears", "red apples"]
            only_b = await db.read(lambda c: index.keyword(c, "vs_1", ["apples"], ["file-b"], 10))
            assert len(only_b) == 1
            near = await db.read(lambda c: index.nearest(c, "vs_1", 1, vectors[3], None, 2))
            (top,) = await db.read(lambda c: index.fetch(c, [near[0].chunk_id], vectors[3]))
            assert top.text == "blue sky"
            assert near[0].score == pytest.approx(1.0, abs=1e-4)
            restricted = await db.read(
                lambda c: index.nearest(c, "vs_1", 1, vectors[3], ["file-a"], 10)
            )
            fetched = await db.read(
                lambda c: index.fetch(c, [h.chunk_id for h in restricted], vectors[3])
            )
            assert {ch.file_id for ch in fetched} == {"file-a"}
            await db.write(lambda c: index.remove(c, "vs_1", "file-a"))
            gone = await db.read(lambda c: index.keyword(c, "vs_1", ["red"], None, 10))
            assert gone == []

    with database(engine_backend, tmp_path) as url:
        asyncio.run(check(url))


def test_postgres_approximate_path_finds_neighbours_within_a_file_filter(tmp_path: Path) -> None:
    """Past `exact_max` chunks a store is searched through HNSW with iterative scan."""
    from assistantd.store.chunks.postgres import PgChunkIndex

    rng = np.random.default_rng(3)
    vectors = rng.normal(size=(400, 8)).astype(np.float32)
    vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)

    async def check(url: str) -> None:
        async with _seeded(url) as db:
            index = PgChunkIndex(8, exact_max=10)

            def add(conn: Conn) -> None:
                for n, name in enumerate(("file-a", "file-b")):
                    part = range(n * 200, (n + 1) * 200)
                    index.add(conn, "vs_1", name, [NewChunk(i, f"t{i}", vectors[i]) for i in part])

            await db.write(add)
            query = vectors[250]

            def search_then_settings(c: Conn) -> tuple[list[Hit], list[tuple[object, ...]]]:
                found = index.nearest(c, "vs_1", 1, query, None, 5)
                # Keyword search runs next in the same transaction: GIN needs bitmap scans.
                shown = c.all(Query(text(_SETTINGS_NOW)), {})
                return found, shown

            hits, settings = await db.read(search_then_settings)
            assert settings == [("on", "on", "on")]
            (top,) = await db.read(lambda c: index.fetch(c, [hits[0].chunk_id], query))
            assert top.text == "t250"
            only_a = await db.read(lambda c: index.nearest(c, "vs_1", 1, query, ["file-a"], 5))
            assert len(only_a) == 5
            fetched = await db.read(lambda c: index.fetch(c, [h.chunk_id for h in only_a], query))
            assert {ch.file_id for ch in fetched} == {"file-a"}
            best_a = max(range(200), key=lambda i: float(vectors[i] @ query))
            assert f"t{best_a}" in {ch.text for ch in fetched}

    with database("postgres", tmp_path) as url:
        asyncio.run(check(url))


def test_sqlite_chunks_written_without_the_bulk_path_are_still_indexed(tmp_path: Path) -> None:
    """Migration 0008 holds the insert trigger off only inside a bulk add's own
    transaction: a plain INSERT (a server of the previous version, mid-upgrade) is still
    indexed for full text, and nothing of the switch outlives the add."""
    vector = np.ones(8, dtype=np.float32)

    async def check(url: str) -> None:
        async with _seeded(url) as db:
            index = open_chunk_index(db.dialect, 8, 1 << 20)
            await db.write(
                lambda c: index.add(c, "vs_1", "file-a", [NewChunk(0, "bulk otters", vector)])
            )
            plain = Query(
                text(
                    "INSERT INTO vs_chunks (vector_store_id, file_id, seq, text, embedding)"
                    " VALUES ('vs_1', 'file-b', 0, 'plain otters', :embedding)"
                )
            )
            await db.write(lambda c: c.execute(plain, {"embedding": vector.tobytes()}))
            hits = await db.read(lambda c: index.keyword(c, "vs_1", ["otters"], None, 10))
            found = await db.read(lambda c: index.fetch(c, [h.chunk_id for h in hits], vector))
            assert sorted(ch.text for ch in found) == ["bulk otters", "plain otters"]
            left = Query(text("SELECT COUNT(*) FROM vs_chunks_bulk"))
            assert await db.read(lambda c: c.first(left, {})) == (0,)

    with database("sqlite", tmp_path) as url:
        asyncio.run(check(url))


@pytest.mark.parametrize("engine_backend", ["sqlite", "postgres"])
def test_upkeep_paused_for_a_bulk_load_only_on_an_empty_index(
    engine_backend: str, tmp_path: Path
) -> None:
    """Every ChunkIndex: pause_upkeep/resume_upkeep around many adds leaves an index that
    searches as one grown chunk by chunk; nothing is paused once chunks are there (their
    searches need it), and resume_upkeep is safe without a pause (an import run again)."""
    rng = np.random.default_rng(7)
    vectors = rng.normal(size=(40, 8)).astype(np.float32)
    hnsw = Query(text("SELECT count(*) FROM pg_indexes WHERE indexname = 'ix_vs_chunks_hnsw_8'"))

    async def check(url: str) -> None:
        async with _seeded(url) as db:
            index = open_chunk_index(db.dialect, 8, 1 << 20)
            paused = await db.write(index.pause_upkeep)
            assert paused == (engine_backend == "postgres")  # SQLite has nothing to pause
            for n in range(4):
                chunks = [NewChunk(i, f"chunk {n}.{i}", vectors[n * 10 + i]) for i in range(10)]
                await db.write(partial(index.add, store_id="vs_1", file_id="file-a", chunks=chunks))
            if engine_backend == "postgres":
                assert await db.read(lambda c: c.first(hnsw, {})) == (0,)
            await db.write(index.resume_upkeep)
            if engine_backend == "postgres":
                assert await db.read(lambda c: c.first(hnsw, {})) == (1,)
            near = await db.read(lambda c: index.nearest(c, "vs_1", 1, vectors[23], None, 1))
            (top,) = await db.read(lambda c: index.fetch(c, [near[0].chunk_id], vectors[23]))
            assert top.text == "chunk 2.3"
            assert await db.write(index.pause_upkeep) is False  # chunks are there now
            await db.write(index.resume_upkeep)  # and again: nothing to build, no error

    with database(engine_backend, tmp_path) as url:
        asyncio.run(check(url))
