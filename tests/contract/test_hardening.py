"""What a fresh install, an unlucky race and a hostile client found (issue 8), over HTTP."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import openai
import pytest

from tests.conftest import make_client
from tests.contract.helpers import error_body
from tests.servers import Server, running_server


@pytest.fixture(scope="module")
def logged(backend: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    """A server that writes its access log."""
    tmp = tmp_path_factory.mktemp(f"logged-{backend}")
    with running_server(backend, tmp, {"ASSISTANTD_ACCESS_LOG": "true"}) as srv:
        yield srv


@pytest.mark.parametrize(
    "resources",
    [
        {"file_search": {"vector_store_ids": None}},
        {"code_interpreter": None, "file_search": None},
        {"code_interpreter": {"file_ids": []}, "file_search": {"vector_store_ids": None}},
    ],
)
def test_null_tool_resources_are_not_echoed(client: openai.OpenAI, resources: dict) -> None:
    # The response hook validates every answer against the spec, which types none of
    # these fields as nullable.
    assistant = client.beta.assistants.create(model="gpt-4o", tool_resources=resources)  # type: ignore[arg-type]
    thread = client.beta.threads.create(tool_resources=resources)  # type: ignore[arg-type]
    for obj in (assistant, thread):
        dumped = obj.model_dump(exclude_unset=True)["tool_resources"]
        assert None not in [v for part in dumped.values() for v in (part or {}).values()]
        assert None not in dumped.values()
    assert client.beta.assistants.retrieve(assistant.id).tool_resources == assistant.tool_resources


def test_null_inside_tools_is_not_echoed(client: openai.OpenAI) -> None:
    tool = {"type": "function", "function": {"name": "f", "description": None, "strict": None}}
    assistant = client.beta.assistants.create(model="gpt-4o", tools=[tool])  # type: ignore[list-item]
    raw = client.beta.assistants.with_raw_response.retrieve(assistant.id)
    assert raw.http_response.json()["tools"] == [{"type": "function", "function": {"name": "f"}}]


def test_every_response_carries_a_request_id_that_the_log_names(logged: Server) -> None:
    with make_client(logged.base_url) as client:
        created = client.beta.assistants.with_raw_response.create(model="gpt-4o")
        ok_id = created.headers["x-request-id"]
        assert created.parse()._request_id == ok_id
        with pytest.raises(openai.NotFoundError) as missing:
            client.beta.threads.retrieve("thread_missing")
        with pytest.raises(openai.BadRequestError) as bad:
            client.beta.assistants.create(model="gpt-4o", temperature=9)
    unknown = httpx.get(f"{logged.base_url}/v1/nowhere")
    health = httpx.get(f"{logged.base_url}/health")
    ids = [
        ok_id,
        missing.value.request_id,
        bad.value.request_id,
        unknown.headers["x-request-id"],
        health.headers["x-request-id"],
    ]
    assert all(i and i.startswith("req_") and len(i) == 36 for i in ids)
    assert len(set(ids)) == len(ids)
    # The line is written once the response has gone out: give the server a moment.
    deadline = time.monotonic() + 5
    while not all(i in (log := (logged.data_dir / "server.log").read_text()) for i in ids):
        assert time.monotonic() < deadline, (ids, log[-2000:])
        time.sleep(0.05)
    for request_id, status in zip(ids, [200, 404, 400, 404, 200], strict=True):
        (line,) = [line for line in log.splitlines() if request_id in line]
        assert f'" {status} ' in line


def _blob(server: Server, file_id: str) -> Path:
    (path,) = (server.data_dir / "blobs" / "files").rglob(file_id)
    return path


def test_a_file_gone_before_its_download_opens_is_a_404(
    client: openai.OpenAI, server: Server
) -> None:
    file = client.files.create(file=("gone.txt", b"bytes"), purpose="assistants")
    # The File row is there, its bytes are not: the moment between a download's lookup
    # and its open, when a delete or the expiry sweep removes them.
    _blob(server, file.id).unlink()
    with pytest.raises(openai.NotFoundError) as info:
        client.files.content(file.id)
    assert error_body(info.value)["message"] == f"No file found with id '{file.id}'."


def test_a_file_deleted_mid_download_still_downloads(client: openai.OpenAI, server: Server) -> None:
    payload = bytes(range(256)) * (16 * 1024)  # 4 MiB: several chunks
    file = client.files.create(file=("big.bin", payload), purpose="assistants")
    with httpx.stream("GET", f"{server.base_url}/v1/files/{file.id}/content") as response:
        assert response.status_code == 200
        received = bytearray()
        for chunk in response.iter_bytes():
            if not received:
                client.files.delete(file.id)
            received += chunk
    assert bytes(received) == payload
    with pytest.raises(openai.NotFoundError):
        client.files.content(file.id)


def test_cancel_racing_complete_never_answers_500(client: openai.OpenAI) -> None:
    part = b"x" * (2 * 1024 * 1024)
    for _ in range(6):
        upload = client.uploads.create(
            bytes=len(part) * 4, filename="race.bin", mime_type="text/plain", purpose="assistants"
        )
        parts = [client.uploads.parts.create(upload.id, data=part).id for _ in range(4)]
        outcomes: dict[str, object] = {}

        def complete(
            upload_id: str = upload.id,
            part_ids: list[str] = parts,
            outcomes: dict[str, object] = outcomes,
        ) -> None:
            try:
                outcomes["complete"] = client.uploads.complete(upload_id, part_ids=part_ids).status
            except openai.APIStatusError as exc:
                outcomes["complete"] = exc.status_code

        worker = threading.Thread(target=complete)
        worker.start()
        try:
            outcomes["cancel"] = client.uploads.cancel(upload.id).status
        except openai.APIStatusError as exc:
            outcomes["cancel"] = exc.status_code
        worker.join()
        assert outcomes["complete"] in ("completed", 400), outcomes
        assert outcomes["cancel"] in ("cancelled", 400), outcomes
        # Exactly one of them won.
        assert (outcomes["complete"] == "completed") != (outcomes["cancel"] == "cancelled")
