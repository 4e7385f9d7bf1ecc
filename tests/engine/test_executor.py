"""The run engine's rules, in process: a scripted model (providers/scripted.py), real
SQLite, the real worker and tools, no HTTP. The contract suite proves the same runs
against the official SDK; these pin the rules themselves, in seconds.

Covered here: the run state machine (completed, requires_action and back, failed,
cancelled, incomplete for each limit), the tool loop (forced choice, the bound on
server rounds), truncation, citations from a real search, code_interpreter's images
leading the next message, and a vector store's file counts through ingestion.
"""

from __future__ import annotations

import asyncio
import json
import shutil
from pathlib import Path
from typing import Any

import orjson
import pytest

from assistantd.container import Container
from assistantd.engine.executor import MAX_SERVER_ROUNDS
from assistantd.protocol.assistants import AssistantCreate
from assistantd.protocol.common import ListParams
from assistantd.protocol.runs import RunCreate, SubmitToolOutputs
from assistantd.protocol.threads import ThreadCreate
from assistantd.protocol.vector_stores import VectorStoreCreate
from assistantd.providers.scripted import Scripted, ScriptedProvider
from assistantd.store.blobs import TempBlob
from tests.engine.stack import PROJECT, in_process, settled
from tests.tools.calculator import Calculator
from tests.tools.test_tool_contract import _assistant_with

WEATHER = {
    "type": "function",
    "function": {"name": "get_weather", "parameters": {"type": "object", "properties": {}}},
}


async def _assistant(c: Container, **fields: Any) -> str:
    req = AssistantCreate.model_validate({"model": "scripted-gpt", **fields})
    return str(orjson.loads(await c.assistants.create(PROJECT, req))["id"])


async def _thread(c: Container, *texts: str) -> str:
    messages = [{"role": "user", "content": t} for t in texts]
    req = ThreadCreate.model_validate({"messages": messages})
    return str(orjson.loads(await c.threads.create(PROJECT, req))["id"])


async def _run(c: Container, thread_id: str, assistant_id: str, **fields: Any) -> dict[str, Any]:
    req = RunCreate.model_validate({"assistant_id": assistant_id, **fields})
    created = orjson.loads(await c.runs.create(PROJECT, thread_id, req))
    return await settled(c, thread_id, created["id"])


async def _answer(c: Container, thread_id: str, run_id: str) -> dict[str, Any]:
    page = await c.messages.list(PROJECT, thread_id, ListParams(order="desc"), run_id)
    message: dict[str, Any] = orjson.loads(page)["data"][0]
    return message


async def test_an_answer_completes_the_run_with_its_usage(tmp_path: Path) -> None:
    model = ScriptedProvider()
    model.script(Scripted(text="Penguins cannot fly.", usage=(30, 5)))
    async with in_process(tmp_path, provider=model) as (c, _):
        thread_id = await _thread(c, "Penguins?")
        run = await _run(c, thread_id, await _assistant(c, instructions="Be brief."))
        assert run["status"] == "completed"
        assert run["usage"] == {"prompt_tokens": 30, "completion_tokens": 5, "total_tokens": 35}
        message = await _answer(c, thread_id, run["id"])
        assert message["status"] == "completed"
        assert message["content"][0]["text"]["value"] == "Penguins cannot fly."
        (request,) = model.requests
        assert request.messages == [
            {"role": "system", "content": "Be brief."},
            {"role": "user", "content": "Penguins?"},
        ]


async def test_a_function_call_waits_for_its_output_then_goes_on_with_auto(
    tmp_path: Path,
) -> None:
    model = ScriptedProvider()
    model.script(Scripted(tool_calls=[("get_weather", "{}")]), Scripted(text="Sunny."))
    async with in_process(tmp_path, provider=model) as (c, _):
        thread_id = await _thread(c, "Weather?")
        assistant_id = await _assistant(c, tools=[WEATHER])
        run = await _run(c, thread_id, assistant_id, tool_choice="required")
        assert run["status"] == "requires_action"
        (call,) = run["required_action"]["submit_tool_outputs"]["tool_calls"]
        assert call["function"]["name"] == "get_weather"
        outputs = SubmitToolOutputs.model_validate(
            {"tool_outputs": [{"tool_call_id": call["id"], "output": "sunny"}]}
        )
        await c.runs.submit_tool_outputs(PROJECT, thread_id, run["id"], outputs)
        run = await settled(c, thread_id, run["id"])
        assert run["status"] == "completed"
        first, second = model.requests
        assert (first.tool_choice, second.tool_choice) == ("required", "auto")
        assert second.messages[-1] == {
            "role": "tool",
            "tool_call_id": call["id"],
            "content": "sunny",
        }


