"""API keys and tenancy: minting keys, and mapping a bearer token to its project.

With no active key the server is open and every request belongs to the default
project. Once any key exists, every request needs one, and the key's project scopes
every object it can see.
"""

from __future__ import annotations

import asyncio
import hashlib
import re
import secrets
import time

from assistantd import clock
from assistantd.errors import AuthenticationFailed, InvalidRequest
from assistantd.ids import IdKind, new_id
from assistantd.store.db import Database
from assistantd.store.repos.api_keys import ApiKeyRecord, ApiKeyRepository

__all__ = ["DEFAULT_PROJECT", "ApiKeyService", "Authenticator", "hash_key"]

DEFAULT_PROJECT = "default"
_SECRET_PREFIX = "sk-ad-"
_PROJECT_NAME = re.compile(r"^[A-Za-z0-9_.-]{1,64}$")


def hash_key(secret: str) -> str:
    # Keys carry 256 random bits: a fast hash is as strong as a slow one here.
    return hashlib.sha256(secret.encode()).hexdigest()


class ApiKeyService:
    def __init__(self, db: Database) -> None:
        self.db = db
        self.repo = ApiKeyRepository()

    async def create(self, project: str, name: str | None = None) -> tuple[ApiKeyRecord, str]:
        """A new key for `project`; the secret is returned here and never again."""
        if not _PROJECT_NAME.match(project):
            raise InvalidRequest(
                "Project names are 1 to 64 letters, digits, '.', '_' or '-'.", param="project"
            )
        secret = _SECRET_PREFIX + secrets.token_urlsafe(32)
        record = ApiKeyRecord(
            id=new_id(IdKind.api_key),
            project=project,
            name=name,
            redacted=f"{_SECRET_PREFIX}...{secret[-4:]}",
            created_at=clock.now(),
            revoked_at=None,
        )
        key_hash = hash_key(secret)
        await self.db.write(lambda conn: self.repo.insert(conn, record, key_hash))
        return record, secret

    async def list(self) -> list[ApiKeyRecord]:
        return await self.db.read(self.repo.list)

    async def revoke(self, key_id: str) -> bool:
        at = clock.now()
        return await self.db.write(lambda conn: self.repo.revoke(conn, key_id, at))


class Authenticator:
    """Resolves `Authorization` headers to projects, from a cache refreshed every `ttl_s`.

    The cache keeps auth off the per-request database path; keys created or revoked
    by another process (the CLI) take effect within `ttl_s` seconds.
    """

    def __init__(self, db: Database, ttl_s: float) -> None:
        self.db = db
        self.ttl_s = ttl_s
        self.repo = ApiKeyRepository()
        self._hashes: dict[str, str] = {}
        self._loaded_at = float("-inf")
        self._lock = asyncio.Lock()

    async def _refresh(self) -> dict[str, str]:
        if time.monotonic() - self._loaded_at < self.ttl_s:
            return self._hashes
        async with self._lock:
            if time.monotonic() - self._loaded_at >= self.ttl_s:
                self._hashes = await self.db.read(self.repo.active_hashes)
                self._loaded_at = time.monotonic()
        return self._hashes

    async def is_open(self) -> bool:
        return not await self._refresh()

    async def project_for(self, authorization: str | None) -> str:
        hashes = await self._refresh()
        if not hashes:
            return DEFAULT_PROJECT
        if not authorization:
            raise AuthenticationFailed(
                "You didn't provide an API key. You need to provide your API key in an "
                "Authorization header using Bearer auth (i.e. Authorization: Bearer YOUR_KEY).",
                code="missing_api_key",
            )
        scheme, _, token = authorization.partition(" ")
        project = hashes.get(hash_key(token.strip())) if scheme.lower() == "bearer" else None
        if project is None:
            shown = token.strip()[-4:] if len(token.strip()) > 8 else ""
            raise AuthenticationFailed(f"Incorrect API key provided: ...{shown}.")
        return project
