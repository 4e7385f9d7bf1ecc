"""The Responses API, driven by the official SDK against a real server and a scripted
upstream: create (plain, streamed, background), retrieve, delete, cancel, input items,
input tokens, chains, `store: false`, function tools, and the errors of each."""

from __future__ import annotations

import asyncio
import json
import sqlite3
import time
from collections.abc import Iterator

import asyncpg
import httpx
import openai
import pytest
from pydantic import BaseModel
from sqlalchemy.engine import make_url

from tests.conftest import make_client
from tests.contract.helpers import WEATHER
from tests.contract.response_grammar import check_grammar
from tests.servers import Server, running_server
from tests.upstream import Reply, ScriptedUpstream, route_env


@pytest.fixture(scope="module")
def responses_server(
    backend: str, upstream: ScriptedUpstream, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Server]:
    with running_server(
        backend, tmp_path_factory.mktemp(f"responses-{backend}"), route_env(upstream)
    ) as srv:
        yield srv


@pytest.fixture
def rc(responses_server: Server, upstream: ScriptedUpstream) -> Iterator[openai.OpenAI]:
    upstream.reset()
    with make_client(responses_server.base_url) as client:
        yield client


def _user_texts(sent: dict) -> list[str]:
    return [m["content"] for m in sent["messages"] if m["role"] == "user"]


def test_a_response_answers_and_reads_back(rc: openai.OpenAI, upstream: ScriptedUpstream) -> None:
    upstream.script(Reply(text="Penguins cannot fly.", usage=(12, 5)))
    made = rc.responses.create(
        model="scripted-gpt",
        input="Can penguins fly?",
        instructions="Be brief.",
        metadata={"case": "1"},
        temperature=0.3,
    )
    assert made.id.startswith("resp_")
    assert made.object == "response"
    assert made.status == "completed"
    assert made.output_text == "Penguins cannot fly."
    (message,) = made.output
    assert message.type == "message"
    assert message.id.startswith("msg_")
    assert made.usage is not None
    assert (made.usage.input_tokens, made.usage.output_tokens, made.usage.total_tokens) == (
        12,
        5,
        17,
    )
    assert made.instructions == "Be brief."
    assert made.metadata == {"case": "1"}
    assert made.temperature == 0.3
    assert made.store is True
    assert made.background is False
    assert made.previous_response_id is None
    (sent,) = upstream.requests
    assert sent["messages"][0] == {"role": "system", "content": "Be brief."}
    assert _user_texts(sent) == ["Can penguins fly?"]
    again = rc.responses.retrieve(made.id)
    assert again.model_dump() == made.model_dump()
    assert (made._request_id or "").startswith("req_")


def test_a_streamed_response_follows_the_grammar(
    rc: openai.OpenAI, upstream: ScriptedUpstream
) -> None:
    upstream.script(Reply(text="One two three four five.", usage=(9, 6)))
    events = list(rc.responses.create(model="scripted-gpt", input="Count", stream=True))
    out = check_grammar(events)
    types = [e["type"] for e in out]
    assert types[:2] == ["response.created", "response.in_progress"]
    assert "".join(e["delta"] for e in out if e["type"] == "response.output_text.delta") == (
        "One two three four five."
    )
    final = out[-1]["response"]
    assert final["status"] == "completed"
    assert final["usage"]["output_tokens"] == 6
    with rc.responses.stream(model="scripted-gpt", input="Again") as stream:
        upstream.script(Reply(text="Again and again."))
        for _ in stream:
            pass
        done = stream.get_final_response()
    assert done.status == "completed"


def test_a_chain_carries_its_items_but_not_its_instructions(
    rc: openai.OpenAI, upstream: ScriptedUpstream
) -> None:
    upstream.script(Reply(text="Hello Ada."), Reply(text="Your name is Ada."))
    first = rc.responses.create(model="scripted-gpt", input="I am Ada.", instructions="First.")
    second = rc.responses.create(
        model="scripted-gpt", input="What is my name?", previous_response_id=first.id
    )
    assert second.previous_response_id == first.id
    assert second.instructions is None
    sent = upstream.requests[1]["messages"]
    assert sent == [
        {"role": "user", "content": "I am Ada."},
        {"role": "assistant", "content": "Hello Ada."},
        {"role": "user", "content": "What is my name?"},
    ]


