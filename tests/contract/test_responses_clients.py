"""Third-party clients of the Responses API, unmodified (versions pinned in
pyproject.toml), against a real server and a scripted upstream: the OpenAI Agents SDK
(a basic agent, a function-tool agent, a streamed run, FileSearchTool,
CodeInterpreterTool) and LangChain's ChatOpenAI with `use_responses_api`."""

from __future__ import annotations

import asyncio
import json
import os
import time
from collections.abc import Awaitable, Callable, Iterator
from typing import Any, TypeVar

import pytest

from tests.conftest import make_async_client, make_client
from tests.requires import requires
from tests.servers import Server, running_server
from tests.upstream import Reply, ScriptedUpstream, route_env

# The Agents SDK sends traces to OpenAI unless told not to; offline, it must not try.
os.environ.setdefault("OPENAI_AGENTS_DISABLE_TRACING", "1")

T = TypeVar("T")
agents = pytest.importorskip("agents")
langchain_openai = pytest.importorskip("langchain_openai")


@pytest.fixture(scope="module")
def clients_server(
    upstream: ScriptedUpstream, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Server]:
    env = {**route_env(upstream, timeout_s=30), "ASSISTANTD_CODE_INTERPRETER_TIMEOUT_S": "10"}
    with running_server("sqlite", tmp_path_factory.mktemp("clients"), env) as srv:
        yield srv


@pytest.fixture
def server(clients_server: Server, upstream: ScriptedUpstream) -> Server:
    upstream.reset()
    return clients_server


Agent = Callable[[Any], Any]  # the model → the agent


async def _with_model(server: Server, use: Callable[[Any], Awaitable[T]]) -> T:
    # The suite's client: every answer the agent reads is validated against the spec.
    client = make_async_client(server.base_url)
    try:
        return await use(agents.OpenAIResponsesModel(model="scripted-gpt", openai_client=client))
    finally:
        await client.close()


def _run(server: Server, agent: Agent, text: str) -> Any:
    return asyncio.run(_with_model(server, lambda model: agents.Runner.run(agent(model), text)))


def test_a_basic_agent(server: Server, upstream: ScriptedUpstream) -> None:
    upstream.script(Reply(text="Hello from the agent."))
    result = _run(
        server, lambda model: agents.Agent(name="Greeter", instructions="Greet.", model=model), "Hi"
    )
    assert result.final_output == "Hello from the agent."
    assert result.last_response_id.startswith("resp_")
    (sent,) = upstream.requests
    assert sent["messages"][0] == {"role": "system", "content": "Greet."}


def test_a_function_tool_agent(server: Server, upstream: ScriptedUpstream) -> None:
    asked: list[str] = []

    @agents.function_tool
    def get_weather(city: str) -> str:
        """The weather in a city."""
        asked.append(city)
        return f"Sunny in {city}."

    upstream.script(
        Reply(tool_calls=[("get_weather", json.dumps({"city": "Oslo"}))]),
        Reply(text="It is sunny in Oslo."),
    )
    result = _run(
        server,
        lambda model: agents.Agent(
            name="Weather", instructions="Use tools.", model=model, tools=[get_weather]
        ),
        "Weather in Oslo?",
    )
    assert asked == ["Oslo"]
    assert result.final_output == "It is sunny in Oslo."
    second = upstream.requests[1]["messages"]
    assert second[-1]["role"] == "tool"
    assert second[-1]["content"] == "Sunny in Oslo."
    assert second[-2]["tool_calls"][0]["function"]["name"] == "get_weather"


def test_a_streamed_agent_run(server: Server, upstream: ScriptedUpstream) -> None:
    upstream.script(Reply(text="Streaming works fine."))

    async def go(model: Any) -> tuple[str, str]:
        agent = agents.Agent(name="Streamer", instructions="Talk.", model=model)
        result = agents.Runner.run_streamed(agent, "Talk")
        deltas = []
        async for event in result.stream_events():
            if (
                event.type == "raw_response_event"
                and event.data.type == "response.output_text.delta"
            ):
                deltas.append(event.data.delta)
        return "".join(deltas), str(result.final_output)

    streamed, final = asyncio.run(_with_model(server, go))
    assert streamed == final == "Streaming works fine."


def test_file_search_tool(server: Server, upstream: ScriptedUpstream) -> None:
    with make_client(server.base_url) as client:
        f = client.files.create(
            file=("foods.txt", b"Filip's favorite food is cake."), purpose="assistants"
        )
        store = client.vector_stores.create(name="foods", file_ids=[f.id])
        for _ in range(100):
            if client.vector_stores.retrieve(store.id).status == "completed":
                break
            time.sleep(0.1)
    upstream.script(
        Reply(tool_calls=[("file_search", json.dumps({"query": "Filip food"}))]),
        Reply(text="Cake【0:0†foods.txt】."),
    )
    search = agents.FileSearchTool(vector_store_ids=[store.id], include_search_results=True)
    result = _run(
        server,
        lambda model: agents.Agent(
            name="Reader", instructions="Search.", model=model, tools=[search]
        ),
        "What does Filip like?",
    )
    assert result.final_output == "Cake."
    kinds = [item.type for item in result.new_items]
    assert kinds[-1] == "message_output_item"
    told = upstream.requests[1]["messages"][-1]
    assert "Filip's favorite food is cake." in told["content"]


@requires("bwrap")
def test_code_interpreter_tool(server: Server, upstream: ScriptedUpstream) -> None:
    upstream.script(
        Reply(tool_calls=[("code_interpreter", json.dumps({"code": "print(6 * 7)"}))]),
        Reply(text="42."),
    )
    tool = agents.CodeInterpreterTool(
        tool_config={"type": "code_interpreter", "container": {"type": "auto"}}
    )
    result = _run(
        server,
        lambda model: agents.Agent(
            name="Coder", instructions="Compute.", model=model, tools=[tool]
        ),
        "6 times 7?",
    )
    assert result.final_output == "42."
    told = upstream.requests[1]["messages"][-1]
    assert told["role"] == "tool"
    assert "42" in told["content"]


def test_langchain_with_previous_response_id(server: Server, upstream: ScriptedUpstream) -> None:
    from langchain_core.messages import HumanMessage

    upstream.script(Reply(text="Hello Ada."), Reply(text="You are Ada."))
    chat = langchain_openai.ChatOpenAI(
        model="scripted-gpt",
        base_url=f"{server.base_url}/v1",
        api_key="sk-test",
        use_responses_api=True,
        use_previous_response_id=True,
        max_retries=0,
    )
    first = chat.invoke([HumanMessage("I am Ada.")])
    assert first.text == "Hello Ada."
    assert first.response_metadata["id"].startswith("resp_")
    second = chat.invoke([HumanMessage("I am Ada."), first, HumanMessage("Who am I?")])
    assert second.text == "You are Ada."
    # Only the new message was sent: the rest came from the chain.
    sent = upstream.requests[1]["messages"]
    assert sent == [
        {"role": "user", "content": "I am Ada."},
        {"role": "assistant", "content": "Hello Ada."},
        {"role": "user", "content": "Who am I?"},
    ]
