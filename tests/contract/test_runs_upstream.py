"""Runs against a scripted OpenAI-compatible upstream over real HTTP on loopback."""

from __future__ import annotations

import time
from collections.abc import Iterator

import openai
import pytest

from tests.conftest import make_client
from tests.contract.helpers import error_body
from tests.servers import Server, running_server
from tests.upstream import Reply, ScriptedUpstream, route_env

WEATHER = {
    "type": "function",
    "function": {
        "name": "get_weather",
        "description": "Weather in a city",
        "parameters": {"type": "object", "properties": {"city": {"type": "string"}}},
    },
}


@pytest.fixture(scope="module")
def run_server(
    backend: str, upstream: ScriptedUpstream, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Server]:
    env = {**route_env(upstream), "ASSISTANTD_RUN_STALE_S": "3"}
    with running_server(backend, tmp_path_factory.mktemp(f"runs-{backend}"), env) as srv:
        yield srv


@pytest.fixture
def rc(run_server: Server, upstream: ScriptedUpstream) -> Iterator[openai.OpenAI]:
    upstream.reset()
    with make_client(run_server.base_url) as client:
        yield client


@pytest.fixture
def assistant_id(rc: openai.OpenAI) -> str:
    return rc.beta.assistants.create(
        model="scripted-gpt",
        instructions="Be brief.",
        tools=[WEATHER],  # type: ignore[list-item]
    ).id


def _thread(client: openai.OpenAI, *texts: str) -> str:
    return client.beta.threads.create(messages=[{"role": "user", "content": t} for t in texts]).id


def test_text_run_completes_with_a_message(
    rc: openai.OpenAI, upstream: ScriptedUpstream, assistant_id: str
) -> None:
    upstream.script(Reply(text="Penguins are flightless birds."))
    thread_id = _thread(rc, "What is a penguin?")
    run = rc.beta.threads.runs.create_and_poll(thread_id=thread_id, assistant_id=assistant_id)
    assert run.status == "completed"
    assert run.thread_id == thread_id
    assert run.assistant_id == assistant_id
    assert run.model == "scripted-gpt"
    assert run.instructions == "Be brief."
    assert run.started_at is not None
    assert run.completed_at is not None
    assert run.usage is not None
    assert (run.usage.prompt_tokens, run.usage.completion_tokens) == (11, 7)
    answer = rc.beta.threads.messages.list(thread_id, run_id=run.id).data
    assert len(answer) == 1
    assert answer[0].role == "assistant"
    assert answer[0].status == "completed"
    assert (answer[0].run_id, answer[0].assistant_id) == (run.id, assistant_id)
    assert answer[0].content[0].text.value == "Penguins are flightless birds."  # type: ignore[union-attr]
    steps = rc.beta.threads.runs.steps.list(run.id, thread_id=thread_id).data
    assert [s.type for s in steps] == ["message_creation"]
    assert steps[0].status == "completed"
    assert steps[0].step_details.message_creation.message_id == answer[0].id  # type: ignore[union-attr]
    assert (
        rc.beta.threads.runs.steps.retrieve(steps[0].id, thread_id=thread_id, run_id=run.id)
        == steps[0]
    )
    sent = upstream.requests[0]
    assert sent["model"] == "scripted-gpt"
    assert sent["messages"] == [
        {"role": "system", "content": "Be brief."},
        {"role": "user", "content": "What is a penguin?"},
    ]
    assert sent["stream"] is True


def test_create_thread_and_run_poll(
    rc: openai.OpenAI, upstream: ScriptedUpstream, assistant_id: str
) -> None:
    upstream.script(Reply(text="Hi."))
    run = rc.beta.threads.create_and_run_poll(
        assistant_id=assistant_id,
        thread={"messages": [{"role": "user", "content": "Hello"}]},
        instructions="Override.",
        metadata={"k": "v"},
    )
    assert run.status == "completed"
    assert run.instructions == "Override."
    assert run.metadata == {"k": "v"}
    assert [r.id for r in rc.beta.threads.runs.list(run.thread_id)] == [run.id]
    assert upstream.requests[0]["messages"][0] == {"role": "system", "content": "Override."}


