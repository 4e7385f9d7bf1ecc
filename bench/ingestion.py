"""Ingestion throughput of a 1,000-file mixed corpus, against the raw parser + embedder.

The corpus: 1,000 Debian manual pages (~3,000 characters each) as `.txt`, `.md`,
`.html`, `.pdf` and `.docx` in turn, chunked `auto` (800/400). Three timings:

- **raw**: `parse` + `chunk_pages` + the embedder, file after file, in this process (no
  database, no limits, no parse workers): the floor;
- **ingested**: the same files attached in one batch to a vector store of a server
  built in-process (the real pipeline: parse workers with their limits, embedding
  turns, chunks and FTS written, status recounted), until the batch completes;
- **with a hostile file**: the same again into a new store, with a hostile file
  (tests/hostile.py: 12 MB of one-byte tokens, and a PDF whose 100 pages share a 4 MB
  content stream) queued first.

The ratios raw ÷ ingested are the pipeline's efficiency (target ≥ 0.8).

Reproduce: make dev && .venv/bin/python -m bench.ingestion [--files 1000]
"""

from __future__ import annotations

import argparse
import asyncio
import html
import tempfile
import time
from pathlib import Path

import orjson
from tests import documents, hostile

from assistantd.container import Container
from assistantd.protocol.vector_stores import FileBatchCreate, VectorStoreCreate
from assistantd.retrieval.chunking import chunk_pages
from assistantd.retrieval.embeddings import MiniLMEmbedder
from assistantd.retrieval.parsing import parse
from assistantd.settings import Settings
from assistantd.store.migrate import upgrade
from bench.harness import machine
from bench.retrieval_quality import corpus

PROJECT = "default"
FORMATS = (".txt", ".md", ".html", ".pdf", ".docx")


def mixed(files: int) -> list[tuple[str, bytes]]:
    out = []
    for n, (name, _, text) in enumerate(corpus(files)):
        text = text[:3000].encode("latin-1", errors="replace").decode("latin-1")
        lines = [line[:120] for line in text.splitlines() if line.strip()]
        ext = FORMATS[n % len(FORMATS)]
        if ext == ".html":
            body = "".join(f"<p>{html.escape(line)}</p>" for line in lines)
            data = f"<html><body><h1>{name}</h1>{body}</body></html>".encode()
        elif ext == ".pdf":
            data = documents.pdf([lines[i : i + 45] for i in range(0, len(lines), 45)] or [[name]])
        elif ext == ".docx":
            data = documents.docx(lines or [name])
        else:
            data = text.encode()
        out.append((f"{name}{ext}", data))
    return out


def raw(files: list[tuple[str, bytes]], embedder: MiniLMEmbedder) -> tuple[float, int]:
    started = time.perf_counter()
    chunks = 0
    for name, data in files:
        pieces = chunk_pages(parse(name, data), 800, 400)
        embedder.embed_sync([p.text for p in pieces])
        chunks += len(pieces)
    return time.perf_counter() - started, chunks


async def _upload(c: Container, name: str, data: bytes) -> str:
    temp = c.blobs.temp()
    temp.write(data)
    temp.finish()
    doc = await c.files.create(PROJECT, temp, filename=name, purpose="assistants")
    return str(orjson.loads(doc)["id"])


async def ingest(c: Container, files: list[tuple[str, bytes]], first: list[str]) -> float:
    """Seconds from the batch's create to the corpus's last file done (`first`: files
    attached just before the batch, in their own batch)."""
    store_id = orjson.loads(await c.vector_stores.create(PROJECT, VectorStoreCreate()))["id"]
    ids = [await _upload(c, name, data) for name, data in files]
    if first:
        await c.vector_store_files.create_batch(PROJECT, store_id, FileBatchCreate(file_ids=first))
    started = time.perf_counter()
    batch = orjson.loads(
        await c.vector_store_files.create_batch(PROJECT, store_id, FileBatchCreate(file_ids=ids))
    )
    while True:
        doc = orjson.loads(await c.vector_store_files.get_batch(PROJECT, store_id, batch["id"]))
        if doc["status"] != "in_progress":
            break
        await asyncio.sleep(0.1)
    took = time.perf_counter() - started
    assert doc["file_counts"]["completed"] == len(files), doc["file_counts"]
    return took


async def run(count: int) -> None:
    files = mixed(count)
    embedder = MiniLMEmbedder()
    embedder.embed_sync(["warm up"])
    floor, chunks = raw(files, embedder)
    tmp = Path(tempfile.mkdtemp())
    url = f"sqlite:///{tmp / 'bench.db'}"
    await upgrade(url)
    c = Container.build(Settings(data_dir=tmp, database_url=url, embedded_warm_up=False))
    c.ingestor.start()
    try:
        await c.embedder.embed(["warm up"])
        plain = await ingest(c, files, [])
        paths = hostile.write_all(tmp / "hostile")
        bad = [
            await _upload(c, name, paths[name].read_bytes())
            for name in ("tokens-12mb.txt", "shared.pdf")
        ]
        attacked = await ingest(c, files, bad)
    finally:
        await c.close()
    print(f"ingestion of {len(files):,} files ({chunks:,} chunks), SQLite")
    print("| pipeline | seconds | chunks/s | raw ÷ this |")
    print("|---|---|---|---|")
    for label, took in (
        ("raw parser + embedder, one process", floor),
        ("ingested (batch to completed)", plain),
        ("ingested, hostile files queued first", attacked),
    ):
        print(f"| {label} | {took:.1f} | {chunks / took:.1f} | {floor / took:.2f} |")
    print(f"\nmachine: {machine()}")
    print(f"reproduce: .venv/bin/python -m bench.ingestion --files {count}")


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("--files", type=int, default=1000)
    asyncio.run(run(parser.parse_args().files))
