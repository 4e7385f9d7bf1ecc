"""The Conversations API, driven by the official SDK against a real server: create,
read, update and delete conversations and their items, the limits and errors of each,
and responses that read and append to a conversation."""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import openai
import pytest

from tests.conftest import make_client
from tests.contract.helpers import WEATHER
from tests.servers import Server, running_server
from tests.upstream import Reply, ScriptedUpstream, route_env


@pytest.fixture(scope="module")
def conversations_server(
    backend: str, upstream: ScriptedUpstream, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Server]:
    with running_server(
        backend, tmp_path_factory.mktemp(f"conversations-{backend}"), route_env(upstream)
    ) as srv:
        yield srv


@pytest.fixture
def cc(conversations_server: Server, upstream: ScriptedUpstream) -> Iterator[openai.OpenAI]:
    upstream.reset()
    with make_client(conversations_server.base_url) as client:
        yield client


def _said(sent: dict) -> list[tuple[str, str]]:
    """(role, text) of each message the upstream was prompted with."""
    out = []
    for message in sent["messages"]:
        content = message.get("content")
        if isinstance(content, list):
            content = " ".join(p.get("text", "") for p in content if p.get("type") == "text")
        out.append((message["role"], content or ""))
    return out


def test_create_read_update_and_delete(cc: openai.OpenAI) -> None:
    made = cc.conversations.create(
        metadata={"topic": "weather"},
        items=[
            {"type": "message", "role": "system", "content": "Be brief."},
            {"type": "message", "role": "user", "content": "Hello!"},
            {
                "type": "message",
                "role": "assistant",
                "content": [{"type": "output_text", "text": "Hi there."}],
            },
        ],
    )
    assert made.object == "conversation"
    assert made.id.startswith("conv_")
    assert len(made.id) == len("conv_") + 48
    int(made.id.removeprefix("conv_"), 16)  # hex, as OpenAI spells them
    assert made.metadata == {"topic": "weather"}
    assert cc.conversations.retrieve(made.id).model_dump() == made.model_dump()

    updated = cc.conversations.update(made.id, metadata={"topic": "rain"})
    assert updated.metadata == {"topic": "rain"}
    assert cc.conversations.retrieve(made.id).metadata == {"topic": "rain"}

    items = cc.conversations.items.list(made.id, order="asc").data
    assert [(i.type, i.role) for i in items] == [  # type: ignore[union-attr]
        ("message", "system"),
        ("message", "user"),
        ("message", "assistant"),
    ]
    system, user, assistant = items
    assert user.content[0].model_dump(exclude_none=True) == {"type": "input_text", "text": "Hello!"}  # type: ignore[union-attr]
    assert assistant.content[0].text == "Hi there."  # type: ignore[union-attr]
    assert assistant.content[0].type == "output_text"  # type: ignore[union-attr]
    # Newest first by default.
    assert [i.id for i in cc.conversations.items.list(made.id).data] == [
        i.id for i in reversed(items)
    ]
    assert cc.conversations.items.retrieve(user.id, conversation_id=made.id).id == user.id

    deleted = cc.conversations.delete(made.id)
    assert (deleted.id, deleted.object, deleted.deleted) == (
        made.id,
        "conversation.deleted",
        True,
    )
    with pytest.raises(openai.NotFoundError):
        cc.conversations.retrieve(made.id)
    with pytest.raises(openai.NotFoundError):
        cc.conversations.items.list(made.id)


def test_items_are_added_paged_and_deleted(cc: openai.OpenAI) -> None:
    conv = cc.conversations.create()
    added = cc.conversations.items.create(
        conv.id,
        items=[{"type": "message", "role": "user", "content": f"m{i}"} for i in range(20)],
    )
    assert [i.content[0].text for i in added.data] == [f"m{i}" for i in range(20)]  # type: ignore[union-attr]
    extra = cc.conversations.items.create(
        conv.id,
        items=[
            {
                "type": "function_call",
                "call_id": "call_x",
                "name": "get_weather",
                "arguments": '{"city": "Oslo"}',
            },
            {"type": "function_call_output", "call_id": "call_x", "output": "sunny"},
        ],
    )
    assert [i.type for i in extra.data] == ["function_call", "function_call_output"]
    # Every item in order, 7 to a page, both ways, through the SDK's auto-paging.
    ascending = [i.id for i in cc.conversations.items.list(conv.id, order="asc", limit=7)]
    assert len(ascending) == 22
    assert ascending[:20] == [i.id for i in added.data]
    assert ascending[20:] == [i.id for i in extra.data]
    descending = [i.id for i in cc.conversations.items.list(conv.id, limit=7)]
    assert descending == ascending[::-1]
    page = cc.conversations.items.list(conv.id, limit=5, order="asc", after=ascending[4])
    assert [i.id for i in page.data] == ascending[5:10]
    assert page.has_more is True

    # Deleting an item answers the conversation; the item is gone from every view.
    after = cc.conversations.items.delete(ascending[0], conversation_id=conv.id)
    assert (after.id, after.object) == (conv.id, "conversation")
    assert ascending[0] not in [i.id for i in cc.conversations.items.list(conv.id, limit=100)]
    with pytest.raises(openai.NotFoundError):
        cc.conversations.items.retrieve(ascending[0], conversation_id=conv.id)
    with pytest.raises(openai.NotFoundError):
        cc.conversations.items.delete(ascending[0], conversation_id=conv.id)
    cc.conversations.items.delete(extra.data[1].id, conversation_id=conv.id)
    left = [i.type for i in cc.conversations.items.list(conv.id, limit=100)]
    assert left.count("function_call_output") == 0


