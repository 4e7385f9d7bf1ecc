"""One tenant's hostile files must not stall the server or starve another tenant.

An attacker project uploads every file of tests/hostile.py (zip and entity bombs, deep
XML and HTML, cyclic, deep, lying and costly PDFs, one-token-per-byte text of 4, 12
and 500 MB, binary `.txt`) into one vector store, while a bystander project adds a
small file and searches. Throughout, /health is polled and the server's process tree
measured. Each hostile file must end `failed` with a `last_error` naming what it broke
(or `completed`, if it is merely odd and within the limits), within a bound.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import openai
import pytest

from tests.conftest import make_client
from tests.hostile import write_all
from tests.probe import Probe
from tests.servers import Server, running_server

MAX_TOKENS = 1_000_000
PARSE_MEMORY_MB = 512
INGEST_WORKERS = 2
# The API process (the MiniLM embedder loaded) plus each parse worker at its limit.
TREE_BUDGET_MB = 1200 + INGEST_WORKERS * (PARSE_MEMORY_MB + 100)
SETTLE_S = 120  # every hostile file has an outcome within this
EXPECTED = {
    "bomb.docx": "unzipped",
    "laughs.docx": "could not be parsed",
    "deep.docx": "could not be parsed",
    "shared.pdf": "content streams",
    "cyclic.pdf": "could not be parsed",
    "deep.pdf": "nested too deeply",
    "binary.txt": "looks binary",
    "tokens-4mb.txt": "tokens",
    "tokens-12mb.txt": "tokens",
    "tokens-500mb.txt": "tokens",
}
MAY_COMPLETE = {"deep.html", "lying.pdf"}  # odd, but small and within every limit


@pytest.fixture(scope="module")
def hostile_server(backend: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    env = {
        "ASSISTANTD_KEY_CACHE_TTL_S": "0",
        "ASSISTANTD_EMBEDDED_WARM_UP": "false",
        "ASSISTANTD_INGEST_MAX_TOKENS": str(MAX_TOKENS),
        "ASSISTANTD_INGEST_MEMORY_MB": str(PARSE_MEMORY_MB),
        "ASSISTANTD_INGEST_WORKERS": str(INGEST_WORKERS),
    }
    with running_server(backend, tmp_path_factory.mktemp(f"hostile-{backend}"), env) as srv:
        yield srv


def _mint(server: Server, project: str) -> str:
    result = server.cli("keys", "create", "--project", project, "--name", project)
    assert result.returncode == 0, result.stderr
    return result.stdout.strip()


def test_hostile_files_fail_alone_while_a_bystander_is_served(
    hostile_server: Server, tmp_path: Path
) -> None:
    paths = write_all(tmp_path / "hostile")
    attacker_key, bystander_key = _mint(hostile_server, "attacker"), _mint(hostile_server, "calm")
    with (
        make_client(hostile_server.base_url, attacker_key) as attacker,
        make_client(hostile_server.base_url, bystander_key) as bystander,
        Probe(hostile_server) as probe,
    ):
        store = attacker.vector_stores.create(name="hostile")
        uploaded = {}
        for name, path in paths.items():
            with open(path, "rb") as data:
                uploaded[name] = attacker.files.create(file=(name, data), purpose="assistants").id
        attacker.vector_stores.file_batches.create(store.id, file_ids=list(uploaded.values()))
        # The bystander arrives with the attacker's files queued and in ingestion.
        started = time.monotonic()
        mine = bystander.vector_stores.create(name="calm")
        note = b"Hedgehogs hibernate from November to March in nests of dry leaves."
        done = bystander.vector_stores.files.upload_and_poll(
            vector_store_id=mine.id, file=("hedgehogs.txt", note), poll_interval_ms=100
        )
        found = bystander.vector_stores.search(mine.id, query="when do hedgehogs hibernate?")
        bystander_s = time.monotonic() - started
        assert done.status == "completed", done.last_error
        assert next(iter(found)).filename == "hedgehogs.txt"
        outcomes = _settle(attacker, store.id, uploaded)
    for name, (status, error) in outcomes.items():
        if name in MAY_COMPLETE:
            assert status in ("completed", "failed"), (name, status)
            continue
        assert status == "failed", (name, status)
        assert error is not None
        assert error.code == "invalid_file", (name, error)
        assert EXPECTED[name] in error.message, (name, error.message)
    # A bystander waits for at most one job per ingestion slot, not for the queue.
    assert bystander_s < 60, bystander_s
    assert probe.failures == 0
    assert max(probe.health_s) < 1.0, sorted(probe.health_s)[-5:]
    assert probe.peak_mb < TREE_BUDGET_MB, probe.peak_mb


def _settle(
    client: openai.OpenAI, store_id: str, uploaded: dict[str, str]
) -> dict[str, tuple[str, openai.types.vector_stores.vector_store_file.LastError | None]]:
    deadline = time.monotonic() + SETTLE_S
    while True:
        files = {f.id: f for f in client.vector_stores.files.list(store_id, limit=100)}
        pending = [f for f in files.values() if f.status == "in_progress"]
        if not pending or time.monotonic() > deadline:
            break
        time.sleep(0.5)
    assert not pending, f"still in progress after {SETTLE_S} s: {[f.id for f in pending]}"
    return {name: (files[fid].status, files[fid].last_error) for name, fid in uploaded.items()}