def test_the_function_tool_loop(rc: openai.OpenAI, upstream: ScriptedUpstream) -> None:
    upstream.script(
        Reply(tool_calls=[("get_weather", '{"city": "Oslo"}')]),
        Reply(text="It is sunny in Oslo."),
    )
    asked = rc.responses.create(model="scripted-gpt", input="Weather in Oslo?", tools=[WEATHER])
    assert asked.status == "completed"
    (call,) = asked.output
    assert call.type == "function_call"
    assert call.id.startswith("fc_")
    assert call.call_id.startswith("call_")
    assert (call.name, json.loads(call.arguments)) == ("get_weather", {"city": "Oslo"})
    sent_tools = upstream.requests[0]["tools"]
    assert sent_tools[0]["function"]["name"] == "get_weather"
    answered = rc.responses.create(
        model="scripted-gpt",
        previous_response_id=asked.id,
        input=[{"type": "function_call_output", "call_id": call.call_id, "output": "sunny"}],
        tools=[WEATHER],
    )
    assert answered.output_text == "It is sunny in Oslo."
    messages = upstream.requests[1]["messages"]
    assert messages[-2]["tool_calls"][0]["id"] == call.call_id
    assert messages[-1] == {"role": "tool", "tool_call_id": call.call_id, "content": "sunny"}


def test_a_chain_fifty_deep_reads_back_in_order(
    rc: openai.OpenAI, upstream: ScriptedUpstream
) -> None:
    upstream.script(*[Reply(text=f"answer {i}", usage=(3, 2)) for i in range(50)])
    previous = None
    for i in range(50):
        made = rc.responses.create(
            model="scripted-gpt", input=f"question {i}", previous_response_id=previous
        )
        previous = made.id
    last = upstream.requests[-1]["messages"]
    assert len(last) == 99
    assert last[0] == {"role": "user", "content": "question 0"}
    assert last[-2] == {"role": "assistant", "content": "answer 48"}
    assert last[-1] == {"role": "user", "content": "question 49"}


def test_a_streamed_function_call(rc: openai.OpenAI, upstream: ScriptedUpstream) -> None:
    upstream.script(Reply(tool_calls=[("get_weather", '{"city": "Bergen"}')]))
    with rc.responses.stream(model="scripted-gpt", input="Weather?", tools=[WEATHER]) as stream:
        events = list(stream)
        final = stream.get_final_response()
    out = check_grammar(events)
    types = [e["type"] for e in out]
    assert "response.function_call_arguments.delta" in types
    done = next(e for e in out if e["type"] == "response.function_call_arguments.done")
    assert json.loads(done["arguments"]) == {"city": "Bergen"}
    (call,) = final.output
    assert call.type == "function_call"
    assert call.id == done["item_id"]


def test_item_references_name_earlier_output(rc: openai.OpenAI, upstream: ScriptedUpstream) -> None:
    upstream.script(Reply(text="The sky is blue."), Reply(text="Because of scattering."))
    first = rc.responses.create(model="scripted-gpt", input="Sky colour?")
    (message,) = first.output
    rc.responses.create(
        model="scripted-gpt",
        input=[
            {"role": "user", "content": "Sky colour?"},
            {"type": "item_reference", "id": message.id},
            {"role": "user", "content": "Why?"},
        ],
    )
    assert upstream.requests[1]["messages"] == [
        {"role": "user", "content": "Sky colour?"},
        {"role": "assistant", "content": "The sky is blue."},
        {"role": "user", "content": "Why?"},
    ]


def test_parse_with_a_pydantic_model(rc: openai.OpenAI, upstream: ScriptedUpstream) -> None:
    class City(BaseModel):
        name: str
        country: str

    upstream.script(Reply(text='{"name": "Oslo", "country": "Norway"}'))
    parsed = rc.responses.parse(model="scripted-gpt", input="Capital of Norway?", text_format=City)
    assert parsed.output_parsed == City(name="Oslo", country="Norway")
    fmt = upstream.requests[0]["response_format"]
    assert fmt["type"] == "json_schema"
    assert fmt["json_schema"]["name"] == "City"


def test_store_false_answers_and_keeps_nothing(
    rc: openai.OpenAI, upstream: ScriptedUpstream
) -> None:
    upstream.script(Reply(text="Ephemeral."))
    made = rc.responses.create(model="scripted-gpt", input="Hi", store=False)
    assert made.output_text == "Ephemeral."
    assert made.store is False
    with pytest.raises(openai.NotFoundError):
        rc.responses.retrieve(made.id)


