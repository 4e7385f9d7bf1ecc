"""A database written by an older assistantd still serves, and its runs go on.

tests/store/legacy/0.x.tar.gz was made by the code before run state was typed (see
make.py there): two runs wait in `requires_action`, their private state in the old flat
shape (file_search's sources and exchanges, include[], code_interpreter's files and an
image not yet shown). Today's server opens it, migrates it, and finishes both runs as
the old one would have: the citation resolves to the old search's file, the old search
is replayed to the model, the pending image leads the answer.
"""

from __future__ import annotations

import json
import sqlite3
import tarfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import openai
import pytest
from openai.types.beta.threads import Message

from tests.conftest import make_client
from tests.servers import Server
from tests.upstream import Reply, ScriptedUpstream, route_env

LEGACY = Path(__file__).parent / "legacy" / "0.x.tar.gz"
INCLUDE = "step_details.tool_calls[*].file_search.results[*].content"


@pytest.fixture(scope="module")
def legacy(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict[str, str]]:
    root = tmp_path_factory.mktemp("legacy")
    with tarfile.open(LEGACY) as tar:
        tar.extractall(root, filter="data")
    data = root / "0.x"
    return data, json.loads((data / "ids.json").read_text())


@pytest.fixture(scope="module")
def old_server(legacy: tuple[Path, dict[str, str]], upstream: ScriptedUpstream) -> Iterator[Server]:
    data, _ = legacy
    server = Server(f"sqlite:///{data / 'assistantd.db'}", data, route_env(upstream)).start()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
def client(old_server: Server, upstream: ScriptedUpstream) -> Iterator[openai.OpenAI]:
    upstream.reset()
    with make_client(old_server.base_url) as c:
        yield c


def _private(data: Path, run_id: str) -> dict[str, Any]:
    with sqlite3.connect(data / "assistantd.db") as conn:
        (raw,) = conn.execute("SELECT private FROM runs WHERE id = ?", (run_id,)).fetchone()
    loaded: dict[str, Any] = json.loads(raw)
    return loaded


def _resume(
    client: openai.OpenAI, upstream: ScriptedUpstream, thread_id: str, run_id: str, answer: str
) -> Message:
    """Answer the old run's waiting function call; the model then says `answer`."""
    run = client.beta.threads.runs.retrieve(run_id, thread_id=thread_id)
    assert run.status == "requires_action"
    call = run.required_action.submit_tool_outputs.tool_calls[0]  # type: ignore[union-attr]
    upstream.script(Reply(text=answer))
    run = client.beta.threads.runs.submit_tool_outputs_and_poll(
        run_id=run_id, thread_id=thread_id, tool_outputs=[{"tool_call_id": call.id, "output": "ok"}]
    )
    assert run.status == "completed"
    (message,) = client.beta.threads.messages.list(thread_id, run_id=run_id).data
    return message


def test_every_old_object_still_reads(
    client: openai.OpenAI, legacy: tuple[Path, dict[str, str]]
) -> None:
    _, ids = legacy
    assistants = client.beta.assistants.list().data
    assert {a.metadata.get("made_by") for a in assistants} == {"0.x", None}
    store = client.vector_stores.retrieve(ids["store_id"])
    assert (store.status, store.file_counts.completed) == ("completed", 1)
    found = client.vector_stores.search(ids["store_id"], query="favorite food").data
    assert found[0].file_id == ids["file_id"]
    assert client.files.content(ids["notes_id"]).read() == b"from the old server"
    steps = client.beta.threads.runs.steps.list(
        ids["search_run"], thread_id=ids["search_thread"], include=[INCLUDE]
    ).data
    searched = [s for s in steps if s.step_details.type == "tool_calls"][-1]
    call = searched.step_details.tool_calls[0]  # type: ignore[union-attr]
    assert call.type == "file_search"
    assert "carrot cake" in call.file_search.results[0].content[0].text  # type: ignore[union-attr,index]
    # An old thread reads as a conversation, its old run's calls included (migration
    # 0007 gave the old run steps their thread).
    items = client.conversations.items.list(
        ids["search_thread"], order="asc", include=["file_search_call.results"]
    ).data
    (search,) = [i for i in items if i.type == "file_search_call"]
    assert search.id == "fs_" + call.id.removeprefix("call_")
    assert "carrot cake" in (search.results or [])[0].text  # type: ignore[union-attr]


def test_an_old_file_search_run_resumes_and_cites_the_old_results(
    client: openai.OpenAI, upstream: ScriptedUpstream, legacy: tuple[Path, dict[str, str]]
) -> None:
    data, ids = legacy
    thread_id, run_id = ids["search_thread"], ids["search_run"]
    message = _resume(client, upstream, thread_id, run_id, "Carrot cake 【0:0】.")
    text = message.content[0].text  # type: ignore[union-attr]
    assert text.value == "Carrot cake 【0:0†favorite_foods.txt】."
    (citation,) = text.annotations
    assert citation.file_citation.file_id == ids["file_id"]  # type: ignore[union-attr]
    assert text.value[citation.start_index : citation.end_index] == citation.text
    # The model saw the old instructions and the old search again, as the function call
    # it made, before the function output.
    (request,) = upstream.requests
    assert request["messages"][0] == {
        "role": "system",
        "content": "Answer from the files.\n\nBe brief.",
    }
    replayed = [m for m in request["messages"] if m["role"] == "tool"]
    assert "carrot cake" in replayed[0]["content"]
    assert replayed[1]["content"] == "ok"
    # The row now holds the typed state, the old flag read as the include[] it meant.
    private = _private(data, run_id)
    assert private["include"] == [INCLUDE]
    assert private["tools"]["file_search"]["sources"]["0:0"]["file_id"] == ids["file_id"]
    assert "sources" not in private


def test_an_old_code_interpreter_run_shows_its_pending_image_first(
    client: openai.OpenAI, upstream: ScriptedUpstream, legacy: tuple[Path, dict[str, str]]
) -> None:
    data, ids = legacy
    thread_id, run_id = ids["code_thread"], ids["code_run"]
    pending = _private(data, run_id)["code_images"]
    message = _resume(client, upstream, thread_id, run_id, "Here is the chart.")
    assert [p.type for p in message.content] == ["image_file", "text"]
    assert message.content[0].image_file.file_id == pending[0]  # type: ignore[union-attr]
    private = _private(data, run_id)
    state = private["tools"]["code_interpreter"]
    assert state == {"files": {ids["notes_id"]: "notes.txt"}}  # the image was shown
