"""One store behind both surfaces: an Assistants thread read as a conversation (its
messages, files, citations and tool calls as items, field by field), responses
appended to a thread and read back by the Assistants API, and a conversation used as
a thread. Official SDK, real server, scripted upstream."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from typing import Any

import openai
import pytest

from tests.conftest import make_client
from tests.contract.helpers import WEATHER_ASSISTANT_TOOL as WEATHER
from tests.requires import requires
from tests.servers import Server, running_server
from tests.upstream import Reply, ScriptedUpstream, route_env

FOODS = b"Filip's favorite food is cake. Maria's favorite food is pizza."


@pytest.fixture(scope="module")
def bridge_server(
    backend: str, upstream: ScriptedUpstream, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Server]:
    env = {
        **route_env(upstream, timeout_s=30),
        "ASSISTANTD_CODE_INTERPRETER_TIMEOUT_S": "10",
    }
    with running_server(backend, tmp_path_factory.mktemp(f"bridge-{backend}"), env) as srv:
        yield srv


@pytest.fixture
def bc(bridge_server: Server, upstream: ScriptedUpstream) -> Iterator[openai.OpenAI]:
    upstream.reset()
    with make_client(bridge_server.base_url) as client:
        yield client


def _ready(client: openai.OpenAI, store_id: str) -> None:
    for _ in range(200):
        if client.vector_stores.retrieve(store_id).status == "completed":
            return
        time.sleep(0.1)
    raise AssertionError(f"{store_id} never finished ingesting")


def _assistant(client: openai.OpenAI) -> tuple[str, str]:
    """An assistant with a store of one file, file_search and a function tool."""
    foods = client.files.create(file=("favorite_foods.txt", FOODS), purpose="assistants")
    assistant = client.beta.assistants.create(
        model="scripted-gpt",
        instructions="Answer from the files.",
        tools=[{"type": "file_search"}, WEATHER],  # type: ignore[list-item]
        tool_resources={"file_search": {"vector_stores": [{"file_ids": [foods.id]}]}},
    )
    assert assistant.tool_resources is not None
    assert assistant.tool_resources.file_search is not None
    (store_id,) = assistant.tool_resources.file_search.vector_store_ids or []
    _ready(client, store_id)
    return assistant.id, foods.id


def _said(sent: dict[str, Any]) -> list[str]:
    return [str(m.get("content")) for m in sent["messages"]]


def test_a_thread_reads_as_a_conversation_field_by_field(
    bc: openai.OpenAI, upstream: ScriptedUpstream
) -> None:
    assistant_id, foods_id = _assistant(bc)
    pixel = bc.files.create(file=("pixel.png", b"\x89PNG\r\n\x1a\n"), purpose="vision")
    note = bc.files.create(file=("note.txt", b"A short note."), purpose="assistants")
    thread = bc.beta.threads.create(
        messages=[
            {
                "role": "user",
                "content": [
                    {"type": "text", "text": "What does Filip like?"},
                    {"type": "image_file", "image_file": {"file_id": pixel.id}},
                ],
                "attachments": [{"file_id": note.id, "tools": [{"type": "file_search"}]}],
            }
        ]
    )
    upstream.script(
        Reply(tool_calls=[("file_search", json.dumps({"query": "Filip favorite food"}))]),
        Reply(text="Filip likes cake【0:0†favorite_foods.txt】."),
    )
    searched = bc.beta.threads.runs.create_and_poll(thread_id=thread.id, assistant_id=assistant_id)
    assert searched.status == "completed", searched.last_error
    bc.beta.threads.messages.create(thread.id, role="user", content="Weather in Oslo?")
    upstream.script(
        Reply(tool_calls=[("get_weather", '{"city": "Oslo"}')]), Reply(text="It is sunny.")
    )
    asked = bc.beta.threads.runs.create_and_poll(thread_id=thread.id, assistant_id=assistant_id)
    assert asked.status == "requires_action"
    assert asked.required_action is not None
    (call,) = asked.required_action.submit_tool_outputs.tool_calls
    done = bc.beta.threads.runs.submit_tool_outputs_and_poll(
        run_id=asked.id,
        thread_id=thread.id,
        tool_outputs=[{"tool_call_id": call.id, "output": "sunny"}],
    )
    assert done.status == "completed"

    conversation = bc.conversations.retrieve(thread.id)
    assert (conversation.id, conversation.object) == (thread.id, "conversation")
    assert conversation.created_at == thread.created_at
    items = bc.conversations.items.list(
        thread.id, order="asc", include=["file_search_call.results"]
    ).data
    assert [(i.type, getattr(i, "role", None)) for i in items] == [
        ("message", "user"),
        ("file_search_call", None),
        ("message", "assistant"),
        ("message", "user"),
        ("function_call", None),
        ("function_call_output", None),
        ("message", "assistant"),
    ]
    question, search, answer, weather, function, output, sunny = items
    messages = bc.beta.threads.messages.list(thread.id, order="asc").data
    assert [question.id, answer.id, weather.id, sunny.id] == [m.id for m in messages]
    assert [p.model_dump(exclude_none=True) for p in question.content] == [  # type: ignore[union-attr]
        {"type": "input_text", "text": "What does Filip like?"},
        {"type": "input_image", "detail": "auto", "file_id": pixel.id},
        {"type": "input_file", "file_id": note.id},
    ]
    assert search.status == "completed"  # type: ignore[union-attr]
    assert search.queries == ["Filip favorite food"]  # type: ignore[union-attr]
    assert search.results  # type: ignore[union-attr]
    names = {r.file_id: r.filename for r in search.results}  # type: ignore[union-attr]
    assert names[foods_id] == "favorite_foods.txt"
    assert set(names) <= {foods_id, note.id}  # the assistant's store and the thread's
    steps = bc.beta.threads.runs.steps.list(run_id=searched.id, thread_id=thread.id, order="asc")
    step_call = steps.data[0].step_details.tool_calls[0]  # type: ignore[union-attr]
    assert search.id == "fs_" + step_call.id.removeprefix("call_")
    (text,) = answer.content  # type: ignore[union-attr]
    assert text.type == "output_text"
    assert text.text == "Filip likes cake."
    (citation,) = text.annotations  # type: ignore[union-attr]
    assert citation.model_dump(exclude_none=True) == {
        "type": "file_citation",
        "file_id": foods_id,
        "filename": "favorite_foods.txt",
        "index": 16,
    }
    assert weather.content[0].text == "Weather in Oslo?"  # type: ignore[union-attr]
    assert (function.call_id, function.name) == (call.id, "get_weather")  # type: ignore[union-attr]
    assert json.loads(function.arguments) == {"city": "Oslo"}  # type: ignore[union-attr]
    assert (output.call_id, output.output) == (call.id, "sunny")  # type: ignore[union-attr]
    assert sunny.content[0].text == "It is sunny."  # type: ignore[union-attr]
    # Each item reads back alone as it is listed, and pages the same way.
    for item in items:
        alone = bc.conversations.items.retrieve(
            item.id, conversation_id=thread.id, include=["file_search_call.results"]
        )
        assert alone.model_dump() == item.model_dump()
    paged = [i.id for i in bc.conversations.items.list(thread.id, order="asc", limit=2)]
    assert paged == [i.id for i in items]
    assert [i.id for i in bc.conversations.items.list(thread.id, limit=3)] == paged[::-1]
    # Deleting a run's tool call from the conversation leaves the run step alone.
    bc.conversations.items.delete(function.id, conversation_id=thread.id)
    assert function.id not in [i.id for i in bc.conversations.items.list(thread.id)]
    kept = bc.beta.threads.runs.steps.list(run_id=asked.id, thread_id=thread.id).data
    assert any(s.type == "tool_calls" for s in kept)


def test_responses_appended_to_a_thread_are_its_messages(
    bc: openai.OpenAI, upstream: ScriptedUpstream
) -> None:
    assistant_id, _ = _assistant(bc)
    thread = bc.beta.threads.create(messages=[{"role": "user", "content": "My name is Ada."}])
    upstream.script(Reply(text="Hello, Ada."))
    made = bc.responses.create(model="scripted-gpt", conversation=thread.id, input="Hi!")
    assert made.output_text == "Hello, Ada."
    assert _said(upstream.requests[0]) == ["My name is Ada.", "Hi!"]
    listed = bc.beta.threads.messages.list(thread.id, order="asc").data
    assert [(m.role, m.content[0].text.value) for m in listed] == [  # type: ignore[union-attr]
        ("user", "My name is Ada."),
        ("user", "Hi!"),
        ("assistant", "Hello, Ada."),
    ]
    assert listed[2].id == made.output[0].id
    upstream.script(Reply(text="You are Ada."))
    run = bc.beta.threads.runs.create_and_poll(thread_id=thread.id, assistant_id=assistant_id)
    assert run.status == "completed"
    assert _said(upstream.requests[1])[-3:] == ["My name is Ada.", "Hi!", "Hello, Ada."]


def test_a_response_on_a_busy_thread_is_refused_like_a_second_run(
    bc: openai.OpenAI, upstream: ScriptedUpstream
) -> None:
    assistant_id, _ = _assistant(bc)
    thread = bc.beta.threads.create(messages=[{"role": "user", "content": "Weather?"}])
    upstream.script(Reply(tool_calls=[("get_weather", '{"city": "Oslo"}')]))
    waiting = bc.beta.threads.runs.create_and_poll(thread_id=thread.id, assistant_id=assistant_id)
    assert waiting.status == "requires_action"
    with pytest.raises(openai.BadRequestError) as refused:
        bc.responses.create(model="scripted-gpt", conversation=thread.id, input="Hello?")
    assert refused.value.code == "thread_locked"
    with pytest.raises(openai.BadRequestError) as second_run:
        bc.beta.threads.runs.create(thread_id=thread.id, assistant_id=assistant_id)
    assert second_run.value.code == refused.value.code
    with pytest.raises(openai.BadRequestError) as locked:
        bc.conversations.items.create(
            thread.id, items=[{"type": "message", "role": "user", "content": "x"}]
        )
    assert locked.value.code == "conversation_locked"
    assert len(bc.beta.threads.messages.list(thread.id).data) == 1  # nothing written
    bc.beta.threads.runs.cancel(run_id=waiting.id, thread_id=thread.id)


def test_a_conversation_is_a_thread(bc: openai.OpenAI, upstream: ScriptedUpstream) -> None:
    assistant_id, _ = _assistant(bc)
    conv = bc.conversations.create(
        metadata={"from": "conversations"},
        items=[
            {"type": "message", "role": "developer", "content": "Answer in one word."},
            {"type": "message", "role": "user", "content": "Remember 42."},
        ],
    )
    thread = bc.beta.threads.retrieve(conv.id)
    assert (thread.id, thread.object, thread.metadata) == (
        conv.id,
        "thread",
        {"from": "conversations"},
    )
    # The developer message has no place among thread messages; the user one does.
    (remember,) = bc.beta.threads.messages.list(conv.id).data
    assert remember.content[0].text.value == "Remember 42."  # type: ignore[union-attr]
    bc.beta.threads.messages.create(conv.id, role="user", content="What number?")
    upstream.script(Reply(text="42."))
    run = bc.beta.threads.runs.create_and_poll(thread_id=conv.id, assistant_id=assistant_id)
    assert run.status == "completed"
    assert run.thread_id == conv.id
    assert _said(upstream.requests[0])[-2:] == ["Remember 42.", "What number?"]
    roles = [(i.type, i.role) for i in bc.conversations.items.list(conv.id, order="asc")]  # type: ignore[union-attr]
    assert roles == [
        ("message", "developer"),
        ("message", "user"),
        ("message", "user"),
        ("message", "assistant"),
    ]
    bc.beta.threads.delete(conv.id)
    with pytest.raises(openai.NotFoundError):
        bc.conversations.retrieve(conv.id)


@requires("bwrap")
def test_a_code_interpreter_run_reads_as_items(
    bc: openai.OpenAI, upstream: ScriptedUpstream, backend: str
) -> None:
    if backend != "sqlite":
        pytest.skip("the sandbox is the same on either backend; once is enough")
    assistant = bc.beta.assistants.create(
        model="scripted-gpt", tools=[{"type": "code_interpreter"}]
    )
    code = "import matplotlib.pyplot as plt\nprint('plotting')\nplt.plot([1, 4, 9])"
    upstream.script(
        Reply(tool_calls=[("code_interpreter", json.dumps({"code": code}))]),
        Reply(text="Here is the chart."),
    )
    thread = bc.beta.threads.create(messages=[{"role": "user", "content": "Plot squares."}])
    run = bc.beta.threads.runs.create_and_poll(thread_id=thread.id, assistant_id=assistant.id)
    assert run.status == "completed", run.last_error
    items = bc.conversations.items.list(
        thread.id, order="asc", include=["code_interpreter_call.outputs"]
    ).data
    assert [i.type for i in items] == ["message", "code_interpreter_call", "message"]
    call = items[1]
    assert call.code == code  # type: ignore[union-attr]
    assert call.status == "completed"  # type: ignore[union-attr]
    outputs = call.outputs or []  # type: ignore[union-attr]
    assert [o.type for o in outputs] == ["logs", "image"]
    assert outputs[0].logs.startswith("plotting\n")  # type: ignore[union-attr]
    image_id = outputs[1].url.split("/")[-2]  # type: ignore[union-attr]
    assert bc.files.content(image_id).read().startswith(b"\x89PNG")
    assert items[2].content[0].text == "Here is the chart."  # type: ignore[union-attr]
    bare = bc.conversations.items.retrieve(call.id, conversation_id=thread.id)
    assert bare.outputs is None  # type: ignore[union-attr]


def test_an_assistant_is_a_prompt(bc: openai.OpenAI, upstream: ScriptedUpstream) -> None:
    assistant_id, foods_id = _assistant(bc)
    store_id = bc.beta.assistants.retrieve(
        assistant_id
    ).tool_resources.file_search.vector_store_ids[0]  # type: ignore[union-attr,index]
    upstream.script(
        Reply(tool_calls=[("file_search", json.dumps({"query": "Filip favorite food"}))]),
        Reply(text="Cake【0:0†favorite_foods.txt】."),
    )
    made = bc.responses.create(
        prompt={"id": assistant_id},
        input="What does Filip like?",
        include=["file_search_call.results"],
    )
    assert made.model == "scripted-gpt"
    assert made.instructions == "Answer from the files."
    assert made.prompt is not None
    assert made.prompt.id == assistant_id
    assert [t.type for t in made.tools] == ["file_search", "function"]
    assert made.tools[0].vector_store_ids == [store_id]  # type: ignore[union-attr]
    sent = upstream.requests[0]
    assert sent["messages"][0] == {"role": "system", "content": "Answer from the files."}
    assert {t["function"]["name"] for t in sent["tools"]} == {"file_search", "get_weather"}
    search, answer = made.output
    assert search.type == "file_search_call"
    assert foods_id in {r.file_id for r in search.results or []}  # type: ignore[union-attr]
    assert answer.content[0].text == "Cake."  # type: ignore[union-attr]
    assert answer.content[0].annotations[0].file_id == foods_id  # type: ignore[union-attr]

    # The request's own fields win; variables fill the instructions.
    upstream.script(Reply(text="Hi."))
    bc.responses.create(
        prompt={"id": assistant_id, "variables": {"tone": "terse"}},
        instructions="Be {{tone}}.",
        tools=[],
        input="Hello",
    )
    assert upstream.requests[2]["messages"][0] == {"role": "system", "content": "Be terse."}
    assert "tools" not in upstream.requests[2]

    with pytest.raises(openai.BadRequestError) as refused:
        bc.responses.create(prompt={"id": "pmpt_123"}, input="x")
    assert refused.value.param == "prompt.id"
    with pytest.raises(openai.NotFoundError):
        bc.responses.create(prompt={"id": "asst_missing"}, input="x")
    with pytest.raises(openai.BadRequestError) as refused:
        bc.responses.create(
            prompt={"id": assistant_id, "variables": {"n": {"type": "input_text"}}}, input="x"
        )
    assert refused.value.param == "prompt.variables.n"
    with pytest.raises(openai.BadRequestError) as refused:
        bc.responses.create(input="x")  # no model and no prompt to take it from
    assert refused.value.param == "model"
