"""`assistantd export`: one consistent snapshot of the database, and the Files' bytes,
written as an archive (format.py) while the server goes on serving.

The rows are read in one snapshot (Database.snapshot: SQLite's WAL read transaction,
PostgreSQL's REPEATABLE READ), a keyset batch at a time, so memory stays flat. Blobs
never change once written (a File's bytes are kept under its own id), so copying the
bytes of the Files the snapshot holds, in a second thread while the rest is written,
is consistent too; a File deleted meanwhile has no bytes left to copy and is listed in
the manifest's `gone`.
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import shutil
import tempfile
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from functools import cache
from pathlib import Path
from typing import Any

import numpy as np
import orjson
from sqlalchemy import Table, bindparam, select, text, tuple_

from assistantd import __version__, clock
from assistantd.store.archive.format import (
    FORMAT,
    FORMAT_VERSION,
    BlobEntry,
    FileEntry,
    Manifest,
    Progress,
    archived_tables,
    copy_hashed,
    pack,
    synced,
)
from assistantd.store.blobs import BlobStore, file_key
from assistantd.store.db import Database
from assistantd.store.sql import Conn, Query

__all__ = ["export_archive"]

_BATCH = 1000


@cache
def _batch_query(table: Table, scoped: bool, after: bool) -> Query:
    """A keyset batch of `table` in primary-key order, in one project if `scoped`."""
    key = list(table.primary_key.columns)
    query = select(*table.c)
    if scoped:
        if "project" in table.c:
            query = query.where(table.c.project == bindparam("project"))
        else:  # a child of a table that has one (upload parts of an upload)
            (fk,) = table.foreign_keys
            parent = fk.column.table
            owned = select(fk.column).where(parent.c.project == bindparam("project"))
            query = query.where(fk.parent.in_(owned))
    if after:
        query = query.where(tuple_(*key) > tuple_(*(bindparam(f"k{i}") for i in range(len(key)))))
    return Query(query.order_by(*key).limit(bindparam("limit")))


def _rows(conn: Conn, table: Table, project: str | None) -> Any:
    names = [str(c.name) for c in table.c]  # plain str: orjson keys
    width = len(table.primary_key.columns)
    at = [names.index(c.name) for c in table.primary_key.columns]
    last: tuple[Any, ...] | None = None
    while True:
        values: dict[str, Any] = {"limit": _BATCH}
        if project is not None:
            values["project"] = project
        if last is not None:
            values.update({f"k{i}": last[i] for i in range(width)})
        batch = conn.all(_batch_query(table, project is not None, last is not None), values)
        for row in batch:
            yield dict(zip(names, row, strict=True))
        if len(batch) < _BATCH:
            return
        last = tuple(batch[-1][i] for i in at)


def _chunk_query(dialect: str, scoped: bool) -> Query:
    # PostgreSQL: as float4[], which asyncpg decodes in binary (exact, and no parsing
    # of text in Python).
    embedding = "embedding" if dialect == "sqlite" else "CAST(embedding AS real[])"
    where = "WHERE id > :after"
    if scoped:
        where += " AND vector_store_id IN (SELECT id FROM vector_stores WHERE project = :project)"
    return Query(
        text(
            f"SELECT id, vector_store_id, file_id, seq, text, {embedding} FROM vs_chunks"
            f" {where} ORDER BY id LIMIT :limit"
        )
    )


def _vector_bytes(value: Any) -> bytes:
    """A stored embedding as little-endian float32 bytes (SQLite's own form)."""
    if isinstance(value, bytes | bytearray | memoryview):
        return bytes(value)
    return np.asarray(value, dtype="<f4").tobytes()  # PostgreSQL's float4[]


def _write_jsonl(path: Path, rows: Any, progress: Progress, what: str) -> FileEntry:
    digest = hashlib.sha256()
    count = 0
    lines: list[bytes] = []
    with open(path, "wb") as out:

        def flush() -> None:
            # A batch at a time: a write and a hash update per line cost more than
            # serialising the line.
            block = b"".join(lines)
            out.write(block)
            digest.update(block)
            lines.clear()
            progress.step(what, count)

        for row in rows:
            lines.append(orjson.dumps(row, option=orjson.OPT_APPEND_NEWLINE))
            count += 1
            if len(lines) == _BATCH:
                flush()
        flush()
    return {"rows": count, "sha256": digest.hexdigest()}


def _noting_ids(rows: Any, ids: list[str]) -> Any:
    for row in rows:
        ids.append(row["id"])
        yield row


def _dump(
    conn: Conn,
    out: Path,
    project: str | None,
    progress: Progress,
    files_known: Callable[[list[str]], None],
) -> tuple[dict[str, FileEntry], FileEntry]:
    """Every table and the chunks; `files_known` is told the Files' ids as soon as they
    are read (first), so their bytes are copied while the rest is written."""
    (out / "tables").mkdir(parents=True)
    tables: dict[str, FileEntry] = {}
    for table in sorted(archived_tables(), key=lambda t: t.name != "files"):
        rows = _rows(conn, table, project)
        file_ids: list[str] = []
        if table.name == "files":
            rows = _noting_ids(rows, file_ids)
        path = out / "tables" / f"{table.name}.jsonl"
        tables[str(table.name)] = _write_jsonl(path, rows, progress, str(table.name))
        if table.name == "files":
            files_known(file_ids)

    query = _chunk_query(conn.dialect, project is not None)

    def chunks() -> Any:
        after = 0
        while True:
            values: dict[str, Any] = {"after": after, "limit": _BATCH}
            if project is not None:
                values["project"] = project
            batch = conn.all(query, values)
            for _chunk_id, store, file_id, seq, body, embedding in batch:
                vector = base64.b64encode(_vector_bytes(embedding)).decode()
                yield {
                    "vector_store_id": store,
                    "file_id": file_id,
                    "seq": seq,
                    "text": body,
                    "embedding": vector,
                }
            if len(batch) < _BATCH:
                return
            after = batch[-1][0]

    chunk_entry = _write_jsonl(out / "chunks.jsonl", chunks(), progress, "chunks")
    return tables, chunk_entry


def _copy_blob(blobs: BlobStore, file_id: str, out: Path) -> BlobEntry | None:
    """One File's bytes into the archive; None if it was deleted after the snapshot."""
    target = out / "blobs" / file_id
    try:
        size, digest = copy_hashed(blobs.path(file_key(file_id)), target)
    except FileNotFoundError:
        target.unlink(missing_ok=True)
        return None
    return {"bytes": size, "sha256": digest}


async def _copied(
    copies: dict[str, Future[BlobEntry | None]], progress: Progress
) -> tuple[dict[str, BlobEntry], list[str]]:
    """The Files' copies as they finish: what was kept, and what was deleted meanwhile."""
    kept: dict[str, BlobEntry] = {}
    gone: list[str] = []
    for n, (file_id, copy) in enumerate(copies.items(), 1):
        entry = await asyncio.wrap_future(copy)
        if entry is None:
            gone.append(file_id)  # deleted after the snapshot was taken
        else:
            kept[file_id] = entry
        progress.step("files", n)
    return kept, gone


async def export_archive(
    db: Database,
    blobs: BlobStore,
    target: Path,
    *,
    project: str | None = None,
    embedding: str,
    progress: Progress | None = None,
) -> Manifest:
    """Write the archive to `target`: a new directory, or a `.tar.gz`/`.tar.zst` file."""
    shown = progress or Progress("exporting")
    if target.exists():
        raise FileExistsError(f"{target} already exists")
    packed = target.name.endswith((".tar.gz", ".tgz", ".tar.zst"))
    with tempfile.TemporaryDirectory(dir=target.parent, prefix=".export-") as scratch:
        out = Path(scratch) / "archive" if packed else target.with_name(target.name + ".partial")
        out.mkdir()
        try:
            # Two copies at a time (hashing and the kernel's copy leave the GIL), started
            # as soon as the snapshot has read the Files, while it writes the rest.
            with ThreadPoolExecutor(2, thread_name_prefix="export-file") as pool:
                copies: dict[str, Future[BlobEntry | None]] = {}

                def files_known(file_ids: list[str]) -> None:
                    (out / "blobs").mkdir()
                    copies.update({f: pool.submit(_copy_blob, blobs, f, out) for f in file_ids})

                tables, chunks = await db.snapshot(
                    lambda conn: _dump(conn, out, project, shown, files_known)
                )
                kept, gone = await _copied(copies, shown)
            manifest: Manifest = {
                "format": FORMAT,
                "format_version": FORMAT_VERSION,
                "source_version": __version__,
                "created_at": clock.now(),
                "backend": db.dialect,
                "project": project,
                "embedding": embedding,
                "tables": tables,
                "chunks": chunks,
                "blobs": kept,
                "gone": gone,
            }
            (out / "manifest.json").write_bytes(orjson.dumps(manifest, option=orjson.OPT_INDENT_2))
            if packed:
                pack(out, target)
            else:
                synced([*out.rglob("*"), out])
                out.rename(target)
                synced([target.parent])
        except BaseException:
            if not packed:
                shutil.rmtree(out, ignore_errors=True)
            raise
        finally:
            shown.close()
    return manifest
