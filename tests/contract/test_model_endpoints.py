"""/v1/chat/completions and /v1/embeddings, driven by the official SDK against a real
server: a scripted upstream behind `scripted*`, the embedded model and the bundled
embedder for everything else."""

from __future__ import annotations

import json
from collections.abc import Iterator

import numpy as np
import openai
import pytest
from pydantic import BaseModel

from tests.conftest import make_client
from tests.servers import Server, running_server
from tests.upstream import Reply, ScriptedUpstream, route_env

WEATHER = {
    "type": "function",
    "function": {
        "name": "get_weather",
        "parameters": {"type": "object", "properties": {"city": {"type": "string"}}},
    },
}


@pytest.fixture(scope="module")
def model_server(
    backend: str, upstream: ScriptedUpstream, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Server]:
    with running_server(
        backend, tmp_path_factory.mktemp(f"models-{backend}"), route_env(upstream)
    ) as srv:
        yield srv


@pytest.fixture
def mc(model_server: Server, upstream: ScriptedUpstream) -> Iterator[openai.OpenAI]:
    upstream.reset()
    with make_client(model_server.base_url) as client:
        yield client


def test_a_completion_through_an_upstream(mc: openai.OpenAI, upstream: ScriptedUpstream) -> None:
    upstream.script(Reply(text="Penguins cannot fly.", usage=(12, 5)))
    done = mc.chat.completions.create(
        model="scripted-gpt",
        messages=[
            {"role": "system", "content": "Be brief."},
            {"role": "user", "content": "Penguins?"},
        ],
        temperature=0.2,
        seed=7,  # accepted, and not sent on: no provider here takes it
    )
    assert done.id.startswith("chatcmpl-")
    assert done.model == "scripted-gpt"
    assert done.choices[0].message.content == "Penguins cannot fly."
    assert done.choices[0].finish_reason == "stop"
    assert (done.usage.prompt_tokens, done.usage.completion_tokens) == (12, 5)  # type: ignore[union-attr]
    (sent,) = upstream.requests
    assert sent["messages"][1] == {"role": "user", "content": "Penguins?"}
    assert sent["temperature"] == 0.2
    assert "seed" not in sent
    assert (done._request_id or "").startswith("req_")


def test_a_streamed_completion_with_usage(mc: openai.OpenAI, upstream: ScriptedUpstream) -> None:
    upstream.script(Reply(text="One two three four five.", usage=(9, 6)))
    chunks = list(
        mc.chat.completions.create(
            model="scripted-gpt",
            messages=[{"role": "user", "content": "Count"}],
            stream=True,
            stream_options={"include_usage": True},
        )
    )
    text = "".join(c.choices[0].delta.content or "" for c in chunks if c.choices)
    assert text == "One two three four five."
    assert len({c.id for c in chunks}) == 1
    finishes = [
        c.choices[0].finish_reason for c in chunks if c.choices and c.choices[0].finish_reason
    ]
    assert finishes == ["stop"]
    assert chunks[-1].choices == []
    assert chunks[-1].usage is not None
    assert chunks[-1].usage.total_tokens == 15


def test_tool_calls_whole_and_through_the_stream_helper(
    mc: openai.OpenAI, upstream: ScriptedUpstream
) -> None:
    call = Reply(tool_calls=[("get_weather", '{"city": "Oslo"}')])
    upstream.script(call, call)
    done = mc.chat.completions.create(
        model="scripted-gpt",
        messages=[{"role": "user", "content": "Weather in Oslo?"}],
        tools=[WEATHER],  # type: ignore[list-item]
        tool_choice="required",
    )
    (tool_call,) = done.choices[0].message.tool_calls or []
    assert tool_call.id.startswith("call_")
    assert tool_call.function.name == "get_weather"  # type: ignore[union-attr]
    assert json.loads(tool_call.function.arguments) == {"city": "Oslo"}  # type: ignore[union-attr]
    assert done.choices[0].finish_reason == "tool_calls"
    assert upstream.requests[0]["tool_choice"] == "required"
    # The SDK's stream helper checks the chunks add up (ids, indexes, arguments).
    with mc.chat.completions.stream(
        model="scripted-gpt",
        messages=[{"role": "user", "content": "Weather in Oslo?"}],
        tools=[WEATHER],  # type: ignore[list-item]
    ) as stream:
        final = stream.get_final_completion()
    (streamed,) = final.choices[0].message.tool_calls or []
    assert streamed.function.arguments == '{"city": "Oslo"}'


def test_the_embedded_model_answers_into_a_pydantic_model(mc: openai.OpenAI) -> None:
    class City(BaseModel):
        name: str
        country: str

    parsed = mc.chat.completions.parse(
        model=mc.models.list().data[-1].id,  # the embedded model
        messages=[{"role": "user", "content": "Name a city and its country."}],
        response_format=City,
        max_completion_tokens=60,
    )
    city = parsed.choices[0].message.parsed
    assert isinstance(city, City)