def test_delete_and_errors(rc: openai.OpenAI, upstream: ScriptedUpstream) -> None:
    upstream.script(Reply(text="Bye."))
    made = rc.responses.create(model="scripted-gpt", input="Hi")
    rc.responses.delete(made.id)
    with pytest.raises(openai.NotFoundError):
        rc.responses.retrieve(made.id)
    with pytest.raises(openai.NotFoundError):
        rc.responses.delete(made.id)
    with pytest.raises(openai.BadRequestError) as missing:
        rc.responses.create(model="scripted-gpt", input="x", previous_response_id="resp_nope")
    assert missing.value.code == "previous_response_not_found"
    with pytest.raises(openai.BadRequestError) as web:
        rc.responses.create(model="scripted-gpt", input="x", tools=[{"type": "web_search"}])
    assert "web_search" in web.value.message
    assert web.value.param == "tools[0].type"
    with pytest.raises(openai.NotFoundError):
        rc.responses.cancel(made.id)
    upstream.script(Reply(text="Not in the background."))
    plain = rc.responses.create(model="scripted-gpt", input="Hi")
    with pytest.raises(openai.BadRequestError) as cancel:
        rc.responses.cancel(plain.id)
    assert "background" in cancel.value.message
    with pytest.raises(openai.BadRequestError) as ephemeral:
        rc.responses.create(model="scripted-gpt", input="x", background=True, store=False)
    assert ephemeral.value.param == "store"
    with pytest.raises(openai.BadRequestError) as no_model:
        rc.responses.create(input="x")  # type: ignore[call-overload]
    assert no_model.value.param == "model"
    with pytest.raises(openai.BadRequestError) as bad_item:
        rc.responses.create(
            model="scripted-gpt",
            input=[{"type": "function_call_output", "output": "x"}],  # type: ignore[list-item]
        )
    assert bad_item.value.param == "input[0].call_id"
    with pytest.raises(openai.BadRequestError) as bad_role:
        rc.responses.create(model="scripted-gpt", input=[{"role": "robot", "content": "x"}])  # type: ignore[list-item]
    assert bad_role.value.param == "input[0].role"
    with pytest.raises(openai.BadRequestError) as no_store:
        rc.responses.create(
            model="scripted-gpt",
            input="x",
            tools=[{"type": "file_search", "vector_store_ids": ["vs_missing"]}],
        )
    assert no_store.value.param == "tools[0].vector_store_ids[0]"
    with pytest.raises(openai.BadRequestError) as bad_reference:
        rc.responses.create(
            model="scripted-gpt", input=[{"type": "item_reference", "id": "msg_missing"}]
        )
    assert bad_reference.value.param == "input[0].id"
    with pytest.raises(openai.BadRequestError):
        rc.responses.retrieve("not-a-response")


def test_input_items_are_listed_newest_first_and_paged(
    rc: openai.OpenAI, upstream: ScriptedUpstream
) -> None:
    upstream.script(Reply(text="Noted."))
    made = rc.responses.create(
        model="scripted-gpt",
        input=[
            {"role": "developer", "content": "Answer in one word."},
            {"role": "user", "content": "one"},
            {"role": "user", "content": [{"type": "input_text", "text": "two"}]},
        ],
    )
    items = rc.responses.input_items.list(made.id)
    texts = [i.content[0].text for i in items.data]  # type: ignore[union-attr]
    assert texts == ["two", "one", "Answer in one word."]
    assert all(i.id.startswith("msg_") for i in items.data)
    first = rc.responses.input_items.list(made.id, limit=2, order="asc")
    assert first.has_more is True
    rest = rc.responses.input_items.list(made.id, after=first.data[-1].id, order="asc")
    assert [i.content[0].text for i in rest.data] == ["two"]  # type: ignore[union-attr]
    assert rest.has_more is False
    all_ids = [i.id for i in rc.responses.input_items.list(made.id, order="asc", limit=1)]
    assert len(all_ids) == 3


