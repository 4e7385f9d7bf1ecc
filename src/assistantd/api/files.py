"""/v1/files"""

from __future__ import annotations

import asyncio
import mimetypes
from collections.abc import AsyncIterator
from typing import Any
from urllib.parse import quote

from pydantic import ValidationError
from starlette.responses import Response, StreamingResponse
from starlette.routing import Route

from assistantd.api.deps import Call, v1
from assistantd.api.multipart import read_form
from assistantd.api.validation import invalid_request_from
from assistantd.errors import InvalidRequest
from assistantd.ids import IdKind
from assistantd.protocol.files import FileExpiration, FileListParams


def _expires_after_s(fields: dict[str, str]) -> int | None:
    anchor = fields.get("expires_after[anchor]")
    seconds = fields.get("expires_after[seconds]")
    if anchor is None and seconds is None:
        return None
    raw: dict[str, Any] = {"anchor": anchor, "seconds": seconds}
    try:
        return FileExpiration.model_validate(raw).seconds
    except ValidationError as exc:
        error = invalid_request_from(exc.errors(), raw)
        error.param = f"expires_after.{error.param}" if error.param else "expires_after"
        raise error from None


async def create_file(call: Call) -> bytes:
    c = call.container
    form = await read_form(
        call, file_field="file", blobs=c.blobs, max_file_bytes=c.settings.max_file_bytes
    )
    temp = form.file
    try:
        if temp is None:
            raise InvalidRequest(
                "Missing required parameter: 'file'.",
                param="file",
                code="missing_required_parameter",
            )
        if not form.filename or not form.filename.strip():
            raise InvalidRequest(
                "Invalid 'file': the file name is empty.", param="file", code="empty_filename"
            )
        purpose = form.fields.get("purpose")
        if not purpose:
            raise InvalidRequest(
                "Missing required parameter: 'purpose'.",
                param="purpose",
                code="missing_required_parameter",
            )
        expires_after_s = _expires_after_s(form.fields)
    except BaseException:
        if temp is not None:
            temp.discard()
        raise
    return await c.files.create(
        call.project,
        temp,
        filename=form.filename,
        purpose=purpose,
        expires_after_s=expires_after_s,
    )


async def list_files(call: Call) -> bytes:
    raw: dict[str, Any] = {
        k: call.query[k] for k in ("limit", "order", "after", "purpose") if k in call.query
    }
    try:
        params = FileListParams.model_validate(raw)
    except ValidationError as exc:
        raise invalid_request_from(exc.errors(), raw) from None
    return await call.container.files.list(call.project, params)


async def get_file(call: Call) -> bytes:
    return await call.container.files.get(call.project, call.path(IdKind.file, "file_id"))


async def delete_file(call: Call) -> bytes:
    return await call.container.files.delete(call.project, call.path(IdKind.file, "file_id"))


# Starlette's FileResponse reads 64 KiB per thread hop; 1 MiB moves large files faster.
_CHUNK = 1024 * 1024


def _disposition(filename: str) -> str:
    quoted = quote(filename)
    if quoted != filename:
        return f"attachment; filename*=utf-8''{quoted}"
    return f'attachment; filename="{filename}"'


async def file_content(call: Call) -> Response:
    # The service opens the bytes while the File is known to exist, so a delete or an
    # expiry racing the download cannot turn into a 500 (FileResponse opens the path
    # only once the response starts).
    handle, size, filename = await call.container.files.open_content(
        call.project, call.path(IdKind.file, "file_id")
    )

    async def chunks() -> AsyncIterator[bytes]:
        try:
            while chunk := await asyncio.to_thread(handle.read, _CHUNK):
                yield chunk
        finally:
            handle.close()

    media_type = mimetypes.guess_type(filename)[0] or "application/octet-stream"
    headers = {"content-length": str(size), "content-disposition": _disposition(filename)}
    return StreamingResponse(chunks(), media_type=media_type, headers=headers)


routes = [
    Route("/files", v1(create_file), methods=["POST"]),
    Route("/files", v1(list_files), methods=["GET"]),
    Route("/files/{file_id}", v1(get_file), methods=["GET"]),
    Route("/files/{file_id}", v1(delete_file), methods=["DELETE"]),
    Route("/files/{file_id}/content", v1(file_content), methods=["GET"]),
]
