"""Ingestion throughput (chunks/s) of a 100-page text and a 100-page PDF, against the
embedder alone on the same chunks: the share of ingestion time that is not embedding
(parsing, chunking, writing chunks and the FTS index, bookkeeping) is what the ratio
shows. Pages are Debian manual pages (~3,000 characters each), chunked `auto` (800/400).

Reproduce: make dev && .venv/bin/python -m bench.ingestion
"""

from __future__ import annotations

import asyncio
import tempfile
import time
from pathlib import Path

import orjson
from tests import documents

from assistantd.container import Container
from assistantd.protocol.vector_stores import StoreFileCreate, VectorStoreCreate
from assistantd.settings import Settings
from assistantd.store.migrate import upgrade
from assistantd.tools.file_search.chunking import chunk_pages
from assistantd.tools.file_search.parsing import parse
from bench.harness import machine
from bench.retrieval_quality import corpus

PROJECT = "default"


def hundred_pages() -> list[str]:
    pages = [text[:3000] for _, _, text in corpus(100)]
    return [p.encode("latin-1", errors="replace").decode("latin-1") for p in pages]


async def ingest(c: Container, name: str, data: bytes) -> float:
    """Seconds from the attach request to the file's `completed`."""
    store_id = orjson.loads(await c.vector_stores.create(PROJECT, VectorStoreCreate()))["id"]
    temp = c.blobs.temp()
    temp.write(data)
    temp.finish()
    file_id = orjson.loads(
        await c.files.create(PROJECT, temp, filename=name, purpose="assistants")
    )["id"]
    started = time.perf_counter()
    await c.vector_store_files.attach(PROJECT, store_id, StoreFileCreate(file_id=file_id))
    while True:
        doc = orjson.loads(await c.vector_store_files.get_file(PROJECT, store_id, file_id))
        if doc["status"] != "in_progress":
            break
        await asyncio.sleep(0.05)
    assert doc["status"] == "completed", doc["last_error"]
    return time.perf_counter() - started


async def run() -> None:
    pages = hundred_pages()
    text = "\n\n".join(pages).encode()
    pdf = documents.pdf(
        [[line[:120] for line in page.splitlines() if line.strip()][:45] for page in pages]
    )
    tmp = Path(tempfile.mkdtemp())
    url = f"sqlite:///{tmp / 'bench.db'}"
    await upgrade(url)
    c = Container.build(Settings(data_dir=tmp, database_url=url, embedded_warm_up=False))
    c.ingestor.start()
    await c.embedder.embed(["warm up"])
    print("| file | chunks | ingest s | chunks/s | embedder alone s | ratio |")
    print("|---|---|---|---|---|---|")
    try:
        for name, data in (("hundred.txt", text), ("hundred.pdf", pdf)):
            chunks = chunk_pages(parse(name, data), 800, 400)
            started = time.perf_counter()
            await c.embedder.embed([ch.text for ch in chunks])
            alone = time.perf_counter() - started
            took = await ingest(c, name, data)
            print(
                f"| {name} ({len(data) // 1024} KB) | {len(chunks)} | {took:.1f} |"
                f" {len(chunks) / took:.1f} | {alone:.1f} | {alone / took:.2f} |"
            )
    finally:
        await c.close()
    print(f"\nmachine: {machine()}")
    print("reproduce: .venv/bin/python -m bench.ingestion")


if __name__ == "__main__":
    asyncio.run(run())
