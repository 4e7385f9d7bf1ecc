"""One project's search flood must not starve another project's search.

The flooder keeps 8 searches in flight, each of 10 queries of 4,096 characters (the
most a request may ask for); the bystander's one-word searches must still answer
promptly (the bound asserted here is loose: bench/search_fairness.py has the figures;
before embedding took turns by lane and project, the bystander's p50 was 48 s). A
project's waiting requests are bounded: past the bound a search is a 429.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator

import openai
import pytest

from tests.conftest import make_client
from tests.servers import Server, running_server

FLOODERS = 8
LONG = [("fox " * 1024)[:4096] for _ in range(10)]


@pytest.fixture(scope="module")
def fair_server(backend: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    env = {
        "ASSISTANTD_KEY_CACHE_TTL_S": "0",
        "ASSISTANTD_EMBEDDED_WARM_UP": "false",
        "ASSISTANTD_EMBEDDING_WAITING_PER_PROJECT": "4",
    }
    with running_server(backend, tmp_path_factory.mktemp(f"fair-{backend}"), env) as srv:
        yield srv


def _key(server: Server, project: str) -> str:
    result = server.cli("keys", "create", "--project", project, "--name", project)
    assert result.returncode == 0, result.stderr
    return result.stdout.strip()


def test_a_search_flood_leaves_another_projects_search_prompt(fair_server: Server) -> None:
    flood_key, calm_key = _key(fair_server, "flood"), _key(fair_server, "calm")
    with make_client(fair_server.base_url, flood_key) as setup:
        theirs = setup.vector_stores.create(name="flood")
        setup.vector_stores.files.upload_and_poll(
            vector_store_id=theirs.id, file=("f.txt", b"The quick brown fox. " * 200)
        )
    stop = threading.Event()
    refused: list[str | None] = []
    served = [0]

    def flood() -> None:
        client = openai.OpenAI(
            base_url=f"{fair_server.base_url}/v1", api_key=flood_key, max_retries=0
        )
        with client:
            while not stop.is_set():
                try:
                    client.vector_stores.search(theirs.id, query=LONG)
                    served[0] += 1
                except openai.RateLimitError as error:
                    refused.append(error.response.headers.get("retry-after-ms"))
                    time.sleep(0.05)

    threads = [threading.Thread(target=flood, daemon=True) for _ in range(FLOODERS)]
    times = []
    try:
        with make_client(fair_server.base_url, calm_key) as calm:
            mine = calm.vector_stores.create(name="calm")
            calm.vector_stores.files.upload_and_poll(
                vector_store_id=mine.id, file=("h.txt", b"Hedgehogs sleep in winter.")
            )
            for thread in threads:
                thread.start()
            time.sleep(2)  # the flood is under way
            for word in ["hedgehog", "winter", "sleep"] * 5:
                started = time.monotonic()
                found = list(calm.vector_stores.search(mine.id, query=word))
                times.append(time.monotonic() - started)
                assert found[0].filename == "h.txt"
    finally:
        stop.set()
        for thread in threads:
            thread.join(60)
    assert served[0] > 0
    # 8 in flight against a bound of 4 waiting: some were refused, none lost.
    assert refused
    assert set(refused) == {"500"}  # what the SDK's retry waits for
    assert max(times) < 5.0, sorted(times)
