"""Embeddings from an OpenAI-compatible upstream instead of the bundled model."""

from __future__ import annotations

from collections.abc import Iterator

import openai
import pytest

from tests.conftest import make_client
from tests.servers import Server, running_server
from tests.upstream import EMBEDDING_DIMENSIONS, ScriptedUpstream


@pytest.fixture(scope="module")
def embed_server(
    backend: str, upstream: ScriptedUpstream, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Server]:
    env = {
        "ASSISTANTD_EMBEDDINGS_BASE_URL": upstream.base_url,
        "ASSISTANTD_EMBEDDINGS_MODEL": "scripted-embed",
        "ASSISTANTD_EMBEDDINGS_DIMENSIONS": str(EMBEDDING_DIMENSIONS),
    }
    with running_server(backend, tmp_path_factory.mktemp(f"embed-{backend}"), env) as srv:
        yield srv


def test_ingestion_and_search_use_the_upstream(
    embed_server: Server, upstream: ScriptedUpstream
) -> None:
    with make_client(embed_server.base_url) as client:
        store = client.vector_stores.create()
        for name, text in (("a.txt", b"glaciers carve deep valleys"), ("b.txt", b"bread rises")):
            done = client.vector_stores.files.upload_and_poll(
                vector_store_id=store.id, file=(name, text)
            )
            assert done.status == "completed", done.last_error
        (hit, *_) = client.vector_stores.search(store.id, query="glaciers valleys")
        assert hit.filename == "a.txt"
    models = {r["model"] for r in upstream.embedding_requests}
    assert models == {"scripted-embed"}
    assert ["glaciers valleys"] in [r["input"] for r in upstream.embedding_requests]


def test_a_failing_upstream_fails_the_file_not_the_server(
    embed_server: Server, upstream: ScriptedUpstream
) -> None:
    upstream.embedding_status = 503
    with make_client(embed_server.base_url) as client:
        store = client.vector_stores.create()
        done = client.vector_stores.files.upload_and_poll(
            vector_store_id=store.id, file=("a.txt", b"some text")
        )
        assert done.status == "failed"
        assert done.last_error is not None
        assert done.last_error.code == "server_error"
        counts = client.vector_stores.retrieve(store.id).file_counts
        assert (counts.failed, counts.in_progress) == (1, 0)


def test_the_embeddings_endpoint_serves_the_upstreams_vectors(
    embed_server: Server, upstream: ScriptedUpstream
) -> None:
    with make_client(embed_server.base_url) as client:
        done = client.embeddings.create(model="anything", input=["glaciers carve", "bread"])
        assert done.model == "scripted-embed"
        assert [len(d.embedding) for d in done.data] == [EMBEDDING_DIMENSIONS] * 2
        assert upstream.embedding_requests[-1]["input"] == ["glaciers carve", "bread"]
        upstream.embedding_status = 503
        with pytest.raises(openai.InternalServerError, match="embedding model failed"):
            client.embeddings.create(model="anything", input="x")
