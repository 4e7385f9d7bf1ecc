"""Messages through the official SDK: content forms, attachments, modify, delete."""

from __future__ import annotations

import openai
import pytest

from tests.contract.helpers import error_body


def test_tutorial_message(client: openai.OpenAI, thread_id: str) -> None:
    message = client.beta.threads.messages.create(
        thread_id=thread_id, role="user", content="What is a penguin?"
    )
    assert message.id.startswith("msg_")
    assert message.object == "thread.message"
    assert message.thread_id == thread_id
    assert message.role == "user"
    assert message.status == "completed"
    assert message.run_id is None
    assert message.assistant_id is None
    assert message.attachments == []
    assert message.metadata == {}
    assert message.completed_at == message.created_at
    assert message.incomplete_at is None
    assert message.incomplete_details is None
    text = message.content[0]
    assert text.type == "text"
    assert text.text.value == "What is a penguin?"  # type: ignore[union-attr]
    assert text.text.annotations == []  # type: ignore[union-attr]
    got = client.beta.threads.messages.retrieve(message.id, thread_id=thread_id)
    assert got == message


def test_content_parts_and_attachments_round_trip(
    client: openai.OpenAI, thread_id: str, file_id: str
) -> None:
    image = client.files.create(file=("pixel.png", b"\x89PNG\r\n\x1a\n"), purpose="vision").id
    message = client.beta.threads.messages.create(
        thread_id=thread_id,
        role="user",
        content=[
            {"type": "text", "text": "Describe these"},
            {
                "type": "image_url",
                "image_url": {"url": "https://example.com/a.png", "detail": "low"},
            },
            {"type": "image_file", "image_file": {"file_id": image}},
        ],
        attachments=[{"file_id": file_id, "tools": [{"type": "file_search"}]}],
    )
    got = client.beta.threads.messages.retrieve(message.id, thread_id=thread_id)
    assert [p.type for p in got.content] == ["text", "image_url", "image_file"]
    assert got.content[1].image_url.url == "https://example.com/a.png"  # type: ignore[union-attr]
    assert got.content[1].image_url.detail == "low"  # type: ignore[union-attr]
    assert got.content[2].image_file.file_id == image  # type: ignore[union-attr]
    assert got.content[2].image_file.detail == "auto"  # type: ignore[union-attr]
    assert got.attachments is not None
    assert got.attachments[0].file_id == file_id
    assert [t.type for t in got.attachments[0].tools or []] == ["file_search"]


def test_modify_metadata(client: openai.OpenAI, thread_id: str) -> None:
    message = client.beta.threads.messages.create(thread_id, role="user", content="x")
    updated = client.beta.threads.messages.update(
        message.id, thread_id=thread_id, metadata={"modified": "true"}
    )
    assert updated.metadata == {"modified": "true"}
    assert updated.content == message.content
    assert client.beta.threads.messages.retrieve(message.id, thread_id=thread_id) == updated


def test_delete_message(client: openai.OpenAI, thread_id: str) -> None:
    keep = client.beta.threads.messages.create(thread_id, role="user", content="keep")
    gone = client.beta.threads.messages.create(thread_id, role="user", content="gone")
    deleted = client.beta.threads.messages.delete(gone.id, thread_id=thread_id)
    assert (deleted.id, deleted.object, deleted.deleted) == (
        gone.id,
        "thread.message.deleted",
        True,
    )
    assert [m.id for m in client.beta.threads.messages.list(thread_id)] == [keep.id]
    with pytest.raises(openai.NotFoundError) as info:
        client.beta.threads.messages.retrieve(gone.id, thread_id=thread_id)
    assert error_body(info.value)["message"] == f"No message found with id '{gone.id}'."


def test_message_of_another_thread_is_not_found(client: openai.OpenAI) -> None:
    a = client.beta.threads.create().id
    b = client.beta.threads.create().id
    message = client.beta.threads.messages.create(a, role="user", content="in a")
    with pytest.raises(openai.NotFoundError):
        client.beta.threads.messages.retrieve(message.id, thread_id=b)
    with pytest.raises(openai.NotFoundError):
        client.beta.threads.messages.update(message.id, thread_id=b, metadata={})
    with pytest.raises(openai.NotFoundError):
        client.beta.threads.messages.delete(message.id, thread_id=b)
    assert client.beta.threads.messages.retrieve(message.id, thread_id=a).id == message.id


def test_message_on_unknown_thread_is_404(client: openai.OpenAI) -> None:
    with pytest.raises(openai.NotFoundError) as info:
        client.beta.threads.messages.create("thread_doesnotexist", role="user", content="x")
    assert error_body(info.value)["message"] == "No thread found with id 'thread_doesnotexist'."


async def test_async_messages(async_client: openai.AsyncOpenAI) -> None:
    thread = await async_client.beta.threads.create()
    created = await async_client.beta.threads.messages.create(thread.id, role="user", content="hi")
    listed = [m.id async for m in async_client.beta.threads.messages.list(thread.id)]
    assert listed == [created.id]
