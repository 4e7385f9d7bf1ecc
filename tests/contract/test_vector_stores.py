"""Vector stores through the official SDK and its helpers, on SQLite and PostgreSQL."""

from __future__ import annotations

import random
import time
from typing import Any

import httpx
import openai
import pytest

from tests import documents
from tests.contract.helpers import error_body
from tests.servers import Server

FOXES = b"Foxes are omnivores. The red fox eats rodents, berries and insects in the forest."
MARKETS = b"# Markets\nThe stock market fell three percent as interest rates rose sharply."


def _store_with(client: openai.OpenAI, files: dict[str, bytes], **attrs: Any) -> str:
    store = client.vector_stores.create(name="t")
    for name, data in files.items():
        vf = client.vector_stores.files.upload_and_poll(
            vector_store_id=store.id, file=(name, data), attributes=attrs.get(name)
        )
        assert vf.status == "completed", vf.last_error
    return store.id


def test_upload_and_poll_then_search_finds_the_right_file(client: openai.OpenAI) -> None:
    store_id = _store_with(client, {"foxes.txt": FOXES, "markets.md": MARKETS})
    store = client.vector_stores.retrieve(store_id)
    assert store.status == "completed"
    assert store.file_counts.completed == 2
    assert store.file_counts.total == 2
    assert store.usage_bytes == len(FOXES) + len(MARKETS)
    page = client.vector_stores.search(store_id, query="what do foxes eat?")
    results = list(page)
    assert results[0].filename == "foxes.txt"
    assert all(0 <= r.score <= 1 for r in results)
    assert results[0].score > results[-1].score
    assert results[0].content[0].text == FOXES.decode()
    assert page.search_query == ["what do foxes eat?"]  # type: ignore[attr-defined]


def test_create_and_poll_and_batch_helpers(client: openai.OpenAI) -> None:
    store = client.vector_stores.create()
    assert store.name is None
    assert store.status == "completed"
    first = client.files.create(file=("a.txt", FOXES), purpose="assistants")
    vf = client.vector_stores.files.create_and_poll(
        file_id=first.id, vector_store_id=store.id, attributes={"k": "v"}
    )
    assert (vf.id, vf.status, vf.attributes) == (first.id, "completed", {"k": "v"})
    assert vf.chunking_strategy is not None
    batch = client.vector_stores.file_batches.upload_and_poll(
        vector_store_id=store.id,
        files=[("b.md", MARKETS), ("c.py", b"def add(a, b):\n    return a + b\n")],
    )
    assert batch.object == "vector_store.files_batch"
    assert batch.status == "completed"
    assert batch.file_counts.completed == 2
    assert batch.file_counts.in_progress == 0
    ids = {
        f.id
        for f in client.vector_stores.file_batches.list_files(batch.id, vector_store_id=store.id)
    }
    assert len(ids) == 2
    again = client.vector_stores.file_batches.create_and_poll(
        vector_store_id=store.id, file_ids=[first.id]
    )
    assert again.file_counts.completed == 1
    assert client.vector_stores.retrieve(store.id).file_counts.total == 3


@pytest.mark.parametrize(
    ("name", "data", "needle"),
    [
        ("r.pdf", documents.pdf([["The aurora glows green over Tromso."]]), "aurora"),
        ("r.docx", documents.docx(["Quarterly revenue rose in spring."]), "revenue"),
        ("r.pptx", documents.pptx(["Roadmap to Mars"]), "Mars"),
        ("r.doc", documents.doc("The budget for lighthouses was approved."), "lighthouses"),
        (
            "r.html",
            b"<html><body><p>Cats purr loudly.</p><script>x()</script></body></html>",
            "purr",
        ),
        ("r.go", b"package main\n// Servers listen on port 8080\n", "8080"),
    ],
)
def test_each_format_is_ingested_and_its_content_returned(
    client: openai.OpenAI, name: str, data: bytes, needle: str
) -> None:
    store_id = _store_with(client, {name: data})
    (file,) = client.vector_stores.files.list(store_id).data
    content = client.vector_stores.files.content(file_id=file.id, vector_store_id=store_id)
    assert needle in "".join(part.text or "" for part in content)
    hits = list(client.vector_stores.search(store_id, query=needle))
    assert hits[0].file_id == file.id


def test_unparseable_file_fails_with_last_error(client: openai.OpenAI) -> None:
    store = client.vector_stores.create()
    vf = client.vector_stores.files.upload_and_poll(
        vector_store_id=store.id, file=("blob.txt", b"\x00\xff\x00binary")
    )
    assert vf.status == "failed"
    assert vf.last_error is not None
    assert vf.last_error.code == "invalid_file"
    broken = client.vector_stores.files.upload_and_poll(
        vector_store_id=store.id, file=("broken.pdf", b"%PDF-1.4 garbage")
    )
    assert broken.last_error is not None
    assert broken.last_error.code == "invalid_file"
    counts = client.vector_stores.retrieve(store.id).file_counts
    assert (counts.failed, counts.in_progress, counts.total) == (2, 0, 2)


