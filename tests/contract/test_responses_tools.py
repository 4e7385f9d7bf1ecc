"""The server tools through the Responses API: file_search with citations in the
Responses form, and code_interpreter with an image out; streamed and not."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator

import openai
import pytest

from tests.conftest import make_client
from tests.contract.response_grammar import check_grammar
from tests.requires import requires
from tests.servers import Server, running_server
from tests.upstream import Reply, ScriptedUpstream, route_env

FOODS = b"Filip's favorite food is cake. Maria's favorite food is pizza."


@pytest.fixture(scope="module")
def tools_server(
    backend: str, upstream: ScriptedUpstream, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Server]:
    env = {**route_env(upstream, timeout_s=30), "ASSISTANTD_CODE_INTERPRETER_TIMEOUT_S": "10"}
    with running_server(backend, tmp_path_factory.mktemp(f"rtools-{backend}"), env) as srv:
        yield srv


@pytest.fixture
def tc(tools_server: Server, upstream: ScriptedUpstream) -> Iterator[openai.OpenAI]:
    upstream.reset()
    with make_client(tools_server.base_url) as client:
        yield client


def _store(client: openai.OpenAI) -> tuple[str, str]:
    f = client.files.create(file=("favorite_foods.txt", FOODS), purpose="assistants")
    store = client.vector_stores.create(name="foods", file_ids=[f.id])
    for _ in range(100):
        if client.vector_stores.retrieve(store.id).status == "completed":
            break
        time.sleep(0.1)
    return store.id, f.id


def _search_then_cite(upstream: ScriptedUpstream) -> None:
    upstream.script(
        Reply(tool_calls=[("file_search", json.dumps({"query": "Filip favorite food"}))]),
        Reply(text="Filip likes cake【0:0†anything.txt】 and【7:7†ghost】 more."),
    )


def test_file_search_cites_in_the_responses_form(
    tc: openai.OpenAI, upstream: ScriptedUpstream
) -> None:
    store_id, file_id = _store(tc)
    _search_then_cite(upstream)
    made = tc.responses.create(
        model="scripted-gpt",
        input="What does Filip like?",
        tools=[{"type": "file_search", "vector_store_ids": [store_id], "max_num_results": 3}],
        include=["file_search_call.results"],
    )
    assert made.status == "completed"
    search, message = made.output
    assert search.type == "file_search_call"
    assert search.id.startswith("fs_")
    assert search.status == "completed"
    assert search.queries == ["Filip favorite food"]
    assert search.results is not None
    assert search.results[0].file_id == file_id
    assert "cake" in (search.results[0].text or "")
    assert message.type == "message"
    text = message.content[0]
    assert text.type == "output_text"
    assert text.text == "Filip likes cake and more."  # the marker is gone...
    (citation,) = text.annotations
    assert citation.type == "file_citation"
    assert (citation.file_id, citation.filename, citation.index) == (
        file_id,
        "favorite_foods.txt",
        len("Filip likes cake"),  # ...and cited where it stood
    )
    tool_message = upstream.requests[1]["messages"][-1]
    assert tool_message["role"] == "tool"
    assert "Filip's favorite food is cake" in tool_message["content"]
    # Without the include, results are null, as OpenAI answers.
    again = tc.responses.retrieve(made.id)
    assert again.output[0].results is None  # type: ignore[union-attr]


def test_a_streamed_file_search_sends_its_events_and_annotations(
    tc: openai.OpenAI, upstream: ScriptedUpstream
) -> None:
    store_id, file_id = _store(tc)
    _search_then_cite(upstream)
    tools = [{"type": "file_search", "vector_store_ids": [store_id]}]
    with tc.responses.stream(model="scripted-gpt", input="Filip?", tools=tools) as stream:  # type: ignore[arg-type]
        events = list(stream)
        final = stream.get_final_response()
    out = check_grammar(events)
    types = [e["type"] for e in out]
    searching = [t for t in types if t.startswith("response.file_search_call.")]
    assert searching == [
        "response.file_search_call.in_progress",
        "response.file_search_call.searching",
        "response.file_search_call.completed",
    ]
    (added,) = [e for e in out if e["type"] == "response.output_text.annotation.added"]
    assert added["annotation"] == {
        "type": "file_citation",
        "file_id": file_id,
        "filename": "favorite_foods.txt",
        "index": len("Filip likes cake"),
    }
    streamed = "".join(e["delta"] for e in out if e["type"] == "response.output_text.delta")
    assert streamed == "Filip likes cake and more." == final.output_text


def test_a_chain_replays_an_earlier_search_to_the_model(
    tc: openai.OpenAI, upstream: ScriptedUpstream
) -> None:
    store_id, _ = _store(tc)
    _search_then_cite(upstream)
    tools = [{"type": "file_search", "vector_store_ids": [store_id]}]
    first = tc.responses.create(model="scripted-gpt", input="Filip?", tools=tools)  # type: ignore[arg-type]
    upstream.script(Reply(text="Cake, as found."))
    tc.responses.create(
        model="scripted-gpt",
        input="Sure?",
        previous_response_id=first.id,
        tools=tools,  # type: ignore[arg-type]
    )
    sent = upstream.requests[2]["messages"]
    call = next(m for m in sent if m.get("tool_calls"))
    assert call["tool_calls"][0]["function"]["name"] == "file_search"
    told = next(m for m in sent if m["role"] == "tool")
    assert "Filip's favorite food is cake" in told["content"]
    assert sent[-1] == {"role": "user", "content": "Sure?"}


@requires("bwrap")
def test_code_interpreter_makes_an_image(tc: openai.OpenAI, upstream: ScriptedUpstream) -> None:
    code = "import matplotlib.pyplot as plt\nplt.plot([1, 4, 9])\nprint('plotted')"
    upstream.script(
        Reply(tool_calls=[("code_interpreter", json.dumps({"code": code}))]),
        Reply(text="Here is the chart."),
    )
    with tc.responses.stream(
        model="scripted-gpt",
        input="Plot squares.",
        tools=[{"type": "code_interpreter", "container": {"type": "auto"}}],
        include=["code_interpreter_call.outputs"],
    ) as stream:
        events = list(stream)
        final = stream.get_final_response()
    out = check_grammar(events)
    types = [e["type"] for e in out]
    assert "response.code_interpreter_call_code.delta" in types
    assert types.index("response.code_interpreter_call.interpreting") < types.index(
        "response.code_interpreter_call.completed"
    )
    call, message = final.output
    assert call.type == "code_interpreter_call"
    assert call.id.startswith("ci_")
    assert call.container_id.startswith("cntr_")
    assert call.code == code
    outputs = call.outputs or []
    assert [o.type for o in outputs] == ["logs", "image"]
    assert outputs[0].logs == "plotted\n"  # type: ignore[union-attr]
    url = outputs[1].url  # type: ignore[union-attr]
    file_id = url.split("/")[-2]
    assert tc.files.content(file_id).read().startswith(b"\x89PNG")
    assert final.output_text == "Here is the chart."
    assert message.type == "message"


def test_container_ids_and_unknown_tools_are_refused(tc: openai.OpenAI) -> None:
    with pytest.raises(openai.BadRequestError) as container:
        tc.responses.create(
            model="scripted-gpt",
            input="x",
            tools=[{"type": "code_interpreter", "container": "cntr_abc"}],
        )
    assert container.value.param == "tools[0].container"
    for kind in ("web_search", "mcp", "image_generation", "computer_use_preview"):
        with pytest.raises(openai.BadRequestError) as refused:
            tc.responses.create(model="scripted-gpt", input="x", tools=[{"type": kind}])  # type: ignore[list-item]
        assert kind in refused.value.message
        assert refused.value.code == "unsupported_tool"


def test_file_search_filters_choose_the_files(
    tc: openai.OpenAI, upstream: ScriptedUpstream
) -> None:
    store = tc.vector_stores.create(name="langs")
    ids = {}
    for lang, text in (("en", b"Cake is sweet."), ("fr", b"Le gateau est sucre. Cake.")):
        f = tc.files.create(file=(f"{lang}.txt", text), purpose="assistants")
        tc.vector_stores.files.create_and_poll(
            vector_store_id=store.id, file_id=f.id, attributes={"lang": lang}
        )
        ids[lang] = f.id
    upstream.script(
        Reply(tool_calls=[("file_search", json.dumps({"query": "cake"}))]), Reply(text="Sweet.")
    )
    flt = {"type": "eq", "key": "lang", "value": "fr"}
    made = tc.responses.create(
        model="scripted-gpt",
        input="Cake?",
        tools=[{"type": "file_search", "vector_store_ids": [store.id], "filters": flt}],
        include=["file_search_call.results"],
    )
    search = made.output[0]
    assert search.type == "file_search_call"
    assert {r.file_id for r in search.results or []} == {ids["fr"]}
    assert made.tools[0].filters is not None  # type: ignore[union-attr]
    with pytest.raises(openai.BadRequestError) as bad:
        tc.responses.create(
            model="scripted-gpt",
            input="x",
            tools=[
                {"type": "file_search", "vector_store_ids": [store.id], "filters": {"type": "eq"}}
            ],  # type: ignore[typeddict-item]
        )
    assert bad.value.param == "tools[0].filters"
