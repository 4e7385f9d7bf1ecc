"""An in-process assistantd (services, worker, real SQLite) for engine tests.

`Rehearsing` wraps the real database and runs every write unit twice, the first time in
a transaction that is rolled back: what the SQLite writer does to every unit of a batch
when one of its neighbours fails. A unit that changes what it was handed behaves
differently the second time, and these tests see it.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable, Sequence
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any, TypeVar

import orjson

from assistantd.container import Container
from assistantd.providers.base import Provider
from assistantd.settings import ModelRoute, Settings
from assistantd.store.db import Database
from assistantd.store.migrate import upgrade
from assistantd.store.sql import Conn
from assistantd.store.sqlite import SqliteDatabase
from assistantd.tools.base import ServerTool

T = TypeVar("T")
PROJECT = "default"
TERMINAL = {"completed", "failed", "cancelled", "incomplete", "expired", "requires_action"}


class _Rehearsal(Exception):
    """Raised after a rehearsed unit, so its transaction rolls back."""


class Rehearsing:
    """A Database whose every write unit runs twice: rolled back once, then for real."""

    def __init__(self, inner: Database) -> None:
        self.inner = inner
        self.dialect = inner.dialect
        self.rehearsed = 0

    async def read(self, unit: Callable[[Conn], T]) -> T:
        return await self.inner.read(unit)

    async def read_heavy(self, unit: Callable[[Conn], T]) -> T:
        return await self.inner.read_heavy(unit)

    async def snapshot(self, unit: Callable[[Conn], T]) -> T:
        return await self.inner.snapshot(unit)

    async def write(self, unit: Callable[[Conn], T], *, single_write: bool = False) -> T:
        def rehearsal(conn: Conn) -> T:
            unit(conn)
            raise _Rehearsal

        try:
            await self.inner.write(rehearsal)  # always in a transaction, to roll it back
        except _Rehearsal:
            self.rehearsed += 1
        except Exception:
            pass
        return await self.inner.write(unit, single_write=single_write)

    async def dispose(self) -> None:
        await self.inner.dispose()


@asynccontextmanager
async def in_process(
    tmp: Path,
    upstream_url: str | None = None,
    *,
    provider: Provider | None = None,
    tools: Sequence[ServerTool] = (),
    workers: int = 1,
    rehearse: bool = True,
    **settings: Any,
) -> AsyncIterator[tuple[Container, Rehearsing | Database]]:
    """Services and a started worker on a fresh SQLite database; `scripted*` models go to
    `provider` in process, or else to the scripted upstream at `upstream_url`."""
    path = tmp / "assistantd.db"
    await upgrade(f"sqlite:///{path}")
    real = SqliteDatabase(str(path))
    db: Rehearsing | Database = Rehearsing(real) if rehearse else real
    config = Settings(
        data_dir=tmp,
        workers=workers,
        model_routes=[
            ModelRoute(match="scripted*", base_url=upstream_url, timeout_s=5, max_retries=0)
        ]
        if upstream_url
        else [],
        **settings,
    )
    given = {"scripted*": provider} if provider is not None else None
    container = Container.build(config, db=db, providers=given, tools=tools)
    container.worker.start()
    try:
        yield container, db
    finally:
        await container.close()


async def settled(container: Container, thread_id: str, run_id: str) -> dict[str, Any]:
    """The run once it stops (ends, or waits for tool outputs)."""
    for _ in range(500):
        run: dict[str, Any] = orjson.loads(await container.runs.get(PROJECT, thread_id, run_id))
        if run["status"] in TERMINAL:
            return run
        await asyncio.sleep(0.02)
    raise AssertionError(f"run {run_id} did not settle: {run['status']}")
