"""A model silent for several keep-alive intervals, at the start of a run and mid-answer,
must not break the official SDKs' stream decoders (issue: every blank line after a
frame with `id:` reached openai-python as an empty event and failed as JSON)."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path

import openai
import pytest
from openai import AssistantEventHandler
from openai.types.beta import AssistantStreamEvent
from typing_extensions import override

from tests.conftest import make_client
from tests.servers import Server, running_server
from tests.upstream import Reply, ScriptedUpstream, route_env

NODE_DIR = Path(__file__).parents[1] / "node"
KEEPALIVE_S = 0.25
SILENCE_S = 1.6  # six keep-alive intervals
ANSWER = "the slow model finally answered " * 3


@pytest.fixture(scope="module")
def silent_server(
    backend: str, upstream: ScriptedUpstream, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Server]:
    tmp = tmp_path_factory.mktemp(f"silent-{backend}")
    env = {**route_env(upstream, timeout_s=30), "ASSISTANTD_STREAM_KEEPALIVE_S": str(KEEPALIVE_S)}
    with running_server(backend, tmp, env) as srv:
        yield srv


@pytest.fixture
def ids(silent_server: Server, upstream: ScriptedUpstream) -> Iterator[tuple[str, str]]:
    upstream.reset()
    with make_client(silent_server.base_url) as client:
        assistant = client.beta.assistants.create(model="scripted-gpt")
        thread = client.beta.threads.create(messages=[{"role": "user", "content": "think"}])
        yield assistant.id, thread.id


SILENCES = {
    "at the start": Reply(text=ANSWER, first_delay_s=SILENCE_S),
    "mid-answer": Reply(text=ANSWER, pause_after=(3, SILENCE_S)),
}


class _Collector(AssistantEventHandler):
    def __init__(self) -> None:
        super().__init__()
        self.text = ""

    @override
    def on_text_delta(self, delta, snapshot):  # type: ignore[no-untyped-def]
        self.text += delta.value or ""


@pytest.mark.parametrize("where", list(SILENCES))
def test_python_stream_helper_survives_a_silent_model(
    silent_server: Server, upstream: ScriptedUpstream, ids: tuple[str, str], where: str
) -> None:
    upstream.script(SILENCES[where])
    handler = _Collector()
    with (
        make_client(silent_server.base_url) as client,
        client.beta.threads.runs.stream(
            thread_id=ids[1], assistant_id=ids[0], event_handler=handler
        ) as stream,
    ):
        stream.until_done()
        run = stream.get_final_run()
    assert run.status == "completed"
    assert handler.text == ANSWER


@pytest.mark.parametrize("where", list(SILENCES))
def test_python_create_stream_survives_a_silent_model(
    silent_server: Server, upstream: ScriptedUpstream, ids: tuple[str, str], where: str
) -> None:
    upstream.script(SILENCES[where])
    with make_client(silent_server.base_url) as client:
        events = list(
            client.beta.threads.runs.create(thread_id=ids[1], assistant_id=ids[0], stream=True)
        )
    assert events[-1].event == "thread.run.completed"
    text = "".join(
        part.text.value or ""
        for e in events
        if e.event == "thread.message.delta"
        for part in e.data.delta.content or []
        if part.type == "text" and part.text is not None
    )
    assert text == ANSWER


def test_python_sdk_resumes_a_silent_run_with_last_event_id(
    silent_server: Server, upstream: ScriptedUpstream, ids: tuple[str, str]
) -> None:
    """Resume after the third event, while the model is still silent: the SDK's decoder
    reads the replay, the keep-alives, then the rest, with no gap."""
    upstream.script(Reply(text=ANSWER, first_delay_s=SILENCE_S))
    with make_client(silent_server.base_url) as client:
        first = client.beta.threads.runs.create(thread_id=ids[1], assistant_id=ids[0], stream=True)
        head = [next(iter(first)) for _ in range(3)]
        first.close()
        run_id = head[0].data.id
    # The resume endpoint is an extension (not in the spec the test client checks
    # against): a plain SDK client reads it, with the SDK's own stream decoder.
    with openai.OpenAI(base_url=f"{silent_server.base_url}/v1", api_key="sk-test") as plain:
        resumed = plain.get(
            f"/threads/{ids[1]}/runs/{run_id}/events",
            cast_to=AssistantStreamEvent,  # type: ignore[arg-type]
            stream=True,
            stream_cls=openai.Stream[AssistantStreamEvent],
            options={"headers": {"Last-Event-ID": "3"}},
        )
        rest = list(resumed)
    names = [e.event for e in head + rest]
    assert names[:3] == ["thread.run.created", "thread.run.queued", "thread.run.in_progress"]
    assert names[-1] == "thread.run.completed"
    assert names.count("thread.run.in_progress") == 1, "the replay repeated an event"


@pytest.mark.parametrize("where", list(SILENCES))
def test_node_stream_helper_survives_a_silent_model(
    silent_server: Server, upstream: ScriptedUpstream, ids: tuple[str, str], where: str
) -> None:
    node = shutil.which("node")
    if node is None or not (NODE_DIR / "node_modules" / "openai").exists():
        pytest.fail("Node.js and `npm install --prefix tests/node` are needed (make test does it)")
    upstream.script(SILENCES[where])
    done = subprocess.run(
        [node, str(NODE_DIR / "silent.mjs")],
        capture_output=True,
        text=True,
        timeout=60,
        env={
            **os.environ,
            "ASSISTANTD_BASE_URL": f"{silent_server.base_url}/v1",
            "ASSISTANT_ID": ids[0],
            "THREAD_ID": ids[1],
        },
        check=False,
    )
    assert done.returncode == 0, done.stderr
    out = json.loads(done.stdout)
    assert out["status"] == "completed"
    assert out["text"] == ANSWER
    assert out["events"][-1] == "thread.run.completed"