def test_input_tokens_count_the_input_and_the_chain(
    rc: openai.OpenAI, upstream: ScriptedUpstream
) -> None:
    short = rc.responses.input_tokens.count(model="scripted-gpt", input="Hi")
    assert short.object == "response.input_tokens"
    assert short.input_tokens > 0
    longer = rc.responses.input_tokens.count(
        model="scripted-gpt", input="Hi " * 200, instructions="Be brief."
    )
    assert longer.input_tokens > short.input_tokens + 100
    upstream.script(Reply(text="A long answer " * 50))
    made = rc.responses.create(model="scripted-gpt", input="Talk.")
    chained = rc.responses.input_tokens.count(
        model="scripted-gpt", input="Hi", previous_response_id=made.id
    )
    assert chained.input_tokens > short.input_tokens + 50
    with pytest.raises(openai.NotFoundError):
        rc.responses.input_tokens.count(
            model="scripted-gpt", input="Hi", previous_response_id="resp_gone"
        )


def _poll(
    rc: openai.OpenAI, response_id: str, until: tuple[str, ...]
) -> openai.types.responses.Response:
    for _ in range(200):
        got = rc.responses.retrieve(response_id)
        if got.status in until:
            return got
        time.sleep(0.05)
    raise AssertionError(f"{response_id} never reached {until}: {got.status}")


def test_background_create_poll_and_cancel(rc: openai.OpenAI, upstream: ScriptedUpstream) -> None:
    upstream.script(Reply(text="Done in the background.", usage=(4, 4)))
    made = rc.responses.create(model="scripted-gpt", input="Work", background=True)
    assert made.background is True
    assert made.status in ("queued", "in_progress")
    done = _poll(rc, made.id, ("completed",))
    assert done.output_text == "Done in the background."
    assert rc.responses.cancel(made.id).status == "completed"  # a finished one stays so
    upstream.script(Reply(text="word " * 400, token_delay_s=0.02))
    slow = rc.responses.create(model="scripted-gpt", input="Talk a lot", background=True)
    _poll(rc, slow.id, ("in_progress",))
    cancelled = rc.responses.cancel(slow.id)
    assert cancelled.status == "cancelled"
    assert _poll(rc, slow.id, ("cancelled",)).status == "cancelled"
    # Its run stopped: a later response chained on it is not refused as in progress.
    upstream.script(Reply(text="After."))
    after = rc.responses.create(model="scripted-gpt", input="Next", previous_response_id=slow.id)
    assert after.output_text == "After."


def test_a_background_stream_resumes_both_ways(
    rc: openai.OpenAI, upstream: ScriptedUpstream
) -> None:
    upstream.script(Reply(text="alpha beta gamma delta epsilon zeta eta theta", token_delay_s=0.03))
    stream = rc.responses.create(model="scripted-gpt", input="Greek", background=True, stream=True)
    seen = []
    for event in stream:
        seen.append(event)
        if event.type == "response.output_text.delta":
            break
    stream.close()  # the connection drops mid-answer; the response goes on
    assert [e.type for e in seen[:3]] == [
        "response.created",
        "response.queued",
        "response.in_progress",
    ]
    assert seen[0].response.status == "queued"
    response_id, last = seen[0].response.id, seen[-1].sequence_number
    # The SDK's helper asks for the whole log and filters it itself.
    with rc.responses.stream(response_id=response_id, starting_after=last) as resumed:
        rest = list(resumed)
        final = resumed.get_final_response()
    assert rest[0].sequence_number == last + 1
    assert final.output_text == "alpha beta gamma delta epsilon zeta eta theta"
    check_grammar([*seen, *rest])
    # The raw call asks the server for only what follows.
    raw = list(rc.responses.retrieve(response_id, stream=True, starting_after=last))
    assert [e.sequence_number for e in raw] == [e.sequence_number for e in rest]
    check_grammar(raw, after=last)
    whole = list(rc.responses.retrieve(response_id, stream=True))
    check_grammar(whole)
    assert [e.type for e in whole] == [e.type for e in [*seen, *rest]]


def test_a_stream_replayed_after_its_events_are_gone_is_made_from_what_was_written(
    upstream: ScriptedUpstream, tmp_path_factory: pytest.TempPathFactory
) -> None:
    upstream.reset()
    upstream.script(
        Reply(tool_calls=[("get_weather", '{"city": "Oslo"}')]),
    )
    tmp = tmp_path_factory.mktemp("replay-restart")
    with running_server("sqlite", tmp, route_env(upstream)) as srv:
        with make_client(srv.base_url) as client:
            made = client.responses.create(
                model="scripted-gpt", input="Weather?", tools=[WEATHER], background=True
            )
            done = _poll(client, made.id, ("completed",))
            live = list(client.responses.retrieve(made.id, stream=True))
        srv.stop()  # the in-memory event log goes with the process
        srv.start()
        with make_client(srv.base_url) as client:
            replayed = list(client.responses.retrieve(made.id, stream=True))
            rest = list(client.responses.retrieve(made.id, stream=True, starting_after=3))
    out = check_grammar(replayed)
    # The same events, but each text or argument streamed in one delta (deltas are not
    # stored, so their number is lost with the log).
    assert _collapsed([e["type"] for e in out]) == _collapsed([e.type for e in live])
    assert out[-1]["response"]["output"] == done.model_dump(mode="json")["output"]
    assert [e.sequence_number for e in rest] == list(range(4, len(replayed)))


