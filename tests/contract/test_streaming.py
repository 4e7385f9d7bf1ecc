"""Streamed runs: the SDK's stream helpers, the exact event order, incremental delivery."""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any

import httpx
import openai
import pytest
from openai import AssistantEventHandler, AsyncAssistantEventHandler
from typing_extensions import override

from tests.conftest import make_async_client, make_client
from tests.contract.sse import Event, names, post_stream, read_events, validate
from tests.servers import Server, running_server
from tests.upstream import Reply, ScriptedUpstream, route_env

WEATHER = {
    "type": "function",
    "function": {"name": "get_weather", "parameters": {"type": "object", "properties": {}}},
}
TEXT_RUN = [
    "thread.run.created",
    "thread.run.queued",
    "thread.run.in_progress",
    "thread.run.step.created",
    "thread.run.step.in_progress",
    "thread.message.created",
    "thread.message.in_progress",
    "thread.message.delta*",
    "thread.message.completed",
    "thread.run.step.completed",
    "thread.run.completed",
    "done",
]


@pytest.fixture(scope="module")
def stream_server(
    backend: str, upstream: ScriptedUpstream, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Server]:
    tmp = tmp_path_factory.mktemp(f"stream-{backend}")
    env = {**route_env(upstream), "ASSISTANTD_STREAM_KEEPALIVE_S": "0.3"}
    with running_server(backend, tmp, env) as srv:
        yield srv


@pytest.fixture
def sc(stream_server: Server, upstream: ScriptedUpstream) -> Iterator[openai.OpenAI]:
    upstream.reset()
    with make_client(stream_server.base_url) as client:
        yield client


@pytest.fixture
def ids(sc: openai.OpenAI) -> tuple[str, str]:
    assistant = sc.beta.assistants.create(model="scripted-gpt", tools=[WEATHER])  # type: ignore[list-item]
    thread = sc.beta.threads.create(messages=[{"role": "user", "content": "hello"}])
    return assistant.id, thread.id


def _text(events: list[Event]) -> str:
    return "".join(
        e.data["delta"]["content"][0]["text"]["value"]
        for e in events
        if e.name == "thread.message.delta"
    )


def test_text_run_event_order_and_schemas(
    sc: openai.OpenAI, stream_server: Server, upstream: ScriptedUpstream, ids: tuple[str, str]
) -> None:
    upstream.script(Reply(text="Penguins are birds that cannot fly."))
    assistant_id, thread_id = ids
    events = post_stream(
        stream_server.base_url, f"/threads/{thread_id}/runs", {"assistant_id": assistant_id}
    )
    validate(events)
    assert names(events) == TEXT_RUN
    assert events[0].data["status"] == "queued"
    assert _text(events) == "Penguins are birds that cannot fly."
    completed = next(e.data for e in events if e.name == "thread.message.completed")
    assert completed["content"][0]["text"]["value"] == _text(events)
    # Snapshots in .completed events equal what a later GET returns.
    base = f"{stream_server.base_url}/v1/threads/{thread_id}"
    assert httpx.get(f"{base}/runs/{events[0].data['id']}").json() == events[-2].data
    assert httpx.get(f"{base}/messages/{completed['id']}").json() == completed


def test_create_thread_and_run_stream_starts_with_the_thread(
    stream_server: Server, upstream: ScriptedUpstream, ids: tuple[str, str]
) -> None:
    upstream.script(Reply(text="Hi"))
    body = {"assistant_id": ids[0], "thread": {"messages": [{"role": "user", "content": "x"}]}}
    events = post_stream(stream_server.base_url, "/threads/runs", body)
    validate(events)
    assert names(events) == ["thread.created", *TEXT_RUN]
    assert events[1].data["thread_id"] == events[0].data["id"]


