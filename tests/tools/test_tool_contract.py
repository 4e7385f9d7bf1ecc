"""The server-tool contract (tools/base.py), run against every tool: file_search,
code_interpreter and the toy calculator (tests/tools/calculator.py).

First each tool alone (its hooks keep the promises the engine relies on), then each
inside a real run on the in-process engine with a scripted model: the model calls it,
the engine runs it, records its step, keeps its state under `tools[<type>]` and shows
the call and its output to the model on the next turn.

Function tools are not in this contract: the client runs them, so the engine stops
the run at `requires_action` instead of calling anything (docs/tools.md).
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import orjson
import pytest

from assistantd.container import Container
from assistantd.engine.run_state import load_private
from assistantd.protocol.assistants import AssistantCreate
from assistantd.protocol.common import ListParams
from assistantd.protocol.objects import RunDoc
from assistantd.protocol.runs import RunCreate
from assistantd.protocol.threads import ThreadCreate
from assistantd.protocol.vector_stores import Filter
from assistantd.providers.scripted import Scripted, ScriptedProvider
from assistantd.store.repos.assistants import assistants_repo
from assistantd.store.repos.runs import runs_repo
from assistantd.store.sql import Conn
from assistantd.tools.base import ServerTool, ToolFailed, ToolOutcome, ToolRequest
from assistantd.tools.code_interpreter.tool import CodeInterpreter
from assistantd.tools.file_search.tool import FileSearch
from tests.engine.stack import PROJECT, in_process, settled
from tests.tools.calculator import Calculator


@dataclass
class _Hit:
    file_id: str
    filename: str
    score: float
    text: str
    attributes: dict[str, Any] = field(default_factory=dict)


class _Library:
    """An in-memory Searcher and StoresFor: one store, two passages."""

    async def search(
        self,
        project: str,
        store_ids: Sequence[str],
        queries: Sequence[str],
        *,
        limit: int,
        threshold: float,
        flt: Filter | None = None,
    ) -> list[_Hit]:
        hits = [_Hit("file-a", "a.txt", 0.9, "Carrot cake."), _Hit("file-b", "b.txt", 0.5, "Tea.")]
        return hits[:limit]

    async def __call__(self, project: str, run: RunDoc) -> list[str]:
        return ["vs_1"]

    async def wait_for_thread_store(self, project: str, run: RunDoc) -> None:
        return None


class _Files:
    async def __call__(self, project: str, run: RunDoc) -> dict[str, str]:
        return {"file-1": "data.csv"}

    async def read_bytes(
        self, project: str, file_id: str, max_bytes: int
    ) -> tuple[str, bytes] | None:
        return None

    async def save_output(self, project: str, filename: str, data: bytes) -> str:
        return "file-out"


def _tools() -> list[ServerTool]:
    library = _Library()
    return [
        FileSearch(library, library, budget_chars=4000),
        CodeInterpreter(None, _Files(), _Files(), max_file_bytes=1 << 20),  # no sandbox here
        Calculator(),
    ]


ARGUMENTS = {
    "file_search": {"query": "favorite food"},
    "code_interpreter": {"code": "print(6 * 7)"},
    "calculator": {"expression": "2 + 40"},
}


def _run(tool: ServerTool) -> RunDoc:
    run: dict[str, Any] = {
        "id": "run_1",
        "thread_id": "thread_1",
        "assistant_id": "asst_1",
        "tools": [{"type": tool.type}],
    }
    return run  # type: ignore[return-value]  # the hooks read only these fields


@pytest.fixture(params=_tools(), ids=lambda t: t.type)
def tool(request: pytest.FixtureRequest) -> ServerTool:
    found: ServerTool = request.param
    return found


def test_the_model_is_offered_a_function_named_as_the_tool(tool: ServerTool) -> None:
    offered = tool.definition(_run(tool), {})
    assert offered["type"] == "function"
    assert offered["function"]["name"] == tool.type
    parameters = offered["function"]["parameters"]
    assert parameters["type"] == "object"
    assert set(parameters["required"]) <= set(parameters["properties"])
    assert set(ARGUMENTS[tool.type]) <= set(parameters["properties"])


def test_a_step_entry_is_of_the_tool_type_and_carries_the_call_id(tool: ServerTool) -> None:
    entry = tool.first_entry(_run(tool), "call_1")
    assert (entry["id"], entry["type"]) == ("call_1", tool.type)
    assert isinstance(entry[tool.type], dict)
    assert tool.shown(entry, [])["id"] == "call_1"


def test_streamed_input_only_grows(tool: ServerTool) -> None:
    arguments = json.dumps(ARGUMENTS[tool.type])
    shown = [tool.input_so_far(arguments[:n]) for n in range(len(arguments) + 1)]
    if all(s is None for s in shown):
        return  # a tool that shows no input while it streams
    texts = [s or "" for s in shown]
    assert all(b.startswith(a) for a, b in zip(texts, texts[1:], strict=False))
    assert texts[-1]


async def test_state_is_json_and_survives_a_save(tool: ServerTool) -> None:
    run = _run(tool)
    state = await tool.prepare(PROJECT, run, {})
    assert orjson.loads(orjson.dumps(state)) == state
    request = ToolRequest(PROJECT, run, state, "call_1", json.dumps(ARGUMENTS[tool.type]), 0)
    if isinstance(tool, CodeInterpreter):  # with no sandbox: the contract's way to fail
        with pytest.raises(ToolFailed, match="bubblewrap"):
            await tool.call(request)
        return
    outcome = await tool.call(request)
    assert isinstance(outcome, ToolOutcome)
    assert outcome.output
    assert (outcome.entry["id"], outcome.entry["type"]) == ("call_1", tool.type)
    assert orjson.loads(orjson.dumps(outcome.state)) == outcome.state
    assert request.state == state  # the tool returned a new state, it did not edit this one
    delta = tool.result_delta(outcome.entry)
    assert delta is None or delta["type"] == tool.type


def test_no_state_means_no_editing_no_leading_parts_and_nothing_restored(
    tool: ServerTool,
) -> None:
    assert tool.lead_parts({}) == ([], {})
    assert tool.restore({}) == {}
    assert tool.restore({"exchanges": {}, "server_rounds": 2}) == {}
    editor = tool.editor({})
    if editor is not None:  # plain text passes through whole
        pieces = editor.feed("plain text") + editor.finish(True)
        assert "".join(p.text for p in pieces) == "plain text"


async def test_annotations_lie_within_the_text(tool: ServerTool) -> None:
    text = "An answer with sandbox:/mnt/data/x.csv in it."
    for note in await tool.annotate(PROJECT, _run(tool), {}, text):
        assert text[note["start_index"] : note["end_index"]] == note["text"]


# -- each tool inside a real run --------------------------------------------------


async def _assistant_with(container: Container, tool: ServerTool) -> str:
    """An assistant whose tools name `tool`; one the wire does not know yet (the
    calculator) is written into the stored assistant, as a new protocol entry would."""
    known = tool.type in ("file_search", "code_interpreter")
    req = {"model": "scripted-gpt", "tools": [{"type": tool.type}] if known else []}
    created = orjson.loads(await container.assistants.create(PROJECT, AssistantCreate(**req)))
    if not known:
        created["tools"] = [{"type": tool.type}]
        doc = orjson.dumps(created).decode()

        def unit(conn: Conn) -> None:
            assistants_repo.replace(conn, PROJECT, created["id"], doc)

        await container.db.write(unit)
    assistant_id: str = created["id"]
    return assistant_id


async def test_each_tool_runs_inside_a_run(tool: ServerTool, tmp_path: Path) -> None:
    model = ScriptedProvider()
    calls = [(tool.type, json.dumps(ARGUMENTS[tool.type]))]
    model.script(Scripted(tool_calls=calls), Scripted(text="Done."))
    extra = [tool] if isinstance(tool, Calculator) else []
    async with in_process(tmp_path, provider=model, tools=extra, rehearse=False) as (c, _):
        assistant_id = await _assistant_with(c, tool)
        thread = ThreadCreate.model_validate({"messages": [{"role": "user", "content": "Go"}]})
        thread_id = orjson.loads(await c.threads.create(PROJECT, thread))["id"]
        created = await c.runs.create(PROJECT, thread_id, RunCreate(assistant_id=assistant_id))
        run = await settled(c, thread_id, orjson.loads(created)["id"])
        if run["status"] == "failed":  # code_interpreter with no sandbox on this machine
            assert tool.type == "code_interpreter"
            assert run["last_error"]["code"] == "server_error"
            return
        assert run["status"] == "completed"
        steps = orjson.loads(
            await c.runs.list_steps(PROJECT, thread_id, run["id"], ListParams(order="asc"))
        )["data"]
        (entry,) = steps[0]["step_details"]["tool_calls"]
        assert entry["type"] == tool.type
        # The second turn shows the model its call and the output it got.
        first, second = model.requests
        assert [t["function"]["name"] for t in first.tools] == [tool.type]
        call_turn, output = second.messages[-2:]
        assert call_turn["tool_calls"][0]["function"]["name"] == tool.type
        assert output["role"] == "tool"
        assert output["content"]
        record = await c.db.read(lambda conn: runs_repo.load(conn, run["id"]))
        assert record is not None
        private = load_private(record.private, [tool])
        assert private["server_rounds"] == 1
        assert tool.type in private["tools"]
