"""The composition root's product: everything a request or a worker needs, built once."""

from __future__ import annotations

from dataclasses import dataclass

from assistantd import clock
from assistantd.services.api_keys import ApiKeyService, Authenticator
from assistantd.services.assistants import AssistantService
from assistantd.services.messages import MessageService
from assistantd.services.threads import ThreadService
from assistantd.settings import Settings
from assistantd.store.db import Database, open_database

__all__ = ["Container"]


@dataclass(frozen=True)
class Container:
    settings: Settings
    db: Database
    auth: Authenticator
    api_keys: ApiKeyService
    assistants: AssistantService
    threads: ThreadService
    messages: MessageService
    started_at: int

    @classmethod
    def build(cls, settings: Settings) -> Container:
        db = open_database(
            settings.resolved_database_url(),
            pool_size=settings.db_pool_size,
            sqlite_synchronous=settings.sqlite_synchronous,
        )
        return cls(
            settings=settings,
            db=db,
            auth=Authenticator(db, settings.key_cache_ttl_s),
            api_keys=ApiKeyService(db),
            assistants=AssistantService(db),
            threads=ThreadService(db),
            messages=MessageService(db),
            started_at=clock.now(),
        )

    async def close(self) -> None:
        await self.db.dispose()