async def test_a_provider_error_fails_the_run_with_its_code(tmp_path: Path) -> None:
    model = ScriptedProvider()
    model.script(Scripted(error="The upstream is down."))
    async with in_process(tmp_path, provider=model) as (c, _):
        thread_id = await _thread(c, "Hi")
        run = await _run(c, thread_id, await _assistant(c))
        assert run["status"] == "failed"
        assert run["last_error"] == {"code": "server_error", "message": "The upstream is down."}


async def test_a_cancel_mid_answer_ends_the_run_and_its_message(tmp_path: Path) -> None:
    model = ScriptedProvider()
    model.script(Scripted(text="word " * 200, delay_s=0.01))
    async with in_process(tmp_path, provider=model) as (c, _):
        thread_id = await _thread(c, "Talk")
        req = RunCreate.model_validate({"assistant_id": await _assistant(c)})
        run_id = orjson.loads(await c.runs.create(PROJECT, thread_id, req))["id"]
        for _ in range(200):  # until the answer has begun
            page = await c.messages.list(PROJECT, thread_id, ListParams(), run_id)
            if orjson.loads(page)["data"]:
                break
            await asyncio.sleep(0.01)
        await c.runs.cancel(PROJECT, thread_id, run_id)
        run = await settled(c, thread_id, run_id)
        assert run["status"] == "cancelled"
        message = await _answer(c, thread_id, run_id)
        assert message["status"] == "incomplete"
        assert message["incomplete_details"] == {"reason": "run_cancelled"}


async def test_each_limit_ends_the_run_as_the_api_did(tmp_path: Path) -> None:
    model = ScriptedProvider()
    model.script(Scripted(text="cut", finish="length"), Scripted(text="cut", finish="length"))
    async with in_process(tmp_path, provider=model) as (c, _):
        assistant_id = await _assistant(c)
        # The client's max_completion_tokens: the run is incomplete.
        run = await _run(c, await _thread(c, "Hi"), assistant_id, max_completion_tokens=256)
        assert run["status"] == "incomplete"
        assert run["incomplete_details"] == {"reason": "max_completion_tokens"}
        # The provider's own cap: the run completes, its message says it was cut.
        thread_id = await _thread(c, "Hi")
        run = await _run(c, thread_id, assistant_id)
        assert run["status"] == "completed"
        message = await _answer(c, thread_id, run["id"])
        assert message["incomplete_details"] == {"reason": "max_tokens"}
        # A prompt that cannot fit max_prompt_tokens never reaches the model.
        run = await _run(c, await _thread(c, "x " * 2000), assistant_id, max_prompt_tokens=256)
        assert run["status"] == "incomplete"
        assert run["incomplete_details"] == {"reason": "max_prompt_tokens"}
        assert len(model.requests) == 2


async def test_truncation_keeps_the_last_messages(tmp_path: Path) -> None:
    model = ScriptedProvider()
    model.script(Scripted(text="ok"))
    async with in_process(tmp_path, provider=model) as (c, _):
        thread_id = await _thread(c, "one", "two", "three", "four")
        strategy = {"type": "last_messages", "last_messages": 2}
        await _run(c, thread_id, await _assistant(c), truncation_strategy=strategy)
        (request,) = model.requests
        assert [m["content"] for m in request.messages] == ["three", "four"]


async def test_server_tools_are_offered_for_a_bounded_number_of_rounds(tmp_path: Path) -> None:
    model = ScriptedProvider()
    call = [("calculator", json.dumps({"expression": "1 + 1"}))]
    model.script(*[Scripted(tool_calls=call)] * MAX_SERVER_ROUNDS, Scripted(text="2"))
    tool = Calculator()
    async with in_process(tmp_path, provider=model, tools=[tool]) as (c, _):
        thread_id = await _thread(c, "Add")
        run = await _run(c, thread_id, await _assistant_with(c, tool))
        assert run["status"] == "completed"
        assert len(model.requests) == MAX_SERVER_ROUNDS + 1
        assert all(r.tools for r in model.requests[:-1])
        assert model.requests[-1].tools == []  # the last turn must answer
        # Each round's definition saw the state the tool kept from the rounds before.
        descriptions = [r.tools[0]["function"]["description"] for r in model.requests[:-1]]
        assert descriptions[-1].endswith(f"({MAX_SERVER_ROUNDS - 1} sums done so far.)")