def test_upstream_failures_are_http_errors(mc: openai.OpenAI, upstream: ScriptedUpstream) -> None:
    upstream.script(*[Reply(status=500)] * 3)  # the server's own retries see it too
    with pytest.raises(openai.InternalServerError):
        mc.chat.completions.create(
            model="scripted-gpt", messages=[{"role": "user", "content": "Hi"}]
        )
    upstream.script(Reply(status=429), Reply(status=429), Reply(status=429))
    with pytest.raises(openai.RateLimitError):
        mc.chat.completions.create(
            model="scripted-gpt", messages=[{"role": "user", "content": "Hi"}]
        )
    upstream.script(Reply(status=400))  # the upstream refuses the prompt: not retried
    with pytest.raises(openai.BadRequestError) as refused:
        mc.chat.completions.create(
            model="scripted-gpt", messages=[{"role": "user", "content": "Hi"}]
        )
    assert refused.value.code == "invalid_prompt"


@pytest.mark.parametrize(
    ("extra", "param"),
    [
        ({"n": 2}, "n"),
        ({"stop": ["\n"]}, "stop"),
        ({"logprobs": True}, "logprobs"),
        ({"web_search_options": {}}, "web_search_options"),
    ],
)
def test_what_the_server_cannot_do_is_a_400_naming_it(
    mc: openai.OpenAI, upstream: ScriptedUpstream, extra: dict[str, object], param: str
) -> None:
    with pytest.raises(openai.BadRequestError) as refused:
        mc.chat.completions.create(
            model="scripted-gpt",
            messages=[{"role": "user", "content": "Hi"}],
            **extra,  # type: ignore[arg-type]
        )
    assert refused.value.param == param
    assert upstream.requests == []


def test_malformed_requests_are_400s(mc: openai.OpenAI) -> None:
    with pytest.raises(openai.BadRequestError) as no_messages:
        mc.chat.completions.create(model="scripted-gpt", messages=[])
    assert no_messages.value.param == "messages"
    with pytest.raises(openai.BadRequestError) as bad_role:
        mc.chat.completions.create(
            model="scripted-gpt", messages=[{"role": "robot", "content": "x"}]
        )  # type: ignore[misc,list-item]
    assert "role" in bad_role.value.message
    with pytest.raises(openai.BadRequestError):
        mc.post("/chat/completions", cast_to=object, body={"model": "m", "messages": [], "nope": 1})


def test_embeddings_in_both_encodings(mc: openai.OpenAI) -> None:
    texts = ["The cat sat on the mat.", "A cat was sitting on a rug.", "Quarterly revenue rose."]
    default = mc.embeddings.create(model="text-embedding-3-small", input=texts)  # base64 by default
    floats = mc.embeddings.create(model="any", input=texts, encoding_format="float")
    assert [d.index for d in default.data] == [0, 1, 2]
    a = np.array([d.embedding for d in default.data])
    b = np.array([d.embedding for d in floats.data])
    assert a.shape == (3, 384)
    assert np.allclose(a, b, atol=1e-6)
    assert np.allclose(np.linalg.norm(a, axis=1), 1, atol=1e-3)
    assert a[0] @ a[1] > a[0] @ a[2]  # the two cats are closer than the cat and the revenue
    assert default.model == "all-MiniLM-L6-v2-int8"
    assert default.usage.prompt_tokens > 0
    single = mc.embeddings.create(model="any", input="one text")
    assert len(single.data) == 1


@pytest.mark.parametrize(
    ("body", "param"),
    [
        ({"input": ""}, "input"),
        ({"input": []}, "input"),
        ({"input": [1, 2, 3]}, "input"),
        ({"input": ["x"] * 2049}, "input"),
        ({"input": "x", "dimensions": 256}, "dimensions"),
        ({"input": "x", "encoding_format": "int8"}, "encoding_format"),
    ],
)
def test_embedding_requests_it_cannot_serve_are_400s(
    mc: openai.OpenAI, body: dict[str, object], param: str
) -> None:
    with pytest.raises(openai.BadRequestError) as refused:
        mc.post("/embeddings", cast_to=object, body={"model": "m", **body})
    assert refused.value.param == param


def test_a_model_failing_mid_stream_ends_the_stream_with_an_error(
    mc: openai.OpenAI, upstream: ScriptedUpstream
) -> None:
    upstream.script(Reply(text="This answer is cut short by the upstream.", cut_after=3))
    stream = mc.chat.completions.create(
        model="scripted-gpt", messages=[{"role": "user", "content": "Hi"}], stream=True
    )
    received: list[str] = []

    def read() -> None:
        for chunk in stream:
            received.append(chunk.choices[0].delta.content or "")

    with pytest.raises(openai.APIError, match="middle of its answer"):
        read()
    assert "".join(received).startswith("This")  # what came before the cut was sent


@pytest.mark.parametrize(
    "message",
    [
        {"role": {}, "content": "x"},
        {"role": "user", "content": [1, 2]},
        {"role": "user", "content": 5},
        {"role": "assistant", "content": None, "tool_calls": "call"},
    ],
)
def test_malformed_messages_are_400s_not_500s(
    mc: openai.OpenAI, message: dict[str, object]
) -> None:
    with pytest.raises(openai.BadRequestError) as refused:
        mc.post("/chat/completions", cast_to=object, body={"model": "m", "messages": [message]})
    assert refused.value.param is not None
    assert refused.value.param.startswith("messages")
