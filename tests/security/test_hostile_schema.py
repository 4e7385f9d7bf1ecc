"""A schema llama.cpp cannot turn into a grammar, and a crash of the embedded model.

Before: a JSON schema with a string maxLength of 2000 made llama.cpp reject its grammar,
llama-cpp-python sampled anyway, and the server died with SIGSEGV, failing every
tenant's runs; the queued hostile run crashed it again after each restart.
"""

from __future__ import annotations

import json
import os
import signal
import threading
import time
from pathlib import Path

import openai
import pytest

from tests.contract.helpers import error_body
from tests.servers import Server

# Still too large once bounded: a pattern's repetition is not lowered for the client.
HOSTILE = {"type": "string", "pattern": "^a{1,5000}$"}
LONG_STRING = {
    "type": "object",
    "properties": {"note": {"type": "string", "maxLength": 2000}},
    "required": ["note"],
}


def _thread(client: openai.OpenAI) -> str:
    return client.beta.threads.create(messages=[{"role": "user", "content": "Hello"}]).id


def test_an_unbuildable_schema_is_a_400_at_create_time(client: openai.OpenAI) -> None:
    assistant = client.beta.assistants.create(model="gpt-4o")
    thread_id = _thread(client)
    with pytest.raises(openai.BadRequestError) as info:
        client.beta.threads.runs.create(
            thread_id=thread_id,
            assistant_id=assistant.id,
            response_format={
                "type": "json_schema",
                "json_schema": {"name": "x", "schema": HOSTILE},
            },
        )
    body = error_body(info.value)
    assert (body["param"], body["code"]) == ("response_format.json_schema.schema", "invalid_schema")
    assert "too large for the embedded model" in body["message"]
    tool = {"type": "function", "function": {"name": "f", "parameters": HOSTILE}}
    with pytest.raises(openai.BadRequestError) as info:
        client.beta.threads.create_and_run(
            assistant_id=assistant.id,
            tools=[tool],  # type: ignore[list-item]
            tool_choice={"type": "function", "function": {"name": "f"}},
        )
    assert error_body(info.value)["param"] == "tools[0].function.parameters"
    assert client.beta.threads.runs.list(thread_id).data == []  # nothing was queued


def test_the_schema_that_crashed_the_server_now_answers(client: openai.OpenAI) -> None:
    assistant = client.beta.assistants.create(model="gpt-4o", temperature=0)
    thread_id = _thread(client)
    run = client.beta.threads.runs.create_and_poll(
        thread_id=thread_id,
        assistant_id=assistant.id,
        response_format={
            "type": "json_schema",
            "json_schema": {"name": "n", "schema": LONG_STRING},
        },
    )
    assert run.status in ("completed", "incomplete"), run.last_error
    answer = client.beta.threads.messages.list(thread_id).data[0].content[0].text.value  # type: ignore[union-attr]
    if run.status == "completed":
        assert len(json.loads(answer)["note"]) <= 2000
    assert client.beta.assistants.retrieve(assistant.id).id == assistant.id  # still up


def _generator_pid(server: Server) -> int:
    """The embedded model's generating child of this server."""
    assert server.process is not None
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
            cmdline = (entry / "cmdline").read_bytes()
        except OSError:
            continue
        ppid = int(stat.rsplit(")", 1)[1].split()[1])
        if ppid == server.process.pid and b"llama_process" in cmdline and b"generate" in cmdline:
            return int(entry.name)
    raise AssertionError("no embedded model process")


def test_a_crash_of_the_model_fails_only_the_run_it_was_answering(
    client: openai.OpenAI, server: Server
) -> None:
    assistant = client.beta.assistants.create(
        model="gpt-4o", instructions="Write a very long story about the sea."
    )
    doomed_thread, waiting_thread = _thread(client), _thread(client)
    # Greedy decoding: the 135M model then writes on to its limit, so the crash always
    # lands mid-answer (sampled, it sometimes ended its story before the kill).
    doomed = client.beta.threads.runs.create(
        thread_id=doomed_thread,
        assistant_id=assistant.id,
        max_completion_tokens=2000,
        temperature=0,
    )
    deadline = time.monotonic() + 60
    while not client.beta.threads.messages.list(doomed_thread, run_id=doomed.id).data:
        assert time.monotonic() < deadline, "the model never started answering"
        time.sleep(0.05)
    # A second run is waiting behind it for the model when the model dies.
    waiting = client.beta.threads.runs.create(
        thread_id=waiting_thread, assistant_id=assistant.id, max_completion_tokens=256
    )
    time.sleep(0.3)
    os.kill(_generator_pid(server), signal.SIGKILL)  # as a segfault would end it
    results: dict[str, openai.types.beta.threads.Run] = {}

    def poll(name: str, thread_id: str, run_id: str) -> None:
        results[name] = client.beta.threads.runs.poll(run_id, thread_id=thread_id)

    pollers = [
        threading.Thread(target=poll, args=("doomed", doomed_thread, doomed.id)),
        threading.Thread(target=poll, args=("waiting", waiting_thread, waiting.id)),
    ]
    for poller in pollers:
        poller.start()
    for poller in pollers:
        poller.join(timeout=120)
    assert results["doomed"].status == "failed"
    assert results["doomed"].last_error is not None
    assert results["doomed"].last_error.code == "server_error"
    assert "crashed" in results["doomed"].last_error.message
    assert results["waiting"].status in ("completed", "incomplete"), results["waiting"].last_error
    # And the model keeps serving.
    after = client.beta.threads.runs.create_and_poll(
        thread_id=_thread(client), assistant_id=assistant.id, max_completion_tokens=256
    )
    assert after.status in ("completed", "incomplete"), after.last_error
