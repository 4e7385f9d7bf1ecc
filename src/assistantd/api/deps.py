"""The endpoint adapter: every /v1 route is a small ASGI app that authenticates, runs a
handler and answers the handler's JSON bytes.

Endpoints are raw ASGI callables rather than Starlette request/response functions: a
`Request`, its parsed `Headers` and a `Response` object per call cost about a quarter
of a create on the hot path (bench/RESULTS.md). Routing, 404/405 and exception
rendering stay Starlette's.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Collection, MutableMapping
from typing import Any
from urllib.parse import parse_qsl

from pydantic import ValidationError
from starlette.responses import Response

from assistantd.api.validation import check_no_nul, invalid_request_from
from assistantd.container import Container
from assistantd.errors import InvalidRequest, PayloadTooLarge, RequestTimeout
from assistantd.ids import IdKind, InvalidIdError, check_id
from assistantd.observability.logs import PROJECT
from assistantd.protocol.common import ListParams

__all__ = [
    "Call",
    "ClientDisconnected",
    "include_params",
    "list_params",
    "path_id",
    "read_body",
    "receive_body",
    "v1",
]

Scope = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[MutableMapping[str, Any]]]
Send = Callable[[MutableMapping[str, Any]], Awaitable[None]]


class ClientDisconnected(Exception):
    """The client went away before its request was read; there is nobody to answer."""


class Call:
    """One authenticated /v1 request: what an endpoint handler receives."""

    __slots__ = ("_query", "container", "content_length", "project", "receive", "scope")

    def __init__(
        self,
        scope: Scope,
        receive: Receive,
        container: Container,
        project: str,
        content_length: int | None,
    ) -> None:
        self.scope = scope
        self.receive = receive
        self.container = container
        self.project = project
        self.content_length = content_length
        self._query: dict[str, str] | None = None

    def path(self, kind: IdKind, name: str) -> str:
        """A path id, checked to be of `kind` before anything touches the database."""
        value: str = self.scope["path_params"][name]
        return path_id(kind, value, name)

    def header(self, name: bytes) -> bytes | None:
        """A request header by lower-case name (the last one, if repeated)."""
        value: bytes | None = None
        for key, item in self.scope["headers"]:
            if key == name:
                value = item
        return value

    @property
    def query(self) -> dict[str, str]:
        """Query parameters; a repeated name keeps its last value."""
        if self._query is None:
            raw = self.scope.get("query_string", b"").decode("latin-1")
            query = dict(parse_qsl(raw, keep_blank_values=True))
            for name, value in query.items():
                check_no_nul(value, name)
            self._query = query
        return self._query


# Most handlers answer JSON bytes; a few (file content) answer a whole Response.
Handler = Callable[[Call], Awaitable[bytes | Response]]
_JSON_HEADER = (b"content-type", b"application/json")


def _auth_and_length(scope: Scope) -> tuple[str | None, int | None]:
    authorization: str | None = None
    length: int | None = None
    for name, value in scope["headers"]:
        if name == b"authorization":
            authorization = value.decode("latin-1")
        elif name == b"content-length" and value.isdigit():
            length = int(value)
    return authorization, length


class _Endpoint:
    """An ASGI app around a handler. A class, not a function: Starlette would wrap a
    function in its request/response machinery, which is what this avoids."""

    __slots__ = ("handler", "uses_model")

    def __init__(self, handler: Handler, uses_model: bool) -> None:
        self.handler = handler
        self.uses_model = uses_model

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        container: Container = scope["app"].state.container
        authorization, length = _auth_and_length(scope)
        project = await container.auth.project_for(authorization)
        PROJECT.set(project)
        limits = await container.rate_limits.admit(project, uses_model=self.uses_model)
        try:
            body = await self.handler(Call(scope, receive, container, project, length))
        except ClientDisconnected:
            return
        if isinstance(body, Response):
            body.raw_headers.extend(limits)
            await body(scope, receive, send)
            return
        await send(
            {
                "type": "http.response.start",
                "status": 200,
                "headers": [_JSON_HEADER, (b"content-length", b"%d" % len(body)), *limits],
            }
        )
        await send({"type": "http.response.body", "body": body})


def v1(handler: Handler, *, uses_model: bool = False) -> _Endpoint:
    """Wrap a handler as an endpoint: authenticate first, answer its bytes as JSON.

    Every /v1 route goes through here, so no endpoint can forget to scope by project
    or skip its rate limits; `uses_model` routes (those that start a model turn) also
    need model tokens left.
    """
    return _Endpoint(handler, uses_model)


async def read_body(call: Call) -> bytes:
    """The request body, refused with 413 past the configured size, without buffering more."""
    limit = call.container.settings.max_json_body_bytes
    if call.content_length is not None and call.content_length > limit:
        raise PayloadTooLarge(f"Request body too large: the limit is {limit} bytes.")
    chunks: list[bytes] = []
    size = 0
    more = True
    while more:
        message = await receive_body(call)
        chunk: bytes = message.get("body", b"")
        size += len(chunk)
        if size > limit:
            raise PayloadTooLarge(f"Request body too large: the limit is {limit} bytes.")
        chunks.append(chunk)
        more = message.get("more_body", False)
    return chunks[0] if len(chunks) == 1 else b"".join(chunks)


async def receive_body(call: Call) -> MutableMapping[str, Any]:
    """The next piece of the request body. A client that goes silent mid-body for
    `body_idle_timeout_s` gets a 408 and its connection closed (a stalled upload must
    not hold its temp file, a socket and a task for as long as it likes)."""
    idle = call.container.settings.body_idle_timeout_s
    try:
        async with asyncio.timeout(idle):  # a timer handle; wait_for would add a task
            message = await call.receive()
    except TimeoutError:
        raise RequestTimeout(
            f"The request body stopped arriving: nothing came for {idle:g} seconds."
        ) from None
    if message["type"] == "http.disconnect":
        raise ClientDisconnected
    return message


_LIST_KEYS = ("limit", "order", "after", "before")
_DEFAULT_LIST = ListParams()


def list_params(call: Call) -> ListParams:
    query = call.query
    raw: dict[str, Any] = {k: query[k] for k in _LIST_KEYS if k in query}
    if not raw:
        return _DEFAULT_LIST
    try:
        return ListParams.model_validate(raw)
    except ValidationError as exc:
        raise invalid_request_from(exc.errors(), raw) from None


def include_params(call: Call, allowed: Collection[str]) -> list[str]:
    """`include[]` (or `include`) query values, each one of `allowed`, else a 400."""
    raw = call.scope.get("query_string", b"").decode("latin-1")
    included: list[str] = []
    for key, value in parse_qsl(raw, keep_blank_values=True):
        if key not in ("include[]", "include"):
            continue
        if value not in allowed:
            supported = ", ".join(f"'{v}'" for v in sorted(allowed))
            raise InvalidRequest(
                f"Invalid value: '{value}'. Supported values are: {supported}.",
                param="include",
                code="invalid_value",
            )
        included.append(value)
    return included


def path_id(kind: IdKind, value: str, param: str) -> str:
    try:
        return check_id(kind, value, param)
    except InvalidIdError as exc:
        raise InvalidRequest(str(exc), param=param, code="invalid_id") from None
