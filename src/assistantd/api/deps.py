"""What every endpoint needs: the container, the caller's project, its body, list params, ids."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from pydantic import ValidationError
from starlette.requests import Request
from starlette.responses import Response

from assistantd.api.validation import invalid_request_from
from assistantd.container import Container
from assistantd.errors import InvalidRequest, PayloadTooLarge
from assistantd.ids import IdKind, InvalidIdError, check_id
from assistantd.protocol.common import ListParams

__all__ = [
    "Call",
    "JSONBytes",
    "list_params",
    "path_id",
    "read_body",
    "v1",
]


class JSONBytes(Response):
    """A response whose body is JSON the service already encoded."""

    media_type = "application/json"


class Call:
    """One authenticated /v1 request: what an endpoint handler receives."""

    __slots__ = ("container", "project", "request")

    def __init__(self, request: Request, container: Container, project: str) -> None:
        self.request = request
        self.container = container
        self.project = project

    def path(self, kind: IdKind, name: str) -> str:
        """A path id, checked to be of `kind` before anything touches the database."""
        return path_id(kind, self.request.path_params[name], name)


Handler = Callable[[Call], Awaitable[bytes]]


def v1(handler: Handler) -> Callable[[Request], Awaitable[Response]]:
    """Wrap a handler as an endpoint: authenticate first, answer its bytes as JSON.

    Every /v1 route goes through here, so no endpoint can forget to scope by project.
    """

    async def endpoint(request: Request) -> Response:
        container: Container = request.app.state.container
        header = request.headers.get("authorization")
        project = await container.auth.project_for(header)
        return JSONBytes(await handler(Call(request, container, project)))

    endpoint.__name__ = handler.__name__
    return endpoint


async def read_body(call: Call) -> bytes:
    """The request body, refused with 413 past the configured size, without buffering more."""
    request = call.request
    limit = call.container.settings.max_json_body_bytes
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


def list_params(call: Call) -> ListParams:
    query = call.request.query_params
    raw: dict[str, Any] = {k: query[k] for k in ("limit", "order", "after", "before") if k in query}
    if not raw:
        return _DEFAULT_LIST
    try:
        return ListParams.model_validate(raw)
    except ValidationError as exc:
        raise invalid_request_from(exc.errors(), raw) from None


_DEFAULT_LIST = ListParams()


def path_id(kind: IdKind, value: str, param: str) -> str:
    try:
        return check_id(kind, value, param)
    except InvalidIdError as exc:
        raise InvalidRequest(str(exc), param=param, code="invalid_id") from None
