"""openai-python's own `examples/responses/` scripts, unmodified, against a real server
whose `gpt-*` models are a scripted upstream. They come from the pinned SDK's source
distribution (scripts/fetch_sdk_examples.py; `make test` fetches them). The
multi-agent and WebSocket examples are left out: they need OpenAI beta features and a
WebSocket transport this server does not offer (docs/responses.md)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.servers import Server, running_server
from tests.upstream import Reply, ScriptedUpstream, route_env

EXAMPLES = Path(__file__).parents[1] / "third_party" / "openai-python" / "examples"
MATH = json.dumps(
    {
        "steps": [
            {"explanation": "Subtract 31 from both sides.", "output": "8x = -29"},
            {"explanation": "Divide both sides by 8.", "output": "x = -29/8"},
        ],
        "final_answer": "x = -29/8",
    }
)
QUERY = json.dumps(
    {
        "table_name": "orders",
        "columns": ["id", "status", "expected_delivery_date", "delivered_at"],
        "conditions": [{"column": "status", "operator": "=", "value": "fulfilled"}],
        "order_by": "asc",
    }
)
# Each example, and what the model answers it.
SCRIPTS = {
    "responses/background.py": [Reply(text=MATH)],
    "responses/background_async.py": [Reply(text=MATH)],
    "responses/background_streaming.py": [Reply(text=MATH)],
    "responses/background_streaming_async.py": [Reply(text=MATH)],
    "responses/streaming.py": [Reply(text=MATH)],
    "responses/structured_outputs.py": [Reply(text=MATH)],
    "responses/streaming_tools.py": [Reply(tool_calls=[("Query", QUERY)])],
    "responses/structured_outputs_tools.py": [Reply(tool_calls=[("Query", QUERY)])],
    "responses_input_tokens.py": [],
}


@pytest.fixture(scope="module")
def examples_server(
    upstream: ScriptedUpstream, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Server]:
    env = route_env(upstream, match="gpt-*")
    with running_server("sqlite", tmp_path_factory.mktemp("examples"), env) as srv:
        yield srv


@pytest.mark.parametrize("example", sorted(SCRIPTS))
def test_an_sdk_example_runs_unmodified(
    example: str, examples_server: Server, upstream: ScriptedUpstream
) -> None:
    script = EXAMPLES / example
    if not script.exists():
        pytest.fail("the SDK's examples are needed: run scripts/fetch_sdk_examples.py")
    upstream.reset()
    upstream.script(*SCRIPTS[example])
    env = {
        **os.environ,
        "OPENAI_BASE_URL": f"{examples_server.base_url}/v1",
        "OPENAI_API_KEY": "sk-examples",
    }
    done = subprocess.run(
        [sys.executable, str(script)],
        capture_output=True,
        text=True,
        timeout=120,
        env=env,
        cwd=script.parent,
        check=False,
    )
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-4000:]
    if "structured_outputs.py" in example:
        assert "answer:  x = -29/8" in done.stdout
    if example.endswith("tools.py") and "structured" in example:
        assert "table name: Table.orders" in done.stdout
    if example == "responses_input_tokens.py":
        assert done.stdout.startswith("input tokens: ")
