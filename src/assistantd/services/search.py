"""Hybrid search over vector stores: keyword and vector candidates, fused into one score.

Each query gathers the store's best chunks by keyword rank and by cosine similarity
(store/chunks), then scores every candidate by relative score fusion:
`score = 0.5 * max(cosine, 0) + 0.5 * keyword / best_keyword`, a number in 0..1 that
`score_threshold` can cut. It is the fusion Weaviate made its default (it keeps the
magnitudes reciprocal-rank fusion throws away, so a query unrelated to every chunk
scores low instead of its best chunk scoring as high as a perfect match);
bench/retrieval_quality.py compares it with each half alone. `ranker: "none"` scores
by cosine alone. Attribute filters choose the files first, and the two searches run
only over those files, so a filter never empties a top-k cut before it.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

import numpy as np
import orjson

from assistantd.errors import InvalidRequest, NotFound, RateLimited
from assistantd.protocol.vector_stores import ComparisonFilter, CompoundFilter, SearchRequest
from assistantd.retrieval.embeddings import Embedder
from assistantd.retrieval.lanes import LaneFull
from assistantd.store.chunks import ChunkIndex, Hit
from assistantd.store.db import Database
from assistantd.store.repos.vector_stores import store_files_repo as files
from assistantd.store.repos.vector_stores import stores_repo as stores
from assistantd.store.sql import Conn

__all__ = ["Result", "SearchService", "matches", "rewrite"]

_WORD = re.compile(r"\w+", re.UNICODE)
_STOP = frozenset(
    {
        "a", "an", "and", "are", "as", "at", "be", "but", "by", "can", "could", "did", "do", "does",
        "for", "from", "had", "has", "have", "how", "i", "id", "if", "in", "into", "is", "it",
        "its", "like", "know", "me", "my", "of", "on", "or", "our", "please", "should", "so",
        "tell", "than", "that", "the", "their", "them", "then", "there", "these", "they", "this",
        "to", "want", "was", "we", "were", "what", "when", "where", "which", "who", "whom", "why",
        "will", "with", "would", "you", "your"
    }
)  # fmt: skip
_VECTOR_WEIGHT = 0.5
# Candidates from each half (keyword, vector) per query and store: twice the largest
# max_num_results (50), and the same for every search, so results never depend on it.
_POOL = 100
# hybrid: both fused; vector: cosine only (ranker "none"); keyword: for benchmarks.
Mode = Literal["hybrid", "vector", "keyword"]


@dataclass
class Result:
    chunk_id: int
    store_id: str
    file_id: str
    filename: str = ""
    score: float = 0.0
    text: str = ""
    attributes: dict[str, Any] = field(default_factory=dict)


def rewrite(query: str) -> str:
    """`rewrite_query`: the query's content words, as a keyword search wants them."""
    words = [w for w in _WORD.findall(query.lower()) if w not in _STOP]
    return " ".join(words) or query


def _compare(op: str, actual: Any, expected: Any) -> bool:
    if op in ("in", "nin"):
        found = actual is not None and any(_same(actual, v) for v in expected)
        return found if op == "in" else not found
    if actual is None:
        return op == "ne"
    if op == "eq":
        return _same(actual, expected)
    if op == "ne":
        return not _same(actual, expected)
    if isinstance(actual, bool) or isinstance(expected, bool):
        return False
    numbers = isinstance(actual, int | float) and isinstance(expected, int | float)
    strings = isinstance(actual, str) and isinstance(expected, str)
    if not (numbers or strings):
        return False
    if op == "gt":
        return bool(actual > expected)
    if op == "gte":
        return bool(actual >= expected)
    if op == "lt":
        return bool(actual < expected)
    return bool(actual <= expected)


def _same(a: Any, b: Any) -> bool:
    if isinstance(a, bool) or isinstance(b, bool):
        return isinstance(a, bool) and isinstance(b, bool) and a == b
    return bool(a == b)


def matches(flt: ComparisonFilter | CompoundFilter, attributes: dict[str, Any]) -> bool:
    if isinstance(flt, CompoundFilter):
        results = (matches(f, attributes) for f in flt.filters)
        return all(results) if flt.type == "and" else any(results)
    return _compare(flt.type, attributes.get(flt.key), flt.value)


def _with_files(conn: Conn, ranked: list[Result], limit: int) -> list[Result]:
    """The first `limit` results whose file is still completed, with its name and
    attributes: one file lookup per distinct file among them, never the whole store."""
    kept: list[Result] = []
    seen: dict[tuple[str, str], tuple[bytes, str] | None] = {}
    for r in ranked:
        if len(kept) == limit:
            break
        where = (r.store_id, r.file_id)
        if where not in seen:
            seen[where] = files.completed(conn, r.store_id, r.file_id)
        found = seen[where]
        if found is None:
            continue  # detached or being replaced since its chunks were read
        r.filename = found[1]
        r.attributes = orjson.loads(found[0])["attributes"]
        kept.append(r)
    return kept


