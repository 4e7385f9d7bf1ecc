"""Assistants through the official SDK: the tutorial, every field, update semantics, delete."""

from __future__ import annotations

import openai
import pytest

from tests.contract.helpers import error_body


def test_tutorial_assistant_round_trips_every_field(client: openai.OpenAI) -> None:
    assistant = client.beta.assistants.create(
        model="gpt-4-turbo",
        instructions="You are a helpful assistant.",
        name="Message Holder",
        description="Holds messages",
        metadata={"holds_messages": "True", "likes_messages": "True"},
        temperature=1,
        top_p=1,
    )
    assert assistant.id.startswith("asst_")
    assert assistant.object == "assistant"
    assert assistant.model == "gpt-4-turbo"
    assert assistant.name == "Message Holder"
    assert assistant.description == "Holds messages"
    assert assistant.instructions == "You are a helpful assistant."
    assert assistant.metadata == {"holds_messages": "True", "likes_messages": "True"}
    assert assistant.tools == []
    assert assistant.response_format == "auto"
    assert (assistant.temperature, assistant.top_p) == (1.0, 1.0)
    assert client.beta.assistants.retrieve(assistant.id) == assistant


def test_tools_tool_resources_and_response_format_are_stored_faithfully(
    client: openai.OpenAI, file_id: str
) -> None:
    tools = [
        {"type": "code_interpreter"},
        {"type": "file_search", "file_search": {"max_num_results": 7}},
        {
            "type": "function",
            "function": {
                "name": "get_weather",
                "description": "Weather for a city",
                "parameters": {
                    "type": "object",
                    "properties": {"city": {"type": "string"}},
                    "required": ["city"],
                },
                "strict": True,
            },
        },
    ]
    store_id = client.vector_stores.create(name="assistant's").id
    resources = {
        "code_interpreter": {"file_ids": [file_id]},
        "file_search": {"vector_store_ids": [store_id]},
    }
    response_format = {
        "type": "json_schema",
        "json_schema": {"name": "answer", "schema": {"type": "object"}, "strict": True},
    }
    created = client.beta.assistants.create(
        model="gpt-4o",
        tools=tools,  # type: ignore[arg-type]
        tool_resources=resources,  # type: ignore[arg-type]
        response_format=response_format,  # type: ignore[arg-type]
        reasoning_effort="low",
    )
    got = client.beta.assistants.retrieve(created.id)
    assert [t.model_dump(exclude_none=True) for t in got.tools] == tools
    assert got.tool_resources is not None
    assert got.tool_resources.model_dump(exclude_none=True) == resources
    assert got.response_format is not None
    assert got.response_format.model_dump(exclude_none=True, by_alias=True) == response_format


def test_update_changes_only_the_fields_sent(client: openai.OpenAI) -> None:
    created = client.beta.assistants.create(
        model="gpt-4o", name="before", instructions="keep me", metadata={"a": "1"}
    )
    updated = client.beta.assistants.update(
        created.id, name="after", metadata={"b": "2"}, temperature=0.2
    )
    assert updated.name == "after"
    assert updated.instructions == "keep me"
    assert updated.metadata == {"b": "2"}
    assert updated.temperature == pytest.approx(0.2)
    assert updated.model == "gpt-4o"
    assert updated.created_at == created.created_at
    assert client.beta.assistants.retrieve(created.id) == updated
    cleared = client.beta.assistants.update(
        created.id, name=None, tools=[{"type": "code_interpreter"}]
    )
    assert cleared.name is None
    assert [t.type for t in cleared.tools] == ["code_interpreter"]


def test_delete_then_every_operation_is_404(client: openai.OpenAI) -> None:
    created = client.beta.assistants.create(model="gpt-4o")
    deleted = client.beta.assistants.delete(created.id)
    assert (deleted.id, deleted.object, deleted.deleted) == (created.id, "assistant.deleted", True)
    for call in (
        lambda: client.beta.assistants.retrieve(created.id),
        lambda: client.beta.assistants.update(created.id, name="x"),
        lambda: client.beta.assistants.delete(created.id),
    ):
        with pytest.raises(openai.NotFoundError) as info:
            call()
        body = error_body(info.value)
        assert body["message"] == f"No assistant found with id '{created.id}'."
        assert body["type"] == "invalid_request_error"


def test_list_shows_created_assistants_newest_first(client: openai.OpenAI) -> None:
    ids = [client.beta.assistants.create(model="gpt-4o", name=f"a{i}").id for i in range(5)]
    listed = [a.id for a in client.beta.assistants.list(limit=100)]
    assert [i for i in listed if i in ids] == list(reversed(ids))


async def test_async_client_creates_and_lists(async_client: openai.AsyncOpenAI) -> None:
    created = await async_client.beta.assistants.create(model="gpt-4o", name="async")
    got = await async_client.beta.assistants.retrieve(created.id)
    assert got == created
    page = await async_client.beta.assistants.list(limit=1, order="desc")
    assert page.data[0].id == created.id
    await async_client.beta.assistants.delete(created.id)