def test_unsupported_extension_is_a_400(client: openai.OpenAI) -> None:
    store = client.vector_stores.create()
    csv = client.files.create(file=("t.csv", b"a,b\n"), purpose="assistants")
    with pytest.raises(openai.BadRequestError) as caught:
        client.vector_stores.files.create(vector_store_id=store.id, file_id=csv.id)
    body = error_body(caught.value)
    assert body["code"] == "unsupported_file"
    assert "[.csv]" in body["message"]
    assert client.vector_stores.retrieve(store.id).file_counts.total == 0


def test_filters_score_threshold_and_max_results(client: openai.OpenAI) -> None:
    store_id = _store_with(
        client,
        {"foxes.txt": FOXES, "markets.md": MARKETS},
        **{
            "foxes.txt": {"topic": "nature", "year": 2020},
            "markets.md": {"topic": "money", "year": 2024},
        },
    )
    only = client.vector_stores.search(
        store_id, query="foxes", filters={"type": "eq", "key": "topic", "value": "money"}
    )
    assert [r.filename for r in only] == ["markets.md"]
    newer = client.vector_stores.search(
        store_id,
        query="anything",
        filters={"type": "and", "filters": [
            {"type": "gte", "key": "year", "value": 2021},
            {"type": "in", "key": "topic", "value": ["money", "art"]},
        ]},
    )  # fmt: skip
    assert [r.filename for r in newer] == ["markets.md"]
    none = client.vector_stores.search(
        store_id,
        query="foxes",
        filters={"type": "nin", "key": "topic", "value": ["money", "nature"]},
    )
    assert list(none) == []
    top = list(client.vector_stores.search(store_id, query="red fox rodents"))
    cut = client.vector_stores.search(
        store_id,
        query="red fox rodents",
        ranking_options={"score_threshold": (top[0].score + top[1].score) / 2},
    )
    assert [r.filename for r in cut] == ["foxes.txt"]
    one = client.vector_stores.search(store_id, query="rates", max_num_results=1)
    assert len(list(one)) == 1


def test_delete_removes_the_store_its_files_and_its_chunks(client: openai.OpenAI) -> None:
    store_id = _store_with(client, {"foxes.txt": FOXES})
    (f,) = client.vector_stores.files.list(store_id).data
    deleted = client.vector_stores.delete(store_id)
    assert (deleted.id, deleted.deleted) == (store_id, True)
    for gone in (
        lambda: client.vector_stores.retrieve(store_id),
        lambda: client.vector_stores.search(store_id, query="foxes"),
        lambda: client.vector_stores.files.retrieve(file_id=f.id, vector_store_id=store_id),
        lambda: client.vector_stores.delete(store_id),
    ):
        with pytest.raises(openai.NotFoundError):
            gone()
    assert client.files.retrieve(f.id).id == f.id  # the File itself stays


def test_detach_removes_a_file_from_search_at_once(client: openai.OpenAI) -> None:
    store_id = _store_with(client, {"foxes.txt": FOXES, "markets.md": MARKETS})
    fox = next(f for f in client.vector_stores.files.list(store_id) if f.usage_bytes == len(FOXES))
    deleted = client.vector_stores.files.delete(file_id=fox.id, vector_store_id=store_id)
    assert deleted.deleted
    assert all(r.file_id != fox.id for r in client.vector_stores.search(store_id, query="foxes"))
    counts = client.vector_stores.retrieve(store_id).file_counts
    assert (counts.completed, counts.total) == (1, 1)


def test_update_attributes_and_store(client: openai.OpenAI) -> None:
    store_id = _store_with(client, {"foxes.txt": FOXES})
    (f,) = client.vector_stores.files.list(store_id).data
    updated = client.vector_stores.files.update(
        file_id=f.id, vector_store_id=store_id, attributes={"topic": "wild"}
    )
    assert updated.attributes == {"topic": "wild"}
    hits = client.vector_stores.search(
        store_id, query="fox", filters={"type": "eq", "key": "topic", "value": "wild"}
    )
    assert len(list(hits)) == 1
    store = client.vector_stores.update(
        store_id, name="renamed", expires_after={"anchor": "last_active_at", "days": 3}
    )
    assert store.name == "renamed"
    assert store.expires_at == store.last_active_at + 3 * 86400


def test_pagination_of_stores_and_files(client: openai.OpenAI) -> None:
    made = [client.vector_stores.create(name=f"p{i}").id for i in range(5)]
    seen = [s.id for s in client.vector_stores.list(limit=2, order="asc") if s.id in made]
    assert seen == made
    store = client.vector_stores.create()
    ids = [
        client.files.create(file=(f"f{i}.txt", b"text %d" % i), purpose="assistants").id
        for i in range(5)
    ]
    client.vector_stores.file_batches.create_and_poll(vector_store_id=store.id, file_ids=ids)
    listed = [f.id for f in client.vector_stores.files.list(store.id, limit=2, order="asc")]
    assert listed == ids
    done = client.vector_stores.files.list(store.id, filter="failed")
    assert done.data == []


