"""`assistantd import`: an archive (format.py) into a database of either backend.

Nothing is written until the whole archive has been checked: its manifest (format and
version), the sha256 of every file in it, and that no id in it belongs to another
project here. Then Files' bytes, then rows table by table (parents first), then
chunks, each in small transactions whose rows are written only if they are not there
yet: an import stopped anywhere (even by kill -9) finishes the job when run again, and
never duplicates anything. At the end every row, chunk and File of the archive is
looked for here, and the counts must match the manifest's.

What arrives in which state (docs/data.md):
- queued runs wait for any worker here; runs that were in progress are failed by the
  reaper, as a run whose worker died is; runs waiting for tool outputs still wait;
- files a vector store was still ingesting are ingested here;
- chunks embedded by another model than this server's are not loaded: their files are
  ingested again here, so a store never mixes two models' vectors.
"""

from __future__ import annotations

import asyncio
import base64
import tempfile
from collections.abc import Iterator
from contextlib import ExitStack
from dataclasses import dataclass, field
from functools import cache, partial
from pathlib import Path
from typing import Any

import numpy as np
import orjson
from sqlalchemy import Table, and_, bindparam, select, text
from sqlalchemy.dialects import postgresql, sqlite

from assistantd.store.archive.format import (
    FORMAT,
    FORMAT_VERSION,
    Manifest,
    Progress,
    archived_tables,
    sha256_of,
    unpacked,
)
from assistantd.store.blobs import BlobStore, file_key
from assistantd.store.chunks import ChunkIndex, NewChunk
from assistantd.store.db import Database
from assistantd.store.sql import Conn, Query

__all__ = ["ArchiveError", "ImportReport", "import_archive"]

_BATCH = 2000
JSON = dict[str, Any]


class ArchiveError(Exception):
    """The archive cannot be imported (damaged, foreign, too new, clashing); nothing of
    it was written."""


@dataclass
class ImportReport:
    rows: dict[str, int] = field(default_factory=dict)  # archive rows now here, by table
    chunks: int = 0
    blobs: int = 0
    reembedded: bool = False


def _manifest(root: Path) -> Manifest:
    try:
        manifest: Manifest = orjson.loads((root / "manifest.json").read_bytes())
    except (OSError, orjson.JSONDecodeError) as exc:
        raise ArchiveError(f"no readable manifest.json in the archive ({exc})") from None
    if not isinstance(manifest, dict) or manifest.get("format") != FORMAT:
        raise ArchiveError("not an assistantd archive (its manifest names another format)")
    version = manifest.get("format_version")
    if not isinstance(version, int) or version > FORMAT_VERSION:
        raise ArchiveError(
            f"archive format version {version} is newer than this assistantd reads "
            f"({FORMAT_VERSION}): import it with the version that wrote it "
            f"({manifest.get('source_version')}) or newer"
        )
    return manifest


def _verify_files(root: Path, manifest: Manifest) -> None:
    """Every file the manifest names is there with its checksum; no table is unknown."""
    known = {t.name for t in archived_tables()}
    expected = {f"tables/{name}.jsonl": e["sha256"] for name, e in manifest["tables"].items()}
    expected["chunks.jsonl"] = manifest["chunks"]["sha256"]
    expected |= {f"blobs/{fid}": e["sha256"] for fid, e in manifest["blobs"].items()}
    unknown = set(manifest["tables"]) - known
    if unknown:
        raise ArchiveError(f"the archive has tables this assistantd does not: {sorted(unknown)}")
    for name, digest in expected.items():
        path = root / name
        if not path.is_file():
            raise ArchiveError(f"the archive is incomplete: {name} is missing")
        if sha256_of(path) != digest:
            raise ArchiveError(f"the archive is damaged: {name} does not match its checksum")


def _lines(path: Path) -> Iterator[JSON]:
    with open(path, "rb") as f:
        for line in f:
            yield orjson.loads(line)


