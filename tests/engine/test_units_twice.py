"""Every kind of write unit may run twice (rolled back once) and still leave the right state."""

from __future__ import annotations

import asyncio
from functools import partial
from pathlib import Path
from typing import Any

import orjson

from assistantd import clock
from assistantd.container import Container
from assistantd.engine.worker import Worker
from assistantd.protocol.assistants import AssistantCreate
from assistantd.protocol.common import ListParams
from assistantd.protocol.files import FileListParams, UploadComplete, UploadCreate
from assistantd.protocol.messages import MessageCreate
from assistantd.protocol.runs import RunCreate, SubmitToolOutputs
from assistantd.protocol.threads import ThreadCreate
from tests.engine.stack import PROJECT, Rehearsing, in_process, settled
from tests.upstream import Reply, ScriptedUpstream

WEATHER = {
    "type": "function",
    "function": {"name": "get_weather", "parameters": {"type": "object", "properties": {}}},
}


async def _setup(container: Container) -> tuple[str, str]:
    assistant = orjson.loads(
        await container.assistants.create(
            PROJECT,
            AssistantCreate.model_validate(
                {"model": "scripted-gpt", "instructions": "Be brief.", "tools": [WEATHER]}
            ),
        )
    )
    thread = orjson.loads(
        await container.threads.create(
            PROJECT,
            ThreadCreate.model_validate({"messages": [{"role": "user", "content": "Hi"}]}),
        )
    )
    return assistant["id"], thread["id"]


async def _start(container: Container, assistant_id: str, thread_id: str) -> str:
    run = await container.runs.create(
        PROJECT, thread_id, RunCreate.model_validate({"assistant_id": assistant_id})
    )
    run_id: str = orjson.loads(run)["id"]
    return run_id


async def _steps(container: Container, thread_id: str, run_id: str) -> list[dict[str, Any]]:
    page = await container.runs.list_steps(
        PROJECT, thread_id, run_id, ListParams(order="asc", limit=100)
    )
    data: list[dict[str, Any]] = orjson.loads(page)["data"]
    return data


async def _messages(container: Container, thread_id: str) -> list[dict[str, Any]]:
    page = await container.messages.list(PROJECT, thread_id, ListParams(order="asc"), None)
    data: list[dict[str, Any]] = orjson.loads(page)["data"]
    return data


async def test_text_run_twice_over(tmp_path: Path, upstream: ScriptedUpstream) -> None:
    upstream.script(Reply(text="Hello there."))
    async with in_process(tmp_path, upstream.base_url) as (container, db):
        assistant_id, thread_id = await _setup(container)
        run_id = await _start(container, assistant_id, thread_id)
        run = await settled(container, thread_id, run_id)
        assert run["status"] == "completed"
        steps = await _steps(container, thread_id, run_id)
        assert [(s["type"], s["status"]) for s in steps] == [("message_creation", "completed")]
        assert steps[0]["usage"] == {
            "prompt_tokens": 11,
            "completion_tokens": 7,
            "total_tokens": 18,
        }
        answer = (await _messages(container, thread_id))[-1]
        assert (answer["status"], answer["content"][0]["text"]["value"]) == (
            "completed",
            "Hello there.",
        )
        assert run["usage"]["total_tokens"] == 18  # counted once, not once per attempt
        assert isinstance(db, Rehearsing)
        assert db.rehearsed >= 5


async def test_tool_round_trip_twice_over(tmp_path: Path, upstream: ScriptedUpstream) -> None:
    upstream.script(
        Reply(text="Let me look.", tool_calls=[("get_weather", "{}")]), Reply(text="Sunny.")
    )
    async with in_process(tmp_path, upstream.base_url) as (container, _db):
        assistant_id, thread_id = await _setup(container)
        run_id = await _start(container, assistant_id, thread_id)
        run = await settled(container, thread_id, run_id)
        assert run["status"] == "requires_action"
        call = run["required_action"]["submit_tool_outputs"]["tool_calls"][0]
        await container.runs.submit_tool_outputs(
            PROJECT,
            thread_id,
            run_id,
            SubmitToolOutputs.model_validate(
                {"tool_outputs": [{"tool_call_id": call["id"], "output": "20C"}]}
            ),
        )
        run = await settled(container, thread_id, run_id)
        assert run["status"] == "completed"
        steps = await _steps(container, thread_id, run_id)
        assert [(s["type"], s["status"]) for s in steps] == [
            ("message_creation", "completed"),
            ("tool_calls", "completed"),
            ("message_creation", "completed"),
        ]
        assert steps[1]["step_details"]["tool_calls"][0]["function"]["output"] == "20C"
        texts = [m["content"][0]["text"]["value"] for m in await _messages(container, thread_id)]
        assert texts == ["Hi", "Let me look.", "Sunny."]
        assert run["usage"]["total_tokens"] == 36  # two turns, each counted once