def test_parallel_tool_calls_round_trip(
    rc: openai.OpenAI, upstream: ScriptedUpstream, assistant_id: str
) -> None:
    upstream.script(
        Reply(
            tool_calls=[("get_weather", '{"city": "Oslo"}'), ("get_weather", '{"city": "Rome"}')]
        ),
        Reply(text="Cold in Oslo, warm in Rome."),
    )
    thread_id = _thread(rc, "Weather in Oslo and Rome?")
    run = rc.beta.threads.runs.create_and_poll(thread_id=thread_id, assistant_id=assistant_id)
    assert run.status == "requires_action"
    assert run.required_action is not None
    calls = run.required_action.submit_tool_outputs.tool_calls
    assert [c.function.name for c in calls] == ["get_weather", "get_weather"]
    assert [c.function.arguments for c in calls] == ['{"city": "Oslo"}', '{"city": "Rome"}']
    assert len({c.id for c in calls}) == 2
    assert all(c.id.startswith("call_") for c in calls)
    # Every pending call must be answered.
    with pytest.raises(openai.BadRequestError) as info:
        rc.beta.threads.runs.submit_tool_outputs(
            run.id,
            thread_id=thread_id,
            tool_outputs=[{"tool_call_id": calls[0].id, "output": "-3C"}],
        )
    assert error_body(info.value)["code"] == "missing_tool_outputs"
    with pytest.raises(openai.BadRequestError):
        rc.beta.threads.runs.submit_tool_outputs(
            run.id,
            thread_id=thread_id,
            tool_outputs=[{"tool_call_id": "call_bogus", "output": "x"}],
        )
    done = rc.beta.threads.runs.submit_tool_outputs_and_poll(
        run_id=run.id,
        thread_id=thread_id,
        tool_outputs=[
            {"tool_call_id": calls[0].id, "output": "-3C"},
            {"tool_call_id": calls[1].id, "output": "24C"},
        ],
    )
    assert done.status == "completed"
    second = upstream.requests[1]["messages"]
    assert second[-3] == {
        "role": "assistant",
        "content": None,
        "tool_calls": [
            {
                "id": calls[0].id,
                "type": "function",
                "function": {"name": "get_weather", "arguments": '{"city": "Oslo"}'},
            },
            {
                "id": calls[1].id,
                "type": "function",
                "function": {"name": "get_weather", "arguments": '{"city": "Rome"}'},
            },
        ],
    }
    assert second[-2:] == [
        {"role": "tool", "tool_call_id": calls[0].id, "content": "-3C"},
        {"role": "tool", "tool_call_id": calls[1].id, "content": "24C"},
    ]
    steps = rc.beta.threads.runs.steps.list(run.id, thread_id=thread_id, order="asc").data
    assert [s.type for s in steps] == ["tool_calls", "message_creation"]
    outputs = [c.function.output for c in steps[0].step_details.tool_calls]  # type: ignore[union-attr]
    assert outputs == ["-3C", "24C"]
    assert done.usage is not None
    assert done.usage.prompt_tokens == 22


def test_tool_choice_and_parallel_tool_calls_are_honoured(
    rc: openai.OpenAI, upstream: ScriptedUpstream, assistant_id: str
) -> None:
    upstream.script(Reply(tool_calls=[("get_weather", "{}"), ("get_weather", "{}")]))
    thread_id = _thread(rc, "x")
    run = rc.beta.threads.runs.create_and_poll(
        thread_id=thread_id,
        assistant_id=assistant_id,
        tool_choice={"type": "function", "function": {"name": "get_weather"}},
        parallel_tool_calls=False,
    )
    assert run.required_action is not None
    assert len(run.required_action.submit_tool_outputs.tool_calls) == 1
    sent = upstream.requests[-1]
    assert sent["tool_choice"] == {"type": "function", "function": {"name": "get_weather"}}
    assert sent["parallel_tool_calls"] is False
    assert sent["tools"] == [WEATHER]
    rc.beta.threads.runs.cancel(run.id, thread_id=thread_id)


