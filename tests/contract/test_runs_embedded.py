"""Runs on the embedded model, for real: llama.cpp with the bundled SmolLM2-135M, no network."""

from __future__ import annotations

import json

import jsonschema
import openai
import pytest

PERSON = {
    "type": "object",
    "properties": {"name": {"type": "string"}, "age": {"type": "integer"}},
    "required": ["name", "age"],
    "additionalProperties": False,
}
WEATHER = {
    "type": "object",
    "properties": {"city": {"type": "string"}, "unit": {"type": "string", "enum": ["c", "f"]}},
    "required": ["city", "unit"],
}


@pytest.fixture
def tutorial(client: openai.OpenAI) -> tuple[str, str]:
    assistant = client.beta.assistants.create(
        model="gpt-4-turbo", instructions="You are a helpful assistant.", name="Message Holder"
    )
    thread = client.beta.threads.create(metadata={"user": "abc123"})
    client.beta.threads.messages.create(thread.id, role="user", content="What is a penguin?")
    return assistant.id, thread.id


def test_create_and_poll_answers(client: openai.OpenAI, tutorial: tuple[str, str]) -> None:
    assistant_id, thread_id = tutorial
    run = client.beta.threads.runs.create_and_poll(thread_id=thread_id, assistant_id=assistant_id)
    assert run.status == "completed", run.last_error
    assert run.model == "gpt-4-turbo"  # the requested name is echoed
    assert run.usage is not None
    assert run.usage.completion_tokens > 0
    reply = client.beta.threads.messages.list(thread_id).data[0]
    assert reply.role == "assistant"
    assert (reply.run_id, reply.assistant_id) == (run.id, assistant_id)
    assert reply.content[0].text.value.strip()  # type: ignore[union-attr]
    steps = client.beta.threads.runs.steps.list(run.id, thread_id=thread_id).data
    assert [s.type for s in steps] == ["message_creation"]


def test_create_thread_and_run_poll(client: openai.OpenAI, tutorial: tuple[str, str]) -> None:
    assistant_id, _ = tutorial
    run = client.beta.threads.create_and_run_poll(
        assistant_id=assistant_id, thread={"messages": [{"role": "user", "content": "Say hello."}]}
    )
    assert run.status == "completed", run.last_error
    assert client.beta.threads.messages.list(run.thread_id).data[0].role == "assistant"


def test_json_schema_output_validates(client: openai.OpenAI, tutorial: tuple[str, str]) -> None:
    assistant_id, thread_id = tutorial
    run = client.beta.threads.runs.create_and_poll(
        thread_id=thread_id,
        assistant_id=assistant_id,
        additional_instructions="Answer with a JSON object describing a person.",
        response_format={
            "type": "json_schema",
            "json_schema": {"name": "person", "schema": PERSON},
        },
    )
    assert run.status == "completed", run.last_error
    text = client.beta.threads.messages.list(thread_id).data[0].content[0].text.value  # type: ignore[union-attr]
    jsonschema.validate(json.loads(text), PERSON)


def test_forced_tool_call_has_valid_arguments(
    client: openai.OpenAI, tutorial: tuple[str, str]
) -> None:
    assistant_id, thread_id = tutorial
    run = client.beta.threads.runs.create_and_poll(
        thread_id=thread_id,
        assistant_id=assistant_id,
        tools=[{"type": "function", "function": {"name": "get_weather", "parameters": WEATHER}}],
        tool_choice={"type": "function", "function": {"name": "get_weather"}},
        temperature=0,  # greedy: the same choices on every run
    )
    assert run.status == "requires_action", run.last_error
    assert run.required_action is not None
    call = run.required_action.submit_tool_outputs.tool_calls[0]
    assert call.function.name == "get_weather"
    jsonschema.validate(json.loads(call.function.arguments), WEATHER)
    done = client.beta.threads.runs.submit_tool_outputs_and_poll(
        run_id=run.id,
        thread_id=thread_id,
        tool_outputs=[{"tool_call_id": call.id, "output": "12C"}],
    )
    # The forced choice applied to the first turn only: after the outputs the model
    # chooses for itself (greedily, it answers), instead of being made to call again.
    assert done.status in ("completed", "incomplete"), done.last_error
    answer = client.beta.threads.messages.list(thread_id, run_id=run.id).data[0]
    assert answer.role == "assistant"


def test_streams_tokens_from_the_embedded_model(
    client: openai.OpenAI, tutorial: tuple[str, str]
) -> None:
    from openai import AssistantEventHandler

    pieces: list[str] = []

    class Handler(AssistantEventHandler):
        def on_text_delta(self, delta, snapshot):  # type: ignore[no-untyped-def]
            pieces.append(delta.value)

    assistant_id, thread_id = tutorial
    with client.beta.threads.runs.stream(
        thread_id=thread_id, assistant_id=assistant_id, event_handler=Handler()
    ) as stream:
        stream.until_done()
        final = stream.get_final_messages()[0]
    assert len(pieces) > 1
    assert "".join(pieces) == final.content[0].text.value  # type: ignore[union-attr]
