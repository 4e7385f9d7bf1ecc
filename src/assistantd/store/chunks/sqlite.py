"""SQLite: FTS5 for keywords, an exact scan of the store's vectors for similarity.

Why an exact scan: the stdlib `sqlite3` of many Python builds (this one included) cannot
load extensions, so `sqlite-vec` is out, and an ANN library beside the database
(hnswlib, usearch) would be a second source of truth to keep in step with SQLite's
transactions across processes. A scan has recall 1.0 and no state of its own: the
store's vectors are read once into one float32 matrix, cached per process under the
store's `generation` (bumped by every change to its chunks, so a stale cache is never
used), and a query is one matrix-vector product. bench/RESULTS.md measures where it
stops being enough (100,000 chunks: one product over 150 MB).
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Sequence
from typing import Any

import numpy as np
import numpy.typing as npt
import orjson
from sqlalchemy import text

from assistantd.store.chunks import ChunkRemoval, Hit, NewChunk, StoredChunk, Vector
from assistantd.store.sql import Conn, Query

__all__ = ["SqliteChunkIndex"]

_INSERT = Query(
    text(
        "INSERT INTO vs_chunks (vector_store_id, file_id, seq, text, embedding)"
        " VALUES (:store, :file, :seq, :text, :embedding)"
    )
)
# The writer holds SQLite's one write lock: the rows after the last id are this add's.
_LAST_ID = Query(text("SELECT COALESCE(MAX(id), 0) FROM vs_chunks"))
_INDEX_SINCE = Query(
    text("INSERT INTO vs_chunks_fts(rowid, text) SELECT id, text FROM vs_chunks WHERE id > :last")
)
_BULK_ON = Query(text("INSERT INTO vs_chunks_bulk (active) VALUES (1)"))
_BULK_OFF = Query(text("DELETE FROM vs_chunks_bulk"))
_VECTORS = Query(
    text("SELECT id, file_id, embedding FROM vs_chunks WHERE vector_store_id = :store ORDER BY id")
)
_KEYWORD = (
    "SELECT c.id, -bm25(vs_chunks_fts) AS rank FROM vs_chunks_fts"
    " JOIN vs_chunks c ON c.id = vs_chunks_fts.rowid"
    " WHERE vs_chunks_fts MATCH :match AND c.vector_store_id = :store"
)
_KEYWORD_ALL = Query(text(_KEYWORD + " ORDER BY rank DESC LIMIT :limit"))
_KEYWORD_FILES = Query(
    text(
        _KEYWORD + " AND c.file_id IN (SELECT value FROM json_each(:files))"
        " ORDER BY rank DESC LIMIT :limit"
    )
)


class _Matrix:
    __slots__ = ("file_ids", "ids", "vectors")

    def __init__(self, ids: npt.NDArray[np.int64], file_ids: list[str], vectors: Vector) -> None:
        self.ids = ids
        self.file_ids = np.array(file_ids, dtype=object)
        self.vectors = vectors

    @property
    def nbytes(self) -> int:
        return int(self.vectors.nbytes + self.ids.nbytes + 80 * len(self.file_ids))


class SqliteChunkIndex(ChunkRemoval):
    def __init__(self, dimensions: int, cache_bytes: int) -> None:
        self.dimensions = dimensions
        self.cache_bytes = cache_bytes
        self._cache: OrderedDict[tuple[str, int], _Matrix] = OrderedDict()
        self._lock = threading.Lock()

    def add(self, conn: Conn, store_id: str, file_id: str, chunks: Sequence[NewChunk]) -> None:
        rows = [
            {
                "store": store_id,
                "file": file_id,
                "seq": c.seq,
                "text": c.text,
                "embedding": np.ascontiguousarray(c.embedding, dtype=np.float32).tobytes(),
            }
            for c in chunks
        ]
        # Indexed for full text in one statement rather than by the insert trigger once
        # a chunk (half the cost); migration 0008 says how the trigger is held off.
        conn.execute(_BULK_ON, {})
        (last,) = conn.first(_LAST_ID, {}) or (0,)
        conn.executemany(_INSERT, rows)
        conn.execute(_INDEX_SINCE, {"last": last})
        conn.execute(_BULK_OFF, {})

    def pause_upkeep(self, conn: Conn) -> bool:
        return False  # add() already indexes a whole batch in one statement

    def resume_upkeep(self, conn: Conn) -> None:
        return None

    def keyword(
        self, conn: Conn, store_id: str, terms: list[str], files: list[str] | None, limit: int
    ) -> list[Hit]:
        if not terms:
            return []
        # Each term quoted (FTS5 syntax cannot leak in), any of them may match.
        match = " OR ".join('"' + t.replace('"', '""') + '"' for t in terms)
        params: dict[str, Any] = {"match": match, "store": store_id, "limit": limit}
        query = _KEYWORD_ALL
        if files is not None:
            query = _KEYWORD_FILES
            params["files"] = orjson.dumps(files).decode()
        return [Hit(int(r[0]), float(r[1])) for r in conn.all(query, params)]

    def _matrix(self, conn: Conn, store_id: str, generation: int) -> _Matrix:
        key = (store_id, generation)
        with self._lock:
            found = self._cache.get(key)
            if found is not None:
                self._cache.move_to_end(key)
                return found
        rows = conn.all(_VECTORS, {"store": store_id})
        ids = np.fromiter((r[0] for r in rows), dtype=np.int64, count=len(rows))
        blob = b"".join(r[2] for r in rows)
        vectors = np.frombuffer(blob, dtype=np.float32).reshape(len(rows), self.dimensions)
        matrix = _Matrix(ids, [r[1] for r in rows], vectors)
        with self._lock:
            for old in [k for k in self._cache if k[0] == store_id]:
                del self._cache[old]
            self._cache[key] = matrix
            total = sum(m.nbytes for m in self._cache.values())
            while total > self.cache_bytes and len(self._cache) > 1:
                _, evicted = self._cache.popitem(last=False)
                total -= evicted.nbytes
        return matrix

    def nearest(
        self,
        conn: Conn,
        store_id: str,
        generation: int,
        query: Vector,
        files: list[str] | None,
        limit: int,
    ) -> list[Hit]:
        matrix = self._matrix(conn, store_id, generation)
        if not len(matrix.ids):
            return []
        scores = matrix.vectors @ query.astype(np.float32)
        if files is not None:
            allowed = np.isin(matrix.file_ids, np.array(files, dtype=object))
            scores = np.where(allowed, scores, -np.inf)
        limit = min(limit, len(scores))
        top = np.argpartition(-scores, limit - 1)[:limit]
        top = top[np.argsort(-scores[top])]
        return [Hit(int(matrix.ids[i]), float(scores[i])) for i in top if scores[i] > -np.inf]

    def fetch(self, conn: Conn, chunk_ids: Sequence[int], query: Vector) -> list[StoredChunk]:
        if not chunk_ids:
            return []
        marks = ",".join(str(int(i)) for i in chunk_ids)  # ints only: safe to inline
        rows = conn.all(
            Query(
                text(f"SELECT id, file_id, text, embedding FROM vs_chunks WHERE id IN ({marks})")
            ),
            {},
        )
        q = query.astype(np.float32)
        return [
            StoredChunk(int(r[0]), r[1], r[2], float(np.frombuffer(r[3], dtype=np.float32) @ q))
            for r in rows
        ]
