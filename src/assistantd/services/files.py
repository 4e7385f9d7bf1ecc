"""FileService: Files, their bytes in the blob store, and checks on file references."""

from __future__ import annotations

import asyncio
import logging
import mimetypes
import os
from collections.abc import Iterable
from functools import partial
from typing import BinaryIO

import orjson

from assistantd import clock
from assistantd.errors import InvalidRequest, NotFound
from assistantd.ids import IdKind, new_id
from assistantd.protocol.documents import FileDoc
from assistantd.protocol.files import FILE_PURPOSES, FileListParams
from assistantd.services.documents import encode
from assistantd.store.blobs import BlobStore, TempBlob, file_key
from assistantd.store.db import Database
from assistantd.store.repos.files import files_repo
from assistantd.store.repos.pages import render_list
from assistantd.store.sql import Conn

# OpenAI's limit for one image in a prompt.
MAX_IMAGE_BYTES = 20 * 1024 * 1024

__all__ = ["FileService", "blob_key", "file_doc"]

log = logging.getLogger(__name__)


def blob_key(file_id: str) -> str:
    return file_key(file_id)


def file_doc(
    *, file_id: str, filename: str, purpose: str, size: int, created_at: int, expires_at: int | None
) -> FileDoc:
    # Key order follows OpenAI's OpenAIFile reference; `expires_at` is an optional
    # integer there (not nullable), so a File that never expires leaves it out.
    if expires_at is None:
        return {
            "id": file_id,
            "object": "file",
            "bytes": size,
            "created_at": created_at,
            "filename": filename,
            "purpose": purpose,
            "status": "processed",
        }
    return {
        "id": file_id,
        "object": "file",
        "bytes": size,
        "created_at": created_at,
        "expires_at": expires_at,
        "filename": filename,
        "purpose": purpose,
        "status": "processed",
    }