def test_the_limits_and_errors(cc: openai.OpenAI, conversations_server: Server) -> None:
    conv = cc.conversations.create()
    many = [{"type": "message", "role": "user", "content": "x"}] * 21
    with pytest.raises(openai.BadRequestError) as refused:
        cc.conversations.create(items=many)  # type: ignore[arg-type]
    assert refused.value.param == "items"
    with pytest.raises(openai.BadRequestError) as refused:
        cc.conversations.items.create(conv.id, items=many)  # type: ignore[arg-type]
    assert refused.value.param == "items"
    assert cc.conversations.items.list(conv.id).data == []  # nothing half-written

    with pytest.raises(openai.BadRequestError) as refused:
        cc.conversations.retrieve("resp_123")
    assert refused.value.code == "invalid_id"
    assert "'conv'" in refused.value.message
    with pytest.raises(openai.NotFoundError):
        cc.conversations.retrieve("conv_" + "0" * 48)
    with pytest.raises(openai.NotFoundError):
        cc.conversations.items.retrieve("msg_missing", conversation_id=conv.id)

    with pytest.raises(openai.BadRequestError) as refused:
        cc.conversations.items.create(
            conv.id,
            items=[
                {"type": "message", "role": "user", "content": "fine"},
                {"type": "computer_call"},  # type: ignore[list-item]
            ],
        )
    assert refused.value.param == "items[1].type"
    with pytest.raises(openai.BadRequestError) as refused:
        cc.conversations.items.create(
            conv.id,
            items=[{"type": "function_call_output", "output": "no call id"}],  # type: ignore[list-item]
        )
    assert refused.value.param == "items[0].call_id"
    with pytest.raises(openai.BadRequestError) as refused:
        cc.conversations.items.create(
            conv.id,
            items=[
                {
                    "type": "message",
                    "role": "user",
                    "content": [{"type": "input_image", "file_id": "file-missing"}],
                }
            ],
        )
    assert refused.value.param == "items[0].content[0].file_id"
    assert cc.conversations.items.list(conv.id).data == []

    url = f"{conversations_server.base_url}/v1/conversations/{conv.id}/items"
    bad = httpx.get(url, params={"include[]": "nonsense"})
    assert bad.status_code == 400
    assert bad.json()["error"]["param"] == "include"
    before = httpx.get(url, params={"before": "msg_x"})
    assert (before.status_code, before.json()["error"]["code"]) == (400, "unknown_parameter")
    with pytest.raises(openai.BadRequestError) as refused:
        cc.conversations.update(conv.id, metadata={"k": "v" * 513})
    assert refused.value.param == "metadata"


