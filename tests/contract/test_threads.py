"""Threads through the official SDK: create with messages, modify, delete with its messages."""

from __future__ import annotations

import openai
import pytest

from tests.contract.helpers import error_body


def test_create_with_initial_messages_in_order(client: openai.OpenAI, file_id: str) -> None:
    thread = client.beta.threads.create(
        messages=[
            {"role": "user", "content": "first", "metadata": {"n": "1"}},
            {"role": "assistant", "content": [{"type": "text", "text": "second"}]},
            {"role": "user", "content": "third"},
        ],
        metadata={"user": "abc123"},
        tool_resources={"code_interpreter": {"file_ids": [file_id]}},
    )
    assert thread.id.startswith("thread_")
    assert thread.object == "thread"
    assert thread.metadata == {"user": "abc123"}
    assert thread.tool_resources is not None
    assert thread.tool_resources.code_interpreter is not None
    assert thread.tool_resources.code_interpreter.file_ids == [file_id]
    messages = client.beta.threads.messages.list(thread.id, order="asc").data
    texts = [m.content[0].text.value for m in messages]  # type: ignore[union-attr]
    assert texts == ["first", "second", "third"]
    assert [m.role for m in messages] == ["user", "assistant", "user"]
    assert messages[0].metadata == {"n": "1"}
    assert all(m.thread_id == thread.id for m in messages)


def test_empty_thread_has_empty_metadata_and_resources(client: openai.OpenAI) -> None:
    thread = client.beta.threads.create()
    assert thread.metadata == {}
    assert client.beta.threads.retrieve(thread.id) == thread
    page = client.beta.threads.messages.list(thread.id)
    assert page.data == []
    assert page.has_more is False


def test_update_metadata_and_tool_resources(client: openai.OpenAI) -> None:
    thread = client.beta.threads.create(metadata={"a": "1"})
    updated = client.beta.threads.update(thread.id, metadata={"modified": "true", "user": "abc123"})
    assert updated.metadata == {"modified": "true", "user": "abc123"}
    assert updated.created_at == thread.created_at
    store_id = client.vector_stores.create(name="thread's").id
    again = client.beta.threads.update(
        thread.id, tool_resources={"file_search": {"vector_store_ids": [store_id]}}
    )
    assert again.metadata == {"modified": "true", "user": "abc123"}
    assert again.tool_resources is not None
    assert again.tool_resources.file_search is not None
    assert again.tool_resources.file_search.vector_store_ids == [store_id]
    assert client.beta.threads.retrieve(thread.id) == again


def test_delete_removes_thread_and_its_messages(client: openai.OpenAI) -> None:
    thread = client.beta.threads.create(messages=[{"role": "user", "content": "hi"}])
    message = client.beta.threads.messages.list(thread.id).data[0]
    deleted = client.beta.threads.delete(thread.id)
    assert (deleted.id, deleted.object, deleted.deleted) == (thread.id, "thread.deleted", True)
    with pytest.raises(openai.NotFoundError) as info:
        client.beta.threads.retrieve(thread.id)
    assert error_body(info.value)["message"] == f"No thread found with id '{thread.id}'."
    with pytest.raises(openai.NotFoundError):
        client.beta.threads.messages.list(thread.id)
    with pytest.raises(openai.NotFoundError):
        client.beta.threads.messages.retrieve(message.id, thread_id=thread.id)
    with pytest.raises(openai.NotFoundError):
        client.beta.threads.delete(thread.id)


def test_inline_vector_store_with_a_bad_file_is_refused_whole(client: openai.OpenAI) -> None:
    before = len(client.vector_stores.list(limit=100).data)
    with pytest.raises(openai.BadRequestError) as info:
        client.beta.threads.create(
            tool_resources={"file_search": {"vector_stores": [{"file_ids": ["file-1"]}]}}
        )
    assert error_body(info.value)["param"] == (
        "tool_resources.file_search.vector_stores[0].file_ids[0]"
    )
    assert len(client.vector_stores.list(limit=100).data) == before  # no store left behind
    with pytest.raises(openai.BadRequestError) as both:
        client.beta.assistants.create(
            model="m",
            tool_resources={
                "file_search": {"vector_store_ids": ["vs_1"], "vector_stores": [{"file_ids": []}]}
            },
        )
    assert error_body(both.value)["param"] == "tool_resources.file_search"


async def test_async_thread_lifecycle(async_client: openai.AsyncOpenAI) -> None:
    thread = await async_client.beta.threads.create(metadata={"k": "v"})
    assert (await async_client.beta.threads.retrieve(thread.id)).metadata == {"k": "v"}
    assert (await async_client.beta.threads.delete(thread.id)).deleted is True


def test_modify_takes_store_ids_not_the_create_helper(client: openai.OpenAI) -> None:
    thread = client.beta.threads.create()
    assistant = client.beta.assistants.create(model="m")
    helper = {"file_search": {"vector_stores": [{"file_ids": []}]}}
    for modify in (
        lambda: client.beta.threads.update(thread.id, tool_resources=helper),  # type: ignore[arg-type]
        lambda: client.beta.assistants.update(assistant.id, tool_resources=helper),  # type: ignore[arg-type]
    ):
        with pytest.raises(openai.BadRequestError) as info:
            modify()
        assert error_body(info.value)["param"] == "tool_resources.file_search.vector_stores"
    store = client.vector_stores.create()
    ids = {"file_search": {"vector_store_ids": [store.id]}}
    updated = client.beta.threads.update(thread.id, tool_resources=ids)
    assert updated.tool_resources is not None
    assert updated.tool_resources.file_search is not None
    assert updated.tool_resources.file_search.vector_store_ids == [store.id]