class FileService:
    def __init__(self, db: Database, blobs: BlobStore) -> None:
        self.db = db
        self.blobs = blobs
        self.repo = files_repo

    async def create(
        self,
        project: str,
        temp: TempBlob,
        *,
        filename: str,
        purpose: str,
        expires_after_s: int | None = None,
    ) -> bytes:
        """Turn received bytes into a File. Takes ownership of `temp` (kept or discarded)."""
        if purpose not in FILE_PURPOSES:
            temp.discard()
            raise InvalidRequest(
                f"Invalid value: '{purpose}'. Supported values are: "
                + ", ".join(f"'{p}'" for p in FILE_PURPOSES)
                + ".",
                param="purpose",
                code="invalid_value",
            )
        file_id = new_id(IdKind.file)
        created_at = clock.now()
        expires_at = created_at + expires_after_s if expires_after_s else None
        doc = file_doc(
            file_id=file_id,
            filename=filename,
            purpose=purpose,
            size=temp.size,
            created_at=created_at,
            expires_at=expires_at,
        )
        return await self.store(project, temp, doc)

    async def store(self, project: str, temp: TempBlob, doc: FileDoc) -> bytes:
        """Keep `temp` as the bytes of the File `doc` describes, then record the File."""
        key = blob_key(doc["id"])
        try:
            await asyncio.to_thread(self.blobs.keep, temp, key)
        except BaseException:
            temp.discard()
            raise
        try:
            text = await self.db.write(lambda conn: self.record(conn, project, doc))
        except BaseException:
            self.blobs.delete(key)
            raise
        return text.encode()

    def record(self, conn: Conn, project: str, doc: FileDoc) -> str:
        """Insert the File `doc` describes (its bytes already kept); its JSON text."""
        text = encode(doc)
        row = {
            "id": doc["id"],
            "project": project,
            "created_at": doc["created_at"],
            "purpose": doc["purpose"],
            "bytes": doc["bytes"],
            "expires_at": doc.get("expires_at"),
            "doc": text,
        }
        self.repo.insert(conn, row)
        return text

    def filename(self, conn: Conn, project: str, file_id: str) -> str | None:
        raw = self.repo.get_doc(conn, project, file_id)
        return None if raw is None else str(orjson.loads(raw)["filename"])

    def _live(self, doc: bytes | None, file_id: str) -> bytes:
        if doc is None:
            raise NotFound.object("file", file_id)
        expires_at = orjson.loads(doc).get("expires_at")
        if expires_at is not None and expires_at <= clock.now():
            raise NotFound.object("file", file_id)
        return doc

    async def get(self, project: str, file_id: str) -> bytes:
        doc = await self.db.read(lambda conn: self.repo.get_doc(conn, project, file_id))
        return self._live(doc, file_id)

    async def open_content(self, project: str, file_id: str) -> tuple[BinaryIO, int, str]:
        """The File's bytes, opened, with their size and the File's name.

        Opened here, not by the response: once open, the bytes stay readable even if
        the File is deleted or expires mid-download (POSIX keeps an unlinked file's
        data while it is open); a File deleted before it could be opened is a 404.
        """
        doc = orjson.loads(await self.get(project, file_id))
        try:
            handle = await asyncio.to_thread(open, self.blobs.path(blob_key(file_id)), "rb")
        except FileNotFoundError:
            raise NotFound.object("file", file_id) from None
        return handle, os.fstat(handle.fileno()).st_size, doc["filename"]

    async def read_bytes(
        self, project: str, file_id: str, max_bytes: int
    ) -> tuple[str, bytes] | None:
        """A File's name and bytes (an image for a model, a file for the code sandbox);
        None when the File is gone or larger than `max_bytes`."""
        try:
            handle, size, filename = await self.open_content(project, file_id)
        except NotFound:
            return None
        with handle:
            if size > max_bytes:
                return None
            return filename, await asyncio.to_thread(handle.read)

    async def save_output(self, project: str, filename: str, data: bytes) -> str:
        """A File made by the server (an image or a file the code wrote), purpose
        `assistants_output` as on OpenAI; its id."""
        temp = self.blobs.temp()

        def fill() -> None:
            temp.write(data)
            temp.finish()  # fsync: not on the event loop

        try:
            await asyncio.to_thread(fill)
        except BaseException:
            temp.discard()
            raise
        doc = file_doc(
            file_id=new_id(IdKind.file),
            filename=filename,
            purpose="assistants_output",
            size=len(data),
            created_at=clock.now(),
            expires_at=None,
        )
        await self.store(project, temp, doc)
        file_id: str = doc["id"]
        return file_id

    async def read_image(self, project: str, file_id: str) -> tuple[bytes, str] | None:
        """An image File's bytes and media type, for a model that sees images; None when
        the File is gone or too large to send."""
        found = await self.read_bytes(project, file_id, MAX_IMAGE_BYTES)
        if found is None:
            return None
        filename, data = found
        media_type = mimetypes.guess_type(filename)[0] or ""
        return data, media_type if media_type.startswith("image/") else "image/png"

    async def delete(self, project: str, file_id: str) -> bytes:
        deleted = await self.db.write(lambda conn: self.repo.delete(conn, project, file_id))
        if not deleted:
            raise NotFound.object("file", file_id)
        self.blobs.delete(blob_key(file_id))
        return orjson.dumps({"id": file_id, "object": "file", "deleted": True})

    async def list(self, project: str, params: FileListParams) -> bytes:
        page = await self.db.read(lambda conn: self.repo.page_files(conn, project, params))
        return render_list(page)

    def check_refs(self, conn: Conn, project: str, refs: Iterable[tuple[str, str]]) -> None:
        """Every (file_id, param) must name a live File of this project: 400 otherwise."""
        now = clock.now()
        for file_id, param in refs:
            if not self.repo.exists(conn, project, file_id, now):
                raise InvalidRequest(
                    f"No file found with id '{file_id}'.", param=param, code="file_not_found"
                )

    async def sweep_expired(self, batch: int = 500) -> int:
        """Delete Files whose `expires_at` has passed, bytes included; returns how many."""
        expired = await self.db.read(lambda conn: self.repo.expired(conn, clock.now(), batch))
        for file_id, project in expired:
            await self.db.write(partial(self.repo.delete, project=project, object_id=file_id))
            self.blobs.delete(blob_key(file_id))
        return len(expired)