def _batches(path: Path) -> Iterator[list[JSON]]:
    batch: list[JSON] = []
    for row in _lines(path):
        batch.append(row)
        if len(batch) == _BATCH:
            yield batch
            batch = []
    if batch:
        yield batch


@cache
def _owner(table: Table) -> Query:
    key = list(table.primary_key.columns)
    column = table.c.project if "project" in table.c else key[0]
    return Query(select(column).where(and_(*(c == bindparam(c.name) for c in key))))


@cache
def _insert(table: Table, dialect: str) -> Query:
    """INSERT that leaves a row already there alone (the import's idempotence)."""
    made = (postgresql if dialect == "postgresql" else sqlite).insert(table)
    return Query(made.on_conflict_do_nothing())


def _clashes(conn: Conn, *, table: Table, rows: list[JSON]) -> list[str]:
    """Rows whose key is taken here by another project's row."""
    if "project" not in table.c:
        return []
    query = _owner(table)
    names = [c.name for c in table.primary_key.columns]
    out = []
    for row in rows:
        found = conn.first(query, {n: row[n] for n in names})
        if found is not None and found[0] != row["project"]:
            out.append("/".join(str(row[n]) for n in names))
    return out


def _write_rows(conn: Conn, *, query: Query, rows: list[JSON]) -> None:
    conn.executemany(query, rows)


def _present(conn: Conn, *, table: Table, rows: list[JSON]) -> int:
    query = _owner(table)
    names = [c.name for c in table.primary_key.columns]
    return sum(conn.first(query, {n: row[n] for n in names}) is not None for row in rows)


def _arriving(table: str, row: JSON, reembed: bool) -> JSON:
    """A row as it arrives here (module docstring: what arrives in which state)."""
    if table == "runs" and row["status"] in ("queued", "in_progress", "cancelling"):
        queued = row["status"] == "queued"
        return {**row, "worker": None if queued else "imported", "heartbeat_at": 0}
    if table == "vector_store_files":
        if reembed and row["status"] == "completed":
            doc = {**orjson.loads(row["doc"]), "status": "in_progress"}
            row = {**row, "status": "in_progress", "doc": orjson.dumps(doc).decode()}
        if row["status"] == "in_progress":
            return {**row, "worker": None, "heartbeat_at": None}
    if table == "vector_stores" and reembed:
        doc = orjson.loads(row["doc"])
        counts = doc.get("file_counts") or {}
        if counts.get("completed"):
            counts["in_progress"] = counts.get("in_progress", 0) + counts["completed"]
            counts["completed"] = 0
            doc["status"] = "in_progress"
            return {**row, "doc": orjson.dumps(doc).decode()}
    return row


_CHUNKS_OF = Query(
    text("SELECT COUNT(*) FROM vs_chunks WHERE vector_store_id = :store AND file_id = :file")
)


def _file_chunks(path: Path) -> Iterator[tuple[str, str, list[JSON]]]:
    """Chunks grouped by (store, file): the export writes each file's together."""
    group: list[JSON] = []
    for chunk in _lines(path):
        if group and (chunk["vector_store_id"], chunk["file_id"]) != (
            group[0]["vector_store_id"],
            group[0]["file_id"],
        ):
            yield group[0]["vector_store_id"], group[0]["file_id"], group
            group = []
        group.append(chunk)
    if group:
        yield group[0]["vector_store_id"], group[0]["file_id"], group


def _add_chunks(
    conn: Conn, *, index: ChunkIndex, store: str, file_id: str, group: list[JSON]
) -> int:
    """One file's chunks, all or none, unless it has some here already."""
    found = conn.first(_CHUNKS_OF, {"store": store, "file": file_id})
    if found is not None and int(found[0]) > 0:
        return 0
    chunks = [
        NewChunk(
            seq=int(c["seq"]),
            text=c["text"],
            embedding=np.frombuffer(base64.b64decode(c["embedding"]), dtype="<f4"),
        )
        for c in group
    ]
    index.add(conn, store, file_id, chunks)
    return len(chunks)


