"""A bystander project's search latency while another project floods the server.

Three conditions, one server built in-process (SQLite, the bundled embedder):

- **idle**: nothing else runs;
- **search flood**: the other project keeps 8 searches in flight, each of 10 queries of
  4,096 characters (the most one request may ask for: 40 embedding windows);
- **bulk ingestion**: the other project ingests 300 files of ~3,000 characters.

The bystander runs one-word searches on its own small store, one after another, and
its p50/p99 are reported with their ratio to idle. Before embedding took turns by
lane and project, the flood moved the bystander's p50 from 16 ms to 48 s.

Reproduce: make dev && .venv/bin/python -m bench.search_fairness
"""

from __future__ import annotations

import asyncio
import contextlib
import statistics
import tempfile
import time
from collections.abc import Awaitable, Callable
from pathlib import Path

import orjson

from assistantd.container import Container
from assistantd.protocol.vector_stores import FileBatchCreate, SearchRequest, VectorStoreCreate
from assistantd.settings import Settings
from assistantd.store.migrate import upgrade
from bench.harness import machine
from bench.retrieval_quality import corpus
from bench.vector_search import _pct

FLOODER, BYSTANDER = "flooder", "bystander"
SEARCHES = 60


async def _store(c: Container, project: str, texts: list[str]) -> str:
    store_id = orjson.loads(await c.vector_stores.create(project, VectorStoreCreate()))["id"]
    ids = []
    for n, text in enumerate(texts):
        temp = c.blobs.temp()
        temp.write(text.encode())
        temp.finish()
        doc = await c.files.create(project, temp, filename=f"f{n}.txt", purpose="assistants")
        ids.append(orjson.loads(doc)["id"])
    batch = orjson.loads(
        await c.vector_store_files.create_batch(project, store_id, FileBatchCreate(file_ids=ids))
    )
    while True:
        doc = orjson.loads(await c.vector_store_files.get_batch(project, store_id, batch["id"]))
        if doc["status"] != "in_progress":
            return store_id
        await asyncio.sleep(0.1)


async def _bystander(c: Container, store_id: str) -> list[float]:
    times = []
    for word in ["hedgehog", "winter", "nest", "leaves"] * (SEARCHES // 4):
        started = time.perf_counter()
        await c.search.search_store(BYSTANDER, store_id, SearchRequest(query=word))
        times.append((time.perf_counter() - started) * 1000)
    return times


async def _while(load: Callable[[], Awaitable[None]], c: Container, store_id: str) -> list[float]:
    task = asyncio.create_task(load())
    await asyncio.sleep(1.0)  # the load is under way
    try:
        return await _bystander(c, store_id)
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task


async def run() -> None:
    tmp = Path(tempfile.mkdtemp())
    url = f"sqlite:///{tmp / 'bench.db'}"
    await upgrade(url)
    c = Container.build(Settings(data_dir=tmp, database_url=url, embedded_warm_up=False))
    c.ingestor.start()
    pages = [text[:3000] for _, _, text in corpus(360)]
    results: dict[str, list[float]] = {}
    try:
        mine = await _store(c, BYSTANDER, ["Hedgehogs sleep through winter in nests of leaves."])
        theirs = await _store(c, FLOODER, pages[:60])
        long_query = [pages[60 + i][:4096].ljust(4096, ".") for i in range(10)]

        async def flood() -> None:
            async def one() -> None:
                while True:
                    request = SearchRequest(query=long_query)
                    await c.search.search_store(FLOODER, theirs, request)

            await asyncio.gather(*(one() for _ in range(8)))

        async def bulk() -> None:
            await _store(c, FLOODER, pages[60:360])

        results["idle"] = await _bystander(c, mine)
        results["search flood (8 × 10 × 4,096 chars)"] = await _while(flood, c, mine)
        results["bulk ingestion (300 files)"] = await _while(bulk, c, mine)
    finally:
        await c.close()
    idle = statistics.median(results["idle"])
    print(f"bystander one-word search, {SEARCHES} in a row, SQLite (ms)")
    print("| condition | p50 | p99 | p50 ÷ idle |")
    print("|---|---|---|---|")
    for label, times in results.items():
        p50 = statistics.median(times)
        print(f"| {label} | {p50:.1f} | {_pct(times, 0.99):.1f} | {p50 / idle:.1f} |")
    print(f"\nmachine: {machine()}")
    print("reproduce: .venv/bin/python -m bench.search_fairness")


if __name__ == "__main__":
    asyncio.run(run())
