"""The Vercel AI SDK's Responses provider (pinned in tests/node/package.json), unmodified,
against a real server and a scripted upstream: with `store` on it names earlier output
by `item_reference`, which the server resolves (tests/node/responses.mjs)."""

from __future__ import annotations

import json
from collections.abc import Iterator

import pytest

from tests.contract.helpers import run_node
from tests.servers import Server, running_server
from tests.upstream import Reply, ScriptedUpstream, route_env


@pytest.fixture(scope="module")
def node_server(
    upstream: ScriptedUpstream, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Server]:
    with running_server("sqlite", tmp_path_factory.mktemp("vercel"), route_env(upstream)) as srv:
        yield srv


def test_the_vercel_ai_sdk_sends_item_references(
    node_server: Server, upstream: ScriptedUpstream
) -> None:
    upstream.reset()
    upstream.script(
        Reply(text="The sky is blue."),
        Reply(text="Because of Rayleigh scattering."),
        Reply(text="One two three."),
    )
    out = run_node("responses.mjs", f"{node_server.base_url}/v1", package="ai")
    assert out["first"] == "The sky is blue."
    assert out["firstId"].startswith("resp_")
    assert out["second"] == "Because of Rayleigh scattering."
    body = out["secondBody"]
    sent_by_sdk = json.loads(body) if isinstance(body, str) else body
    references = [i for i in sent_by_sdk["input"] if i.get("type") == "item_reference"]
    assert len(references) == 1
    assert references[0]["id"].startswith("msg_")
    # The model saw the referenced answer itself.
    assert upstream.requests[1]["messages"] == [
        {"role": "user", "content": "Sky colour?"},
        {"role": "assistant", "content": "The sky is blue."},
        {"role": "user", "content": "Why?"},
    ]
    assert out["streamed"] == "One two three."
    assert out["finishReason"] == "stop"
