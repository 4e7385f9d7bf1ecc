"""API key records: only hashes are stored; the secret is shown once at creation."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import insert, select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from assistantd.store.tables import ApiKeyRow, table_of

__all__ = ["ApiKeyRecord", "ApiKeyRepository"]

_keys = table_of(ApiKeyRow)


@dataclass(frozen=True, slots=True)
class ApiKeyRecord:
    id: str
    project: str
    name: str | None
    redacted: str
    created_at: int
    revoked_at: int | None


class ApiKeyRepository:
    async def insert(self, conn: AsyncConnection, record: ApiKeyRecord, key_hash: str) -> None:
        await conn.execute(
            insert(_keys).values(
                id=record.id,
                project=record.project,
                name=record.name,
                key_hash=key_hash,
                redacted=record.redacted,
                created_at=record.created_at,
                revoked_at=None,
            )
        )

    async def list(self, conn: AsyncConnection) -> list[ApiKeyRecord]:
        rows = await conn.execute(
            select(
                _keys.c.id,
                _keys.c.project,
                _keys.c.name,
                _keys.c.redacted,
                _keys.c.created_at,
                _keys.c.revoked_at,
            ).order_by(_keys.c.id)
        )
        return [ApiKeyRecord(*row) for row in rows]

    async def revoke(self, conn: AsyncConnection, key_id: str, at: int) -> bool:
        result = await conn.execute(
            update(_keys)
            .where(_keys.c.id == key_id, _keys.c.revoked_at.is_(None))
            .values(revoked_at=at)
        )
        return bool(result.rowcount)

    async def active_hashes(self, conn: AsyncConnection) -> dict[str, str]:
        """key hash → project, for every key not revoked."""
        rows = await conn.execute(
            select(_keys.c.key_hash, _keys.c.project).where(_keys.c.revoked_at.is_(None))
        )
        return {key_hash: project for key_hash, project in rows}
