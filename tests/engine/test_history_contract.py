"""The engine's History seam (engine/context.py): every implementation reads earlier
turns newest first, in groups of at most `limit` per page, a tool call with its output
in one group, and says it is done with an empty page. Run against the thread's history
(Assistants runs), a response chain's (services/response_history.py) and a
conversation's (services/conversation_history.py), each on a real
conversation made in process with two plain turns and a function-call turn."""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import orjson
import pytest

from assistantd.container import Container
from assistantd.engine.context import THREAD_HISTORY, Group, History
from assistantd.ids import IdKind, new_id
from assistantd.protocol.assistants import AssistantCreate
from assistantd.protocol.conversations import ConversationCreate
from assistantd.protocol.objects import RunDoc
from assistantd.protocol.responses import ResponseCreate
from assistantd.protocol.runs import RunCreate, SubmitToolOutputs
from assistantd.protocol.threads import ThreadCreate
from assistantd.providers.scripted import Scripted, ScriptedProvider
from assistantd.services.conversation_history import CONVERSATION_HISTORY
from assistantd.services.response_history import RESPONSE_HISTORY
from assistantd.store.repos.runs import runs_repo
from tests.engine.stack import PROJECT, in_process, settled

FUNCTION = {"type": "function", "function": {"name": "lookup", "parameters": {"type": "object"}}}
SCRIPT = (
    Scripted(text="first answer"),
    Scripted(tool_calls=[("lookup", '{"q": 1}')]),
    Scripted(text="second answer"),
)
# (container) → the run whose history to read, after the conversation was made
Build = Callable[[Container], Awaitable[RunDoc]]


async def _run_doc(c: Container, run_id: str) -> RunDoc:
    loaded = await c.db.read(lambda conn: runs_repo.load(conn, run_id))
    assert loaded is not None
    doc: RunDoc = orjson.loads(loaded.doc)
    return doc


async def _thread_conversation(c: Container) -> RunDoc:
    assistant = orjson.loads(
        await c.assistants.create(
            PROJECT, AssistantCreate.model_validate({"model": "scripted-gpt", "tools": [FUNCTION]})
        )
    )["id"]
    thread = orjson.loads(
        await c.threads.create(
            PROJECT, ThreadCreate.model_validate({"messages": [{"role": "user", "content": "q1"}]})
        )
    )["id"]
    run = RunCreate.model_validate({"assistant_id": assistant})
    first = orjson.loads(await c.runs.create(PROJECT, thread, run))
    await settled(c, thread, first["id"])
    extra = {"assistant_id": assistant, "additional_messages": [{"role": "user", "content": "q2"}]}
    second = orjson.loads(await c.runs.create(PROJECT, thread, RunCreate.model_validate(extra)))
    waiting = await settled(c, thread, second["id"])
    call = waiting["required_action"]["submit_tool_outputs"]["tool_calls"][0]
    outputs = SubmitToolOutputs.model_validate(
        {"tool_outputs": [{"tool_call_id": call["id"], "output": "found"}]}
    )
    await c.runs.submit_tool_outputs(PROJECT, thread, second["id"], outputs)
    await settled(c, thread, second["id"])
    return await _run_doc(c, second["id"])


async def _response_conversation(c: Container) -> RunDoc:
    tools = [{"type": "function", "name": "lookup", "parameters": {"type": "object"}}]

    async def respond(**fields: Any) -> tuple[str, str, list[Any]]:
        req = ResponseCreate.model_validate({"model": "scripted-gpt", "tools": tools, **fields})
        made = await c.responses.create(PROJECT, req, _new("resp_"), _new("run_"), streamed=False)
        await settled(c, made.thread_id, made.run_id)
        doc = await c.responses.document(PROJECT, made.id)
        return made.id, made.run_id, doc["output"]

    first, _, _ = await respond(input="q1")
    second, _, output = await respond(input="q2", previous_response_id=first)
    (call,) = output
    assert call["type"] == "function_call"
    answer = {"type": "function_call_output", "call_id": call["call_id"], "output": "found"}
    _, run_id, _ = await respond(input=[answer], previous_response_id=second)
    return await _run_doc(c, run_id)


async def _conversation_items(c: Container) -> RunDoc:
    """The same turns as responses on one conversation (services/conversation_history.py)."""
    tools = [{"type": "function", "name": "lookup", "parameters": {"type": "object"}}]
    made = orjson.loads(await c.conversations.create(PROJECT, ConversationCreate()))

    async def respond(**fields: Any) -> tuple[str, list[Any]]:
        req = ResponseCreate.model_validate(
            {"model": "scripted-gpt", "tools": tools, "conversation": made["id"], **fields}
        )
        record = await c.responses.create(PROJECT, req, _new("resp_"), _new("run_"), False)
        await settled(c, record.thread_id, record.run_id)
        doc = await c.responses.document(PROJECT, record.id)
        return record.run_id, doc["output"]

    await respond(input="q1")
    _, output = await respond(input="q2")
    (call,) = output
    answer = {"type": "function_call_output", "call_id": call["call_id"], "output": "found"}
    run_id, _ = await respond(input=[answer])
    return await _run_doc(c, run_id)


def _new(prefix: str) -> str:
    return new_id(IdKind(prefix))


IMPLEMENTATIONS = {
    "thread": (THREAD_HISTORY, _thread_conversation),
    "response": (RESPONSE_HISTORY, _response_conversation),
    "conversation": (CONVERSATION_HISTORY, _conversation_items),
}


@asynccontextmanager
async def _conversation(tmp: Path, build: Build) -> AsyncIterator[tuple[Container, RunDoc]]:
    model = ScriptedProvider()
    model.script(*SCRIPT)
    async with in_process(tmp, provider=model, rehearse=False) as (c, _):
        yield c, await build(c)


async def _read_all(c: Container, history: History, run: RunDoc, limit: int) -> list[Group]:
    reader = history.reader(c.db, project=PROJECT, run=run)
    groups: list[Group] = []
    for _ in range(50):
        page = await reader.next(limit)
        assert len(page) <= limit
        if not page:
            assert await reader.next(limit) == []  # done stays done
            return groups
        groups += page
    raise AssertionError("the history never ended")


def _texts(groups: list[Group]) -> list[str]:
    return [
        str(m["content"])
        for g in groups
        for m in g
        if m["role"] in ("user", "assistant") and m.get("content")
    ]


@pytest.mark.parametrize("name", sorted(IMPLEMENTATIONS))
async def test_a_history_reads_newest_first_in_whole_groups(name: str, tmp_path: Path) -> None:
    history, build = IMPLEMENTATIONS[name]
    async with _conversation(tmp_path, build) as (c, run):
        whole = await _read_all(c, history, run, limit=100)
        one_by_one = await _read_all(c, history, run, limit=1)
        assert one_by_one == whole
        texts = _texts(whole)
        # Newest first: the second question before the first answer before the first.
        assert texts.index("q2") < texts.index("first answer") < texts.index("q1")
        for group in whole:
            calls = [c["id"] for m in group for c in m.get("tool_calls") or []]
            answered = [m["tool_call_id"] for m in group if m["role"] == "tool"]
            assert calls == answered  # a call never without its output, nor one without it
        if name != "thread":  # responses carry their function calls; a thread only messages
            (call,) = [g for g in whole if g[0].get("tool_calls")]
            assert call[1] == {
                "role": "tool",
                "tool_call_id": call[1]["tool_call_id"],
                "content": "found",
            }