@pytest.mark.parametrize("choice", ["none", "required", "auto"])
def test_tool_choice_modes_reach_the_upstream(
    rc: openai.OpenAI, upstream: ScriptedUpstream, assistant_id: str, choice: str
) -> None:
    upstream.script(Reply(text="ok"))
    run = rc.beta.threads.runs.create_and_poll(
        thread_id=_thread(rc, "x"),
        assistant_id=assistant_id,
        tool_choice=choice,  # type: ignore[arg-type]
        reasoning_effort="low",
    )
    assert run.status == "completed"
    assert run.tool_choice == choice
    sent = upstream.requests[-1]
    assert sent["tool_choice"] == choice
    assert sent["reasoning_effort"] == "low"


@pytest.mark.parametrize(
    "choice", ["required", {"type": "function", "function": {"name": "get_weather"}}]
)
def test_forced_tool_choice_applies_to_the_first_turn_only(
    rc: openai.OpenAI, upstream: ScriptedUpstream, assistant_id: str, choice: object
) -> None:
    # The scripted model would call the tool again if asked to; after the outputs the
    # run must go on with `auto`, so its answer ends the run.
    upstream.script(Reply(tool_calls=[("get_weather", "{}")]), Reply(text="Sunny."))
    thread_id = _thread(rc, "x")
    run = rc.beta.threads.runs.create_and_poll(
        thread_id=thread_id,
        assistant_id=assistant_id,
        tool_choice=choice,  # type: ignore[arg-type]
    )
    assert run.status == "requires_action"
    assert run.required_action is not None
    call = run.required_action.submit_tool_outputs.tool_calls[0]
    done = rc.beta.threads.runs.submit_tool_outputs_and_poll(
        run_id=run.id,
        thread_id=thread_id,
        tool_outputs=[{"tool_call_id": call.id, "output": "20C"}],
    )
    assert done.status == "completed"
    shown = done.tool_choice if isinstance(done.tool_choice, str) else done.tool_choice.to_dict()  # type: ignore[union-attr]
    assert shown == choice  # the run still shows what the client asked for
    assert upstream.requests[0]["tool_choice"] == choice
    assert upstream.requests[1]["tool_choice"] == "auto"


@pytest.mark.parametrize(
    ("choice", "param"),
    [
        ({"type": "code_interpreter"}, "tool_choice"),
        ({"type": "function", "function": {"name": "not_a_tool"}}, "tool_choice.function.name"),
    ],
    ids=["code_interpreter", "unknown_function"],
)
def test_a_tool_choice_the_run_cannot_honour_is_a_400(
    rc: openai.OpenAI, upstream: ScriptedUpstream, assistant_id: str, choice: object, param: str
) -> None:
    thread_id = _thread(rc, "x")
    with pytest.raises(openai.BadRequestError) as info:
        rc.beta.threads.runs.create(
            thread_id=thread_id,
            assistant_id=assistant_id,
            # code_interpreter can be forced, but only on a run that has it.
            tools=[WEATHER, {"type": "file_search"}],  # type: ignore[list-item]
            tool_choice=choice,  # type: ignore[arg-type]
        )
    assert error_body(info.value)["param"] == param
    with pytest.raises(openai.BadRequestError):
        rc.beta.threads.create_and_run(
            assistant_id=assistant_id,
            tool_choice=choice,  # type: ignore[arg-type]
        )
    # Nothing was written: the thread takes a run at once, and no request went upstream.
    assert rc.beta.threads.runs.list(thread_id).data == []
    assert upstream.requests == []