def _collapsed(types: list[str]) -> list[str]:
    return [t for i, t in enumerate(types) if not (t.endswith(".delta") and types[i - 1] == t)]


def test_compact_is_not_served(rc: openai.OpenAI) -> None:
    # A plain client: the suite's would refuse an operation it validates nothing for.
    plain = openai.OpenAI(base_url=str(rc.base_url), api_key="sk-test", max_retries=0)
    with plain, pytest.raises(openai.APIStatusError) as refused:
        plain.responses.compact(model="scripted-gpt", input="Hi")
    assert refused.value.status_code in (404, 405)


def test_a_chain_longer_than_the_window_is_read_only_as_far_as_it_fits(
    rc: openai.OpenAI, upstream: ScriptedUpstream
) -> None:
    # `tiny*` models have a 1,400-token window: about 400 tokens are left for history.
    upstream.script(*[Reply(text=f"answer {i} " + "filler " * 40) for i in range(8)])
    previous = None
    for i in range(8):
        made = rc.responses.create(
            model="tiny-gpt",
            input=f"question {i} " + "padding " * 40,
            previous_response_id=previous,
            truncation="auto",
        )
        assert made.status == "completed"
        previous = made.id
    last = upstream.requests[-1]["messages"]
    assert last[-1]["content"].startswith("question 7")
    assert 1 < len(last) < 15  # the oldest turns were left out
    assert all(not m["content"].startswith("question 0") for m in last)
    too_long = rc.responses.create(model="tiny-gpt", input="word " * 3000)
    assert too_long.status == "failed"
    assert too_long.error is not None
    assert too_long.error.code == "invalid_prompt"


def test_a_responses_own_thread_is_not_listed(
    rc: openai.OpenAI, upstream: ScriptedUpstream
) -> None:
    # This module's server holds one Assistants thread, made here, and many responses.
    upstream.script(Reply(text="Hidden."))
    thread = rc.beta.threads.create()
    rc.responses.create(model="scripted-gpt", input="Hi")
    page = rc.get("/threads", cast_to=object, options={"params": {"limit": 100}})
    assert [t["id"] for t in page["data"]] == [thread.id]  # type: ignore[index]


def test_a_failing_model_fails_the_response(rc: openai.OpenAI, upstream: ScriptedUpstream) -> None:
    upstream.script(*[Reply(status=500) for _ in range(3)])
    failed = rc.responses.create(model="scripted-gpt", input="Hi")
    assert failed.status == "failed"
    assert failed.error is not None
    assert failed.error.code == "server_error"
    assert failed.output == []
    upstream.script(*[Reply(status=429) for _ in range(3)])
    events = list(rc.responses.create(model="scripted-gpt", input="Hi", stream=True))
    out = check_grammar(events)
    assert out[-1]["type"] == "response.failed"
    assert out[-1]["response"]["error"]["code"] == "rate_limit_exceeded"
    upstream.script(Reply(text="word " * 50, cut_after=4), Reply(text="word " * 50, cut_after=4))
    upstream.script(Reply(text="word " * 50, cut_after=4))
    cut = list(rc.responses.create(model="scripted-gpt", input="Hi", stream=True))
    out = check_grammar(cut)  # every item it opened is closed before the final event
    assert out[-1]["type"] == "response.failed"


