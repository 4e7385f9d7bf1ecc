"""File and Upload queries."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from sqlalchemy import bindparam, delete, insert, select, update

from assistantd.protocol.files import FileListParams
from assistantd.store.repos.documents import DocumentRepository
from assistantd.store.repos.pages import Page, fetch_page
from assistantd.store.sql import Conn, Query, as_bytes
from assistantd.store.tables import FileRow, UploadPartRow, UploadRow, table_of

__all__ = ["FileRepository", "UploadRepository", "files_repo", "uploads_repo"]

_files = table_of(FileRow)
_uploads = table_of(UploadRow)
_parts = table_of(UploadPartRow)

_EXPIRED_FILES = Query(
    select(_files.c.id, _files.c.project)
    .where(_files.c.expires_at <= bindparam("now"))
    .order_by(_files.c.expires_at)
    .limit(bindparam("limit"))
)
_FILE_EXPIRES_AT = Query(
    select(_files.c.expires_at).where(
        _files.c.id == bindparam("id"), _files.c.project == bindparam("project")
    )
)


class FileRepository(DocumentRepository):
    def __init__(self) -> None:
        super().__init__(_files)

    def page_files(self, conn: Conn, project: str, params: FileListParams) -> Page:
        scope: dict[str, Any] = {"project": project}
        if params.purpose is not None:
            scope["purpose"] = params.purpose
        return fetch_page(conn, _files, scope, params)

    def exists(self, conn: Conn, project: str, file_id: str, now: int) -> bool:
        row = conn.first(_FILE_EXPIRES_AT, {"id": file_id, "project": project})
        return row is not None and (row[0] is None or row[0] > now)

    def expired(self, conn: Conn, now: int, limit: int) -> list[tuple[str, str]]:
        """(id, project) of Files whose expiry has passed, oldest first."""
        return [(r[0], r[1]) for r in conn.all(_EXPIRED_FILES, {"now": now, "limit": limit})]


_UPLOAD_GET_FOR_UPDATE = Query(
    select(as_bytes(_uploads.c.doc), _uploads.c.mime_type, _uploads.c.file_expires_after_s)
    .where(_uploads.c.id == bindparam("id"), _uploads.c.project == bindparam("project"))
    .with_for_update()
)
_UPLOAD_INSERT = Query(insert(_uploads))
_UPLOAD_REPLACE = Query(
    update(_uploads)
    .where(_uploads.c.id == bindparam("key_id"))
    .values(doc=bindparam("doc"), status=bindparam("status"))
)
_PART_INSERT = Query(insert(_parts))
_PARTS = Query(
    select(_parts.c.id, _parts.c.bytes)
    .where(_parts.c.upload_id == bindparam("upload_id"))
    .order_by(_parts.c.id)
)
_PARTS_DELETE = Query(delete(_parts).where(_parts.c.upload_id == bindparam("upload_id")))
_EXPIRED_UPLOADS = Query(
    select(_uploads.c.id, _uploads.c.project)
    .where(_uploads.c.status == "pending", _uploads.c.expires_at <= bindparam("now"))
    .limit(bindparam("limit"))
)


class UploadRepository:
    def insert(self, conn: Conn, values: Mapping[str, Any]) -> None:
        conn.execute(_UPLOAD_INSERT, values)

    def get_for_update(
        self, conn: Conn, project: str, upload_id: str
    ) -> tuple[bytes, str, int | None] | None:
        """(document, mime type, the File's expiry in seconds) of an Upload, row locked."""
        row = conn.first(_UPLOAD_GET_FOR_UPDATE, {"id": upload_id, "project": project})
        return (row[0], row[1], row[2]) if row else None

    def replace(self, conn: Conn, upload_id: str, doc: str, status: str) -> None:
        conn.execute(_UPLOAD_REPLACE, {"key_id": upload_id, "doc": doc, "status": status})

    def add_part(self, conn: Conn, values: Mapping[str, Any]) -> None:
        conn.execute(_PART_INSERT, values)

    def parts(self, conn: Conn, upload_id: str) -> list[tuple[str, int]]:
        return [(r[0], r[1]) for r in conn.all(_PARTS, {"upload_id": upload_id})]

    def delete_parts(self, conn: Conn, upload_id: str) -> None:
        conn.execute(_PARTS_DELETE, {"upload_id": upload_id})

    def expired(self, conn: Conn, now: int, limit: int) -> list[tuple[str, str]]:
        """(id, project) of pending Uploads past their expiry."""
        return [(r[0], r[1]) for r in conn.all(_EXPIRED_UPLOADS, {"now": now, "limit": limit})]


# The one instance of each: repositories hold compiled statements and no state.
files_repo = FileRepository()
uploads_repo = UploadRepository()