def test_tool_run_streams_both_halves(
    stream_server: Server, upstream: ScriptedUpstream, ids: tuple[str, str]
) -> None:
    upstream.script(
        Reply(
            tool_calls=[("get_weather", '{"city": "Oslo"}'), ("get_weather", '{"city": "Rome"}')]
        ),
        Reply(text="Done."),
    )
    assistant_id, thread_id = ids
    first = post_stream(
        stream_server.base_url, f"/threads/{thread_id}/runs", {"assistant_id": assistant_id}
    )
    validate(first)
    assert names(first) == [
        *TEXT_RUN[:5],  # created, queued, in_progress, step created, step in_progress
        "thread.run.step.delta*",
        "thread.run.requires_action",
        "done",
    ]
    created = next(e.data for e in first if e.name == "thread.run.step.created")
    assert created["step_details"] == {"type": "tool_calls", "tool_calls": []}
    deltas = [
        e.data["delta"]["step_details"]["tool_calls"][0]
        for e in first
        if e.name == "thread.run.step.delta"
    ]
    run = first[-2].data
    calls = run["required_action"]["submit_tool_outputs"]["tool_calls"]
    # id and name only in each call's first delta; later deltas add arguments only.
    for index, call in enumerate(calls):
        mine = [d for d in deltas if d["index"] == index]
        assert mine[0]["id"] == call["id"]
        assert mine[0]["function"]["name"] == "get_weather"
        assert all("id" not in d and "name" not in d["function"] for d in mine[1:])
        assert "".join(d["function"]["arguments"] for d in mine) == call["function"]["arguments"]
    outputs = [{"tool_call_id": c["id"], "output": "fine"} for c in calls]
    second = post_stream(
        stream_server.base_url,
        f"/threads/{thread_id}/runs/{run['id']}/submit_tool_outputs",
        {"tool_outputs": outputs},
    )
    validate(second)
    assert names(second) == ["thread.run.step.completed", "thread.run.queued", *TEXT_RUN[2:]]
    assert [c["function"]["output"] for c in second[0].data["step_details"]["tool_calls"]] == [
        "fine",
        "fine",
    ]


def test_failed_and_incomplete_runs(
    stream_server: Server, upstream: ScriptedUpstream, ids: tuple[str, str]
) -> None:
    assistant_id, thread_id = ids
    upstream.script(*[Reply(status=500)] * 3)
    failed = post_stream(
        stream_server.base_url, f"/threads/{thread_id}/runs", {"assistant_id": assistant_id}
    )
    validate(failed)
    assert names(failed) == [*TEXT_RUN[:3], "thread.run.failed", "done"]
    assert failed[-2].data["last_error"]["code"] == "server_error"
    upstream.script(Reply(text="cut off here", finish="length"))
    body = {"assistant_id": assistant_id, "max_completion_tokens": 256}
    cut = post_stream(stream_server.base_url, f"/threads/{thread_id}/runs", body)
    validate(cut)
    assert names(cut) == [
        *TEXT_RUN[:8],
        "thread.message.incomplete",
        "thread.run.step.completed",
        "thread.run.incomplete",
        "done",
    ]
    assert cut[-2].data["incomplete_details"] == {"reason": "max_completion_tokens"}


def test_cancelled_run(
    sc: openai.OpenAI, stream_server: Server, upstream: ScriptedUpstream, ids: tuple[str, str]
) -> None:
    upstream.script(Reply(text="word " * 60, token_delay_s=0.05))
    assistant_id, thread_id = ids
    started = time.monotonic()
    with httpx.stream(
        "POST",
        f"{stream_server.base_url}/v1/threads/{thread_id}/runs",
        json={"assistant_id": assistant_id, "stream": True},
        timeout=60,
    ) as response:
        events: list[Event] = []
        lines = response.iter_lines()
        name = None
        for line in lines:
            if line.startswith("event: "):
                name = line[7:]
            elif line.startswith("data: ") and name:
                events.append(Event(name, line[6:], time.monotonic() - started))
                if name == "thread.message.delta" and sum(e.name == name for e in events) == 3:
                    sc.beta.threads.runs.cancel(events[0].data["id"], thread_id=thread_id)
                name = None
    validate(events)
    order = names(events)
    assert order[:8] == TEXT_RUN[:8]
    assert order[8:] == [
        "thread.run.cancelling",
        "thread.message.delta*",
        "thread.message.incomplete",
        "thread.run.step.cancelled",
        "thread.run.cancelled",
        "done",
    ] or order[8:] == [
        "thread.run.cancelling",
        "thread.message.incomplete",
        "thread.run.step.cancelled",
        "thread.run.cancelled",
        "done",
    ]


