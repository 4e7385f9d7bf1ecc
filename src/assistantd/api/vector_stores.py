"""/v1/vector_stores: stores, their files and file batches, and search."""

from __future__ import annotations

from typing import Any

from pydantic import ValidationError
from starlette.responses import Response
from starlette.routing import Route

from assistantd.api.deps import Call, list_params, read_body, v1
from assistantd.api.runs import polled
from assistantd.api.validation import invalid_request_from, parse_body
from assistantd.ids import IdKind
from assistantd.protocol.vector_stores import (
    FileBatchCreate,
    SearchRequest,
    StoreFileCreate,
    StoreFileListParams,
    StoreFileUpdate,
    VectorStoreCreate,
    VectorStoreUpdate,
)


def _store(call: Call) -> str:
    return call.path(IdKind.vector_store, "vector_store_id")


def _file(call: Call) -> str:
    return call.path(IdKind.file, "file_id")


def _batch(call: Call) -> str:
    return call.path(IdKind.vector_store_file_batch, "batch_id")


def _file_list_params(call: Call) -> StoreFileListParams:
    keys = ("limit", "order", "after", "before", "filter")
    raw: dict[str, Any] = {k: call.query[k] for k in keys if k in call.query}
    try:
        return StoreFileListParams.model_validate(raw)
    except ValidationError as exc:
        raise invalid_request_from(exc.errors(), raw) from None


async def create_store(call: Call) -> bytes:
    req = parse_body(VectorStoreCreate, await read_body(call))
    return await call.container.vector_stores.create(call.project, req)


async def list_stores(call: Call) -> bytes:
    return await call.container.vector_stores.list(call.project, list_params(call))


async def get_store(call: Call) -> bytes:
    return await call.container.vector_stores.get(call.project, _store(call))


async def modify_store(call: Call) -> bytes:
    store_id = _store(call)
    req = parse_body(VectorStoreUpdate, await read_body(call))
    return await call.container.vector_stores.update(call.project, store_id, req)


async def delete_store(call: Call) -> bytes:
    return await call.container.vector_stores.delete(call.project, _store(call))


async def attach_file(call: Call) -> Response:
    store_id = _store(call)
    req = parse_body(StoreFileCreate, await read_body(call))
    return polled(call, await call.container.vector_store_files.attach(call.project, store_id, req))


async def list_files(call: Call) -> bytes:
    store_id = _store(call)
    params = _file_list_params(call)
    return await call.container.vector_store_files.list_files(call.project, store_id, params)


async def get_file(call: Call) -> Response:
    store_id, file_id = _store(call), _file(call)
    return polled(
        call, await call.container.vector_store_files.get_file(call.project, store_id, file_id)
    )


async def update_file(call: Call) -> bytes:
    store_id, file_id = _store(call), _file(call)
    req = parse_body(StoreFileUpdate, await read_body(call))
    return await call.container.vector_store_files.update_file(
        call.project, store_id, file_id, req.attributes
    )


async def detach_file(call: Call) -> bytes:
    store_id, file_id = _store(call), _file(call)
    return await call.container.vector_store_files.detach(call.project, store_id, file_id)


async def file_content(call: Call) -> bytes:
    store_id, file_id = _store(call), _file(call)
    return await call.container.vector_store_files.content(call.project, store_id, file_id)


async def create_batch(call: Call) -> Response:
    store_id = _store(call)
    req = parse_body(FileBatchCreate, await read_body(call))
    return polled(
        call, await call.container.vector_store_files.create_batch(call.project, store_id, req)
    )


async def get_batch(call: Call) -> Response:
    store_id, batch_id = _store(call), _batch(call)
    return polled(
        call, await call.container.vector_store_files.get_batch(call.project, store_id, batch_id)
    )


async def cancel_batch(call: Call) -> bytes:
    store_id, batch_id = _store(call), _batch(call)
    return await call.container.vector_store_files.cancel_batch(call.project, store_id, batch_id)


async def list_batch_files(call: Call) -> bytes:
    store_id, batch_id = _store(call), _batch(call)
    params = _file_list_params(call)
    return await call.container.vector_store_files.list_files(
        call.project, store_id, params, batch_id
    )


async def search(call: Call) -> bytes:
    store_id = _store(call)
    req = parse_body(SearchRequest, await read_body(call))
    return await call.container.search.search_store(call.project, store_id, req)


_S = "/vector_stores/{vector_store_id}"
routes = [
    Route("/vector_stores", v1(create_store), methods=["POST"]),
    Route("/vector_stores", v1(list_stores), methods=["GET"]),
    Route(_S, v1(get_store), methods=["GET"]),
    Route(_S, v1(modify_store), methods=["POST"]),
    Route(_S, v1(delete_store), methods=["DELETE"]),
    Route(f"{_S}/files", v1(attach_file), methods=["POST"]),
    Route(f"{_S}/files", v1(list_files), methods=["GET"]),
    Route(f"{_S}/files/{{file_id}}", v1(get_file), methods=["GET"]),
    Route(f"{_S}/files/{{file_id}}", v1(update_file), methods=["POST"]),
    Route(f"{_S}/files/{{file_id}}", v1(detach_file), methods=["DELETE"]),
    Route(f"{_S}/files/{{file_id}}/content", v1(file_content), methods=["GET"]),
    Route(f"{_S}/file_batches", v1(create_batch), methods=["POST"]),
    Route(f"{_S}/file_batches/{{batch_id}}", v1(get_batch), methods=["GET"]),
    Route(f"{_S}/file_batches/{{batch_id}}/cancel", v1(cancel_batch), methods=["POST"]),
    Route(f"{_S}/file_batches/{{batch_id}}/files", v1(list_batch_files), methods=["GET"]),
    Route(f"{_S}/search", v1(search), methods=["POST"]),
]
