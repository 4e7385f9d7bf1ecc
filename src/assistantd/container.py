"""The composition root's product: everything a request or a worker needs, built once."""

from __future__ import annotations

from dataclasses import dataclass

from assistantd import clock
from assistantd.engine.executor import RunExecutor
from assistantd.engine.worker import Worker
from assistantd.events.bus import EventBus, InMemoryEventBus
from assistantd.providers.registry import ProviderRegistry
from assistantd.services.api_keys import ApiKeyService, Authenticator
from assistantd.services.assistants import AssistantService
from assistantd.services.files import FileService
from assistantd.services.messages import MessageService
from assistantd.services.runs import RunService
from assistantd.services.threads import ThreadService
from assistantd.services.uploads import UploadService
from assistantd.settings import Settings
from assistantd.store.blobs import BlobStore, LocalDirBlobStore
from assistantd.store.db import Database, open_database

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
    worker: Worker
    bus: EventBus
    started_at: int

    @classmethod
    def build(cls, settings: Settings, db: Database | None = None) -> Container:
        """Everything, on `db` if given (tests wrap the real one), else the configured one."""
        db = db or open_database(
            settings.resolved_database_url(),
            pool_size=settings.db_pool_size,
            sqlite_synchronous=settings.sqlite_synchronous,
        )
        blobs = LocalDirBlobStore(settings.resolved_blob_dir())
        files = FileService(db, blobs)
        providers = ProviderRegistry(settings)
        bus = InMemoryEventBus()
        executor = RunExecutor(
            db,
            providers,
            bus,
            read_image=files.read_image,
            requires_action_ttl_s=settings.requires_action_ttl_s,
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
        return cls(
            settings=settings,
            db=db,
            blobs=blobs,
            auth=Authenticator(db, settings.key_cache_ttl_s, settings.auth),
            api_keys=ApiKeyService(db),
            assistants=AssistantService(db, files),
            threads=ThreadService(db, files),
            messages=MessageService(db, files),
            files=files,
            uploads=UploadService(db, blobs, files, settings),
            providers=providers,
            runs=RunService(
                db,
                files,
                bus=bus,
                wake=worker.wake,
                take=worker.take,
                schema_problem=providers.schema_problem,
            ),
            bus=bus,
            worker=worker,
            started_at=clock.now(),
        )

    async def close(self) -> None:
        await self.worker.stop()
        await self.providers.aclose()
        await self.db.dispose()