def test_tokens_arrive_as_they_are_produced(
    stream_server: Server, upstream: ScriptedUpstream, ids: tuple[str, str]
) -> None:
    upstream.script(Reply(text="tok " * 20, token_delay_s=0.1))  # 20 tokens over ~2 s
    events = post_stream(
        stream_server.base_url, f"/threads/{ids[1]}/runs", {"assistant_id": ids[0]}
    )
    deltas = [e.at for e in events if e.name == "thread.message.delta"]
    assert len(deltas) == 20
    assert deltas[0] < 1.0, "the first token waited for the whole answer"
    assert deltas[-1] - deltas[0] > 1.5


def test_keep_alive_comments_while_the_model_is_silent(
    stream_server: Server, upstream: ScriptedUpstream, ids: tuple[str, str]
) -> None:
    upstream.script(Reply(text="late", first_delay_s=1.2))
    with httpx.stream(
        "POST",
        f"{stream_server.base_url}/v1/threads/{ids[1]}/runs",
        json={"assistant_id": ids[0], "stream": True},
        timeout=30,
    ) as response:
        lines = list(response.iter_lines())
    assert lines.count(": keep-alive") >= 2
    assert "data: [DONE]" in lines


def test_disconnect_leaves_the_run_to_finish(
    sc: openai.OpenAI, stream_server: Server, upstream: ScriptedUpstream, ids: tuple[str, str]
) -> None:
    upstream.script(Reply(text="complete answer " * 10, token_delay_s=0.05))
    assistant_id, thread_id = ids
    with httpx.stream(
        "POST",
        f"{stream_server.base_url}/v1/threads/{thread_id}/runs",
        json={"assistant_id": assistant_id, "stream": True},
        timeout=30,
    ) as response:
        early = read_events(response, time.monotonic(), stop_after="thread.message.delta")
    run_id = early[0].data["id"]
    run = sc.beta.threads.runs.poll(run_id, thread_id=thread_id)
    assert run.status == "completed"
    message = sc.beta.threads.messages.list(thread_id, run_id=run_id).data[0]
    assert message.content[0].text.value == "complete answer " * 10  # type: ignore[union-attr]


class Recorder(AssistantEventHandler):
    def __init__(self) -> None:
        super().__init__()
        self.deltas: list[str] = []
        self.done_messages: list[Any] = []
        self.done_steps: list[Any] = []
        self.tool_created: list[Any] = []
        self.tool_done: list[Any] = []

    @override
    def on_text_delta(self, delta: Any, snapshot: Any) -> None:
        self.deltas.append(delta.value)

    @override
    def on_message_done(self, message: Any) -> None:
        self.done_messages.append(message)

    @override
    def on_run_step_done(self, run_step: Any) -> None:
        self.done_steps.append(run_step)

    @override
    def on_tool_call_created(self, tool_call: Any) -> None:
        self.tool_created.append(tool_call)

    @override
    def on_tool_call_done(self, tool_call: Any) -> None:
        self.tool_done.append(tool_call)


def test_event_handler_text_run(
    sc: openai.OpenAI, upstream: ScriptedUpstream, ids: tuple[str, str]
) -> None:
    upstream.script(Reply(text="The quick brown fox jumps."))
    handler = Recorder()
    with sc.beta.threads.runs.stream(
        thread_id=ids[1], assistant_id=ids[0], event_handler=handler
    ) as stream:
        stream.until_done()
        run = stream.get_final_run()
        messages = stream.get_final_messages()
        steps = stream.get_final_run_steps()
    assert run.status == "completed"
    assert "".join(handler.deltas) == "The quick brown fox jumps."
    assert len(handler.deltas) > 1
    assert messages[0].content[0].text.value == "The quick brown fox jumps."  # type: ignore[union-attr]
    assert [m.id for m in handler.done_messages] == [messages[0].id]
    assert [s.type for s in steps] == ["message_creation"]
    assert [s.status for s in handler.done_steps] == ["completed"]


