"""What every route needs: the container, the caller's project, its body, list params, ids."""

from __future__ import annotations

from typing import Any

from fastapi import Request, Response
from pydantic import ValidationError

from assistantd.api.validation import invalid_request_from
from assistantd.container import Container
from assistantd.errors import InvalidRequest, PayloadTooLarge
from assistantd.ids import IdKind, InvalidIdError, check_id
from assistantd.protocol.common import ListParams

__all__ = [
    "JSONBytes",
    "authenticate",
    "container",
    "list_params",
    "path_id",
    "project",
    "read_body",
]


class JSONBytes(Response):
    """A response whose body is JSON the service already encoded."""

    media_type = "application/json"


def container(request: Request) -> Container:
    c: Container = request.app.state.container
    return c


async def authenticate(request: Request) -> None:
    """Router-level dependency: every /v1 request is scoped to its key's project."""
    header = request.headers.get("authorization")
    request.state.project = await container(request).auth.project_for(header)


def project(request: Request) -> str:
    value: str = request.state.project
    return value


async def read_body(request: Request) -> bytes:
    """The request body, refused with 413 past the configured size, without buffering more."""
    limit = container(request).settings.max_json_body_bytes
    declared = request.headers.get("content-length")
    if declared is not None and declared.isdigit() and int(declared) > limit:
        raise PayloadTooLarge(f"Request body too large: the limit is {limit} bytes.")
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            raise PayloadTooLarge(f"Request body too large: the limit is {limit} bytes.")
        chunks.append(chunk)
    return b"".join(chunks)


def list_params(request: Request) -> ListParams:
    query = request.query_params
    raw: dict[str, Any] = {k: query[k] for k in ("limit", "order", "after", "before") if k in query}
    try:
        return ListParams.model_validate(raw)
    except ValidationError as exc:
        raise invalid_request_from(exc.errors(), raw) from None


def path_id(kind: IdKind, value: str, param: str) -> str:
    try:
        return check_id(kind, value, param)
    except InvalidIdError as exc:
        raise InvalidRequest(str(exc), param=param, code="invalid_id") from None