def test_forcing_file_search_needs_the_tool(
    rc: openai.OpenAI, upstream: ScriptedUpstream, assistant_id: str
) -> None:
    with pytest.raises(openai.BadRequestError) as info:
        rc.beta.threads.runs.create(
            thread_id=_thread(rc, "x"),
            assistant_id=assistant_id,
            tools=[WEATHER],  # type: ignore[list-item]
            tool_choice={"type": "file_search"},
        )
    assert error_body(info.value)["param"] == "tool_choice"
    assert upstream.requests == []


def test_required_without_a_tool_is_a_400(rc: openai.OpenAI, upstream: ScriptedUpstream) -> None:
    bare = rc.beta.assistants.create(model="scripted-gpt", tools=[])
    with pytest.raises(openai.BadRequestError) as info:
        rc.beta.threads.runs.create(
            thread_id=_thread(rc, "x"), assistant_id=bare.id, tool_choice="required"
        )
    assert error_body(info.value)["param"] == "tool_choice"


# A 1x1 PNG, as a user would upload it.
PIXEL = bytes.fromhex(
    "89504e470d0a1a0a0000000d4948445200000001000000010806000000"
    "1f15c4890000000d49444154789c6360f8cf000003010100c9fe92ef0000000049454e44ae426082"
)


def test_image_files_reach_an_upstream_model_as_images(
    rc: openai.OpenAI, upstream: ScriptedUpstream, assistant_id: str
) -> None:
    import base64

    upstream.script(Reply(text="A pixel."))
    image = rc.files.create(file=("pixel.png", PIXEL), purpose="vision")
    thread_id = rc.beta.threads.create(
        messages=[
            {
                "role": "user",
                "content": [
                    {"type": "text", "text": "What is this?"},
                    {"type": "image_file", "image_file": {"file_id": image.id, "detail": "low"}},
                ],
            }
        ]
    ).id
    run = rc.beta.threads.runs.create_and_poll(thread_id=thread_id, assistant_id=assistant_id)
    assert run.status == "completed", run.last_error
    (sent,) = [m for m in upstream.requests[0]["messages"] if m["role"] == "user"]
    assert sent["content"] == [
        {"type": "text", "text": "What is this?"},
        {
            "type": "image_url",
            "image_url": {
                "url": "data:image/png;base64," + base64.b64encode(PIXEL).decode(),
                "detail": "low",
            },
        },
    ]


def test_truncation_last_messages(
    rc: openai.OpenAI, upstream: ScriptedUpstream, assistant_id: str
) -> None:
    upstream.script(Reply(text="ok"))
    thread_id = _thread(rc, "one", "two", "three", "four")
    rc.beta.threads.runs.create_and_poll(
        thread_id=thread_id,
        assistant_id=assistant_id,
        truncation_strategy={"type": "last_messages", "last_messages": 2},
    )
    assert upstream.requests[-1]["messages"] == [
        {"role": "system", "content": "Be brief."},
        {"role": "user", "content": "three"},
        {"role": "user", "content": "four"},
    ]


def test_truncation_by_max_prompt_tokens(
    rc: openai.OpenAI, upstream: ScriptedUpstream, assistant_id: str
) -> None:
    upstream.script(Reply(text="ok"))
    big = "word " * 300  # about 375 tokens by the upstream estimate
    thread_id = _thread(rc, "old " + big, "recent " + big, "newest question")
    rc.beta.threads.runs.create_and_poll(
        thread_id=thread_id, assistant_id=assistant_id, max_prompt_tokens=400
    )
    sent = [m["content"] for m in upstream.requests[-1]["messages"]]
    assert sent == ["Be brief.", "newest question"]