def test_event_handler_tool_round_trip(
    sc: openai.OpenAI, upstream: ScriptedUpstream, ids: tuple[str, str]
) -> None:
    upstream.script(Reply(tool_calls=[("get_weather", '{"city": "Oslo"}')]), Reply(text="Cold."))
    handler = Recorder()
    with sc.beta.threads.runs.stream(
        thread_id=ids[1], assistant_id=ids[0], event_handler=handler
    ) as stream:
        stream.until_done()
        run = stream.get_final_run()
    assert run.status == "requires_action"
    assert run.required_action is not None
    call = run.required_action.submit_tool_outputs.tool_calls[0]
    assert [c.id for c in handler.tool_created] == [call.id]
    assert handler.tool_done[0].function.arguments == '{"city": "Oslo"}'
    after = Recorder()
    with sc.beta.threads.runs.submit_tool_outputs_stream(
        run_id=run.id,
        thread_id=ids[1],
        tool_outputs=[{"tool_call_id": call.id, "output": "-3C"}],
        event_handler=after,
    ) as stream:
        stream.until_done()
        final = stream.get_final_run()
    assert final.status == "completed"
    assert "".join(after.deltas) == "Cold."


def test_create_and_run_stream_and_raw_iteration(
    sc: openai.OpenAI, upstream: ScriptedUpstream, ids: tuple[str, str]
) -> None:
    upstream.script(Reply(text="One."), Reply(text="Two."))
    with sc.beta.threads.create_and_run_stream(
        assistant_id=ids[0], thread={"messages": [{"role": "user", "content": "x"}]}
    ) as stream:
        stream.until_done()
        assert stream.get_final_run().status == "completed"
    raw = sc.beta.threads.runs.create(thread_id=ids[1], assistant_id=ids[0], stream=True)
    seen = [event.event for event in raw]
    assert seen[0] == "thread.run.created"
    assert seen[-1] == "thread.run.completed"


def test_include_is_accepted_and_checked(
    sc: openai.OpenAI, upstream: ScriptedUpstream, ids: tuple[str, str]
) -> None:
    upstream.script(Reply(text="ok"))
    with sc.beta.threads.runs.stream(
        thread_id=ids[1],
        assistant_id=ids[0],
        include=["step_details.tool_calls[*].file_search.results[*].content"],
    ) as stream:
        stream.until_done()
    with pytest.raises(openai.BadRequestError):
        sc.beta.threads.runs.create(
            thread_id=ids[1],
            assistant_id=ids[0],
            include=["nonsense"],  # type: ignore[list-item]
        )


async def test_async_event_handler(
    stream_server: Server, upstream: ScriptedUpstream, ids: tuple[str, str]
) -> None:
    upstream.script(Reply(text="Async works."))
    pieces: list[str] = []

    class Handler(AsyncAssistantEventHandler):
        @override
        async def on_text_delta(self, delta: Any, snapshot: Any) -> None:
            pieces.append(delta.value)

    async with (
        make_async_client(stream_server.base_url) as client,
        client.beta.threads.runs.stream(
            thread_id=ids[1], assistant_id=ids[0], event_handler=Handler()
        ) as stream,
    ):
        await stream.until_done()
        messages = await stream.get_final_messages()
    assert "".join(pieces) == "Async works."
    assert messages[0].content[0].text.value == "Async works."  # type: ignore[union-attr]


def test_streams_work_when_other_processes_run_the_queue(
    upstream: ScriptedUpstream, tmp_path_factory: pytest.TempPathFactory
) -> None:
    """A server without worker slots, beside an `assistantd worker`: a streamed run is
    reserved for the server that holds the stream, so its events still arrive."""
    import os
    import subprocess
    import sys

    tmp = tmp_path_factory.mktemp("stream-split")
    env = {**route_env(upstream), "ASSISTANTD_WORKERS": "0"}
    with running_server("sqlite", tmp, env) as server:
        worker = subprocess.Popen(
            [sys.executable, "-m", "assistantd", "worker", "--database-url", server.database_url],
            env={**os.environ, **route_env(upstream)},
        )
        try:
            with make_client(server.base_url) as client:
                assistant = client.beta.assistants.create(model="scripted-gpt")
                thread = client.beta.threads.create(messages=[{"role": "user", "content": "x"}])
                upstream.script(Reply(text="streamed here"), Reply(text="polled there"))
                events = post_stream(
                    server.base_url, f"/threads/{thread.id}/runs", {"assistant_id": assistant.id}
                )
                validate(events)
                assert names(events) == TEXT_RUN
                assert _text(events) == "streamed here"
                # A run nobody streams is still left to the worker process.
                run = client.beta.threads.runs.create_and_poll(
                    thread_id=thread.id, assistant_id=assistant.id
                )
                assert run.status == "completed"
        finally:
            worker.terminate()
            worker.wait(timeout=20)
