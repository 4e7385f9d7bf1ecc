"""API keys and tenancy: minting keys, and mapping a bearer token to its project.

The mode is explicit (`ASSISTANTD_AUTH`): `keys` always asks for a key; `auto`, the
default, is open (every request belongs to the default project) only while no key
has ever been created in this database. Once one has, every request needs a live
key, and the key's project scopes every object it can see; revoking every key then
locks everyone out rather than opening the server. `open` is refused once keys exist.
"""

from __future__ import annotations

import asyncio
import hashlib
import re
import secrets
import time
from typing import Literal

from assistantd import clock
from assistantd.errors import AuthenticationFailed, InvalidRequest
from assistantd.ids import IdKind, new_id
from assistantd.store.db import Database
from assistantd.store.repos.api_keys import ApiKeyRecord, api_keys_repo
from assistantd.store.sql import Conn


class AuthConfigError(RuntimeError):
    """The configured auth mode contradicts the database: the server must not start."""


__all__ = [
    "DEFAULT_PROJECT",
    "ApiKeyService",
    "AuthConfigError",
    "AuthMode",
    "Authenticator",
    "check_project_name",
    "hash_key",
]

AuthMode = Literal["auto", "open", "keys"]

DEFAULT_PROJECT = "default"
_SECRET_PREFIX = "sk-ad-"
_PROJECT_NAME = re.compile(r"^[A-Za-z0-9_.-]{1,64}$")


def check_project_name(project: str) -> None:
    if not _PROJECT_NAME.match(project):
        raise InvalidRequest(
            "Project names are 1 to 64 letters, digits, '.', '_' or '-'.", param="project"
        )


def hash_key(secret: str) -> str:
    # Keys carry 256 random bits: a fast hash is as strong as a slow one here.
    return hashlib.sha256(secret.encode()).hexdigest()


class ApiKeyService:
    def __init__(self, db: Database) -> None:
        self.db = db
        self.repo = api_keys_repo

    async def create(self, project: str, name: str | None = None) -> tuple[ApiKeyRecord, str]:
        """A new key for `project`; the secret is returned here and never again."""
        check_project_name(project)
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

    def __init__(self, db: Database, ttl_s: float, mode: AuthMode = "auto") -> None:
        self.db = db
        self.ttl_s = ttl_s
        self.mode = mode
        self.repo = api_keys_repo
        self._hashes: dict[str, str] = {}
        # Once keys are required they stay required for the life of the process.
        self._keys_required = mode == "keys"
        self._loaded_at = float("-inf")
        self._lock = asyncio.Lock()

    def _load(self, conn: Conn) -> tuple[dict[str, str], bool]:
        return self.repo.active_hashes(conn), self.repo.any_ever(conn)

    async def _refresh(self) -> dict[str, str]:
        if time.monotonic() - self._loaded_at < self.ttl_s:
            return self._hashes
        async with self._lock:
            if time.monotonic() - self._loaded_at >= self.ttl_s:
                hashes, ever = await self.db.read(self._load)
                self._hashes = hashes
                # Never back to open; also fails closed if keys appear under AUTH=open.
                self._keys_required = self._keys_required or ever
                self._loaded_at = time.monotonic()
        return self._hashes

    async def describe(self) -> str:
        """The mode in force, for the start-up log."""
        hashes = await self._refresh()
        if self.mode == "open" and self._keys_required:
            raise AuthConfigError(
                "ASSISTANTD_AUTH=open, but API keys have been created in this database: "
                "refusing to serve without keys. Use ASSISTANTD_AUTH=auto or keys."
            )
        if not self._keys_required:
            return "open: no API key was ever created here; every request is project 'default'"
        return f"keys: every request needs an API key ({len(hashes)} active)"

    async def is_open(self) -> bool:
        await self._refresh()
        return not self._keys_required

    async def project_for(self, authorization: str | None) -> str:
        hashes = await self._refresh()
        if not self._keys_required:
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
