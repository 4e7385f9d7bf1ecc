"""PostgreSQL: a GIN index on a generated tsvector for keywords, pgvector HNSW for similarity.

The embedding column is an untyped `vector` with its length in `dims`, so that an
embedder of any size can be configured; the HNSW index is a partial expression index
per length (`embedding::vector(N) WHERE dims = N`), created the first time chunks of
that length are written. The index covers every store: a query for one store (and
perhaps some of its files) uses pgvector 0.8's iterative scan, which keeps walking the
graph until enough rows pass the filter, instead of filtering a truncated top-k.
Vectors cross the wire as text (`'[0.1,...]'`) and are cast on the server, because
asyncpg has no codec for the `vector` type.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
from sqlalchemy import text

from assistantd.store.chunks import ChunkRemoval, Hit, NewChunk, StoredChunk, Vector
from assistantd.store.sql import Conn, Query

__all__ = ["PgChunkIndex"]


def _literal(vector: Vector) -> str:
    return "[" + ",".join(f"{x:.7g}" for x in vector.tolist()) + "]"


# The vector travels as a float4[] (asyncpg encodes it in binary): every float32 bit
# kept, where a text literal of 7 digits was not (an archive's round trip through
# PostgreSQL changed embeddings), and no Python formatting of 384 floats per chunk.
_INSERT = Query(
    text(
        "INSERT INTO vs_chunks (vector_store_id, file_id, seq, text, dims, embedding)"
        " VALUES (:store, :file, :seq, :text, :dims, CAST(CAST(:embedding AS real[]) AS vector))"
    )
)
_KEYWORD = (
    "SELECT id, ts_rank(tsv, q) AS rank FROM vs_chunks,"
    " to_tsquery('english', CAST(:match AS text)) q"
    " WHERE vector_store_id = :store AND tsv @@ q {files}"
    " ORDER BY rank DESC LIMIT :limit"
)
_KEYWORD_ALL = Query(text(_KEYWORD.format(files="")))
_KEYWORD_FILES = Query(text(_KEYWORD.format(files="AND file_id = ANY(CAST(:files AS text[]))")))
# Which plan, decided here rather than by the planner, whose costs for pgvector were
# wrong both ways (measured, bench/RESULTS.md):
# - a store of up to EXACT_MAX chunks is scanned exactly through its own rows (recall
#   1.0; 0.6 ms at 1,000 chunks); the generic plan of a prepared statement walked the
#   global HNSW index instead, for 20 ms, so plans are made per query;
# - a larger store uses HNSW (5-10 ms at 100,000 chunks where the planner chose an
#   exact sort of 75 ms), ef_search 400, with pgvector 0.8's iterative scan, which keeps
#   walking the graph until enough rows of this store (and of the filtered files) are
#   found.
# Settings are for this transaction only, in one round trip.
EXACT_MAX = 20_000
_EXACT = Query(
    text(
        "SELECT set_config('plan_cache_mode', 'force_custom_plan', true),"
        " set_config('enable_indexscan', 'off', true)"
    )
)
_APPROXIMATE = Query(
    text(
        "SELECT set_config('hnsw.iterative_scan', 'relaxed_order', true),"
        " set_config('hnsw.ef_search', :ef, true),"
        " set_config('plan_cache_mode', 'force_custom_plan', true),"
        " set_config('enable_bitmapscan', 'off', true),"
        " set_config('enable_seqscan', 'off', true)"
    )
)
# Back to the defaults for the rest of the transaction: GIN (keyword search) can only
# be read by a bitmap scan, which _APPROXIMATE turns off.
_RESTORE = Query(
    text(
        "SELECT set_config('enable_indexscan', 'on', true),"
        " set_config('enable_bitmapscan', 'on', true),"
        " set_config('enable_seqscan', 'on', true)"
    )
)
_COUNT = Query(text("SELECT count(*) FROM vs_chunks WHERE vector_store_id = :store"))
# The cosine is computed by the server: a vector read back as text costs more to move
# and parse than the whole search takes otherwise.
_FETCH = Query(
    text(
        "SELECT id, file_id, text,"
        " 1 - (embedding <=> CAST(CAST(:q AS text) AS vector)) FROM vs_chunks"
        " WHERE id = ANY(CAST(:ids AS bigint[]))"
    )
)


_ANY_CHUNK = Query(text("SELECT 1 FROM vs_chunks LIMIT 1"))
_BUILD_MEMORY = Query(text("SELECT set_config('maintenance_work_mem', '512MB', true)"))


def _word(term: str) -> str:
    """A term as a tsquery operand: letters and digits only, so no operator can leak in."""
    return "".join(ch for ch in term if ch.isalnum())


class PgChunkIndex(ChunkRemoval):
    def __init__(self, dimensions: int, ef_search: int = 400, exact_max: int = EXACT_MAX) -> None:
        self.dimensions = dimensions
        self.ef_search = ef_search
        self.exact_max = exact_max
        self._indexed: set[int] = set()
        # (store, generation) → its chunk count; a store's generation moves with its chunks.
        self._counts: dict[tuple[str, int], int] = {}
        d = int(dimensions)
        cast = f"CAST(embedding AS vector({d}))"
        self._nearest = {
            files: Query(
                text(
                    f"SELECT id, {cast} <=> CAST(CAST(:q AS text) AS vector({d})) AS distance"
                    f" FROM vs_chunks WHERE dims = {d} AND vector_store_id = :store"
                    + (" AND file_id = ANY(CAST(:files AS text[]))" if files else "")
                    + " ORDER BY distance LIMIT :limit"
                )
            )
            for files in (False, True)
        }

    def _ensure_index(self, conn: Conn, dims: int) -> None:
        if dims in self._indexed:
            return
        d = int(dims)
        conn.execute(
            Query(
                text(
                    f"CREATE INDEX IF NOT EXISTS ix_vs_chunks_hnsw_{d} ON vs_chunks"
                    f" USING hnsw ((CAST(embedding AS vector({d}))) vector_cosine_ops)"
                    " WITH (m = 16, ef_construction = 128)"
                    f" WHERE dims = {d}"
                )
            ),
            {},
        )
        self._indexed.add(dims)

    def pause_upkeep(self, conn: Conn) -> bool:
        """Drop the HNSW index of an empty table: a graph built once from all the
        chunks took a fraction of the time of one grown a chunk at a time (bench/
        RESULTS.md, export and import). Never on a table with chunks, whose searches
        need the index meanwhile."""
        if conn.first(_ANY_CHUNK, {}) is not None:
            return False
        d = int(self.dimensions)
        conn.execute(Query(text(f"DROP INDEX IF EXISTS ix_vs_chunks_hnsw_{d}")), {})
        self._indexed.add(d)  # so that add() does not make it again meanwhile
        return True

    def resume_upkeep(self, conn: Conn) -> None:
        # The build's graph in memory rather than spilled to disk (pgvector's advice);
        # for this transaction only.
        conn.execute(_BUILD_MEMORY, {})
        self._indexed.discard(int(self.dimensions))
        self._ensure_index(conn, self.dimensions)

    def add(self, conn: Conn, store_id: str, file_id: str, chunks: Sequence[NewChunk]) -> None:
        if not chunks:
            return
        self._ensure_index(conn, self.dimensions)
        rows = [
            {
                "store": store_id,
                "file": file_id,
                "seq": c.seq,
                "text": c.text,
                "dims": len(c.embedding),
                "embedding": np.asarray(c.embedding, dtype=np.float32).tolist(),
            }
            for c in chunks
        ]
        conn.executemany(_INSERT, rows)

    def keyword(
        self, conn: Conn, store_id: str, terms: list[str], files: list[str] | None, limit: int
    ) -> list[Hit]:
        words = [w for w in (_word(t) for t in terms) if w]
        if not words:
            return []
        params: dict[str, Any] = {"match": " | ".join(words), "store": store_id, "limit": limit}
        query = _KEYWORD_ALL
        if files is not None:
            query = _KEYWORD_FILES
            params["files"] = files
        return [Hit(int(r[0]), float(r[1])) for r in conn.all(query, params)]

    def nearest(
        self,
        conn: Conn,
        store_id: str,
        generation: int,
        query: Vector,
        files: list[str] | None,
        limit: int,
    ) -> list[Hit]:
        key = (store_id, generation)
        if key not in self._counts:
            if len(self._counts) > 10_000:
                self._counts.clear()
            self._counts[key] = int(conn.all(_COUNT, {"store": store_id})[0][0])
        if self._counts[key] <= self.exact_max:
            conn.all(_EXACT, {})
        else:
            conn.all(_APPROXIMATE, {"ef": str(self.ef_search)})
        params: dict[str, Any] = {"q": _literal(query), "store": store_id, "limit": limit}
        if files is not None:
            params["files"] = files
        rows = conn.all(self._nearest[files is not None], params)
        conn.all(_RESTORE, {})
        hits = [Hit(int(r[0]), 1.0 - float(r[1])) for r in rows]
        # relaxed_order may return a few rows out of order.
        return sorted(hits, key=lambda h: -h.score)

    def fetch(self, conn: Conn, chunk_ids: Sequence[int], query: Vector) -> list[StoredChunk]:
        if not chunk_ids:
            return []
        rows = conn.all(_FETCH, {"ids": [int(i) for i in chunk_ids], "q": _literal(query)})
        return [StoredChunk(int(r[0]), r[1], r[2], float(r[3])) for r in rows]
