"""Assertions and fixtures' data shared by the contract tests."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path
from typing import Any

import openai
import pytest

# A function tool as the Responses API takes it, and the same as an assistant's tool.
WEATHER = {
    "type": "function",
    "name": "get_weather",
    "description": "The weather in a city.",
    "parameters": {
        "type": "object",
        "properties": {"city": {"type": "string"}},
        "required": ["city"],
    },
}
WEATHER_ASSISTANT_TOOL = {
    "type": "function",
    "function": {k: v for k, v in WEATHER.items() if k != "type"},
}


def error_body(exc: openai.APIStatusError) -> dict[str, Any]:
    """The `error` object of an SDK exception, checked to have OpenAI's four keys."""
    body = exc.body
    assert isinstance(body, dict), body
    assert set(body) == {"message", "type", "param", "code"}, body
    return body


NODE_DIR = Path(__file__).parents[1] / "node"


def run_node(script: str, base_url: str, package: str = "openai") -> Any:
    """Run one of tests/node's scripts against `base_url` (the server's /v1) and return
    the JSON it prints; a failure shows the script's stderr."""
    node = shutil.which("node")
    if node is None or not (NODE_DIR / "node_modules" / package).exists():
        pytest.fail("Node.js and `npm install --prefix tests/node` are needed (make test does it)")
    done = subprocess.run(
        [node, str(NODE_DIR / script)],
        capture_output=True,
        text=True,
        timeout=120,
        env={**os.environ, "ASSISTANTD_BASE_URL": base_url},
        check=False,
    )
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)
