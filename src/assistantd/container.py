"""The composition root's product: everything a request or a worker needs, built once."""

from __future__ import annotations

import os
import sys
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import redis.asyncio as redis

from assistantd import clock
from assistantd.engine.dispatch import Dispatcher
from assistantd.engine.executor import RunExecutor
from assistantd.engine.file_text import FileText
from assistantd.engine.ingestion import Ingestor
from assistantd.engine.parse_pool import ParsePool, PrepareLimits
from assistantd.engine.worker import Worker
from assistantd.events.bus import EventBus, InMemoryEventBus
from assistantd.events.redis_bus import RedisEventBus
from assistantd.events.wakeups import RUNS, LocalWakeups, RedisWakeups, Wakeups
from assistantd.limits.buckets import MemoryBuckets, RedisBuckets
from assistantd.observability.metrics import TOKENS, MeteredBus
from assistantd.providers.base import Provider
from assistantd.providers.registry import ProviderRegistry
from assistantd.retrieval.embeddings import Embedder, MiniLMEmbedder, UpstreamEmbedder
from assistantd.retrieval.parsing import ParseLimits
from assistantd.services.api_keys import ApiKeyService, Authenticator
from assistantd.services.assistants import AssistantService
from assistantd.services.completions import ChatCompletions
from assistantd.services.conversation_history import CONVERSATION_HISTORY
from assistantd.services.conversations import ConversationService
from assistantd.services.embeddings import EmbeddingService
from assistantd.services.files import FileService
from assistantd.services.messages import MessageService
from assistantd.services.operations import OperationsService
from assistantd.services.rate_limits import RateLimiter
from assistantd.services.response_history import RESPONSE_HISTORY
from assistantd.services.responses import ResponseService
from assistantd.services.run_resources import CodeFiles, StoreLookup
from assistantd.services.runs import RunService
from assistantd.services.search import SearchService
from assistantd.services.threads import ThreadService
from assistantd.services.uploads import UploadService
from assistantd.services.vector_store_files import VectorStoreFileService
from assistantd.services.vector_stores import VectorStoreService
from assistantd.settings import Settings
from assistantd.store.blobs import BlobStore, LocalDirBlobStore
from assistantd.store.chunks import open_chunk_index
from assistantd.store.db import Database, open_database
from assistantd.tools.base import ServerTool
from assistantd.tools.code_interpreter.sandbox import Limits, bwrap_path
from assistantd.tools.code_interpreter.sessions import SessionPool
from assistantd.tools.code_interpreter.tool import CodeInterpreter
from assistantd.tools.file_search.tool import FileSearch

__all__ = ["Container"]