def test_auto_truncation_drops_the_oldest_to_fit_the_context_window(
    rc: openai.OpenAI, upstream: ScriptedUpstream, assistant_id: str
) -> None:
    # tiny* has a 1,400-token window; 1,024 are kept for the answer, leaving 376.
    upstream.script(Reply(text="ok"))
    filler = "word " * 100  # about 125 tokens each
    thread_id = _thread(rc, *(f"m{i} {filler}" for i in range(6)))
    rc.beta.threads.runs.create_and_poll(
        thread_id=thread_id, assistant_id=assistant_id, model="tiny-gpt"
    )
    sent = [m["content"].split()[0] for m in upstream.requests[-1]["messages"][1:]]
    assert sent == ["m4", "m5"]


def test_max_completion_tokens_ends_incomplete(
    rc: openai.OpenAI, upstream: ScriptedUpstream, assistant_id: str
) -> None:
    upstream.script(Reply(text="A long answer that is cut", finish="length"))
    thread_id = _thread(rc, "x")
    run = rc.beta.threads.runs.create_and_poll(
        thread_id=thread_id, assistant_id=assistant_id, max_completion_tokens=256
    )
    assert run.status == "incomplete"
    assert run.incomplete_details is not None
    assert run.incomplete_details.reason == "max_completion_tokens"
    assert upstream.requests[-1]["max_tokens"] == 256
    message = rc.beta.threads.messages.list(thread_id, run_id=run.id).data[0]
    assert message.status == "incomplete"
    assert message.incomplete_details is not None
    assert message.incomplete_details.reason == "max_tokens"


def test_a_providers_own_cap_is_not_reported_as_the_clients(
    rc: openai.OpenAI, upstream: ScriptedUpstream, assistant_id: str
) -> None:
    """No max_completion_tokens: a cut is the provider's own limit. The run completes and
    the message says it was cut (`max_tokens`); nothing blames a limit never set."""
    upstream.script(Reply(text="An answer the upstream cut", finish="length"))
    thread_id = _thread(rc, "x")
    run = rc.beta.threads.runs.create_and_poll(thread_id=thread_id, assistant_id=assistant_id)
    assert run.status == "completed"
    assert run.incomplete_details is None
    assert "max_tokens" not in upstream.requests[-1]
    message = rc.beta.threads.messages.list(thread_id, run_id=run.id).data[0]
    assert message.status == "incomplete"
    assert message.incomplete_details is not None
    assert message.incomplete_details.reason == "max_tokens"
    assert message.content[0].text.value == "An answer the upstream cut"  # type: ignore[union-attr]


@pytest.mark.parametrize(
    ("replies", "code"),
    [
        ([Reply(status=500)] * 3, "server_error"),
        ([Reply(status=429)] * 3, "rate_limit_exceeded"),
        ([Reply(status=400)], "invalid_prompt"),
        ([Reply(first_delay_s=3)] * 3, "server_error"),
    ],
    ids=["500", "429", "400", "timeout"],
)
def test_upstream_failures_fail_the_run(
    rc: openai.OpenAI,
    upstream: ScriptedUpstream,
    assistant_id: str,
    replies: list[Reply],
    code: str,
) -> None:
    upstream.script(*replies)
    thread_id = _thread(rc, "x")
    run = rc.beta.threads.runs.create_and_poll(thread_id=thread_id, assistant_id=assistant_id)
    assert run.status == "failed"
    assert run.last_error is not None
    assert run.last_error.code == code
    assert run.failed_at is not None
    assert len(upstream.requests) == len(replies)  # retried exactly as often as allowed


def test_connection_cut_mid_answer_fails_without_repeating_text(
    rc: openai.OpenAI, upstream: ScriptedUpstream, assistant_id: str
) -> None:
    # Three chunks ("Hell", "o wo", "rld ") arrive, then the connection breaks. A retry
    # would append a second "Hello world ..." to the same message.
    upstream.script(Reply(text="Hello world again", cut_after=3), Reply(text="Hello world again"))
    thread_id = _thread(rc, "x")
    run = rc.beta.threads.runs.create_and_poll(thread_id=thread_id, assistant_id=assistant_id)
    assert run.status == "failed"
    assert run.last_error is not None
    assert run.last_error.code == "server_error"
    assert "middle of its answer" in run.last_error.message
    assert len(upstream.requests) == 1
    (message,) = rc.beta.threads.messages.list(thread_id, run_id=run.id).data
    assert message.status == "incomplete"
    assert message.content[0].text.value == "Hello world "  # type: ignore[union-attr]