async def _file(c: Container, name: str, data: bytes) -> str:
    temp: TempBlob = c.blobs.temp()
    temp.write(data)
    temp.finish()
    return str(
        orjson.loads(await c.files.create(PROJECT, temp, filename=name, purpose="assistants"))["id"]
    )


async def _ingested(c: Container, store_id: str) -> dict[str, Any]:
    for _ in range(500):
        store: dict[str, Any] = orjson.loads(await c.vector_stores.get(PROJECT, store_id))
        if store["status"] != "in_progress":
            return store
        await asyncio.sleep(0.02)
    raise AssertionError("ingestion did not finish")


async def test_file_counts_follow_ingestion(tmp_path: Path) -> None:
    async with in_process(tmp_path, provider=ScriptedProvider()) as (c, _):
        c.ingestor.start()
        good = await _file(c, "notes.txt", b"Filip's favorite food is carrot cake.")
        bad = await _file(c, "broken.pdf", b"%PDF-1.4 not really")
        req = VectorStoreCreate(file_ids=[good, bad])
        store = orjson.loads(await c.vector_stores.create(PROJECT, req))
        store = await _ingested(c, store["id"])
        assert store["status"] == "completed"
        counts = store["file_counts"]
        assert (counts["completed"], counts["failed"], counts["in_progress"]) == (1, 1, 0)
        assert counts["total"] == 2


@pytest.mark.parametrize("cites", [True, False], ids=["model-cites", "model-cannot-cite"])
async def test_citations_point_at_the_searched_file(tmp_path: Path, cites: bool) -> None:
    model = ScriptedProvider(cites_sources=cites)
    search = [("file_search", json.dumps({"query": "favorite food"}))]
    answer = "Carrot cake 【0:0】." if cites else "Carrot cake."
    model.script(Scripted(tool_calls=search), Scripted(text=answer))
    async with in_process(tmp_path, provider=model) as (c, _):
        c.ingestor.start()
        file_id = await _file(c, "foods.txt", b"Filip's favorite food is carrot cake.")
        store = orjson.loads(
            await c.vector_stores.create(PROJECT, VectorStoreCreate(file_ids=[file_id]))
        )
        await _ingested(c, store["id"])
        resources = {"file_search": {"vector_store_ids": [store["id"]]}}
        assistant_id = await _assistant(
            c, tools=[{"type": "file_search"}], tool_resources=resources
        )
        thread_id = await _thread(c, "What does Filip like?")
        run = await _run(c, thread_id, assistant_id)
        assert run["status"] == "completed"
        text = (await _answer(c, thread_id, run["id"]))["content"][0]["text"]
        (citation,) = text["annotations"]
        assert citation["file_citation"] == {"file_id": file_id}
        assert text["value"][citation["start_index"] : citation["end_index"]] == citation["text"]
        assert citation["text"] == "【0:0†foods.txt】"
        # The model read the result under the marker it was asked to copy.
        assert (
            "【0:0†foods.txt】\nFilip's favorite food" in model.requests[1].messages[-1]["content"]
        )


@pytest.mark.skipif(shutil.which("bwrap") is None, reason="bwrap is not installed")
async def test_an_image_the_code_displayed_leads_the_next_message(tmp_path: Path) -> None:
    model = ScriptedProvider()
    code = "import matplotlib.pyplot as plt\nplt.plot([1, 2], [3, 4])\nplt.show()"
    model.script(
        Scripted(tool_calls=[("code_interpreter", json.dumps({"code": code}))]),
        Scripted(text="Here it is."),
    )
    async with in_process(tmp_path, provider=model, rehearse=False) as (c, _):
        c.code_sessions.start()
        thread_id = await _thread(c, "Plot")
        run = await _run(c, thread_id, await _assistant(c, tools=[{"type": "code_interpreter"}]))
        assert run["status"] == "completed"
        steps = orjson.loads(
            await c.runs.list_steps(PROJECT, thread_id, run["id"], ListParams(order="asc"))
        )["data"]
        (entry,) = steps[0]["step_details"]["tool_calls"]
        (image,) = [o for o in entry["code_interpreter"]["outputs"] if o["type"] == "image"]
        message = await _answer(c, thread_id, run["id"])
        assert [p["type"] for p in message["content"]] == ["image_file", "text"]
        assert message["content"][0]["image_file"]["file_id"] == image["image"]["file_id"]
        # The model is told an image was shown, not given its bytes.
        assert "image(s) displayed" in model.requests[1].messages[-1]["content"]
