"""Writing objects straight through the store, for states the API cannot create yet or at scale."""

from __future__ import annotations

import asyncio

import orjson

from assistantd import clock
from assistantd.ids import IdKind, new_id
from assistantd.protocol.messages import MessageCreate
from assistantd.services.messages import message_doc
from assistantd.store.db import open_database
from assistantd.store.repos.messages import messages_repo


def seed_messages(
    database_url: str,
    thread_id: str,
    count: int,
    *,
    project: str = "default",
    run_id: str | None = None,
    batch: int = 5000,
) -> list[str]:
    """Insert `count` messages into a thread; returns their ids in creation order."""

    async def run() -> list[str]:
        db = open_database(database_url, pool_size=1)
        repo = messages_repo
        ids: list[str] = []
        template = MessageCreate(role="assistant" if run_id else "user", content="seeded")
        try:
            for start in range(0, count, batch):
                rows = []
                for i in range(start, min(start + batch, count)):
                    mid = new_id(IdKind.message)
                    created = clock.now()
                    doc = message_doc(
                        template, message_id=mid, thread_id=thread_id, created_at=created
                    )
                    doc["run_id"] = run_id
                    doc["content"][0]["text"]["value"] = f"seeded {i}"
                    rows.append(
                        {
                            "id": mid,
                            "project": project,
                            "thread_id": thread_id,
                            "run_id": run_id,
                            "created_at": created,
                            "doc": orjson.dumps(doc).decode(),
                        }
                    )
                    ids.append(mid)
                await db.write(lambda conn, rows=rows: repo.insert_many(conn, rows))
        finally:
            await db.dispose()
        return ids

    return asyncio.run(run())
