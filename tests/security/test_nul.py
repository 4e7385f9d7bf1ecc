"""NUL characters in every input family: a 400 naming the parameter, on both backends.

PostgreSQL cannot store or even compare a NUL in text; before these checks, 15 of 112
such requests answered 500 there (asyncpg's CharacterNotInRepertoireError).
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from tests.servers import Server

NUL = "\x00"


@pytest.fixture
def http(server: Server) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=f"{server.base_url}/v1", timeout=10) as client:
        yield client


@pytest.fixture
def ids(http: httpx.Client) -> dict[str, str]:
    assistant = http.post("/assistants", json={"model": "gpt-4o"}).json()["id"]
    thread = http.post("/threads", json={}).json()["id"]
    return {"assistant": assistant, "thread": thread}


def _refused(answer: httpx.Response, param: str) -> None:
    assert answer.status_code == 400, answer.text
    error = answer.json()["error"]
    assert error["param"] == param, error
    assert error["type"] == "invalid_request_error"


@pytest.mark.parametrize(
    ("path", "param"),
    [
        ("/threads/thread_%00", "thread_id"),
        ("/assistants/asst_%00abc", "assistant_id"),
        ("/files/file-%00", "file_id"),
        ("/threads/thread_abc/messages/msg_%00", "message_id"),
        ("/threads/thread_abc/runs/run_%00/steps", "run_id"),
    ],
)
def test_path_ids(http: httpx.Client, path: str, param: str) -> None:
    _refused(http.get(path), param)


@pytest.mark.parametrize(
    ("path", "query", "param"),
    [
        ("/assistants", {"after": f"asst_{NUL}"}, "after"),
        ("/assistants", {"before": f"asst_{NUL}"}, "before"),
        ("/files", {"purpose": f"assistants{NUL}"}, "purpose"),
        ("/files", {"after": NUL}, "after"),
        ("/threads/{thread}/messages", {"run_id": f"run_{NUL}"}, "run_id"),
        ("/threads/{thread}/messages", {"after": f"msg_{NUL}"}, "after"),
        ("/threads/{thread}/runs", {"before": f"run_{NUL}"}, "before"),
    ],
)
def test_query_parameters(
    http: httpx.Client, ids: dict[str, str], path: str, query: dict[str, str], param: str
) -> None:
    _refused(http.get(path.format(**ids), params=query), param)


@pytest.mark.parametrize(
    ("path", "body", "param"),
    [
        ("/threads/{thread}/runs", {"assistant_id": f"asst_{NUL}"}, "assistant_id"),
        (
            "/threads/{thread}/messages",
            {
                "role": "user",
                "content": "x",
                "attachments": [{"file_id": f"file-{NUL}", "tools": []}],
            },
            "attachments[0].file_id",
        ),
        (
            "/threads/{thread}/messages",
            {
                "role": "user",
                "content": [{"type": "image_file", "image_file": {"file_id": f"f{NUL}"}}],
            },
            "content[0].image_file.file_id",
        ),
        (
            "/assistants",
            {"model": "m", "tool_resources": {"code_interpreter": {"file_ids": [NUL]}}},
            "tool_resources.code_interpreter.file_ids[0]",
        ),
        (
            "/uploads",
            {"bytes": 1, "filename": "a", "purpose": "assistants", "mime_type": f"text/{NUL}"},
            "mime_type",
        ),
        ("/threads/{thread}/messages", {"role": "user", "content": f"hi{NUL}"}, "content"),
        ("/threads", {"metadata": {f"k{NUL}": "v"}}, f"metadata.k{NUL}"),
        ("/assistants", {"model": f"gpt{NUL}"}, "model"),
    ],
)
def test_json_bodies(
    http: httpx.Client, ids: dict[str, str], path: str, body: dict[str, Any], param: str
) -> None:
    _refused(http.post(path.format(**ids), json=body), param)


@pytest.mark.parametrize(
    ("purpose", "filename", "param"),
    [(b"assistants\x00", b"a.txt", "purpose"), (b"assistants", b"a\x00.txt", "file")],
)
def test_multipart_fields(http: httpx.Client, purpose: bytes, filename: bytes, param: str) -> None:
    # Built by hand: httpx would percent-encode a NUL in a file name.
    body = (
        b'--b\r\nContent-Disposition: form-data; name="purpose"\r\n\r\n'
        + purpose
        + b'\r\n--b\r\nContent-Disposition: form-data; name="file"; filename="'
        + filename
        + b'"\r\n\r\nbytes\r\n--b--\r\n'
    )
    answer = http.post(
        "/files", content=body, headers={"content-type": "multipart/form-data; boundary=b"}
    )
    _refused(answer, param)


def test_nothing_was_written_and_the_server_still_answers(
    http: httpx.Client, ids: dict[str, str]
) -> None:
    http.post("/threads/{thread}/messages".format(**ids), json={"role": "user", "content": NUL})
    listed = http.get("/threads/{thread}/messages".format(**ids)).json()
    assert listed["data"] == []
    assert http.get("/assistants").status_code == 200
