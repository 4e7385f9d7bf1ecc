"""The Vercel AI SDK's Responses provider (pinned in tests/node/package.json), unmodified,
against a real server and a scripted upstream: with `store` on it names earlier output
by `item_reference`, which the server resolves (tests/node/responses.mjs)."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.servers import Server, running_server
from tests.upstream import Reply, ScriptedUpstream, route_env

NODE_DIR = Path(__file__).parents[1] / "node"


@pytest.fixture(scope="module")
def node_server(
    upstream: ScriptedUpstream, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Server]:
    with running_server("sqlite", tmp_path_factory.mktemp("vercel"), route_env(upstream)) as srv:
        yield srv


def test_the_vercel_ai_sdk_sends_item_references(
    node_server: Server, upstream: ScriptedUpstream
) -> None:
    node = shutil.which("node")
    if node is None or not (NODE_DIR / "node_modules" / "ai").exists():
        pytest.fail("Node.js and `npm install --prefix tests/node` are needed (make test does it)")
    upstream.reset()
    upstream.script(
        Reply(text="The sky is blue."),
        Reply(text="Because of Rayleigh scattering."),
        Reply(text="One two three."),
    )
    done = subprocess.run(
        [node, str(NODE_DIR / "responses.mjs")],
        capture_output=True,
        text=True,
        timeout=120,
        env={**os.environ, "ASSISTANTD_BASE_URL": f"{node_server.base_url}/v1"},
        check=False,
    )
    assert done.returncode == 0, done.stderr
    out = json.loads(done.stdout)
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
