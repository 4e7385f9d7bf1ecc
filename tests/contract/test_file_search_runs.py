"""file_search inside runs: the step, the include[] rule, citations, streaming; on the
embedded model and against the scripted upstream."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from typing import Any

import openai
import pytest
from openai import AssistantEventHandler

from tests.conftest import make_client
from tests.servers import Server, running_server
from tests.upstream import Reply, ScriptedUpstream, route_env

INCLUDE = "step_details.tool_calls[*].file_search.results[*].content"
FOODS = b"Filip's favorite food is cake. Maria's favorite food is pizza."


@pytest.fixture(scope="module")
def fs_server(
    backend: str, upstream: ScriptedUpstream, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Server]:
    with running_server(
        backend, tmp_path_factory.mktemp(f"fs-{backend}"), route_env(upstream)
    ) as srv:
        yield srv


@pytest.fixture
def fc(fs_server: Server, upstream: ScriptedUpstream) -> Iterator[openai.OpenAI]:
    upstream.reset()
    with make_client(fs_server.base_url) as client:
        yield client


def _assistant(client: openai.OpenAI, model: str, **tool: Any) -> tuple[str, str]:
    f = client.files.create(file=("favorite_foods.txt", FOODS), purpose="assistants")
    assistant = client.beta.assistants.create(
        model=model,
        instructions="Answer from the files.",
        tools=[{"type": "file_search", **tool}],
        tool_resources={"file_search": {"vector_stores": [{"file_ids": [f.id]}]}},
    )
    assert assistant.tool_resources is not None
    assert assistant.tool_resources.file_search is not None
    (store_id,) = assistant.tool_resources.file_search.vector_store_ids or []
    for _ in range(100):
        if client.vector_stores.retrieve(store_id).status == "completed":
            break
        time.sleep(0.1)
    return assistant.id, f.id


def _check_annotations(text: Any, file_ids: set[str]) -> None:
    assert text.annotations, text.value
    for ann in text.annotations:
        assert ann.type == "file_citation"
        assert text.value[ann.start_index : ann.end_index] == ann.text
        assert ann.text.startswith("【")
        assert ann.file_citation.file_id in file_ids


def test_embedded_model_forced_search_cites_its_result(fc: openai.OpenAI) -> None:
    assistant_id, file_id = _assistant(fc, "smollm2-135m-instruct")
    thread = fc.beta.threads.create(
        messages=[{"role": "user", "content": "What is Filip's favorite food?"}]
    )
    run = fc.beta.threads.runs.create_and_poll(
        thread_id=thread.id,
        assistant_id=assistant_id,
        tool_choice={"type": "file_search"},
        temperature=0,
        max_completion_tokens=256,
    )
    assert run.status in ("completed", "incomplete"), run.last_error
    steps = list(fc.beta.threads.runs.steps.list(run_id=run.id, thread_id=thread.id, order="asc"))
    assert [s.type for s in steps] == ["tool_calls", "message_creation"]
    (call,) = steps[0].step_details.tool_calls  # type: ignore[union-attr]
    assert call.type == "file_search"
    results = call.file_search.results or []  # type: ignore[union-attr]
    assert results
    assert results[0].file_id == file_id
    assert results[0].file_name == "favorite_foods.txt"
    assert results[0].content is None  # not asked for
    with_content = fc.beta.threads.runs.steps.retrieve(
        step_id=steps[0].id, thread_id=thread.id, run_id=run.id, include=[INCLUDE]
    )
    first = with_content.step_details.tool_calls[0].file_search.results[0]  # type: ignore[union-attr]
    assert first.content is not None
    assert first.content[0].text == FOODS.decode()
    (message,) = fc.beta.threads.messages.list(thread_id=thread.id, run_id=run.id).data
    _check_annotations(message.content[0].text, {r.file_id for r in results})  # type: ignore[union-attr]


class _Recorder(AssistantEventHandler):
    def __init__(self) -> None:
        super().__init__()
        self.events: list[str] = []
        self.annotation_deltas: list[Any] = []
        self.completed_steps: list[Any] = []

    def on_event(self, event: Any) -> None:
        self.events.append(event.event)
        if event.event == "thread.run.step.completed":
            self.completed_steps.append(event.data)
        if event.event == "thread.message.delta":
            for part in event.data.delta.content or []:
                self.annotation_deltas += part.text.annotations or []


def test_streamed_run_sends_step_then_annotated_deltas(fc: openai.OpenAI) -> None:
    assistant_id, file_id = _assistant(fc, "smollm2-135m-instruct")
    thread = fc.beta.threads.create(
        messages=[{"role": "user", "content": "What is Maria's favorite food?"}]
    )
    handler = _Recorder()
    with fc.beta.threads.runs.stream(
        thread_id=thread.id,
        assistant_id=assistant_id,
        tool_choice={"type": "file_search"},
        temperature=0,
        max_completion_tokens=256,
        include=[INCLUDE],
        event_handler=handler,
    ) as stream:
        stream.until_done()
        (final,) = stream.get_final_messages()
    events = [e for e in handler.events if e != "thread.message.delta"]
    assert events[:3] == ["thread.run.created", "thread.run.queued", "thread.run.in_progress"]
    tool_part = events[3:7]
    assert tool_part == [
        "thread.run.step.created",
        "thread.run.step.in_progress",
        "thread.run.step.delta",
        "thread.run.step.completed",
    ]
    assert events[7:11] == [
        "thread.run.step.created",
        "thread.run.step.in_progress",
        "thread.message.created",
        "thread.message.in_progress",
    ]
    assert events[-1] in ("thread.run.completed", "thread.run.incomplete")
    text = final.content[0].text  # type: ignore[union-attr]
    _check_annotations(text, {file_id})
    # each annotation streamed once, complete, with an empty quote
    assert len(handler.annotation_deltas) == len(text.annotations)
    for delta in handler.annotation_deltas:
        assert delta.file_citation.quote == ""
        assert delta.text is not None
    # The SDK's snapshots never take step.completed (OpenAI sent results only there).
    (tool_step,) = [s for s in handler.completed_steps if s.type == "tool_calls"]
    search = tool_step.step_details.tool_calls[0].file_search  # type: ignore[union-attr]
    assert search.results
    assert search.results[0].content is not None  # include[] was on createRun


def test_upstream_gets_results_and_its_citations_become_annotations(
    fc: openai.OpenAI, upstream: ScriptedUpstream
) -> None:
    assistant_id, file_id = _assistant(fc, "scripted-fs", file_search={"max_num_results": 3})
    upstream.script(
        Reply(tool_calls=[("file_search", json.dumps({"query": "Filip favorite food"}))]),
        Reply(text="Filip likes cake【0:0†anything.txt】 and【7:7†ghost】 more."),
    )
    thread = fc.beta.threads.create(messages=[{"role": "user", "content": "Filip?"}])
    run = fc.beta.threads.runs.create_and_poll(thread_id=thread.id, assistant_id=assistant_id)
    assert run.status == "completed", run.last_error
    first, second = upstream.requests[0], upstream.requests[1]
    assert any(t["function"]["name"] == "file_search" for t in first["tools"])
    tool_message = second["messages"][-1]
    assert tool_message["role"] == "tool"
    assert "【0:0†favorite_foods.txt】" in tool_message["content"]
    assert "Filip's favorite food is cake" in tool_message["content"]
    (message,) = fc.beta.threads.messages.list(thread_id=thread.id, run_id=run.id).data
    text = message.content[0].text  # type: ignore[union-attr]
    assert text.value == "Filip likes cake【0:0†favorite_foods.txt】 and more."
    (ann,) = text.annotations
    assert (ann.start_index, ann.end_index) == (16, 40)
    assert ann.file_citation.file_id == file_id  # type: ignore[union-attr]
    steps = fc.beta.threads.runs.steps.list(run_id=run.id, thread_id=thread.id, order="asc")
    call = steps.data[0].step_details.tool_calls[0]  # type: ignore[union-attr]
    assert call.file_search.ranking_options.ranker == "default_2024_08_21"  # type: ignore[union-attr]
    assert len(call.file_search.results) <= 3  # type: ignore[union-attr]


def test_message_attachment_goes_into_the_threads_store(fc: openai.OpenAI) -> None:
    f = fc.files.create(file=("notes.md", b"The launch code is tangerine."), purpose="assistants")
    thread = fc.beta.threads.create()
    fc.beta.threads.messages.create(
        thread_id=thread.id,
        role="user",
        content="See the notes.",
        attachments=[{"file_id": f.id, "tools": [{"type": "file_search"}]}],
    )
    again = fc.beta.threads.retrieve(thread.id)
    assert again.tool_resources is not None
    assert again.tool_resources.file_search is not None
    (store_id,) = again.tool_resources.file_search.vector_store_ids or []
    store = fc.vector_stores.retrieve(store_id)
    assert store.expires_after is not None
    assert store.expires_after.days == 7
    assert store.file_counts.total == 1
    csv = fc.files.create(file=("t.csv", b"a,b"), purpose="assistants")
    with pytest.raises(openai.BadRequestError) as caught:
        fc.beta.threads.messages.create(
            thread_id=thread.id,
            role="user",
            content="x",
            attachments=[{"file_id": csv.id, "tools": [{"type": "file_search"}]}],
        )
    assert caught.value.body["code"] == "unsupported_file"  # type: ignore[index]
    assert len(fc.beta.threads.messages.list(thread_id=thread.id).data) == 1


def test_thread_and_run_makes_the_thread_store(
    fc: openai.OpenAI, upstream: ScriptedUpstream
) -> None:
    f = fc.files.create(file=("a.txt", b"Otters hold hands while sleeping."), purpose="assistants")
    assistant = fc.beta.assistants.create(model="scripted-fs", tools=[{"type": "file_search"}])
    upstream.script(Reply(text="Noted."))
    run = fc.beta.threads.create_and_run(
        assistant_id=assistant.id,
        thread={
            "messages": [{"role": "user", "content": "otters?"}],
            "tool_resources": {"file_search": {"vector_stores": [{"file_ids": [f.id]}]}},
        },
    )
    thread = fc.beta.threads.retrieve(run.thread_id)
    assert thread.tool_resources is not None
    assert thread.tool_resources.file_search is not None
    (store_id,) = thread.tool_resources.file_search.vector_store_ids or []
    store = fc.vector_stores.retrieve(store_id)
    assert store.file_counts.total == 1
    assert store.expires_after is not None
    assert store.expires_after.days == 7
    # Let the run end here, or its request would take the next test's scripted reply.
    done = fc.beta.threads.runs.poll(run.id, thread_id=run.thread_id, poll_interval_ms=100)
    assert done.status == "completed", done.last_error


def test_a_run_waits_for_the_threads_store_to_be_ready(
    fc: openai.OpenAI, upstream: ScriptedUpstream
) -> None:
    filler = b" ".join(b"Paragraph %d about nothing in particular." % i for i in range(1500))
    f = fc.files.create(
        file=("manual.txt", filler + b" The secret ingredient is saffron."), purpose="assistants"
    )
    assistant = fc.beta.assistants.create(model="scripted-fs", tools=[{"type": "file_search"}])
    thread = fc.beta.threads.create(
        messages=[
            {
                "role": "user",
                "content": "What is the secret ingredient?",
                "attachments": [{"file_id": f.id, "tools": [{"type": "file_search"}]}],
            }
        ]
    )
    store_id = thread.tool_resources.file_search.vector_store_ids[0]  # type: ignore[union-attr,index]
    assert fc.vector_stores.retrieve(store_id).status == "in_progress"  # still ingesting
    upstream.script(
        Reply(tool_calls=[("file_search", json.dumps({"query": "secret ingredient saffron"}))]),
        Reply(text="Saffron."),
    )
    run = fc.beta.threads.runs.create_and_poll(thread_id=thread.id, assistant_id=assistant.id)
    assert run.status == "completed", run.last_error
    assert "saffron" in upstream.requests[1]["messages"][-1]["content"]