def test_batch_cancel_leaves_nothing_in_progress(client: openai.OpenAI) -> None:
    store = client.vector_stores.create()
    big = b" ".join(b"word%d lorem ipsum dolor sit amet." % i for i in range(40_000))
    ids = [
        client.files.create(file=(f"big{i}.txt", big), purpose="assistants").id for i in range(3)
    ]
    batch = client.vector_stores.file_batches.create(vector_store_id=store.id, file_ids=ids)
    assert batch.status == "in_progress"
    cancelled = client.vector_stores.file_batches.cancel(batch.id, vector_store_id=store.id)
    assert cancelled.status == "cancelled"
    assert cancelled.file_counts.in_progress == 0
    assert cancelled.file_counts.cancelled >= 2
    listed = client.vector_stores.file_batches.list_files(
        batch.id, vector_store_id=store.id, filter="cancelled"
    )
    assert len(listed.data) == cancelled.file_counts.cancelled
    time.sleep(0.5)
    assert client.vector_stores.retrieve(store.id).file_counts.in_progress == 0


def test_errors_and_ids(client: openai.OpenAI, server: Server) -> None:
    with pytest.raises(openai.NotFoundError) as caught:
        client.vector_stores.retrieve("vs_doesnotexist")
    assert error_body(caught.value)["message"] == "No vector store found with id 'vs_doesnotexist'."
    store = client.vector_stores.create()
    with pytest.raises(openai.BadRequestError) as bad:
        client.vector_stores.file_batches.retrieve(store.id, vector_store_id=store.id)
    assert "Expected an ID that begins with 'vsfb'" in error_body(bad.value)["message"]
    with pytest.raises(openai.BadRequestError) as chunking:
        client.vector_stores.create(
            file_ids=[client.files.create(file=("x.txt", b"x"), purpose="assistants").id],
            chunking_strategy={
                "type": "static",
                "static": {"max_chunk_size_tokens": 200, "chunk_overlap_tokens": 150},
            },
        )
    assert "chunk_overlap_tokens" in (error_body(chunking.value)["param"] or "")
    response = httpx.post(f"{server.base_url}/v1/vector_stores/{store.id}/search", json={})
    assert response.status_code == 400


def test_poll_interval_header(client: openai.OpenAI) -> None:
    store = client.vector_stores.create()
    f = client.files.create(file=("a.txt", b"hello"), purpose="assistants")
    raw = client.vector_stores.files.with_raw_response.create(
        vector_store_id=store.id, file_id=f.id
    )
    assert raw.headers["openai-poll-after-ms"] == "200"


def test_search_queries_are_bounded(client: openai.OpenAI) -> None:
    store = client.vector_stores.create()
    with pytest.raises(openai.BadRequestError) as long:
        client.vector_stores.search(store.id, query="x" * 4097)
    assert error_body(long.value)["param"] == "query"
    with pytest.raises(openai.BadRequestError) as many:
        client.vector_stores.search(store.id, query=["a"] * 11)
    assert error_body(many.value)["param"] == "query"
    with pytest.raises(openai.BadRequestError):
        client.vector_stores.search(store.id, query=[])
    assert list(client.vector_stores.search(store.id, query=["a"] * 10)) == []


def test_the_first_results_do_not_depend_on_max_num_results(client: openai.OpenAI) -> None:
    """Both halves of hybrid search draw the same candidates for any max_num_results, so
    a 10-result search is the head of a 50-result one (with candidates scaled by the
    limit, a chunk ranked 60th by each half alone could enter the longer search's top 10
    and never the shorter's)."""
    rng = random.Random(19)
    words = [f"{a}{b}" for a in ("ka", "lo", "mi", "nu", "po", "ri", "su", "te") for b in "aeiou"]
    files = {
        f"part{n}.txt": "\n\n".join(
            " ".join(rng.choice(words) for _ in range(30)) for _ in range(60)
        ).encode()
        for n in range(8)
    }
    store = client.vector_stores.create()
    small = {"type": "static", "static": {"max_chunk_size_tokens": 100, "chunk_overlap_tokens": 0}}
    batch = client.vector_stores.file_batches.upload_and_poll(
        vector_store_id=store.id,
        files=[(name, data) for name, data in files.items()],
        chunking_strategy=small,  # type: ignore[arg-type]
    )
    assert batch.file_counts.completed == len(files)
    for _ in range(25):
        query = " ".join(rng.sample(words, 3))
        short = list(client.vector_stores.search(store.id, query=query, max_num_results=10))
        long = list(client.vector_stores.search(store.id, query=query, max_num_results=50))
        assert len(short) == 10
        assert len(long) == 50
        head = [(r.file_id, r.content[0].text) for r in long[:10]]
        assert [(r.file_id, r.content[0].text) for r in short] == head, query
        assert {r.filename for r in long} <= set(files)