@dataclass(frozen=True)
class Container:
    settings: Settings
    db: Database
    blobs: BlobStore
    auth: Authenticator
    api_keys: ApiKeyService
    assistants: AssistantService
    threads: ThreadService
    messages: MessageService
    files: FileService
    uploads: UploadService
    providers: ProviderRegistry
    runs: RunService
    responses: ResponseService
    conversations: ConversationService
    worker: Worker
    vector_stores: VectorStoreService
    vector_store_files: VectorStoreFileService
    search: SearchService
    ingestor: Ingestor
    embedder: Embedder
    code_sessions: SessionPool
    completions: ChatCompletions
    embeddings: EmbeddingService
    bus: EventBus
    wakeups: Wakeups
    rate_limits: RateLimiter
    operations: OperationsService
    redis_client: redis.Redis | None
    started_at: int

    @classmethod
    def build(
        cls,
        settings: Settings,
        db: Database | None = None,
        *,
        providers: Mapping[str, Provider] | None = None,
        embedder: Embedder | None = None,
        tools: Sequence[ServerTool] = (),
    ) -> Container:
        """Everything, on `db` if given (tests wrap the real one), else the configured one;
        `providers` (by model pattern, ahead of the routes) and `embedder` replace the
        configured ones in process (tests, embedding assistantd in another program), and
        `tools` are server tools beside file_search and code_interpreter."""
        db = db or open_database(
            settings.resolved_database_url(),
            pool_size=settings.db_pool_size,
            sqlite_synchronous=settings.sqlite_synchronous,
        )
        blobs = LocalDirBlobStore(settings.resolved_blob_dir())
        files = FileService(db, blobs)
        embedder = embedder or _embedder(settings)
        chunks = open_chunk_index(db.dialect, embedder.dimensions, settings.vector_cache_bytes)
        vector_stores = VectorStoreService(
            db, files, chunks, inline_wait_s=settings.vector_store_inline_wait_s
        )
        search = SearchService(db, chunks, embedder)
        ingestor = Ingestor(
            db,
            blobs,
            chunks,
            embedder,
            vector_stores,
            ParsePool(_prepare_limits(settings), processes=settings.ingest_workers),
            concurrency=settings.ingest_workers,
            stale_s=settings.run_stale_s,
        )
        vector_stores.wake = ingestor.wake
        registry = ProviderRegistry(settings, providers)
        client, plain_bus, wakeups = _events(settings)
        bus = MeteredBus(plain_bus)
        buckets = RedisBuckets(client) if client is not None else MemoryBuckets()
        rate_limits = RateLimiter(
            db, buckets, ttl_s=settings.key_cache_ttl_s, prefix=settings.redis_prefix
        )

        async def on_usage(project: str, model: str, prompt: int, completion: int) -> None:
            label = registry.metric_label(model)
            TOKENS.labels(label, "in").inc(prompt)
            TOKENS.labels(label, "out").inc(completion)
            await rate_limits.spend_tokens(project, prompt + completion)

        file_search = FileSearch(
            search, StoreLookup(db, vector_stores), settings.file_search_output_chars
        )
        code_sessions = _code_sessions(settings)
        code_interpreter = CodeInterpreter(
            code_sessions,
            CodeFiles(db),
            files,
            max_file_bytes=settings.code_interpreter_disk_mb * 1024 * 1024,
            max_files=settings.code_interpreter_max_files,
        )
        executor = RunExecutor(
            db,
            registry,
            bus,
            read_image=files.read_image,
            requires_action_ttl_s=settings.requires_action_ttl_s,
            server_tools=[file_search, code_interpreter, *tools],
            on_usage=on_usage,
            histories={"response": RESPONSE_HISTORY, "conversation": CONVERSATION_HISTORY},
        )
        worker = Worker(
            db,
            executor,
            bus,
            concurrency=settings.workers,
            stale_s=settings.run_stale_s,
            grace_s=settings.shutdown_grace_s,
            streamed_limit=settings.streamed_runs,
        )
        wakeups.listen(RUNS, worker.wake)
        dispatch = Dispatcher(worker, wakeups, events_cross_processes=bool(settings.redis_url))
        threads = ThreadService(
            db, files, vector_stores, filter_scan_rows=settings.thread_filter_scan_rows
        )
        runs = RunService(
            db,
            files,
            bus=bus,
            dispatch=dispatch,
            schema_problem=registry.schema_problem,
            vector_stores=vector_stores,
        )
        return cls(
            settings=settings,
            db=db,
            blobs=blobs,
            auth=Authenticator(db, settings.key_cache_ttl_s, settings.auth),
            api_keys=ApiKeyService(db),
            assistants=AssistantService(db, files, vector_stores),
            threads=threads,
            conversations=ConversationService(db, files, threads),
            messages=MessageService(db, files, vector_stores),
            files=files,
            uploads=UploadService(db, blobs, files, settings),
            providers=registry,
            runs=runs,
            responses=ResponseService(
                db,
                files,
                runs,
                bus=bus,
                dispatch=dispatch,
                providers=registry,
                schema_problem=registry.schema_problem,
                file_text=FileText(files, blobs, ingestor.parser),
            ),
            bus=bus,
            wakeups=wakeups,
            rate_limits=rate_limits,
            operations=OperationsService(db),
            redis_client=client,
            worker=worker,
            vector_stores=vector_stores,
            vector_store_files=VectorStoreFileService(db, vector_stores),
            search=search,
            ingestor=ingestor,
            embedder=embedder,
            code_sessions=code_sessions,
            completions=ChatCompletions(registry, on_usage),
            embeddings=EmbeddingService(embedder),
            started_at=clock.now(),
        )

    def start(self) -> None:
        """The background work of a serving or working process."""
        self.worker.start()
        self.ingestor.start()
        self.code_sessions.start()
        self.wakeups.start()

    async def close(self) -> None:
        await self.worker.stop()
        await self.ingestor.stop()
        await self.code_sessions.close()
        if isinstance(self.embedder, UpstreamEmbedder):
            await self.embedder.aclose()
        await self.providers.aclose()
        await self.wakeups.close()
        await self.bus.close()
        if self.redis_client is not None:
            await self.redis_client.aclose()
        await self.db.dispose()