def test_an_input_file_is_read_as_text(rc: openai.OpenAI, upstream: ScriptedUpstream) -> None:
    notes = rc.files.create(
        file=("notes.md", b"# Notes\n\nThe launch code is 4242."), purpose="user_data"
    )
    upstream.script(Reply(text="It is 4242."))
    made = rc.responses.create(
        model="scripted-gpt",
        input=[
            {
                "role": "user",
                "content": [
                    {"type": "input_file", "file_id": notes.id},
                    {"type": "input_text", "text": "What is the launch code?"},
                ],
            }
        ],
    )
    assert made.output_text == "It is 4242."
    (told,) = _user_texts(upstream.requests[0])
    assert told.startswith("[file notes.md]\n")
    assert "The launch code is 4242." in told
    assert told.endswith("What is the launch code?")
    (item,) = rc.responses.input_items.list(made.id).data
    part = item.content[0]  # type: ignore[union-attr]
    assert part.type == "input_file"
    assert part.model_dump(exclude_none=True) == {
        "type": "input_file",
        "file_id": notes.id,
        "filename": "notes.md",
    }
    for bad, param in (
        ({"type": "input_file", "file_url": "https://example.com/a.pdf"}, "file_id"),
        ({"type": "input_file", "file_id": "file-missing"}, "file_id"),
    ):
        with pytest.raises(openai.BadRequestError) as refused:
            rc.responses.create(
                model="scripted-gpt",
                input=[{"role": "user", "content": [bad]}],  # type: ignore[list-item]
            )
        assert refused.value.param == f"input[0].content[0].{param}"


def test_a_store_false_response_whose_client_gives_up_leaves_nothing(
    responses_server: Server, rc: openai.OpenAI, upstream: ScriptedUpstream
) -> None:
    """The handler finishes the answer after the client left, and still forgets it."""
    upstream.script(Reply(text="word " * 100, token_delay_s=0.02))
    body = {"model": "scripted-gpt", "input": "Hi", "store": False, "metadata": {"gave": "up"}}
    with pytest.raises(httpx.TimeoutException):
        httpx.post(f"{responses_server.base_url}/v1/responses", json=body, timeout=0.5)
    for _ in range(100):
        if len(upstream.requests) == 1 and not upstream.replies:
            break
        time.sleep(0.05)
    time.sleep(3)  # the answer's 100 tokens, 20 ms apart, then the forget
    assert _stored_responses(responses_server, '"gave":"up"') == 0


def _stored_responses(server: Server, marker: str) -> int:
    """Rows of responses whose stored document holds `marker`, read from the database
    (the API cannot be asked: the client never learnt the response's id)."""
    url = make_url(server.database_url)
    if url.get_backend_name() == "sqlite":
        with sqlite3.connect(str(url.database)) as conn:
            query = "select count(*) from responses where doc like ?"
            return int(conn.execute(query, (f"%{marker}%",)).fetchone()[0])

    async def count() -> int:
        conn = await asyncpg.connect(url.set(drivername="postgresql").render_as_string(False))
        try:
            query = "select count(*) from responses where doc like $1"
            return int(await conn.fetchval(query, f"%{marker}%"))
        finally:
            await conn.close()

    return asyncio.run(count())


def test_the_request_level_refusals(
    rc: openai.OpenAI, upstream: ScriptedUpstream, responses_server: Server
) -> None:
    """Each 400 of a create or a read names its parameter, and writes nothing."""
    upstream.script(Reply(text="slow", first_delay_s=3))
    slow = rc.responses.create(model="scripted-gpt", input="wait", background=True)
    with pytest.raises(openai.BadRequestError) as busy:
        rc.responses.create(model="scripted-gpt", input="next", previous_response_id=slow.id)
    assert (busy.value.code, busy.value.param) == (
        "previous_response_in_progress",
        "previous_response_id",
    )
    rc.responses.cancel(slow.id)
    with pytest.raises(openai.BadRequestError) as include:
        rc.responses.create(model="scripted-gpt", input="x", include=["nonsense"])  # type: ignore[list-item]
    assert include.value.param == "include[0]"
    url = f"{responses_server.base_url}/v1/responses/{slow.id}"
    got = httpx.get(url, params={"include[]": "nonsense"})
    assert (got.status_code, got.json()["error"]["param"]) == (400, "include")
    got = httpx.get(url, params={"stream": "true", "starting_after": "soon"})
    assert (got.status_code, got.json()["error"]["param"]) == (400, "starting_after")
    for text, param in (
        ({"format": {"type": "yaml"}}, "text.format.type"),
        ({"format": {"type": "json_schema", "schema": {"type": "object"}}}, "text.format.name"),
    ):
        with pytest.raises(openai.BadRequestError) as bad:
            rc.responses.create(model="scripted-gpt", input="x", text=text)  # type: ignore[arg-type]
        assert bad.value.param == param
    assert upstream.requests[1:] == []  # none of them reached the model
