"""The official Node SDK (pinned in tests/node/package.json) on the Conversations API:
an Assistants thread read and extended as a conversation, items paged by the SDK's own
auto-pagination, a response on it, an item deleted (tests/node/conversations.mjs)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.contract.helpers import run_node
from tests.servers import Server, running_server
from tests.upstream import Reply, ScriptedUpstream, route_env


@pytest.fixture(scope="module")
def node_server(
    upstream: ScriptedUpstream, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Server]:
    tmp = tmp_path_factory.mktemp("node-conversations")
    with running_server("sqlite", tmp, route_env(upstream)) as srv:
        yield srv


def test_the_node_sdk_reads_a_thread_as_a_conversation(
    node_server: Server, upstream: ScriptedUpstream
) -> None:
    upstream.reset()
    upstream.script(Reply(text="You are Ada."))
    out = run_node("conversations.mjs", f"{node_server.base_url}/v1")
    assert out["seen"]["object"] == "conversation"
    assert out["seen"]["id"].startswith("thread_")
    assert out["added"] == 12
    assert len(out["ids"]) == 13  # the thread's message and the 12 notes, 5 to a page
    assert len(set(out["ids"])) == 13
    assert out["answer"] == "You are Ada."
    assert out["conversation"] == {"id": out["seen"]["id"]}
    assert out["afterDelete"] == {"id": out["seen"]["id"], "object": "conversation"}
    assert out["messages"][0] == "My name is Ada."
    assert "note 0" not in out["messages"]
    assert out["messages"][-2:] == ["Who am I?", "You are Ada."]
    assert len(out["messages"]) == 1 + 11 + 2
    assert out["refused"] == {"status": 400, "param": "conversation_id", "code": "invalid_id"}
    # The model was prompted with the thread's history, read as the conversation.
    said = [m["content"] for m in upstream.requests[0]["messages"]]
    assert said[0] == "My name is Ada."
    assert said[-1] == "Who am I?"