def test_connection_cut_mid_tool_call_never_doubles_arguments(
    rc: openai.OpenAI, upstream: ScriptedUpstream, assistant_id: str
) -> None:
    args = '{"city": "Oslo"}'
    upstream.script(
        Reply(tool_calls=[("get_weather", args)], cut_after=2),
        Reply(tool_calls=[("get_weather", args)]),
    )
    thread_id = _thread(rc, "x")
    run = rc.beta.threads.runs.create_and_poll(thread_id=thread_id, assistant_id=assistant_id)
    assert run.status == "failed"
    assert len(upstream.requests) == 1
    steps = rc.beta.threads.runs.steps.list(run.id, thread_id=thread_id).data
    assert [s.status for s in steps] == ["failed"]


def test_retry_then_success(
    rc: openai.OpenAI, upstream: ScriptedUpstream, assistant_id: str
) -> None:
    upstream.script(Reply(status=503), Reply(text="fine"))
    run = rc.beta.threads.runs.create_and_poll(
        thread_id=_thread(rc, "x"), assistant_id=assistant_id
    )
    assert run.status == "completed"
    assert len(upstream.requests) == 2


def test_cancel_mid_generation(
    rc: openai.OpenAI, upstream: ScriptedUpstream, assistant_id: str
) -> None:
    upstream.script(Reply(text="slow " * 40, token_delay_s=0.1))
    thread_id = _thread(rc, "x")
    run = rc.beta.threads.runs.create(thread_id=thread_id, assistant_id=assistant_id)
    deadline = time.monotonic() + 10
    while rc.beta.threads.runs.retrieve(run.id, thread_id=thread_id).status != "in_progress":
        assert time.monotonic() < deadline
        time.sleep(0.05)
    time.sleep(0.5)
    cancelling = rc.beta.threads.runs.cancel(run.id, thread_id=thread_id)
    assert cancelling.status == "cancelling"
    final = rc.beta.threads.runs.poll(run.id, thread_id=thread_id)
    assert final.status == "cancelled"
    assert final.cancelled_at is not None
    messages = rc.beta.threads.messages.list(thread_id, run_id=run.id).data
    assert all(m.status == "incomplete" for m in messages)
    # What streamed before the cancel counts (the upstream's usage report never came).
    streamed = sum(len(c.text.value) for m in messages for c in m.content if c.type == "text")
    assert streamed > 0
    assert final.usage is not None
    assert final.usage.completion_tokens == streamed // 4
    with pytest.raises(openai.BadRequestError):
        rc.beta.threads.runs.cancel(run.id, thread_id=thread_id)


def test_busy_thread_refuses_runs_and_messages(
    rc: openai.OpenAI, upstream: ScriptedUpstream, assistant_id: str
) -> None:
    upstream.script(Reply(tool_calls=[("get_weather", "{}")]))
    thread_id = _thread(rc, "x")
    run = rc.beta.threads.runs.create_and_poll(thread_id=thread_id, assistant_id=assistant_id)
    assert run.status == "requires_action"
    with pytest.raises(openai.BadRequestError) as info:
        rc.beta.threads.runs.create(thread_id=thread_id, assistant_id=assistant_id)
    assert (
        error_body(info.value)["message"]
        == f"Thread {thread_id} already has an active run {run.id}."
    )
    with pytest.raises(openai.BadRequestError) as info:
        rc.beta.threads.messages.create(thread_id, role="user", content="more")
    assert error_body(info.value)["message"] == (
        f"Can't add messages to {thread_id} while a run {run.id} is active."
    )
    cancelled = rc.beta.threads.runs.cancel(run.id, thread_id=thread_id)
    assert cancelled.status == "cancelled"
    rc.beta.threads.messages.create(thread_id, role="user", content="now it works")


