"""Bad input answers 400/404/413 in OpenAI's error shape, with `param` naming the field."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import httpx
import openai
import pytest

from tests.contract import schema
from tests.contract.helpers import error_body
from tests.servers import Server

Create = Callable[[openai.OpenAI, str], Any]

# (case id, call, expected param, expected code)
BAD_INPUT: list[tuple[str, Create, str | None, str]] = [
    (
        "unknown assistant field",
        lambda c, t: c.beta.assistants.create(model="m", extra_body={"colour": "red"}),
        "colour",
        "unknown_parameter",
    ),
    (
        "missing model",
        lambda c, t: c.post("/assistants", body={"name": "x"}, cast_to=object),
        "model",
        "missing_required_parameter",
    ),
    (
        "temperature wrong type",
        lambda c, t: c.beta.assistants.create(model="m", temperature="hot"),  # type: ignore[arg-type]
        "temperature",
        "invalid_type",
    ),
    (
        "temperature above max",
        lambda c, t: c.beta.assistants.create(model="m", temperature=2.5),
        "temperature",
        "decimal_above_max_value",
    ),
    (
        "top_p below min",
        lambda c, t: c.beta.assistants.create(model="m", top_p=-0.1),
        "top_p",
        "decimal_below_min_value",
    ),
    (
        "name too long",
        lambda c, t: c.beta.assistants.create(model="m", name="n" * 257),
        "name",
        "string_above_max_length",
    ),
    (
        "description too long",
        lambda c, t: c.beta.assistants.create(model="m", description="d" * 513),
        "description",
        "string_above_max_length",
    ),
    (
        "instructions too long",
        lambda c, t: c.beta.assistants.create(model="m", instructions="i" * 256_001),
        "instructions",
        "string_above_max_length",
    ),
    (
        "bad tool type",
        lambda c, t: c.beta.assistants.create(model="m", tools=[{"type": "browser"}]),  # type: ignore[list-item]
        "tools[0]",
        "invalid_value",
    ),
    (
        "bad function name",
        lambda c, t: c.beta.assistants.create(
            model="m", tools=[{"type": "function", "function": {"name": "has space"}}]
        ),
        "tools[0].function.name",
        "invalid_value",
    ),
    (
        "bad response_format",
        lambda c, t: c.beta.assistants.create(model="m", response_format="yaml"),  # type: ignore[arg-type]
        "response_format",
        "invalid_value",
    ),
    (
        "bad reasoning_effort",
        lambda c, t: c.beta.assistants.create(model="m", reasoning_effort="extreme"),  # type: ignore[arg-type]
        "reasoning_effort",
        "invalid_value",
    ),
    (
        "17 metadata pairs",
        lambda c, t: c.beta.assistants.create(
            model="m", metadata={f"k{i}": "v" for i in range(17)}
        ),
        "metadata",
        "invalid_value",
    ),
    (
        "65-char metadata key",
        lambda c, t: c.beta.threads.create(metadata={"k" * 65: "v"}),
        "metadata",
        "invalid_value",
    ),
    (
        "513-char metadata value",
        lambda c, t: c.beta.threads.update(t, metadata={"k": "v" * 513}),
        "metadata",
        "invalid_value",
    ),
    (
        "metadata value not a string",
        lambda c, t: c.beta.threads.create(metadata={"k": 1}),  # type: ignore[dict-item]
        "metadata.k",
        "invalid_type",
    ),
    (
        "unknown role",
        lambda c, t: c.beta.threads.messages.create(t, role="system", content="x"),  # type: ignore[arg-type]
        "role",
        "invalid_value",
    ),
    (
        "empty string content",
        lambda c, t: c.beta.threads.messages.create(t, role="user", content=""),
        "content",
        "empty_string",
    ),
    (
        "empty content array",
        lambda c, t: c.beta.threads.messages.create(t, role="user", content=[]),
        "content",
        "empty_array",
    ),
    (
        "empty text part",
        lambda c, t: c.beta.threads.messages.create(
            t, role="user", content=[{"type": "text", "text": ""}]
        ),
        "content[0].text",
        "empty_string",
    ),
    (
        "content wrong type",
        lambda c, t: c.beta.threads.messages.create(t, role="user", content=5),  # type: ignore[arg-type]
        "content",
        "invalid_type",
    ),
    (
        "unknown field in an initial message",
        lambda c, t: c.beta.threads.create(
            messages=[{"role": "user", "content": "x", "colour": "red"}]  # type: ignore[typeddict-unknown-key]
        ),
        "messages[0].colour",
        "unknown_parameter",
    ),
    (
        "unknown message field",
        lambda c, t: c.beta.threads.messages.create(
            t, role="user", content="x", extra_body={"file_ids": ["f"]}
        ),
        "file_ids",
        "unknown_parameter",
    ),
    (
        "unknown thread update field",
        lambda c, t: c.beta.threads.update(t, extra_body={"title": "x"}),
        "title",
        "unknown_parameter",
    ),
    (
        "message modify with content",
        lambda c, t: c.beta.threads.messages.update(
            "msg_x", thread_id=t, extra_body={"content": "new"}
        ),
        "content",
        "unknown_parameter",
    ),
    (
        "wrong id prefix",
        lambda c, t: c.beta.threads.retrieve("asst_notathread"),
        "thread_id",
        "invalid_id",
    ),
    (
        "wrong message id prefix",
        lambda c, t: c.beta.threads.messages.retrieve("thread_x", thread_id=t),
        "message_id",
        "invalid_id",
    ),
]


@pytest.mark.parametrize(
    ("call", "param", "code"), [c[1:] for c in BAD_INPUT], ids=[c[0] for c in BAD_INPUT]
)
def test_bad_input_is_a_400_naming_the_field(
    client: openai.OpenAI, thread_id: str, call: Create, param: str | None, code: str
) -> None:
    with pytest.raises(openai.BadRequestError) as info:
        call(client, thread_id)
    body = error_body(info.value)
    assert info.value.status_code == 400
    assert body["type"] == "invalid_request_error"
    assert body["param"] == param
    assert body["code"] == code
    assert body["message"]


def test_wrong_prefix_message_matches_openai(client: openai.OpenAI) -> None:
    with pytest.raises(openai.BadRequestError) as info:
        client.beta.threads.retrieve("undefined")
    assert error_body(info.value)["message"] == (
        "Invalid 'thread_id': 'undefined'. Expected an ID that begins with 'thread'."
    )


def test_rejected_create_leaves_nothing_behind(client: openai.OpenAI) -> None:
    before = [a.id for a in client.beta.assistants.list(limit=100)]
    with pytest.raises(openai.BadRequestError):
        client.beta.assistants.create(model="m", metadata={f"k{i}": "v" for i in range(17)})
    with pytest.raises(openai.BadRequestError):
        client.beta.threads.create(
            messages=[{"role": "user", "content": "ok"}, {"role": "user", "content": ""}]
        )
    assert [a.id for a in client.beta.assistants.list(limit=100)] == before


@pytest.mark.parametrize(
    ("path", "message"),
    [
        ("/v1/assistants/asst_missing", "No assistant found with id 'asst_missing'."),
        ("/v1/threads/thread_missing", "No thread found with id 'thread_missing'."),
        ("/v1/threads/thread_missing/messages", "No thread found with id 'thread_missing'."),
        (
            "/v1/threads/thread_missing/messages/msg_missing",
            "No thread found with id 'thread_missing'.",
        ),
    ],
)
def test_unknown_ids_are_404(server: Server, path: str, message: str) -> None:
    response = httpx.get(server.base_url + path)
    assert response.status_code == 404
    assert response.json() == {
        "error": {"message": message, "type": "invalid_request_error", "param": None, "code": None}
    }


def _raw(server: Server, method: str, path: str, **kw: Any) -> httpx.Response:
    response = httpx.request(method, server.base_url + path, timeout=30, **kw)
    schema.validate_response(
        method,
        path,
        response.status_code,
        response.content,
        response.headers.get("content-type", ""),
    )
    return response


@pytest.mark.parametrize(
    "body",
    [b"{", b'{"model": "m",}', b"\xff\xfe", b"nul", b'{"model": "m"} trailing'],
)
def test_malformed_json_is_400_not_500(server: Server, body: bytes) -> None:
    response = _raw(
        server, "POST", "/v1/assistants", content=body, headers={"content-type": "application/json"}
    )
    assert response.status_code == 400
    error = response.json()["error"]
    assert error["type"] == "invalid_request_error"
    assert error["code"] == "invalid_json"


@pytest.mark.parametrize("body", [b"[]", b'"text"', b"42", b"null"])
def test_non_object_body_is_400(server: Server, body: bytes) -> None:
    response = _raw(server, "POST", "/v1/threads", content=body)
    assert response.status_code == 400
    assert response.json()["error"]["code"] == "invalid_type"


def test_oversized_body_is_413(server: Server) -> None:
    big = b'{"model": "m", "instructions": "' + b"x" * (17 * 1024 * 1024) + b'"}'
    response = httpx.post(server.base_url + "/v1/assistants", content=big, timeout=60)
    assert response.status_code == 413
    assert response.json()["error"]["type"] == "invalid_request_error"


def test_unknown_route_and_method(server: Server) -> None:
    response = httpx.get(server.base_url + "/v1/nothing_here")
    assert response.status_code == 404
    assert response.json()["error"]["message"] == "Invalid URL (GET /v1/nothing_here)"
    response = httpx.put(server.base_url + "/v1/assistants")
    assert response.status_code == 405
    assert response.json()["error"]["message"] == "Invalid URL (PUT /v1/assistants)"
