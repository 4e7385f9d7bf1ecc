"""Ingestion: vector-store files from `in_progress` to `completed` or `failed`.

The queue is the vector_store_files table, claimed the way runs are (runs/worker.py):
one transaction marks a file with this worker's id, a heartbeat says the worker lives,
and every worker's sweeper fails files whose worker went silent, with `server_error`,
so a killed process never leaves a file `in_progress` forever (the hang openai-python
#3097 describes). The work itself (parse, chunk, embed) happens outside any
transaction; the chunks, the file's new status and the recounted store and batch are
written in one unit, and only if the file is still this worker's and still
`in_progress` (a batch cancel or a detach may have come meanwhile).

Parsing, chunking and tokenising run in the parse pool's limited children
(engine/parse_pool.py), never in this process; embedding runs here in the embedder's
bulk lane, behind every search's query (retrieval/lanes.py). Claims are fair
between projects: a free slot takes the oldest file of a project that has none in
ingestion, so one project's thousand files delay another's one by at most one job.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import uuid
from functools import partial

import orjson

from assistantd import clock
from assistantd.engine.parse_pool import ParseJob, ParsePool
from assistantd.protocol.objects import ErrorInfo
from assistantd.retrieval.embeddings import Embedder, EmbeddingError
from assistantd.retrieval.parsing import ParseError
from assistantd.services.documents import encode
from assistantd.services.files import blob_key
from assistantd.services.vector_store_docs import refresh
from assistantd.services.vector_stores import VectorStoreService
from assistantd.store.blobs import BlobStore
from assistantd.store.chunks import ChunkIndex, NewChunk
from assistantd.store.db import Database
from assistantd.store.repos.vector_stores import store_files_repo as files
from assistantd.store.repos.vector_stores import stores_repo as stores
from assistantd.store.sql import Conn

__all__ = ["Ingestor"]

log = logging.getLogger(__name__)

_DIED = "The worker ingesting this file stopped before it finished."
_EMBED_SLICE = 64  # chunks embedded between two checks that the file is still wanted


class _Abandoned(Exception):
    """The file left in_progress (cancelled, detached) while it was being ingested."""


class Ingestor:
    def __init__(
        self,
        db: Database,
        blobs: BlobStore,
        chunks: ChunkIndex,
        embedder: Embedder,
        vector_stores: VectorStoreService,
        parser: ParsePool,
        *,
        concurrency: int = 1,
        poll_s: float = 1.0,
        stale_s: int = 30,
    ) -> None:
        self.db = db
        self.blobs = blobs
        self.chunks = chunks
        self.embedder = embedder
        self.vector_stores = vector_stores
        self.parser = parser
        self.concurrency = concurrency
        self.poll_s = poll_s
        self.stale_s = stale_s
        self.id = f"ingest-{os.uname().nodename}-{os.getpid()}-{uuid.uuid4().hex[:8]}"
        self._wake = asyncio.Event()
        self._tasks: list[asyncio.Task[None]] = []
        self._running = True

    def wake(self) -> None:
        self._wake.set()

    def start(self) -> None:
        self._tasks = [asyncio.create_task(self._slot()) for _ in range(self.concurrency)]
        self._tasks.append(asyncio.create_task(self._sweeper()))

    async def stop(self) -> None:
        self._running = False
        self._wake.set()
        for task in self._tasks:
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        await self.parser.close()
        # What this worker held goes back to failed at once rather than after stale_s.
        with contextlib.suppress(Exception):
            await self.fail_stale(worker=self.id)

    async def _slot(self) -> None:
        while self._running:
            self._wake.clear()
            try:
                claimed = await self.db.write(lambda conn: files.claim(conn, self.id, clock.now()))
            except Exception:
                log.exception("claiming a file to ingest failed")
                claimed = None
            if claimed is not None:
                await self.ingest(*claimed)
                continue
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), timeout=self.poll_s)

    async def _sweeper(self) -> None:
        while self._running:
            try:
                await self.db.write(partial(files.heartbeat, worker=self.id, now=clock.now()))
                await self.fail_stale()
                await self.vector_stores.expire_due()
            except Exception:
                log.exception("sweeping vector-store files failed")
            await asyncio.sleep(min(5.0, self.stale_s / 3))

    async def fail_stale(self, worker: str | None = None) -> int:
        """Fail files whose worker went silent (or, given `worker`, every file it holds)."""
        before = clock.now() - self.stale_s if worker is None else clock.now() + 1
        stale = await self.db.read(lambda conn: files.stale(conn, before, 100))
        for store_id, file_id, project in stale:
            await self.db.write(
                partial(
                    self._settle,
                    project=project,
                    store_id=store_id,
                    file_id=file_id,
                    result=None,
                    last_error={"code": "server_error", "message": _DIED},
                    before=before,
                    only_worker=worker,
                )
            )
            self.vector_stores.finished(store_id, file_id)
        return len(stale)

    async def ingest(self, store_id: str, file_id: str, project: str) -> None:
        """Never raises: whatever happens, the file ends `completed` or `failed`."""
        try:
            result = await self._work(project, store_id, file_id)
        except _Abandoned:
            log.info("stopped ingesting %s into %s: cancelled or detached", file_id, store_id)
            self.vector_stores.finished(store_id, file_id)
            return
        except ParseError as error:
            result = {"code": error.code, "message": error.message}
        except EmbeddingError as error:
            log.warning("ingesting %s into %s failed: %s", file_id, store_id, error)
            result = {"code": "server_error", "message": "The embeddings upstream failed."}
        except Exception:
            log.exception("ingesting %s into %s failed", file_id, store_id)
            result = {"code": "server_error", "message": "The server could not process the file."}
        try:
            if isinstance(result, dict):
                await self.db.write(
                    lambda conn: self._settle(
                        conn, project, store_id, file_id, None, last_error=result
                    )
                )
            else:
                await self.db.write(
                    lambda conn: self._settle(conn, project, store_id, file_id, result)
                )
        except Exception:
            log.exception("recording the ingestion of %s failed", file_id)
        finally:
            self.vector_stores.finished(store_id, file_id)

    async def _work(
        self, project: str, store_id: str, file_id: str
    ) -> tuple[list[NewChunk], list[str]] | ErrorInfo:
        row = await self.db.read(lambda conn: files.get(conn, project, store_id, file_id))
        if row is None:
            return {"code": "server_error", "message": "The file was detached."}
        doc = orjson.loads(row[0])
        static = doc["chunking_strategy"]["static"]
        job = ParseJob(
            path=str(self.blobs.path(blob_key(file_id))),
            filename=row[3],
            chunk_tokens=static["max_chunk_size_tokens"],
            overlap_tokens=static["chunk_overlap_tokens"],
        )
        prepared = await self.parser.prepare(job)
        pieces = prepared.chunks
        new: list[NewChunk] = []
        for start in range(0, len(pieces), _EMBED_SLICE):
            # A batch cancel or a detach ends the work between slices, not an hour later.
            if start and not await self._still_mine(project, store_id, file_id):
                raise _Abandoned
            part = pieces[start : start + _EMBED_SLICE]
            vectors = await self.embedder.embed(part, project=project, lane="bulk")
            new += [NewChunk(start + i, text, vectors[i]) for i, text in enumerate(part)]
        return new, prepared.pages

    async def _still_mine(self, project: str, store_id: str, file_id: str) -> bool:
        def unit(conn: Conn) -> bool:
            live = files.liveness(conn, store_id, file_id)
            return live is not None and live[:2] == ("in_progress", self.id)

        return await self.db.read(unit)

    def _settle(
        self,
        conn: Conn,
        project: str,
        store_id: str,
        file_id: str,
        result: tuple[list[NewChunk], list[str]] | None,
        *,
        last_error: ErrorInfo | None = None,
        before: int | None = None,
        only_worker: str | None = None,
    ) -> None:
        row = files.get(conn, project, store_id, file_id)
        if row is None or row[1] != "in_progress":
            return  # detached, or cancelled with its batch, meanwhile
        live = files.liveness(conn, store_id, file_id)
        assert live is not None  # the row was just read
        _, owner, heartbeat_at = live
        if before is None and owner != self.id:
            return  # the sweeper gave it up as stale; another outcome was recorded
        if before is not None:
            if only_worker is not None and owner != only_worker:
                return
            if heartbeat_at is not None and heartbeat_at >= before:
                return
        doc = orjson.loads(row[0])
        usage = 0
        if result is not None:
            new, pages = result
            self.chunks.add(conn, store_id, file_id, new)
            stores.bump(conn, store_id)
            usage = sum(len(c.text.encode()) for c in new)
            files.set_parsed(conn, store_id, file_id, orjson.dumps(pages).decode())
            doc["status"] = "completed"
        else:
            doc["status"] = "failed"
            doc["last_error"] = last_error
        doc["usage_bytes"] = usage
        files.set(conn, store_id, file_id, doc=encode(doc), status=doc["status"], usage_bytes=usage)
        refresh(conn, project, store_id, [row[2]])
