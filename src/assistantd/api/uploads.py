"""/v1/uploads"""

from __future__ import annotations

from starlette.routing import Route

from assistantd.api.deps import Call, read_body, v1
from assistantd.api.multipart import read_form
from assistantd.api.validation import parse_body
from assistantd.errors import InvalidRequest
from assistantd.ids import IdKind
from assistantd.protocol.files import UploadComplete, UploadCreate


async def create_upload(call: Call) -> bytes:
    req = parse_body(UploadCreate, await read_body(call))
    return await call.container.uploads.create(call.project, req)


async def add_part(call: Call) -> bytes:
    upload_id = call.path(IdKind.upload, "upload_id")
    c = call.container
    form = await read_form(
        call, file_field="data", blobs=c.blobs, max_file_bytes=c.settings.max_upload_part_bytes
    )
    if form.file is None:
        raise InvalidRequest(
            "Missing required parameter: 'data'.", param="data", code="missing_required_parameter"
        )
    return await c.uploads.add_part(call.project, upload_id, form.file)


async def complete_upload(call: Call) -> bytes:
    upload_id = call.path(IdKind.upload, "upload_id")
    req = parse_body(UploadComplete, await read_body(call))
    return await call.container.uploads.complete(call.project, upload_id, req)


async def cancel_upload(call: Call) -> bytes:
    upload_id = call.path(IdKind.upload, "upload_id")
    return await call.container.uploads.cancel(call.project, upload_id)


routes = [
    Route("/uploads", v1(create_upload), methods=["POST"]),
    Route("/uploads/{upload_id}/parts", v1(add_part), methods=["POST"]),
    Route("/uploads/{upload_id}/complete", v1(complete_upload), methods=["POST"]),
    Route("/uploads/{upload_id}/cancel", v1(cancel_upload), methods=["POST"]),
]