def _keep_blob(blobs: BlobStore, source: Path, file_id: str) -> bool:
    key = file_key(file_id)
    if blobs.path(key).exists():
        return False
    temp = blobs.temp()
    with open(source, "rb") as f:
        while chunk := f.read(1024 * 1024):
            temp.write(chunk)
    blobs.keep(temp, key)
    return True


async def _load(
    db: Database,
    blobs: BlobStore,
    root: Path,
    manifest: Manifest,
    index: ChunkIndex,
    embedding: str,
    shown: Progress,
) -> ImportReport:
    tables = [t for t in archived_tables() if t.name in manifest["tables"]]
    for table in tables:  # checked before anything is written
        for batch in _batches(root / "tables" / f"{table.name}.jsonl"):
            clashes = await db.read(partial(_clashes, table=table, rows=batch))
            if clashes:
                raise ArchiveError(
                    f"ids of the archive belong to another project here ({table.name}: "
                    f"{', '.join(clashes[:3])}); nothing was imported"
                )
    report = ImportReport(reembedded=manifest["embedding"] != embedding)
    for n, file_id in enumerate(manifest["blobs"], 1):
        source = root / "blobs" / file_id
        report.blobs += await asyncio.to_thread(_keep_blob, blobs, source, file_id)
        shown.step("files", n)
    for table in tables:
        insert = _insert(table, db.dialect)
        done = 0
        for batch in _batches(root / "tables" / f"{table.name}.jsonl"):
            rows = [_arriving(table.name, row, report.reembedded) for row in batch]
            await db.write(partial(_write_rows, query=insert, rows=rows))
            done += len(rows)
            shown.step(table.name, done)
    if not report.reembedded:
        for store, file_id, group in _file_chunks(root / "chunks.jsonl"):
            report.chunks += await db.write(
                partial(_add_chunks, index=index, store=store, file_id=file_id, group=group)
            )
            shown.step("chunks", report.chunks)
    await _check_arrived(db, blobs, root, manifest, tables, report)
    return report


async def _check_arrived(
    db: Database,
    blobs: BlobStore,
    root: Path,
    manifest: Manifest,
    tables: list[Table],
    report: ImportReport,
) -> None:
    """Every row and File of the archive is here, as many as the manifest counts."""
    for table in tables:
        found = 0
        for batch in _batches(root / "tables" / f"{table.name}.jsonl"):
            found += await db.read(partial(_present, table=table, rows=batch))
        report.rows[table.name] = found
        if found != manifest["tables"][table.name]["rows"]:
            raise ArchiveError(
                f"after the import {found} of the archive's "
                f"{manifest['tables'][table.name]['rows']} {table.name} rows are here"
            )
    for file_id, entry in manifest["blobs"].items():
        path = blobs.path(file_key(file_id))
        if not path.exists() or await asyncio.to_thread(sha256_of, path) != entry["sha256"]:
            raise ArchiveError(f"after the import the bytes of {file_id} do not match")


async def import_archive(
    db: Database,
    blobs: BlobStore,
    source: Path,
    *,
    index: ChunkIndex,
    embedding: str,
    progress: Progress | None = None,
) -> ImportReport:
    """Import the archive at `source` (a directory, `.tar.gz` or `.tar.zst`)."""
    shown = progress or Progress("importing")
    if not source.exists():
        raise ArchiveError(f"{source} does not exist")
    with tempfile.TemporaryDirectory(prefix="assistantd-import-") as scratch, ExitStack() as stack:
        try:
            root = stack.enter_context(unpacked(source, Path(scratch)))
            manifest = _manifest(root)
            await asyncio.to_thread(_verify_files, root, manifest)
        except ArchiveError:
            raise
        except Exception as exc:  # a truncated or damaged tarball, a malformed manifest
            raise ArchiveError(f"the archive cannot be read: {exc!r}") from None
        try:
            return await _load(db, blobs, root, manifest, index, embedding, shown)
        finally:
            shown.close()
