"""The OpenAI Agents SDK's conversation memory against a real server: its own
`OpenAIConversationsSession` example, unmodified (from the pinned SDK's source
distribution, scripts/fetch_sdk_examples.py), and an agent resuming a conversation
that started as an Assistants thread, through the session and through
`conversation_id`."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import make_async_client, make_client
from tests.servers import Server, running_server
from tests.upstream import Reply, ScriptedUpstream, route_env

# The Agents SDK sends traces to OpenAI unless told not to; offline, it must not try.
os.environ.setdefault("OPENAI_AGENTS_DISABLE_TRACING", "1")
agents = pytest.importorskip("agents")

EXAMPLE = (
    Path(__file__).parents[1]
    / "third_party"
    / "openai-agents"
    / "examples"
    / "memory"
    / "openai_session_example.py"
)


@pytest.fixture(scope="module")
def memory_server(
    upstream: ScriptedUpstream, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Server]:
    # The example names no model: the SDK's default (a gpt-* name) goes upstream.
    env = route_env(upstream, match="*")
    with running_server("sqlite", tmp_path_factory.mktemp("memory"), env) as srv:
        yield srv


@pytest.fixture
def server(memory_server: Server, upstream: ScriptedUpstream) -> Server:
    upstream.reset()
    return memory_server


def _texts(sent: dict[str, Any]) -> list[str]:
    return [str(m.get("content")) for m in sent["messages"] if m["role"] != "system"]


def test_the_sdks_session_example_runs_unmodified(
    server: Server, upstream: ScriptedUpstream
) -> None:
    if not EXAMPLE.exists():
        pytest.fail("the SDK's examples are needed: run scripts/fetch_sdk_examples.py")
    upstream.script(
        Reply(text="San Francisco."), Reply(text="California."), Reply(text="About 39 million.")
    )
    env = {
        **os.environ,
        "OPENAI_BASE_URL": f"{server.base_url}/v1",
        "OPENAI_API_KEY": "sk-examples",
        "OPENAI_AGENTS_DISABLE_TRACING": "1",
    }
    done = subprocess.run(
        [sys.executable, str(EXAMPLE)], capture_output=True, text=True, timeout=120, env=env
    )
    assert done.returncode == 0, done.stderr[-3000:]
    assert "Assistant: California." in done.stdout
    assert "Total items in session: 6" in done.stdout
    latest = done.stdout.split("Latest 2 items:")[1]
    assert "1. user:" in latest
    assert "2. assistant:" in latest
    # Each turn was prompted with the turns before it, read back from the conversation.
    assert _texts(upstream.requests[2]) == [
        "What city is the Golden Gate Bridge in?",
        "San Francisco.",
        "What state is it in?",
        "California.",
        "What's the population of that state?",
    ]


def test_an_agent_resumes_a_thread_through_its_session(
    server: Server, upstream: ScriptedUpstream
) -> None:
    with make_client(server.base_url) as client:
        thread = client.beta.threads.create(
            messages=[
                {"role": "user", "content": "My name is Ada."},
                {"role": "assistant", "content": "Noted, Ada."},
            ]
        )
    upstream.script(Reply(text="You are Ada."), Reply(text="Still Ada."))

    async def talk() -> tuple[str, str, int]:
        client = make_async_client(server.base_url)
        try:
            model = agents.OpenAIResponsesModel(model="scripted-gpt", openai_client=client)
            agent = agents.Agent(name="Memory", instructions="Be brief.", model=model)
            session = agents.OpenAIConversationsSession(
                conversation_id=thread.id, openai_client=client
            )
            first = await agents.Runner.run(agent, "Who am I?", session=session)
            # Server-side conversation state, the other way the SDK resumes one.
            second = await agents.Runner.run(agent, "And now?", conversation_id=thread.id)
            popped = await session.pop_item()
            assert popped is not None
            left = await session.get_items()
            return first.final_output, second.final_output, len(left)
        finally:
            await client.close()

    first, second, left = asyncio.run(talk())
    assert (first, second) == ("You are Ada.", "Still Ada.")
    assert _texts(upstream.requests[0]) == ["My name is Ada.", "Noted, Ada.", "Who am I?"]
    assert _texts(upstream.requests[1]) == [
        "My name is Ada.",
        "Noted, Ada.",
        "Who am I?",
        "You are Ada.",
        "And now?",
    ]
    assert left == 5  # six messages, the newest popped
    with make_client(server.base_url) as client:
        listed = client.beta.threads.messages.list(thread.id, order="asc").data
    assert [m.content[0].text.value for m in listed] == [  # type: ignore[union-attr]
        "My name is Ada.",
        "Noted, Ada.",
        "Who am I?",
        "You are Ada.",
        "And now?",
    ]
