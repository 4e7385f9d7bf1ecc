"""Validates every JSON response the SDK receives against the official OpenAPI subset.

Responses are matched to an operation by method and path and checked against that
operation's 200 schema, or against `ErrorResponse` for any error status. Two
deliberate deviations are encoded here: an empty list carries `first_id`/`last_id`
null, as OpenAI answered, which the schema's "required string" cannot express
(see the spec README, known problem #3); and a File uploaded with `purpose` "evals",
which the spec accepts as input, says so in its answer, although the output enum
(and the SDK's `FileObject`) stops short of it.
"""

from __future__ import annotations

import re
from functools import cache
from pathlib import Path
from typing import Any

import httpx2
import jsonschema
import orjson
import yaml
from referencing import Registry, Resource
from referencing.jsonschema import DRAFT202012

SPEC = Path(__file__).parent / "spec" / "assistants-openapi.nullable-3.1.yaml"
# The model endpoints' blocks of the full spec (extract_model_endpoints.py made it).
MODEL_ENDPOINTS = Path(__file__).parent / "spec" / "model-endpoints.json"
_UNCOVERED = ("/v1/models",)  # not an Assistants operation; outside the subset
_CHUNK = "#/components/schemas/CreateChatCompletionStreamResponse"
_RESPONSE_EVENT = "#/components/schemas/ResponseStreamEvent"
_RESPONSE_STREAMS = re.compile(r"^/v1/responses(/[^/]+)?$")


class SchemaMismatch(AssertionError):
    pass


@cache
def _spec() -> dict[str, Any]:
    spec: dict[str, Any] = yaml.safe_load(SPEC.read_text())
    for name, schema in spec["components"]["schemas"].items():
        if name.startswith("List") and name.endswith("Response"):
            for key in ("first_id", "last_id"):
                prop = schema.get("properties", {}).get(key)
                if prop is not None and prop.get("type") == "string":
                    prop["type"] = ["string", "null"]
    spec["components"]["schemas"]["OpenAIFile"]["properties"]["purpose"]["enum"].append("evals")
    # A store created without a name has `name: null`, as OpenAI answered
    # (docs/vector-stores.md, "Shapes seen on the wire"); the schema says string.
    store = spec["components"]["schemas"]["VectorStoreObject"]["properties"]
    store["name"] = {"anyOf": [store["name"], {"type": "null"}]}
    models = orjson.loads(MODEL_ENDPOINTS.read_bytes())
    spec["paths"].update(models["paths"])
    for name, schema in models["components"]["schemas"].items():
        spec["components"]["schemas"].setdefault(name, schema)
    # An empty page of items has null ids, as every empty list here (docs/contract.md).
    items = spec["components"]["schemas"]["ConversationItemList"]["properties"]
    for key in ("first_id", "last_id"):
        items[key] = {"anyOf": [items[key], {"type": "null"}]}
    # Two Responses operations document their 404 as a bare Error; OpenAI answers every
    # error wrapped in `{"error": ...}`, which is what the SDKs read (ErrorResponse).
    for path, method in (("/responses/{response_id}", "delete"),
                         ("/responses/{response_id}/cancel", "post")):  # fmt: skip
        content = spec["paths"][path][method]["responses"]["404"]["content"]
        content["application/json"]["schema"] = {"$ref": "#/components/schemas/ErrorResponse"}
    # `encoding_format: "base64"` (the Python SDK's default) answers each embedding as a
    # base64 string; the schema types only the float array.
    embedding = spec["components"]["schemas"]["Embedding"]["properties"]
    embedding["embedding"] = {"anyOf": [embedding["embedding"], {"type": "string"}]}
    return spec


@cache
def _routes() -> list[tuple[str, re.Pattern[str], dict[str, Any]]]:
    routes = []
    for path, ops in _spec()["paths"].items():
        pattern = re.compile("^/v1" + re.sub(r"\{[^}]+\}", "[^/]+", path) + "$")
        for method, op in ops.items():
            if method in ("get", "post", "delete"):
                routes.append((method.upper(), pattern, op))
    # Literal paths first, so /threads/runs is not taken for /threads/{thread_id}.
    routes.sort(key=lambda r: r[1].pattern.count("[^/]+"))
    return routes


@cache
def _validator(ref: str) -> jsonschema.Draft202012Validator:
    resource = Resource.from_contents(_spec(), default_specification=DRAFT202012)
    registry: Registry[Any] = Registry().with_resource("urn:spec", resource)
    return jsonschema.Draft202012Validator({"$ref": f"urn:spec{ref}"}, registry=registry)


def _schema_ref(op: dict[str, Any], status: int) -> str | None:
    if status >= 400:
        return "#/components/schemas/ErrorResponse"
    content = op["responses"].get("200", {}).get("content", {})
    schema = content.get("application/json", {}).get("schema")
    if schema is None or "$ref" not in schema:
        return None
    ref: str = schema["$ref"]
    return ref