def _events(settings: Settings) -> tuple[redis.Redis | None, EventBus, Wakeups]:
    """In-process events and wake-ups, or, with ASSISTANTD_REDIS_URL, Redis's."""
    if not settings.redis_url:
        return None, InMemoryEventBus(retain_s=settings.events_retain_s), LocalWakeups()
    # Bus and wake-ups each get a client (pool) of their own: XREAD BLOCK holds its
    # connection, and closing the bus must not close the pub/sub listener's pool.
    client = redis.Redis.from_url(settings.redis_url)
    bus = RedisEventBus(
        redis.Redis.from_url(settings.redis_url),
        prefix=settings.redis_prefix,
        max_len=settings.events_max_len,
        retain_s=settings.events_retain_s,
        live_ttl_s=max(3600, settings.requires_action_ttl_s + 600),
    )
    return client, bus, RedisWakeups(client, settings.redis_prefix)


def _code_sessions(settings: Settings) -> SessionPool:
    limits = Limits(
        call_timeout_s=settings.code_interpreter_timeout_s,
        memory_mb=settings.code_interpreter_memory_mb,
        cpu_s=settings.code_interpreter_cpu_s,
        processes=settings.code_interpreter_processes,
        open_files=settings.code_interpreter_open_files,
        disk_mb=settings.code_interpreter_disk_mb,
        session_memory_mb=settings.code_interpreter_session_memory_mb,
        max_images=settings.code_interpreter_max_images,
    )
    return SessionPool(
        bwrap=bwrap_path(settings.code_interpreter_bwrap),
        python=str(settings.code_interpreter_python or sys.executable),
        limits=limits,
        idle_timeout_s=settings.code_interpreter_idle_timeout_s,
        max_sessions=settings.code_interpreter_max_sessions,
        uid_base=settings.code_interpreter_uid_base,
        spare=settings.code_interpreter_spare,
        storage_budget_mb=settings.code_interpreter_storage_budget_mb,
    )


def _prepare_limits(settings: Settings) -> PrepareLimits:
    mb = 1024 * 1024
    return PrepareLimits(
        memory_mb=settings.ingest_memory_mb,
        cpu_s=settings.ingest_cpu_s,
        timeout_s=settings.ingest_timeout_s,
        max_tokens=settings.ingest_max_tokens,
        parse=ParseLimits(
            expanded_bytes=settings.ingest_expanded_mb * mb,
            pdf_pages=settings.ingest_pdf_pages,
            pdf_content_bytes=settings.ingest_pdf_content_mb * mb,
        ),
    )


def _embedder(settings: Settings) -> Embedder:
    if settings.embeddings_base_url:
        key_env = settings.embeddings_api_key_env
        return UpstreamEmbedder(
            base_url=settings.embeddings_base_url,
            model=settings.embeddings_model,
            dimensions=settings.embeddings_dimensions,
            api_key=os.environ.get(key_env) if key_env else None,
        )
    return MiniLMEmbedder(max_waiting=settings.embedding_waiting_per_project)
