"""The official Node SDK (openai 6.30, the last line that runs on Node 20) uploads into a
vector store, polls and searches (tests/node/smoke.mjs)."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path

import pytest

from tests.servers import Server

NODE_DIR = Path(__file__).parents[1] / "node"


def test_node_sdk_upload_poll_and_search(server: Server) -> None:
    node = shutil.which("node")
    if node is None or not (NODE_DIR / "node_modules" / "openai").exists():
        pytest.fail("Node.js and `npm install --prefix tests/node` are needed (make test does it)")
    done = subprocess.run(
        [node, str(NODE_DIR / "smoke.mjs")],
        capture_output=True,
        text=True,
        timeout=120,
        env={**os.environ, "ASSISTANTD_BASE_URL": f"{server.base_url}/v1"},
        check=False,
    )
    assert done.returncode == 0, done.stderr
    out = json.loads(done.stdout)
    assert out["fileStatus"] == "completed"
    assert out["batchStatus"] == "completed"
    assert out["batchCounts"]["completed"] == 1
    assert out["counts"]["total"] == 2
    assert out["results"][0]["file_id"] == out["fileId"]
    assert out["results"][0]["filename"] == "hedgehogs.txt"