async def test_cancel_mid_answer_twice_over(tmp_path: Path, upstream: ScriptedUpstream) -> None:
    upstream.script(Reply(text="word " * 40, token_delay_s=0.05))
    async with in_process(tmp_path, upstream.base_url) as (container, _db):
        assistant_id, thread_id = await _setup(container)
        run_id = await _start(container, assistant_id, thread_id)
        while not await _steps(container, thread_id, run_id):
            await asyncio.sleep(0.02)
        await container.runs.cancel(PROJECT, thread_id, run_id)
        run = await settled(container, thread_id, run_id)
        assert run["status"] == "cancelled"
        steps = await _steps(container, thread_id, run_id)
        assert [s["status"] for s in steps] == ["cancelled"]
        answer = (await _messages(container, thread_id))[-1]
        assert answer["status"] == "incomplete"
        assert answer["incomplete_details"] == {"reason": "run_cancelled"}


async def test_failure_twice_over(tmp_path: Path, upstream: ScriptedUpstream) -> None:
    upstream.script(Reply(text="Half an answ", cut_after=2))
    async with in_process(tmp_path, upstream.base_url) as (container, _db):
        assistant_id, thread_id = await _setup(container)
        run_id = await _start(container, assistant_id, thread_id)
        run = await settled(container, thread_id, run_id)
        assert run["status"] == "failed"
        assert run["last_error"]["code"] == "server_error"
        steps = await _steps(container, thread_id, run_id)
        assert [s["status"] for s in steps] == ["failed"]
        assert steps[0]["last_error"] == run["last_error"]
        assert (await _messages(container, thread_id))[-1]["status"] == "incomplete"


async def test_messages_and_threads_twice_over(tmp_path: Path, upstream: ScriptedUpstream) -> None:
    async with in_process(tmp_path, upstream.base_url) as (container, _db):
        _assistant_id, thread_id = await _setup(container)
        created = orjson.loads(
            await container.messages.create(
                PROJECT, thread_id, MessageCreate.model_validate({"role": "user", "content": "x"})
            )
        )
        assert [m["id"] for m in await _messages(container, thread_id)][-1] == created["id"]
        assert len(await _messages(container, thread_id)) == 2  # once, not twice


async def test_files_and_uploads_twice_over(tmp_path: Path, upstream: ScriptedUpstream) -> None:
    async with in_process(tmp_path, upstream.base_url) as (container, _db):

        def blob(data: bytes) -> Any:
            temp = container.blobs.temp()
            temp.write(data)
            return temp

        async def new_upload(size: int, filename: str) -> dict[str, Any]:
            req = {
                "bytes": size,
                "filename": filename,
                "purpose": "assistants",
                "mime_type": "text/plain",
            }
            created: dict[str, Any] = orjson.loads(
                await container.uploads.create(PROJECT, UploadCreate.model_validate(req))
            )
            return created

        file = orjson.loads(
            await container.files.create(
                PROJECT, blob(b"plain"), filename="a.txt", purpose="user_data"
            )
        )
        listed = orjson.loads(await container.files.list(PROJECT, FileListParams()))["data"]
        assert [f["id"] for f in listed] == [file["id"]]  # one File, not two
        upload = await new_upload(6, "b.txt")
        parts = [
            orjson.loads(await container.uploads.add_part(PROJECT, upload["id"], blob(data)))["id"]
            for data in (b"abc", b"def")
        ]
        done = orjson.loads(
            await container.uploads.complete(
                PROJECT, upload["id"], UploadComplete.model_validate({"part_ids": parts})
            )
        )
        assert done["status"] == "completed"
        handle, size, _ = await container.files.open_content(PROJECT, done["file"]["id"])
        with handle:
            assert (size, handle.read()) == (6, b"abcdef")
        other = await new_upload(1, "c.txt")
        cancelled = orjson.loads(await container.uploads.cancel(PROJECT, other["id"]))
        assert cancelled["status"] == "cancelled"


async def test_reaping_twice_over(tmp_path: Path, upstream: ScriptedUpstream) -> None:
    upstream.script(Reply(text="word " * 40, token_delay_s=0.05))
    async with in_process(tmp_path, upstream.base_url, workers=0) as (container, db):
        assistant_id, thread_id = await _setup(container)
        run_id = await _start(container, assistant_id, thread_id)
        holder = Worker(db, container.worker.executor, container.bus, concurrency=0)
        assert await holder.claim_next() == run_id
        unit = partial(
            container.worker.end,
            run_id=run_id,
            status="failed",
            stale=(clock.now() + 60, holder.id),
        )
        assert await db.write(unit) is not None
        run = orjson.loads(await container.runs.get(PROJECT, thread_id, run_id))
        assert run["status"] == "failed"
        assert run["last_error"]["code"] == "server_error"
