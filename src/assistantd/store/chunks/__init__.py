"""Chunks of vector-store files and the two searches over them, one module per backend.

Both backends answer the same two questions for one store, restricted to some files
when an attribute filter chose them (the restriction is part of the query, so a filter
never empties a top-k that was cut before it):
- `keyword`: the best chunks by full-text rank (FTS5 bm25 / PostgreSQL ts_rank);
- `nearest`: the best chunks by cosine similarity (an exact scan / pgvector HNSW).
`services/search.py` fuses the two lists.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol

import numpy as np
import numpy.typing as npt
from sqlalchemy import text

from assistantd.store.sql import Conn, Query

__all__ = ["ChunkIndex", "ChunkRemoval", "Hit", "NewChunk", "StoredChunk", "open_chunk_index"]

Vector = npt.NDArray[np.float32]


@dataclass(frozen=True, slots=True)
class NewChunk:
    seq: int
    text: str
    embedding: Vector


@dataclass(frozen=True, slots=True)
class Hit:
    chunk_id: int
    score: float  # cosine similarity for `nearest`, a positive rank for `keyword`


@dataclass(frozen=True, slots=True)
class StoredChunk:
    chunk_id: int
    file_id: str
    text: str
    cosine: float  # with the query it was fetched for


class ChunkIndex(Protocol):
    def add(self, conn: Conn, store_id: str, file_id: str, chunks: Sequence[NewChunk]) -> None:
        """Inside a write unit: the file's chunks become searchable when it commits."""
        ...

    def remove(self, conn: Conn, store_id: str, file_id: str | None) -> None:
        """Inside a write unit: one file's chunks, or (None) every chunk of the store."""
        ...

    def keyword(
        self, conn: Conn, store_id: str, terms: list[str], files: list[str] | None, limit: int
    ) -> list[Hit]: ...

    def nearest(
        self,
        conn: Conn,
        store_id: str,
        generation: int,
        query: Vector,
        files: list[str] | None,
        limit: int,
    ) -> list[Hit]: ...

    def fetch(self, conn: Conn, chunk_ids: Sequence[int], query: Vector) -> list[StoredChunk]:
        """The chunks, each with its cosine similarity to `query`."""
        ...

    def pause_upkeep(self, conn: Conn) -> bool:
        """Before many adds (an import) into an index that holds no chunk yet: stop
        keeping up the structures a build from scratch makes faster than one chunk at a
        time (PostgreSQL's HNSW graph). True if anything was paused."""
        ...

    def resume_upkeep(self, conn: Conn) -> None:
        """Build what `pause_upkeep` paused, if it is missing; safe to call any time (an
        import cut short and run again calls it whether or not it paused)."""
        ...


_DELETE_FILE = Query(
    text("DELETE FROM vs_chunks WHERE vector_store_id = :store AND file_id = :file")
)
_DELETE_STORE = Query(text("DELETE FROM vs_chunks WHERE vector_store_id = :store"))


class ChunkRemoval:
    """Deleting chunks is the same SQL on both backends."""

    def remove(self, conn: Conn, store_id: str, file_id: str | None) -> None:
        if file_id is None:
            conn.execute(_DELETE_STORE, {"store": store_id})
        else:
            conn.execute(_DELETE_FILE, {"store": store_id, "file": file_id})


def open_chunk_index(dialect: str, dimensions: int, cache_bytes: int) -> ChunkIndex:
    if dialect == "postgresql":
        from assistantd.store.chunks.postgres import PgChunkIndex

        return PgChunkIndex(dimensions)
    from assistantd.store.chunks.sqlite import SqliteChunkIndex

    return SqliteChunkIndex(dimensions, cache_bytes)
