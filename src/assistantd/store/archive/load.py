"""`assistantd import`: an archive (format.py) into a database of either backend.

Nothing is written until the whole archive has been checked: its manifest (format and
version), the sha256 of every file in it, and that no id in it belongs to another
project here. Files' bytes are checked as they are copied into temps here, and kept
only once all match. Then rows table by table (parents first), then chunks, each in
small transactions whose rows are written only if they are not there yet: an import
stopped anywhere (even by kill -9) finishes the job when run again, and never
duplicates anything. At the end every row, chunk and File of the archive is
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
import contextlib
import tempfile
from collections.abc import Awaitable, Iterator
from concurrent.futures import ThreadPoolExecutor, as_completed
from contextlib import ExitStack
from dataclasses import dataclass, field
from functools import cache, partial
from pathlib import Path
from typing import Any, NoReturn

import numpy as np
import orjson
from sqlalchemy import Table, and_, bindparam, select, text
from sqlalchemy.dialects import postgresql, sqlite

from assistantd.store.archive.format import (
    FORMAT,
    FORMAT_VERSION,
    BlobEntry,
    Manifest,
    Progress,
    archived_tables,
    copy_hashed,
    sha256_of,
    synced,
    unpacked,
)
from assistantd.store.blobs import BlobStore, TempBlob, file_key
from assistantd.store.chunks import ChunkIndex, NewChunk
from assistantd.store.db import Database
from assistantd.store.sql import Conn, Query

__all__ = ["ArchiveError", "ImportReport", "import_archive"]

_BATCH = 2000
_IN = 250  # keys looked up by one query
_CHUNKS_PER_WRITE = 5000
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
    """Every file the manifest names is there, its rows with their checksum; no table is
    unknown."""
    known = {t.name for t in archived_tables()}
    expected = {f"tables/{name}.jsonl": e["sha256"] for name, e in manifest["tables"].items()}
    expected["chunks.jsonl"] = manifest["chunks"]["sha256"]
    unknown = set(manifest["tables"]) - known
    if unknown:
        raise ArchiveError(f"the archive has tables this assistantd does not: {sorted(unknown)}")
    for name in [*expected, *(f"blobs/{fid}" for fid in manifest["blobs"])]:
        if not (root / name).is_file():
            raise ArchiveError(f"the archive is incomplete: {name} is missing")
    for name, digest in expected.items():  # Files' bytes: as they are copied (_stage)
        if sha256_of(root / name) != digest:
            _damaged(name)


def _damaged(name: str) -> NoReturn:
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
def _keyed(table: Table) -> Query:
    """The key and owner of up to _IN rows of `table` whose keys differ only in the last
    column (an IN list on that column, equality on the others: an index search on
    either backend, where a list of row values makes SQLite scan the table)."""
    *lead, last = table.primary_key.columns
    owner = table.c.project if "project" in table.c else last
    where = [c == bindparam(c.name) for c in lead]
    where.append(last.in_([bindparam(f"k{i}") for i in range(_IN)]))
    return Query(select(*lead, last, owner).where(and_(*where)))


def _owners(conn: Conn, *, table: Table, rows: list[JSON]) -> dict[tuple[Any, ...], Any]:
    """Of `rows`, those whose key is taken here: key -> the project that has it."""
    *lead, last = (str(c.name) for c in table.primary_key.columns)
    groups: dict[tuple[Any, ...], list[Any]] = {}
    for row in rows:
        groups.setdefault(tuple(row[n] for n in lead), []).append(row[last])
    query = _keyed(table)
    found: dict[tuple[Any, ...], Any] = {}
    for values, keys in groups.items():
        for start in range(0, len(keys), _IN):
            part = keys[start : start + _IN]
            params = dict(zip(lead, values, strict=True))
            params |= {f"k{i}": part[i] if i < len(part) else None for i in range(_IN)}
            for *key, owner in conn.all(query, params):
                found[tuple(key)] = owner
    return found


@cache
def _insert(table: Table, dialect: str) -> Query:
    """INSERT that leaves a row already there alone (the import's idempotence)."""
    made = (postgresql if dialect == "postgresql" else sqlite).insert(table)
    return Query(made.on_conflict_do_nothing())


@cache
def _any_row(table: Table) -> Query:
    return Query(select(*table.primary_key.columns).limit(1))


def _has_rows(conn: Conn, *, table: Table) -> bool:
    return conn.first(_any_row(table), {}) is not None


def _key(table: Table, row: JSON) -> tuple[Any, ...]:
    return tuple(row[c.name] for c in table.primary_key.columns)


def _clashes(conn: Conn, *, table: Table, rows: list[JSON]) -> list[str]:
    """Rows whose key is taken here by another project's row."""
    if "project" not in table.c:
        return []
    owners = _owners(conn, table=table, rows=rows)
    return [
        "/".join(str(k) for k in key)
        for row in rows
        if (key := _key(table, row)) in owners and owners[key] != row["project"]
    ]


def _write_rows(conn: Conn, *, query: Query, rows: list[JSON]) -> int:
    conn.executemany(query, rows)
    return len(rows)


class _OneAhead:
    """Writes one at a time, the next batch read while the last one is written: reading
    (JSON, base64) holds the GIL, the database's own work mostly does not."""

    def __init__(self) -> None:
        self._pending: asyncio.Future[int] | None = None

    async def submit(self, write: Awaitable[int]) -> int:
        """Wait for the write before, then start this one; what the one before wrote."""
        done = await self.drain()
        self._pending = asyncio.ensure_future(write)
        return done

    async def drain(self) -> int:
        pending, self._pending = self._pending, None
        return await pending if pending is not None else 0


def _present(conn: Conn, *, table: Table, rows: list[JSON]) -> int:
    owners = _owners(conn, table=table, rows=rows)
    return sum(_key(table, row) in owners for row in rows)


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


def _chunk_writes(path: Path) -> Iterator[list[tuple[str, str, list[JSON]]]]:
    """Files' chunks gathered into writes of about _CHUNKS_PER_WRITE (a commit per file
    cost more than the rows), each file whole."""
    write: list[tuple[str, str, list[JSON]]] = []
    size = 0
    for group in _file_chunks(path):
        write.append(group)
        size += len(group[2])
        if size >= _CHUNKS_PER_WRITE:
            yield write
            write, size = [], 0
    if write:
        yield write


_FileChunks = tuple[str, str, list[NewChunk]]


def _decoded(files: list[tuple[str, str, list[JSON]]]) -> list[_FileChunks]:
    return [
        (store, file_id, [
            NewChunk(
                seq=int(c["seq"]),
                text=c["text"],
                embedding=np.frombuffer(base64.b64decode(c["embedding"]), dtype="<f4"),
            )
            for c in group
        ])
        for store, file_id, group in files
    ]  # fmt: skip


def _add_chunks(conn: Conn, *, index: ChunkIndex, files: list[_FileChunks]) -> int:
    """Files' chunks in one transaction: a file's all or none, none if it has some here."""
    added = 0
    for store, file_id, chunks in files:
        found = conn.first(_CHUNKS_OF, {"store": store, "file": file_id})
        if found is not None and int(found[0]) > 0:
            continue
        index.add(conn, store, file_id, chunks)
        added += len(chunks)
    return added


def _stage_one(blobs: BlobStore, root: Path, file_id: str, entry: BlobEntry) -> TempBlob | None:
    """A File's bytes copied from the archive into a temp here and checked against the
    manifest; None where they are here already (an import run again: kept only by an
    atomic rename after their check), once the archive's copy is checked too."""
    source = root / "blobs" / file_id
    here = blobs.path(file_key(file_id))
    if here.is_file() and here.stat().st_size == entry["bytes"]:
        if sha256_of(source) != entry["sha256"]:
            _damaged(f"blobs/{file_id}")
        return None
    temp = blobs.temp()
    try:
        # Not synced one by one: all are synced once the rows are in, while
        # the kernel writes them back meanwhile.
        temp.close()
        size, digest = copy_hashed(source, temp.path)
        if digest != entry["sha256"] or size != entry["bytes"]:
            _damaged(f"blobs/{file_id}")
    except BaseException:
        temp.discard()
        raise
    return temp


def _stage(blobs: BlobStore, root: Path, manifest: Manifest) -> dict[str, TempBlob]:
    """Every File's bytes staged (_stage_one), two at a time (hashing releases the GIL);
    all discarded if any does not match."""
    staged: dict[str, TempBlob] = {}
    failure: BaseException | None = None
    with ThreadPoolExecutor(2, thread_name_prefix="import-files") as pool:
        futures = {
            pool.submit(_stage_one, blobs, root, fid, entry): fid
            for fid, entry in manifest["blobs"].items()
        }
        for future in as_completed(futures):
            try:
                if (temp := future.result()) is not None:
                    staged[futures[future]] = temp
            except BaseException as exc:
                failure = failure or exc
    if failure is not None:
        for temp in staged.values():
            temp.discard()
        raise failure
    return staged


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
        if not await db.read(partial(_has_rows, table=table)):
            continue  # nothing here to clash with (a fresh database)
        for batch in _batches(root / "tables" / f"{table.name}.jsonl"):
            clashes = await db.read(partial(_clashes, table=table, rows=batch))
            if clashes:
                raise ArchiveError(
                    f"ids of the archive belong to another project here ({table.name}: "
                    f"{', '.join(clashes[:3])}); nothing was imported"
                )
    report = ImportReport(reembedded=manifest["embedding"] != embedding)
    shown.step("files", 0)
    staged = await asyncio.to_thread(_stage, blobs, root, manifest)
    for file_id, temp in staged.items():
        blobs.keep(temp, file_key(file_id))
    report.blobs = len(staged)
    writes = _OneAhead()
    try:
        for table in tables:
            insert = _insert(table, db.dialect)
            done = 0
            for batch in _batches(root / "tables" / f"{table.name}.jsonl"):
                rows = [_arriving(table.name, row, report.reembedded) for row in batch]
                done += await writes.submit(db.write(partial(_write_rows, query=insert, rows=rows)))
                shown.step(table.name, done)
            await writes.drain()
        if not report.reembedded:
            await db.write(index.pause_upkeep)
            for files in _chunk_writes(root / "chunks.jsonl"):
                adding = db.write(partial(_add_chunks, index=index, files=_decoded(files)))
                report.chunks += await writes.submit(adding)
                shown.step("chunks", report.chunks)
            report.chunks += await writes.drain()
        await db.write(index.resume_upkeep)  # also after an import cut short, run again
    except BaseException:
        with contextlib.suppress(BaseException):  # never a write left running behind it
            await writes.drain()
        raise
    kept = [blobs.path(file_key(fid)) for fid in staged]
    await asyncio.to_thread(synced, [*kept, *{path.parent for path in kept}])
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
    for file_id, entry in manifest["blobs"].items():  # their bytes were checked as kept
        path = blobs.path(file_key(file_id))
        if not path.is_file() or path.stat().st_size != entry["bytes"]:
            raise ArchiveError(f"after the import the bytes of {file_id} are not here")


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