class SearchService:
    def __init__(self, db: Database, chunks: ChunkIndex, embedder: Embedder) -> None:
        self.db = db
        self.chunks = chunks
        self.embedder = embedder

    def _one(
        self,
        conn: Conn,
        store_id: str,
        generation: int,
        query: str,
        vector: np.ndarray[Any, Any],
        allowed: list[str] | None,
        pool: int,
        mode: Mode,
    ) -> list[Result]:
        near: list[Hit] = []
        if mode != "keyword":
            near = self.chunks.nearest(conn, store_id, generation, vector, allowed, pool)
        terms = [w for w in _WORD.findall(query.lower()) if w not in _STOP]
        keyword: list[Hit] = []
        if mode != "vector":
            keyword = self.chunks.keyword(conn, store_id, terms, allowed, pool)
        best_kw = max((h.score for h in keyword), default=0.0)
        kw = {h.chunk_id: h.score / best_kw for h in keyword if best_kw > 0}
        ids = list(dict.fromkeys([h.chunk_id for h in near] + list(kw)))
        results = []
        for chunk in self.chunks.fetch(conn, ids, vector):
            cosine = max(0.0, min(1.0, chunk.cosine))
            if mode == "hybrid":
                score = _VECTOR_WEIGHT * cosine + (1 - _VECTOR_WEIGHT) * kw.get(chunk.chunk_id, 0.0)
            elif mode == "keyword":
                score = kw.get(chunk.chunk_id, 0.0)
            else:
                score = cosine
            results.append(
                Result(chunk.chunk_id, store_id, chunk.file_id, score=score, text=chunk.text)
            )
        return results

    async def search(
        self,
        project: str,
        store_ids: Sequence[str],
        queries: Sequence[str],
        *,
        limit: int,
        threshold: float = 0.0,
        flt: ComparisonFilter | CompoundFilter | None = None,
        mode: Mode = "hybrid",
    ) -> list[Result]:
        """The best `limit` chunks of the stores for any of the queries, best first.

        Each half gives the same `_POOL` candidates whatever `limit` is, so a search's
        first k results are the first k of any longer search. Only the results' files
        are read (their names and attributes), so a search costs the same on a store of
        10 files or 10,000; an attribute filter alone reads every completed file's
        attributes, since it chooses the files before the search."""
        try:
            vectors = await self.embedder.embed(list(queries), project=project, lane="query")
        except LaneFull:
            raise RateLimited(
                "Too many of this project's searches are waiting for the embedding model; "
                "retry shortly.",
                kind="requests",
                headers={"retry-after": "1", "retry-after-ms": "500"},
            ) from None

        def unit(conn: Conn) -> list[Result]:
            best: dict[tuple[str, int], Result] = {}
            for store_id in store_ids:
                found = stores.for_search(conn, project, store_id)
                if found is None:
                    continue
                _, generation = found
                allowed = None
                if flt is not None:
                    allowed = [
                        f
                        for f, raw in files.completed_docs(conn, store_id)
                        if matches(flt, orjson.loads(raw)["attributes"])
                    ]
                    if not allowed:
                        continue
                for query, vector in zip(queries, vectors, strict=True):
                    for r in self._one(
                        conn, store_id, generation, query, vector, allowed, _POOL, mode
                    ):
                        key = (store_id, r.chunk_id)
                        if key not in best or best[key].score < r.score:
                            best[key] = r
            ranked = sorted(best.values(), key=lambda r: (-r.score, r.chunk_id))
            return _with_files(conn, [r for r in ranked if r.score >= threshold], limit)

        return await self.db.read_heavy(unit)

    async def search_store(self, project: str, store_id: str, req: SearchRequest) -> bytes:
        raw = await self.db.read(lambda conn: stores.get_doc(conn, project, store_id))
        if raw is None:
            raise NotFound(f"No vector store found with id '{store_id}'.")
        if orjson.loads(raw)["status"] == "expired":
            raise InvalidRequest(
                f"Vector store '{store_id}' has expired.", param=None, code="vector_store_expired"
            )
        queries = [req.query] if isinstance(req.query, str) else list(req.query)
        queries = [q for q in queries if q.strip()]
        if req.rewrite_query:
            queries = [rewrite(q) for q in queries]
        options = req.ranking_options
        results = await self.search(
            project,
            [store_id],
            queries,
            limit=req.max_num_results,
            threshold=options.score_threshold if options else 0.0,
            flt=req.filters,
            mode="vector" if options is not None and options.ranker == "none" else "hybrid",
        )
        return orjson.dumps(
            {
                "object": "vector_store.search_results.page",
                "search_query": queries,
                "data": [
                    {
                        "file_id": r.file_id,
                        "filename": r.filename,
                        "score": round(r.score, 6),
                        "attributes": r.attributes,
                        "content": [{"type": "text", "text": r.text}],
                    }
                    for r in results
                ],
                "has_more": False,
                "next_page": None,
            }
        )