def test_a_response_reads_and_appends_to_a_conversation(
    cc: openai.OpenAI, upstream: ScriptedUpstream
) -> None:
    conv = cc.conversations.create(
        items=[{"type": "message", "role": "user", "content": "My name is Ada."}]
    )
    upstream.script(Reply(text="Nice to meet you, Ada."), Reply(text="You are Ada."))
    first = cc.responses.create(model="scripted-gpt", conversation=conv.id, input="Hi!")
    assert first.conversation is not None
    assert first.conversation.id == conv.id
    assert first.output_text == "Nice to meet you, Ada."
    assert _said(upstream.requests[0])[-2:] == [("user", "My name is Ada."), ("user", "Hi!")]
    second = cc.responses.create(
        model="scripted-gpt", conversation={"id": conv.id}, input="Who am I?"
    )
    assert second.output_text == "You are Ada."
    assert _said(upstream.requests[1]) == [
        ("user", "My name is Ada."),
        ("user", "Hi!"),
        ("assistant", "Nice to meet you, Ada."),
        ("user", "Who am I?"),
    ]
    items = cc.conversations.items.list(conv.id, order="asc").data
    texts = [(i.role, i.content[0].text) for i in items]  # type: ignore[union-attr]
    assert texts == [
        ("user", "My name is Ada."),
        ("user", "Hi!"),
        ("assistant", "Nice to meet you, Ada."),
        ("user", "Who am I?"),
        ("assistant", "You are Ada."),
    ]
    assert items[2].id == first.output[0].id  # the response's output is the item
    # The response's input items list the conversation's copy of its input.
    (given,) = cc.responses.input_items.list(second.id).data
    assert given.id == items[3].id

    # A deleted item is gone from the context of the next response.
    cc.conversations.items.delete(items[0].id, conversation_id=conv.id)
    upstream.script(Reply(text="I do not know."))
    cc.responses.create(model="scripted-gpt", conversation=conv.id, input="Who am I?")
    assert ("user", "My name is Ada.") not in _said(upstream.requests[2])

    # Counting a response's input tokens reads the conversation too.
    alone = cc.responses.input_tokens.count(model="scripted-gpt", input="Who am I?")
    within = cc.responses.input_tokens.count(
        model="scripted-gpt", input="Who am I?", conversation=conv.id
    )
    assert within.input_tokens > alone.input_tokens

    # Deleting a response leaves what it wrote in the conversation.
    cc.responses.delete(first.id)
    assert first.output[0].id in [i.id for i in cc.conversations.items.list(conv.id, limit=50)]


def test_function_calls_across_responses_on_a_conversation(
    cc: openai.OpenAI, upstream: ScriptedUpstream
) -> None:
    conv = cc.conversations.create()
    upstream.script(
        Reply(tool_calls=[("get_weather", '{"city": "Oslo"}')]),
        Reply(text="It is sunny in Oslo."),
    )
    asked = cc.responses.create(
        model="scripted-gpt", conversation=conv.id, input="Weather in Oslo?", tools=[WEATHER]
    )
    (call,) = asked.output
    assert call.type == "function_call"
    answered = cc.responses.create(
        model="scripted-gpt",
        conversation=conv.id,
        input=[{"type": "function_call_output", "call_id": call.call_id, "output": "sunny"}],
        tools=[WEATHER],
    )
    assert answered.output_text == "It is sunny in Oslo."
    messages = upstream.requests[1]["messages"]
    assert messages[-2]["tool_calls"][0]["id"] == call.call_id
    assert messages[-1] == {"role": "tool", "tool_call_id": call.call_id, "content": "sunny"}
    kinds = [i.type for i in cc.conversations.items.list(conv.id, order="asc")]
    assert kinds == ["message", "function_call", "function_call_output", "message"]
    fetched = cc.conversations.items.retrieve(call.id, conversation_id=conv.id)
    assert fetched.model_dump(exclude_none=True) == call.model_dump(exclude_none=True)


def test_conversation_and_previous_response_id_together_are_refused(
    cc: openai.OpenAI, upstream: ScriptedUpstream
) -> None:
    conv = cc.conversations.create()
    upstream.script(Reply(text="one"))
    earlier = cc.responses.create(model="scripted-gpt", input="one")
    with pytest.raises(openai.BadRequestError) as refused:
        cc.responses.create(
            model="scripted-gpt",
            conversation=conv.id,
            previous_response_id=earlier.id,
            input="two",
        )
    assert refused.value.param == "conversation"
    with pytest.raises(openai.BadRequestError) as refused:
        cc.responses.create(model="scripted-gpt", conversation="resp_nope", input="x")
    assert refused.value.code == "invalid_id"
    with pytest.raises(openai.NotFoundError):
        cc.responses.create(model="scripted-gpt", conversation="conv_" + "0" * 48, input="x")
    with pytest.raises(openai.BadRequestError) as refused:
        cc.responses.create(model="scripted-gpt", conversation={}, input="x")  # type: ignore[typeddict-item]
    assert (refused.value.param, refused.value.code) == (
        "conversation.id",
        "missing_required_parameter",
    )
    assert upstream.requests[1:] == []


def test_conversations_are_listed_and_filtered(cc: openai.OpenAI) -> None:
    tag = {"suite": f"list-{id(cc)}"}
    made = [cc.conversations.create(metadata=tag) for _ in range(3)]
    http = cc._client  # the SDK has no call for our listing extension
    url = f"{cc.base_url}conversations"
    page = http.get(url, params={"metadata[suite]": tag["suite"], "limit": 2}).json()
    assert [c["id"] for c in page["data"]] == [c.id for c in reversed(made)][:2]
    assert page["has_more"] is True
    assert all(c["object"] == "conversation" for c in page["data"])
    rest = http.get(url, params={"metadata[suite]": tag["suite"], "after": page["last_id"]}).json()
    assert [c["id"] for c in rest["data"]] == [made[0].id]