def test_run_errors(rc: openai.OpenAI, assistant_id: str) -> None:
    thread_id = _thread(rc, "x")
    with pytest.raises(openai.NotFoundError):
        rc.beta.threads.runs.create(thread_id=thread_id, assistant_id="asst_missing")
    with pytest.raises(openai.NotFoundError):
        rc.beta.threads.runs.create(thread_id="thread_missing", assistant_id=assistant_id)
    with pytest.raises(openai.NotFoundError):
        rc.beta.threads.runs.retrieve("run_missing", thread_id=thread_id)
    with pytest.raises(openai.BadRequestError) as info:
        rc.beta.threads.runs.create(
            thread_id=thread_id, assistant_id=assistant_id, max_prompt_tokens=10
        )
    assert error_body(info.value)["param"] == "max_prompt_tokens"


def test_metadata_update_and_additional_messages(
    rc: openai.OpenAI, upstream: ScriptedUpstream, assistant_id: str
) -> None:
    upstream.script(Reply(text="ok"))
    thread_id = _thread(rc, "first")
    run = rc.beta.threads.runs.create_and_poll(
        thread_id=thread_id,
        assistant_id=assistant_id,
        additional_instructions="Also be kind.",
        additional_messages=[{"role": "user", "content": "second"}],
    )
    sent = upstream.requests[-1]["messages"]
    assert sent[0] == {"role": "system", "content": "Be brief.\n\nAlso be kind."}
    assert [m["content"] for m in sent[1:]] == ["first", "second"]
    updated = rc.beta.threads.runs.update(run.id, thread_id=thread_id, metadata={"tag": "x"})
    assert updated.metadata == {"tag": "x"}
    assert rc.beta.threads.runs.retrieve(run.id, thread_id=thread_id).metadata == {"tag": "x"}


def test_deleting_a_thread_mid_run_does_not_stop_the_worker(
    backend: str, upstream: ScriptedUpstream, tmp_path_factory: pytest.TempPathFactory
) -> None:
    # One worker slot: if a run whose thread vanished took the slot down, nothing
    # would run after it.
    upstream.reset()
    env = {**route_env(upstream), "ASSISTANTD_WORKERS": "1"}
    tmp = tmp_path_factory.mktemp(f"one-worker-{backend}")
    with running_server(backend, tmp, env) as server, make_client(server.base_url) as client:
        assistant_id = client.beta.assistants.create(model="scripted-gpt").id
        upstream.script(Reply(text="slow " * 20, token_delay_s=0.05), Reply(text="still serving"))
        doomed = _thread(client, "x")
        run = client.beta.threads.runs.create(thread_id=doomed, assistant_id=assistant_id)
        deadline = time.monotonic() + 10
        while client.beta.threads.runs.retrieve(run.id, thread_id=doomed).status == "queued":
            assert time.monotonic() < deadline
            time.sleep(0.02)
        client.beta.threads.delete(doomed)
        later = client.beta.threads.runs.create_and_poll(
            thread_id=_thread(client, "y"), assistant_id=assistant_id
        )
        assert later.status == "completed"


def test_routes_are_listed_and_rename_the_model(
    rc: openai.OpenAI, upstream: ScriptedUpstream, assistant_id: str
) -> None:
    listed = [m.id for m in rc.models.list()]
    assert listed == ["upstream-exact", "smollm2-135m-instruct"]
    upstream.script(Reply(text="ok"))
    run = rc.beta.threads.runs.create_and_poll(
        thread_id=_thread(rc, "x"), assistant_id=assistant_id, model="upstream-exact"
    )
    assert run.model == "upstream-exact"
    assert upstream.requests[-1]["model"] == "scripted-renamed"
