"""The official Node SDK (openai 6.30, the last line that runs on Node 20) uploads into a
vector store, polls and searches (tests/node/smoke.mjs)."""

from __future__ import annotations

from tests.contract.helpers import run_node
from tests.servers import Server


def test_node_sdk_upload_poll_and_search(server: Server) -> None:
    out = run_node("smoke.mjs", f"{server.base_url}/v1")
    assert out["fileStatus"] == "completed"
    assert out["batchStatus"] == "completed"
    assert out["batchCounts"]["completed"] == 1
    assert out["counts"]["total"] == 2
    assert out["results"][0]["file_id"] == out["fileId"]
    assert out["results"][0]["filename"] == "hedgehogs.txt"