validated: list[str] = []


# Our listing extensions (no spec operation): each answers a list of spec objects.
_LISTINGS = {
    "/v1/threads": "#/components/schemas/ThreadObject",
    "/v1/conversations": "#/components/schemas/ConversationResource",
}


def _validate_listing(path: str, page: dict[str, Any], ref: str) -> None:
    """A listing extension answers a list like every other, of the spec's objects."""
    if set(page) != {"object", "data", "first_id", "last_id", "has_more"}:
        raise SchemaMismatch(f"GET {path}: not a list object: {sorted(page)}")
    for item in page["data"]:
        errors = sorted(_validator(ref).iter_errors(item), key=str)
        if errors:
            raise SchemaMismatch(f"GET {path}: an item is not a {ref}: {errors[0]}")


def validate_response(method: str, path: str, status: int, body: bytes, content_type: str) -> None:
    if path.startswith(_UNCOVERED) or not path.startswith("/v1/"):
        return
    listed = _LISTINGS.get(path) if method == "GET" else None
    if listed is not None and status == 200:
        _validate_listing(path, orjson.loads(body), listed)  # our extension: no spec operation
        return
    op = next((o for m, p, o in _routes() if m == method and p.match(path)), None)
    if op is None and listed is None:
        raise SchemaMismatch(f"{method} {path} is not an operation of the spec")
    if path == "/v1/chat/completions" and "text/event-stream" in content_type:
        _validate_chunks(body)
        return
    if _RESPONSE_STREAMS.match(path) and "text/event-stream" in content_type:
        _validate_response_events(body)
        return
    ref = _schema_ref(op or {"responses": {}}, status)
    if ref is None or "application/json" not in content_type:
        return
    errors = sorted(_validator(ref).iter_errors(orjson.loads(body)), key=str)
    if errors:
        raise SchemaMismatch(f"{method} {path} ({status}) does not match {ref}: {errors[0]}")
    validated.append(f"{method} {path}")


def _validate_chunks(body: bytes) -> None:
    """A streamed chat completion: every `data:` line a spec chunk (or an error), then
    `[DONE]`."""
    lines = [line[6:] for line in body.split(b"\n") if line.startswith(b"data: ")]
    if lines[-1:] != [b"[DONE]"] and not (lines and b'"error"' in lines[-1]):
        raise SchemaMismatch("a streamed chat completion did not end with [DONE]")
    for data in lines:
        if data == b"[DONE]" or data.startswith(b'{"error"'):
            continue
        errors = sorted(_validator(_CHUNK).iter_errors(orjson.loads(data)), key=str)
        if errors:
            raise SchemaMismatch(f"a chat completion chunk does not match {_CHUNK}: {errors[0]}")
    validated.append("POST /v1/chat/completions (stream)")


@cache
def _event_refs() -> dict[str, str]:
    """Each event type of the stream's union → its own schema (a clearer error than
    the union's)."""
    schemas = _spec()["components"]["schemas"]
    refs = {}
    for option in schemas["ResponseStreamEvent"]["anyOf"]:
        ref = option["$ref"]
        kind = schemas[ref.rsplit("/", 1)[1]]["properties"]["type"]
        for name in kind.get("enum") or [kind.get("const")]:
            refs[name] = ref
    return refs


def _validate_response_events(body: bytes) -> None:
    """A Response's stream: `event:` + `data:` frames, each data a spec stream event
    whose type is the frame's event name; no `[DONE]` line."""
    frames = [f for f in body.split(b"\n\n") if b"data: " in f]
    for frame in frames:
        lines = frame.split(b"\n")
        names = [line[7:] for line in lines if line.startswith(b"event: ")]
        data = b"".join(line[6:] for line in lines if line.startswith(b"data: "))
        if data == b"[DONE]":
            raise SchemaMismatch("a Response stream sent [DONE], which OpenAI never does")
        event = orjson.loads(data)
        if names != [event["type"].encode()]:
            raise SchemaMismatch(f"event name {names} for an event of type {event['type']}")
        ref = _event_refs().get(event["type"])
        if ref is None:
            raise SchemaMismatch(f"{event['type']} is not an event of {_RESPONSE_EVENT}")
        errors = sorted(_validator(ref).iter_errors(event), key=str)
        if errors:
            raise SchemaMismatch(f"{event['type']} does not match {ref}: {errors[0]}")
    validated.append("Responses stream")


def _validate(response: httpx2.Response) -> None:
    request = response.request
    content_type = response.headers.get("content-type", "")
    validate_response(
        request.method, request.url.path, response.status_code, response.content, content_type
    )


def hook(response: httpx2.Response) -> None:
    response.read()
    _validate(response)


async def async_hook(response: httpx2.Response) -> None:
    await response.aread()
    _validate(response)
