"""API key records: only hashes are stored; the secret is shown once at creation."""

from __future__ import annotations

from dataclasses import asdict, dataclass

from sqlalchemy import bindparam, insert, select, update

from assistantd.store.sql import Conn, Query
from assistantd.store.tables import ApiKeyRow, table_of

__all__ = ["ApiKeyRecord", "ApiKeyRepository", "api_keys_repo"]

_keys = table_of(ApiKeyRow)
_INSERT = Query(insert(_keys))
_LIST = Query(
    select(
        _keys.c.id,
        _keys.c.project,
        _keys.c.name,
        _keys.c.redacted,
        _keys.c.created_at,
        _keys.c.revoked_at,
    ).order_by(_keys.c.id)
)
_REVOKE = Query(
    update(_keys)
    .where(_keys.c.id == bindparam("key_id"), _keys.c.revoked_at.is_(None))
    .values(revoked_at=bindparam("at"))
)
_ACTIVE = Query(select(_keys.c.key_hash, _keys.c.project).where(_keys.c.revoked_at.is_(None)))
_ANY = Query(select(_keys.c.id).limit(1))


@dataclass(frozen=True, slots=True)
class ApiKeyRecord:
    id: str
    project: str
    name: str | None
    redacted: str
    created_at: int
    revoked_at: int | None


class ApiKeyRepository:
    def insert(self, conn: Conn, record: ApiKeyRecord, key_hash: str) -> None:
        conn.execute(_INSERT, {**asdict(record), "key_hash": key_hash})

    def list(self, conn: Conn) -> list[ApiKeyRecord]:
        return [ApiKeyRecord(*row) for row in conn.all(_LIST, {})]

    def revoke(self, conn: Conn, key_id: str, at: int) -> bool:
        return conn.execute(_REVOKE, {"key_id": key_id, "at": at}) > 0

    def any_ever(self, conn: Conn) -> bool:
        """Whether a key was ever created here, revoked or not."""
        return conn.first(_ANY, {}) is not None

    def active_hashes(self, conn: Conn) -> dict[str, str]:
        """key hash → project, for every key not revoked."""
        return {key_hash: project for key_hash, project in conn.all(_ACTIVE, {})}


# The one instance of each: repositories hold compiled statements and no state.
api_keys_repo = ApiKeyRepository()
