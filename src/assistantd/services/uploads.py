"""UploadService: large Files sent in parts (`uploads.upload_file_chunked`).

An Upload is pending until completed, cancelled or expired (an hour by default).
Parts are blobs of their own; completing joins the listed parts, in the order given,
into one new File. Whatever ends an Upload frees its parts.

Units of work here never raise after changing something (a unit that raises is
rolled back): they return the error, and the service raises it after the commit.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from functools import partial
from typing import Any, NoReturn

import orjson

from assistantd import clock
from assistantd.errors import APIError, InvalidRequest, NotFound
from assistantd.ids import IdKind, new_id
from assistantd.protocol.documents import UploadDoc
from assistantd.protocol.files import UploadComplete, UploadCreate
from assistantd.services.documents import encode
from assistantd.services.files import FileService, blob_key, file_doc
from assistantd.settings import Settings
from assistantd.store.blobs import BlobStore, TempBlob
from assistantd.store.db import Database
from assistantd.store.repos.files import uploads_repo
from assistantd.store.sql import Conn

__all__ = ["UploadService"]


def _part_key(part_id: str) -> str:
    return f"parts/{part_id}"


@dataclass
class _Outcome:
    """What a unit of work decided: the Upload as it now is, parts to free, an error."""

    doc: dict[str, Any] = field(default_factory=dict)
    freed: list[str] = field(default_factory=list)
    error: APIError | None = None
    parts: list[tuple[str, int]] = field(default_factory=list)
    file_expires_after_s: int | None = None


def _not_pending(upload_id: str, status: str, action: str) -> InvalidRequest:
    return InvalidRequest(
        f"Cannot {action} upload {upload_id}: its status is '{status}'.",
        param="upload_id",
        code="upload_not_pending",
    )


class UploadService:
    def __init__(
        self, db: Database, blobs: BlobStore, files: FileService, settings: Settings
    ) -> None:
        self.db = db
        self.blobs = blobs
        self.files = files
        self.settings = settings
        self.repo = uploads_repo

    async def create(self, project: str, req: UploadCreate) -> bytes:
        if req.bytes > self.settings.max_file_bytes:
            raise InvalidRequest(
                f"Invalid 'bytes': {req.bytes} is larger than this server's file size limit "
                f"of {self.settings.max_file_bytes} bytes.",
                param="bytes",
                code="file_too_large",
            )
        upload_id = new_id(IdKind.upload)
        created_at = clock.now()
        doc: UploadDoc = {
            "id": upload_id,
            "object": "upload",
            "bytes": req.bytes,
            "created_at": created_at,
            "filename": req.filename,
            "purpose": req.purpose,
            "status": "pending",
            "expires_at": created_at + self.settings.upload_ttl_s,
            "file": None,
        }
        text = encode(doc)
        row = {
            "id": upload_id,
            "project": project,
            "created_at": created_at,
            "expires_at": doc["expires_at"],
            "status": "pending",
            "mime_type": req.mime_type,
            "file_expires_after_s": req.expires_after.seconds if req.expires_after else None,
            "doc": text,
        }
        await self.db.write(lambda conn: self.repo.insert(conn, row))
        return text.encode()

    def _open(self, conn: Conn, project: str, upload_id: str, action: str) -> _Outcome:
        """Load and lock the Upload; expire it if its time is up; refuse unless pending."""
        found = self.repo.get_for_update(conn, project, upload_id)
        if found is None:
            return _Outcome(error=NotFound.object("upload", upload_id))
        raw, _mime, file_expiry = found
        out = _Outcome(doc=orjson.loads(raw), file_expires_after_s=file_expiry)
        if out.doc["status"] == "pending" and out.doc["expires_at"] <= clock.now():
            self._end(conn, out, "expired")
        if out.doc["status"] != "pending":
            out.error = out.error or _not_pending(upload_id, out.doc["status"], action)
        return out

    def _end(self, conn: Conn, out: _Outcome, status: str) -> None:
        upload_id = out.doc["id"]
        out.doc["status"] = status
        out.freed = [part_id for part_id, _ in self.repo.parts(conn, upload_id)]
        self.repo.delete_parts(conn, upload_id)
        self.repo.replace(conn, upload_id, encode(out.doc), status)

    def _settle(self, out: _Outcome) -> dict[str, Any]:
        for part_id in out.freed:
            self.blobs.delete(_part_key(part_id))
        if out.error is not None:
            raise out.error
        return out.doc

    async def add_part(self, project: str, upload_id: str, temp: TempBlob) -> bytes:
        """Record received bytes as the next Part. Takes ownership of `temp`."""
        part_id = new_id(IdKind.upload_part)
        created_at = clock.now()
        try:
            await asyncio.to_thread(self.blobs.keep, temp, _part_key(part_id))
        except BaseException:
            temp.discard()
            raise
        size = temp.size

        def unit(conn: Conn) -> _Outcome:
            out = self._open(conn, project, upload_id, "add a part to")
            if out.error is not None:
                return out
            received = sum(n for _, n in self.repo.parts(conn, upload_id)) + size
            if received > out.doc["bytes"]:
                out.error = InvalidRequest(
                    f"Upload {upload_id} was created for {out.doc['bytes']} bytes; this part "
                    f"would bring it to {received}.",
                    param="data",
                    code="upload_too_large",
                )
                return out
            row = {"id": part_id, "upload_id": upload_id, "created_at": created_at, "bytes": size}
            self.repo.add_part(conn, row)
            return out

        try:
            self._settle(await self.db.write(unit))
        except BaseException:
            self.blobs.delete(_part_key(part_id))
            raise
        return orjson.dumps(
            {
                "id": part_id,
                "object": "upload.part",
                "created_at": created_at,
                "upload_id": upload_id,
            }
        )

    async def cancel(self, project: str, upload_id: str) -> bytes:
        def unit(conn: Conn) -> _Outcome:
            out = self._open(conn, project, upload_id, "cancel")
            if out.error is None:
                self._end(conn, out, "cancelled")
            return out

        return orjson.dumps(self._settle(await self.db.write(unit)))

    async def complete(self, project: str, upload_id: str, req: UploadComplete) -> bytes:
        def check(conn: Conn) -> _Outcome:
            out = self._open(conn, project, upload_id, "complete")
            if out.error is None:
                out.parts = self.repo.parts(conn, upload_id)
                out.error = self._check_parts(out, req.part_ids)
                if out.error is not None:
                    self._end(conn, out, "cancelled")
            return out

        checked = await self.db.write(check)
        self._settle(checked)
        try:
            joined = await asyncio.to_thread(self.blobs.concat, map(_part_key, req.part_ids))
        except FileNotFoundError:
            # Cancelled or expired while its parts were being joined: say so (400/404).
            lost = InvalidRequest(
                f"The parts of upload {upload_id} were removed while they were being joined.",
                param="part_ids",
                code="upload_not_pending",
            )
            await self._cancel_after(project, upload_id, lost)
        if req.md5 is not None and joined.md5 != req.md5.lower():
            joined.discard()
            error = InvalidRequest(
                f"The md5 checksum of the joined parts ({joined.md5}) does not match "
                f"the one given ({req.md5}); the upload was cancelled.",
                param="md5",
                code="md5_mismatch",
            )
            await self._cancel_after(project, upload_id, error)
        return await self._finish(project, upload_id, checked, joined)

    @staticmethod
    def _check_parts(out: _Outcome, part_ids: list[str]) -> APIError | None:
        sizes = dict(out.parts)
        for index, part_id in enumerate(part_ids):
            if part_id not in sizes:
                return InvalidRequest(
                    f"Part '{part_id}' is not a part of upload {out.doc['id']}; "
                    "the upload was cancelled.",
                    param=f"part_ids[{index}]",
                    code="invalid_part",
                )
        if len(set(part_ids)) != len(part_ids):
            return InvalidRequest(
                "Each part may be listed once; the upload was cancelled.",
                param="part_ids",
                code="duplicate_part",
            )
        total = sum(sizes[p] for p in part_ids)
        if total != out.doc["bytes"]:
            return InvalidRequest(
                f"The parts hold {total} bytes but the upload was created for "
                f"{out.doc['bytes']}; the upload was cancelled.",
                param="part_ids",
                code="bytes_mismatch",
            )
        return None

    async def _cancel_after(self, project: str, upload_id: str, error: APIError) -> NoReturn:
        """Cancel the upload, then raise `error` (or why it was already cancelled or expired)."""

        def unit(conn: Conn) -> _Outcome:
            out = self._open(conn, project, upload_id, "complete")
            if out.error is None:
                self._end(conn, out, "cancelled")
            # Already cancelled or expired by someone else: that is the better answer.
            out.error = out.error or error
            return out

        out = await self.db.write(unit)
        self._settle(out)
        raise out.error or error  # _settle raised it: `out.error` is always set

    async def _finish(
        self, project: str, upload_id: str, checked: _Outcome, joined: TempBlob
    ) -> bytes:
        upload = checked.doc
        file_id = new_id(IdKind.file)
        created_at = clock.now()
        expiry = checked.file_expires_after_s
        file = file_doc(
            file_id=file_id,
            filename=upload["filename"],
            purpose=upload["purpose"],
            size=joined.size,
            created_at=created_at,
            expires_at=created_at + expiry if expiry else None,
        )
        try:
            await asyncio.to_thread(self.blobs.keep, joined, blob_key(file_id))
        except BaseException:
            joined.discard()
            raise

        def unit(conn: Conn) -> _Outcome:
            out = self._open(conn, project, upload_id, "complete")
            if out.error is not None:  # cancelled or expired while the parts were joined
                return out
            self.files.record(conn, project, file)
            out.doc["file"] = file
            self._end(conn, out, "completed")
            return out

        try:
            return orjson.dumps(self._settle(await self.db.write(unit)))
        except BaseException:
            self.blobs.delete(blob_key(file_id))
            raise

    async def sweep_expired(self, batch: int = 500) -> int:
        """Expire pending Uploads past their time, freeing their parts; returns how many."""
        now = clock.now()
        expired = await self.db.read(lambda conn: self.repo.expired(conn, now, batch))
        for upload_id, project in expired:
            out = await self.db.write(
                partial(self._open, project=project, upload_id=upload_id, action="expire")
            )
            for part_id in out.freed:
                self.blobs.delete(_part_key(part_id))
        return len(expired)
